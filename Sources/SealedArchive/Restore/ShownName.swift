/// A name from an archive (or any text that may carry one, such as a
/// libarchive error string) as it may be shown on a terminal: invalid UTF-8
/// replaced, and what ``TerminalText`` calls unsafe written as `\u{…}`
/// escapes. Everything from an archive reaches the operator through it.
func shownName(_ bytes: [UInt8]) -> String {
    TerminalText.escaped(String(decoding: bytes, as: UTF8.self))
}
