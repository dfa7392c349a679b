/// A secret key as text for paper: the key line cut into short groups, each
/// line with its own check code, so a key typed back in from a printout is
/// checked line by line and the first mistyped line is named (the key's own
/// Bech32 checksum then checks the whole). Spec/KEYS.md section 6.
///
/// The secret characters only ever sit in ``SecureBytes``: the text is
/// written into one, and read back into another, without Swift arrays.
public enum PaperKey {
    package static let header = "SEALED-ARCHIVE PAPER KEY 1"
    package static let charactersPerLine = 20
    package static let maximumKeyLength = 256

    /// The printable text for a secret key line (from `Identity.encoded()`
    /// or `SigningKey.encoded()`), in secure memory. `title` lines (public
    /// key, key id, date) are printed above it as they are.
    public static func export(_ keyLine: SecureBytes, title: [String]) throws -> SecureBytes {
        let preamble = Array(([header] + title.map { "# " + $0 }).joined(separator: "\n").utf8) + [UInt8(ascii: "\n")]
        let end = Array("END\n".utf8)
        let lineCount = (keyLine.count + charactersPerLine - 1) / charactersPerLine
        // Each line: "NN " + up to 20 characters with a space every 4 + " " + 4 check digits + "\n".
        let capacity = preamble.count + end.count + lineCount * (3 + charactersPerLine + charactersPerLine / 4 + 1 + 4 + 1)
        var written = 0
        let buffer = try SecureBytes(count: capacity)
        try buffer.withUnsafeMutableBytes { out in
            func put(_ bytes: some Sequence<UInt8>) { for byte in bytes { out[written] = byte; written += 1 } }
            put(preamble)
            try keyLine.withUnsafeBytes { key in
                for number in 1...lineCount {
                    let start = (number - 1) * charactersPerLine
                    let piece = UnsafeRawBufferPointer(rebasing: key[start..<min(start + charactersPerLine, key.count)])
                    put(String(format: "%02d ", number).utf8)
                    for (index, byte) in piece.enumerated() {
                        if index > 0 && index % 4 == 0 { put([UInt8(ascii: " ")]) }
                        put([byte])
                    }
                    put(" \(try check(number: number, piece))\n".utf8)
                }
            }
            put(end)
        }
        return try buffer.withUnsafeBytes { try SecureBytes(copying: UnsafeRawBufferPointer(rebasing: $0[..<written])) }
    }

    /// The key line typed back from paper, in secure memory. Comment lines
    /// (`#`) and blank lines are skipped; each numbered line must match its
    /// check code, and a mistyped line is named.
    public static func `import`(_ text: UnsafeRawBufferPointer) throws -> SecureBytes {
        let key = try SecureBytes(count: maximumKeyLength)
        let piece = try SecureBytes(count: charactersPerLine + 8)
        var keyLength = 0
        var expected = 1
        var sawHeader = false
        var ended = false
        try key.withUnsafeMutableBytes { keyOut in
            try piece.withUnsafeMutableBytes { pieceOut in
                var lineStart = 0
                while lineStart < text.count && !ended {
                    var lineEnd = lineStart
                    while lineEnd < text.count && text[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                    defer { lineStart = lineEnd + 1 }
                    var end = lineEnd
                    while end > lineStart && (text[end - 1] == UInt8(ascii: "\r") || text[end - 1] == UInt8(ascii: " ")) { end -= 1 }
                    let line = UnsafeRawBufferPointer(rebasing: text[lineStart..<end])
                    if line.isEmpty || line[0] == UInt8(ascii: "#") { continue }
                    if !sawHeader {
                        guard line.elementsEqual(header.utf8) else { throw SealedArchiveError(.invalidKey, "not a paper key: it does not start with '\(header)'") }
                        sawHeader = true
                        continue
                    }
                    if line.elementsEqual("END".utf8) { ended = true; continue }
                    // Fields: the number, the groups, the check code (last).
                    let spaces = line.indices.filter { line[$0] == UInt8(ascii: " ") }
                    guard spaces.count >= 2, let number = Int(String(decoding: line[..<spaces[0]], as: UTF8.self)) else {
                        throw SealedArchiveError(.invalidKey, "paper key line \(expected) is not 'NN GROUPS… CHECK'")
                    }
                    guard number == expected else { throw SealedArchiveError(.invalidKey, "paper key line \(expected) is missing (found line \(number))") }
                    var pieceLength = 0
                    for index in (spaces[0] + 1)..<spaces[spaces.count - 1] where line[index] != UInt8(ascii: " ") {
                        guard pieceLength < pieceOut.count else { throw SealedArchiveError(.invalidKey, "paper key line \(number) is too long") }
                        let byte = line[index]
                        pieceOut[pieceLength] = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) ? byte - 32 : byte
                        pieceLength += 1
                    }
                    let typed = String(decoding: line[(spaces[spaces.count - 1] + 1)...], as: UTF8.self).lowercased()
                    guard try check(number: number, UnsafeRawBufferPointer(rebasing: pieceOut[..<pieceLength])) == typed else {
                        throw SealedArchiveError(.invalidKey, "paper key line \(number) is mistyped: its check code does not match")
                    }
                    guard keyLength + pieceLength <= keyOut.count else { throw SealedArchiveError(.invalidKey, "the paper key is too long") }
                    UnsafeMutableRawBufferPointer(rebasing: keyOut[keyLength..<keyLength + pieceLength])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: pieceOut[..<pieceLength]))
                    keyLength += pieceLength
                    expected += 1
                }
            }
        }
        guard sawHeader, ended, keyLength > 0 else { throw SealedArchiveError(.invalidKey, "the paper key is incomplete: its END line is missing") }
        return try key.withUnsafeBytes { try SecureBytes(copying: UnsafeRawBufferPointer(rebasing: $0[..<keyLength])) }
    }

    /// Four hex digits of SHA-256 over the line number and its characters.
    private static func check(number: Int, _ piece: UnsafeRawBufferPointer) throws -> String {
        let hasher = try SHA256()
        Array("paper-line-\(number):".utf8).withUnsafeBytes { hasher.update($0) }
        hasher.update(piece)
        return String(hasher.finalizeHex().prefix(4))
    }
}
