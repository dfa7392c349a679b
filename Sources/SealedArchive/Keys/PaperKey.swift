/// A secret key as text for paper: the key line cut into short groups, each
/// line with its own check code, so a key typed back in from a printout is
/// checked line by line and the first mistyped line is named (the key's own
/// Bech32 checksum then checks the whole). Spec/KEYS.md section 6.
public enum PaperKey {
    static let header = "SEALED-ARCHIVE PAPER KEY 1"
    static let charactersPerLine = 20

    /// The printable text for a secret key line (from `Identity.encoded()`
    /// or `SigningKey.encoded()`), in secure memory. `title` lines (public
    /// key, key id, date) are printed above it as they are.
    public static func export(_ keyLine: SecureBytes, title: [String]) throws -> SecureBytes {
        var text = [UInt8]()
        defer { secureZero(&text) }
        func append(_ line: String) { text += Array(line.utf8) + [UInt8(ascii: "\n")] }
        append(header)
        for line in title { append("# " + line) }
        try keyLine.withUnsafeBytes { key in
            var number = 1
            var offset = 0
            while offset < key.count {
                let piece = Array(key[offset..<min(offset + charactersPerLine, key.count)])
                defer { offset += charactersPerLine }
                let groups = stride(from: 0, to: piece.count, by: 4).map { Array(piece[$0..<min($0 + 4, piece.count)]) }
                text += Array(String(format: "%02d ", number).utf8)
                for (index, group) in groups.enumerated() {
                    text += group
                    if index < groups.count - 1 { text.append(UInt8(ascii: " ")) }
                }
                text += Array(" \(try check(number: number, piece))".utf8) + [UInt8(ascii: "\n")]
                number += 1
            }
        }
        append("END")
        return try text.withUnsafeBytes { try SecureBytes(copying: $0) }
    }

    /// The key line typed back from paper, in secure memory. Comment lines
    /// (`#`) and blank lines are skipped; each numbered line must match its
    /// check code, and a mistyped line is named.
    public static func `import`(_ text: UnsafeRawBufferPointer) throws -> SecureBytes {
        var key = [UInt8]()
        defer { secureZero(&key) }
        var expected = 1
        var sawHeader = false
        var ended = false
        for raw in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            var line = Array(raw)
            defer { secureZero(&line) }
            while let last = line.last, last == UInt8(ascii: "\r") || last == UInt8(ascii: " ") { line.removeLast() }
            if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
            if !sawHeader {
                guard line == Array(header.utf8) else { throw SealedArchiveError(.invalidKey, "not a paper key: it does not start with '\(header)'") }
                sawHeader = true
                continue
            }
            if line == Array("END".utf8) { ended = true; break }
            let fields = line.split(separator: UInt8(ascii: " ")).map(Array.init)
            guard fields.count >= 3, let number = Int(String(decoding: fields[0], as: UTF8.self)) else {
                throw SealedArchiveError(.invalidKey, "paper key line \(expected) is not 'NN GROUPS… CHECK'")
            }
            guard number == expected else { throw SealedArchiveError(.invalidKey, "paper key line \(expected) is missing (found line \(number))") }
            let piece = fields[1..<(fields.count - 1)].flatMap { $0 }.map { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) ? byte - 32 : byte
            }
            guard try check(number: number, piece) == String(decoding: fields[fields.count - 1], as: UTF8.self).lowercased() else {
                throw SealedArchiveError(.invalidKey, "paper key line \(number) is mistyped: its check code does not match")
            }
            key += piece
            expected += 1
        }
        guard sawHeader, ended else { throw SealedArchiveError(.invalidKey, "the paper key is incomplete: its END line is missing") }
        return try key.withUnsafeBytes { try SecureBytes(copying: $0) }
    }

    /// Reads the typed text from `source` (at most 64 KiB) into secure
    /// memory and imports it.
    public static func `import`(from source: ByteSource) throws -> SecureBytes {
        let buffer = try SecureBytes(count: 64 * 1024 + 1)
        let count = try buffer.withUnsafeMutableBytes { try source.readFully(into: $0) }
        guard count <= 64 * 1024 else { throw SealedArchiveError(.invalidKey, "the paper key text is too long") }
        return try buffer.withUnsafeBytes { try `import`(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
    }

    /// Four hex digits of SHA-256 over the line number and its characters.
    private static func check(number: Int, _ piece: [UInt8]) throws -> String {
        let hasher = try SHA256()
        Array("paper-line-\(number):".utf8).withUnsafeBytes { hasher.update($0) }
        piece.withUnsafeBytes { hasher.update($0) }
        return String(hasher.finalizeHex().prefix(4))
    }
}

extension KeyFiles {
    /// Parses a single secret key line (identity or signing key) held in
    /// secure memory.
    public static func parseSecretKeyLine(_ line: SecureBytes) throws -> SecretKeys {
        try line.withUnsafeBytes { bytes in
            if bytes.starts(with: Array("AGE-SECRET-KEY-1".utf8)) { return .identities([try Identity(parsing: bytes)]) }
            if bytes.starts(with: Array("SEALED-SIGNING-KEY-1".utf8)) { return .signingKey(try SigningKey(parsing: bytes)) }
            throw SealedArchiveError(.invalidKey, "the paper key holds neither an identity nor a signing key")
        }
    }
}
