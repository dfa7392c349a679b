import Foundation
import SealedArchive

/// Everything the tool prints. Text can carry names from an archive or a
/// directory listing, so everything goes through ``TerminalText`` here, the
/// one place output leaves the process, whatever code built it. A line is
/// escaped whole, newlines included: a name holding "\nOK …" cannot forge a
/// result line for a script reading the output.
enum Terminal {
    /// One `sealed-archive: error: …` line on standard error.
    static func error(_ message: String) {
        write("sealed-archive: error: \(TerminalText.escaped(message))\n")
    }

    /// A one-line note or warning on standard error.
    static func note(_ message: String) { write(TerminalText.escaped(message) + "\n") }

    /// One line of results on standard output. A failed write (a full
    /// disk, a closed pipe) is an I/O error, not a silent success.
    static func output(_ line: String) throws {
        try emit(TerminalText.escaped(line))
    }

    /// Several lines of results, each escaped on its own.
    static func output(lines: [String]) throws {
        try emit(lines.map { TerminalText.escaped($0) }.joined(separator: "\n"))
    }

    /// Results as text or, with `asJSON`, as a JSON document (escaped so
    /// that it stays the same JSON value). The text is a report whose lines
    /// were built by the library, which escapes the names it puts in them.
    static func output(_ text: String, asJSON: Bool) throws {
        try emit(asJSON ? TerminalText.escapedJSON(text) : TerminalText.escaped(text, keepingLineBreaks: true))
    }

    /// A JSON document on standard error (when standard output carries data).
    static func noteJSON(_ json: String) { write(TerminalText.escapedJSON(json) + "\n") }

    private static func emit(_ text: String) throws {
        do {
            try ProgressLine.clearing {
                try Array((text + "\n").utf8).withUnsafeBytes { try StandardOutputSink().write($0) }
            }
        } catch let error as SealedArchiveError where (error.cause as? SystemError)?.errno == EPIPE {
            throw ClosedStandardOutput()
        }
    }

    private static func write(_ text: String) {
        ProgressLine.clearing { ProgressLine.writeToStandardError(text) }
    }
}

/// A count and its noun, singular for exactly one ("1 chunk", "2 chunks"),
/// so no printed count reads "1 chunks".
func counted<N: BinaryInteger>(_ count: N, _ singular: String, _ plural: String? = nil) -> String {
    "\(count) \(count == 1 ? singular : plural ?? singular + "s")"
}
