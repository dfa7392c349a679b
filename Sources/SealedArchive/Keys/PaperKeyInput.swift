/// Reading a paper key's typed text from a stream stays beside the other
/// IO; the format core (`PaperKey.import(_:)`) only parses bytes it is given.
extension PaperKey {
    /// Reads the typed text from `source` (at most 64 KiB) into secure
    /// memory and imports it.
    public static func `import`(from source: ByteSource) throws -> SecureBytes {
        let buffer = try SecureBytes(count: 64 * 1024 + 1)
        let count = try buffer.withUnsafeMutableBytes { try source.readFully(into: $0) }
        guard count <= 64 * 1024 else { throw SealedArchiveError(.invalidKey, "the paper key text is too long") }
        return try buffer.withUnsafeBytes { try `import`(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
    }
}

extension KeyFiles {
    /// Parses a single secret key line (identity or signing key) held in
    /// secure memory.
    public static func parseSecretKeyLine(_ line: SecureBytes) throws -> SecretKeys {
        try line.withUnsafeBytes { bytes in
            if bytes.starts(with: Array("AGE-SECRET-KEY-1".utf8)) || bytes.starts(with: Array("AGE-SECRET-KEY-PQ-1".utf8)) {
                return .identities([try Identity(parsing: bytes)])
            }
            if bytes.starts(with: Array("SEALED-SIGNING-KEY-1".utf8)) { return .signingKey(try SigningKey(parsing: bytes)) }
            throw SealedArchiveError(.invalidKey, "the paper key holds neither an identity nor a signing key")
        }
    }
}
