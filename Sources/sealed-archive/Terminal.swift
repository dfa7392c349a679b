import Foundation
import SealedArchive

/// Messages for the person at the terminal, on standard error.
enum Terminal {
    static func error(_ message: String) { write("sealed-archive: error: \(message)\n") }
    static func note(_ message: String) { write("\(message)\n") }

    /// A line of results on standard output; a failed write (a full disk,
    /// a closed pipe) is an I/O error, not a silent success.
    static func output(_ line: String) throws {
        try Array((line + "\n").utf8).withUnsafeBytes { try StandardOutputSink().write($0) }
    }

    static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
