import Foundation
import Glibc

/// Reading a passphrase without it ever touching argv, the environment or a
/// Swift string: from the controlling terminal with echo off, or from a file
/// descriptor a script opened. Into secure memory.
public enum PassphraseInput {
    static let maximumLength = 1024
    private static let lock = NSLock()
    /// The terminal settings to put back if a signal ends the process
    /// while echo is off.
    private nonisolated(unsafe) static var echoOff: (fd: Int32, saved: termios)?

    /// Puts the terminal's echo back if a prompt had turned it off.
    public static func restoreTerminal() {
        lock.withLock {
            guard var state = echoOff else { return }
            tcsetattr(state.fd, TCSAFLUSH, &state.saved)
            echoOff = nil
        }
    }

    /// Asks on the controlling terminal (`/dev/tty`), echo off.
    ///
    /// The corresponding C functions are `tcgetattr` and `tcsetattr`.
    public static func prompt(_ prompt: String) throws -> SecureBytes {
        let fd = Glibc.open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            throw SealedArchiveError(.invalidKey, "a passphrase is needed and there is no terminal to ask it on: use --passphrase-fd")
        }
        defer { close(fd) }
        var saved = termios()
        guard tcgetattr(fd, &saved) == 0 else { throw POSIX.error("cannot use the terminal for the passphrase") }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        try Array(prompt.utf8).withUnsafeBytes { try POSIX.writeAll(fd, $0, what: "the terminal") }
        lock.withLock { echoOff = (fd, saved) }
        guard tcsetattr(fd, TCSAFLUSH, &quiet) == 0 else {
            lock.withLock { echoOff = nil }
            throw POSIX.error("cannot turn off echo for the passphrase")
        }
        defer {
            restoreTerminal()
            _ = Glibc.write(fd, "\n", 1)
        }
        return try readLine(fd, what: "the terminal")
    }

    /// Reads one line from file descriptor `fd` (`--passphrase-fd`).
    public static func read(fd: Int32) throws -> SecureBytes {
        try readLine(fd, what: "file descriptor \(fd)")
    }

    /// One line, without its newline, read a byte at a time so nothing past
    /// it is consumed.
    private static func readLine(_ fd: Int32, what: String) throws -> SecureBytes {
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
