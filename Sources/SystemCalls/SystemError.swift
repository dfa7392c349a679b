import Glibc

/// A POSIX `errno` value: what every wrapper in ``System`` throws, and what
/// the library keeps as the cause of its I/O errors.
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    public let errno: Int32

    public init(errno: Int32) { self.errno = errno }

    /// The C library's text for the value ("No such file or directory").
    public var description: String { String(cString: strerror(errno)) }

    /// The calling thread's current `errno`.
    package static var current: SystemError { SystemError(errno: Glibc.errno) }

    package var isInterrupted: Bool { errno == EINTR }
    package var isNoEntry: Bool { errno == ENOENT }
    package var isExisting: Bool { errno == EEXIST }
    package var wouldBlock: Bool { errno == EWOULDBLOCK || errno == EAGAIN }
}

/// Runs `call` until it does not fail with EINTR; a result of -1 (or any
/// negative value) becomes the thread's errno as a ``SystemError``. The one
/// place return codes are turned into errors.
@inline(__always)
func valueOrErrno<I: FixedWidthInteger>(retryOnInterrupt: Bool = true, _ call: () -> I) throws(SystemError) -> I {
    while true {
        let result = call()
        if result >= 0 { return result }
        let error = SystemError.current
        if retryOnInterrupt && error.isInterrupted { continue }
        throw error
    }
}

/// As ``valueOrErrno(retryOnInterrupt:_:)`` for calls returning 0 or -1.
@inline(__always)
func nothingOrErrno(retryOnInterrupt: Bool = true, _ call: () -> Int32) throws(SystemError) {
    _ = try valueOrErrno(retryOnInterrupt: retryOnInterrupt, call)
}
