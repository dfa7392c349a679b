/// A name from an archive (or any text that may carry one, such as a
/// libarchive error string) as it may be shown on a terminal: invalid UTF-8
/// replaced, and characters that could rewrite the screen or reorder what
/// it shows written as `\u{…}` escapes. This is the one escaping function:
/// everything from an archive reaches the operator through it.
///
/// Escaped: C0 controls, DEL and C1 controls (ESC and CSI start terminal
/// sequences); the Unicode bidirectional controls U+200E, U+200F,
/// U+202A–U+202E and U+2066–U+2069 (they make a name display as another,
/// "Trojan Source" style); and U+2028, U+2029, which some terminals and
/// log viewers break lines at, so one error line would read as two.
func shownName(_ bytes: [UInt8]) -> String {
    var shown = ""
    for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
        if isEscaped(scalar.value) {
            shown += "\\u{\(String(scalar.value, radix: 16))}"
        } else {
            shown.unicodeScalars.append(scalar)
        }
    }
    return shown
}

private func isEscaped(_ value: UInt32) -> Bool {
    switch value {
    case 0..<0x20, 0x7f...0x9f: return true
    case 0x200e, 0x200f, 0x202a...0x202e, 0x2066...0x2069: return true
    case 0x2028, 0x2029: return true
    default: return false
    }
}
