import Foundation

/// Reading a passphrase without it ever touching argv, the environment or a
/// Swift string: one line from a file descriptor (a script's
/// `--passphrase-fd`, or the terminal the executable opened and turned echo
/// off on), into secure memory. The terminal handling itself (echo, putting
/// it back on a signal) belongs to the executable, not to the library.
public enum PassphraseInput {
    static let maximumLength = 1024

    /// Reads one line from file descriptor `fd` (`--passphrase-fd`).
    public static func read(fd: Int32) throws -> SecureBytes {
        try read(fd: fd, what: "file descriptor \(fd)")
    }

    /// One line, without its newline, read a byte at a time so nothing past
    /// it is consumed; `what` names the source in errors ("the terminal").
    public static func read(fd: Int32, what: String) throws -> SecureBytes {
        let buffer = try SecureBytes(count: maximumLength)
        let length = try buffer.withUnsafeMutableBytes { bytes -> Int in
            var count = 0
            while count < bytes.count {
                let n = try POSIX.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: bytes[count..<count + 1]), what: what)
                if n == 0 || bytes[count] == UInt8(ascii: "\n") { break }
                count += 1
            }
            if count > 0 && bytes[count - 1] == UInt8(ascii: "\r") { count -= 1 }
            return count
        }
        guard length > 0 else { throw SealedArchiveError(.invalidKey, "the passphrase from \(what) is empty") }
        guard length < maximumLength else { throw SealedArchiveError(.invalidKey, "the passphrase from \(what) is longer than \(maximumLength - 1) bytes") }
        return try buffer.withUnsafeBytes { try SecureBytes(copying: UnsafeRawBufferPointer(rebasing: $0[..<length])) }
    }
}
