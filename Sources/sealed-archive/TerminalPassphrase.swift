import Foundation
import SealedArchive
import SystemCalls

/// Asking for a passphrase on the controlling terminal with echo off: a
/// process concern, so it lives in the executable. The library only reads
/// the line (``PassphraseInput``).
enum TerminalPassphrase {
    /// The terminal settings to put back if a signal ends the process
    /// while echo is off.
    private static let echoOff = Locked<(fd: Int32, saved: System.TerminalAttributes)?>(nil)

    /// Puts the terminal's echo back if a prompt had turned it off.
    static func restoreTerminal() {
        echoOff.withLock { state in
            guard let current = state else { return }
            try? System.setTerminalAttributes(current.fd, current.saved)
            state = nil
        }
    }

    /// Asks on the controlling terminal (`/dev/tty`), echo off, with no
    /// progress line drawn meanwhile.
    static func prompt(_ prompt: String) throws -> SecureBytes {
        try ProgressLine.paused { try ask(prompt) }
    }

    private static func ask(_ prompt: String) throws -> SecureBytes {
        guard let fd = try? System.open("/dev/tty", flags: O_RDWR | O_NOCTTY) else {
            throw SealedArchiveError(.invalidKey, "a passphrase is needed and there is no terminal to ask it on: use --passphrase-fd")
        }
        defer { try? System.close(fd) }
        let saved = try POSIX.attempt("cannot use the terminal for the passphrase") { () throws(SystemError) in
            try System.terminalAttributes(fd)
        }
        try Array(prompt.utf8).withUnsafeBytes { try POSIX.writeAll(fd, $0, what: "the terminal") }
        echoOff.withLock { $0 = (fd, saved) }
        do throws(SystemError) {
            try System.setTerminalAttributes(fd, System.withoutEcho(saved))
        } catch {
            echoOff.withLock { $0 = nil }
            throw POSIX.error("cannot turn off echo for the passphrase", error)
        }
        defer {
            restoreTerminal()
            _ = [UInt8(ascii: "\n")].withUnsafeBytes { try? System.writeAll(fd, $0) }
        }
        return try PassphraseInput.read(fd: fd, what: "the terminal")
    }
}
