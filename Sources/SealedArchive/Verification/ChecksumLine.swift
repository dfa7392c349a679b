/// One line of `sha256sum` output: 64 hex digits, two spaces (or a space
/// and `*`, binary mode), the file name. A name holding a backslash or a
/// line break is written as `sha256sum` writes it: the line starts with a
/// backslash and the name has `\\`, `\n` and `\r` escapes. Checksum files
/// (`seal --checksum`) and MANIFEST.sha256 both use this.
struct ChecksumLine {
    /// Lowercase hex.
    let digest: String
    /// The name's bytes, unescaped.
    let name: [UInt8]

    enum Problem: Error { case format, digest, escape }

    /// Parses a line without its line ending.
    init(parsing line: some Collection<UInt8>) throws(Problem) {
        var bytes = Array(line)
        let escaped = bytes.first == UInt8(ascii: "\\")
        if escaped { bytes.removeFirst() }
        guard bytes.count > 66, bytes[64] == UInt8(ascii: " "), bytes[65] == UInt8(ascii: " ") || bytes[65] == UInt8(ascii: "*") else {
            throw .format
        }
        let hex = bytes[..<64].map { (65...70).contains($0) ? $0 + 32 : $0 }
        guard hex.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else { throw .digest }
        digest = String(decoding: hex, as: UTF8.self)
        let raw = bytes[66...]
        guard escaped else { name = Array(raw); return }
        var name: [UInt8] = []
        var iterator = raw.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "\\") else { name.append(byte); continue }
            switch iterator.next() {
            case UInt8(ascii: "\\"): name.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "n"): name.append(UInt8(ascii: "\n"))
            case UInt8(ascii: "r"): name.append(UInt8(ascii: "\r"))
            default: throw .escape
            }
        }
        self.name = name
    }

    /// The line for `digest` and `name`, with its newline.
    static func serialize(digest: String, name: [UInt8]) -> [UInt8] {
        let special: Set<UInt8> = [UInt8(ascii: "\\"), UInt8(ascii: "\n"), UInt8(ascii: "\r")]
        guard name.contains(where: special.contains) else {
            return Array("\(digest)  ".utf8) + name + [UInt8(ascii: "\n")]
        }
        var line = Array("\\\(digest)  ".utf8)
        for byte in name {
            switch byte {
            case UInt8(ascii: "\\"): line += Array("\\\\".utf8)
            case UInt8(ascii: "\n"): line += Array("\\n".utf8)
            case UInt8(ascii: "\r"): line += Array("\\r".utf8)
            default: line.append(byte)
            }
        }
        return line + [UInt8(ascii: "\n")]
    }
}
