/// Text that came from outside (an archive's names and label, a directory
/// listing, a library's error detail) made safe to print on a terminal: a
/// hostile name must not move the cursor, retitle the window or reorder
/// what the operator reads.
public enum TerminalText {
    /// Whether a terminal could act on `scalar` instead of showing it: C0
    /// controls, DEL and C1 controls (ESC and the one-character CSI U+009B
    /// start terminal sequences); the Unicode bidirectional controls
    /// U+061C, U+200E, U+200F, U+202A–U+202E and U+2066–U+2069 and the
    /// deprecated format controls U+206A–U+206F (they make a name display
    /// as another, "Trojan Source" style); and U+2028, U+2029, at
    /// which some terminals and log viewers break lines, so one error line
    /// would read as two.
    public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: return true
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x206F: return true
        case 0x2028, 0x2029: return true
        default: return false
        }
    }

    /// `text` with every unsafe scalar written as a visible `\u{…}` escape;
    /// with `keepingLineBreaks`, newlines and tabs between lines of a
    /// multi-line message stay as they are.
    public static func escaped(_ text: String, keepingLineBreaks: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
        var shown = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if isUnsafe(scalar) && !(keepingLineBreaks && (scalar == "\n" || scalar == "\t")) {
                shown.append(contentsOf: "\\u{\(String(scalar.value, radix: 16))}".unicodeScalars)
            } else {
                shown.append(scalar)
            }
        }
        return String(shown)
    }

    /// JSON text with the unsafe scalars that JSON encoders leave as they
    /// are (C1 and bidirectional controls; C0 is always escaped) written as
    /// `\uXXXX`: they can only stand inside strings, so the result is the
    /// same JSON value.
    public static func escapedJSON(_ json: String) -> String {
        guard json.unicodeScalars.contains(where: isUnsafe) else { return json }
        var shown = String.UnicodeScalarView()
        for scalar in json.unicodeScalars {
            if isUnsafe(scalar) {
                let hex = String(scalar.value, radix: 16)
                shown.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
            } else {
                shown.append(scalar)
            }
        }
        return String(shown)
    }
}
