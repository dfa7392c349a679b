/// What reading an archive found.
public struct ReadResult: Sendable {
    public let header: ArchiveHeader
    public let chunkCount: UInt64
    /// Plaintext bytes (also counted when only verifying).
    public let plaintextLength: UInt64
    public let archiveLength: UInt64
    public let digest: [UInt8]
    /// Whether every chunk was decrypted and authenticated (not just hashed).
    public let decrypted: Bool
    /// The signer whose signature verified, if the archive is signed.
    public var signer: SignerKey? { header.signer }
    /// The digest as lowercase hex, as reports and chain files show it.
    public var digestHex: String { HexCoding.encode(digest) }

    package init(header: ArchiveHeader, chunkCount: UInt64, plaintextLength: UInt64, archiveLength: UInt64,
                 digest: [UInt8], decrypted: Bool) {
        self.header = header
        self.chunkCount = chunkCount
        self.plaintextLength = plaintextLength
        self.archiveLength = archiveLength
        self.digest = digest
        self.decrypted = decrypted
    }
}
