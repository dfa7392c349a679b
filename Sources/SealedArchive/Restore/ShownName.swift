/// A name from an archive as it may be shown on a terminal: invalid UTF-8
/// replaced, and control characters (which a hostile archive could use to
/// rewrite the screen) written as `\u{…}` escapes.
func shownName(_ bytes: [UInt8]) -> String {
    var shown = ""
    for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
        if scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) {
            shown += "\\u{\(String(scalar.value, radix: 16))}"
        } else {
            shown.unicodeScalars.append(scalar)
        }
    }
    return shown
}
