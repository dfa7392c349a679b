/// The archive trailer (Spec/FORMAT.md section 6): chunk count, keyless
/// digest, and the signature when the header names a signer.
package struct Trailer: Sendable {
    package let chunkCount: UInt64
    package let digest: [UInt8]
    package let signature: [UInt8]?

    /// Check 13's marker test: whether `bytes` (exactly a trailer's length)
    /// starts with the trailer magic.
    package static func hasMagic(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.starts(with: FormatV1.trailerMagic)
    }

    /// Parses a trailer of exactly `FormatV1.trailerLength(signed:)` bytes
    /// whose magic was already checked.
    package init(parsing bytes: UnsafeRawBufferPointer, signed: Bool) throws {
        var reader = ByteReader(bytes, offset: FormatV1.trailerMagic.count) {
            SealedArchiveError(.truncated, "the archive does not end with a complete trailer")
        }
        chunkCount = try reader.u64()
        digest = try reader.bytes(32)
        signature = signed ? try reader.bytes(Ed25519.signatureLength) : nil
    }

    package init(chunkCount: UInt64, digest: [UInt8], signature: [UInt8]?) {
        self.chunkCount = chunkCount
        self.digest = digest
        self.signature = signature
    }

    package func serialize() -> [UInt8] {
        var out = FormatV1.trailerMagic
        out.appendLittleEndian(chunkCount)
        out.append(contentsOf: digest)
        if let signature { out.append(contentsOf: signature) }
        return out
    }

    /// The message the sealing host signs: the domain string and the digest.
    package static func signedMessage(digest: [UInt8], version: FormatVersion = .v1) -> [UInt8] {
        Array(String(describing: version.signatureDomain).utf8) + digest
    }
}
