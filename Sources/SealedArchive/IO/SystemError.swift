import Glibc

/// A POSIX `errno` value carried as the cause of an I/O error.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public let errno: Int32
    public var description: String { String(cString: strerror(errno)) }
}
