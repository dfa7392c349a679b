/// A record that passed its checks: its place, its stored length and its
/// record hash, which the digest of Spec/FORMAT.md section 6 chains. Only a
/// checker (``ArchiveDecoder``, ``UnlockedArchive``, ``ArchiveEncoder``)
/// makes one, so a ``RecordAccumulator`` digests nothing unchecked.
public struct CheckedRecord: Sendable, Equatable {
    public let index: UInt64
    public let isLast: Bool
    /// `h_i`, 32 bytes.
    public let hash: [UInt8]
    /// Bytes the record takes in the archive: chunk, tag and (version 1) hash.
    public let storedLength: Int
    /// Whether the chunk was decrypted and authenticated, not only hashed.
    public let opened: Bool
    /// The archive's format version: what a record adds to its chunk.
    public let version: FormatVersion

    /// The chunk's plaintext length.
    public var plaintextLength: Int { storedLength - version.recordOverhead }

    package init(index: UInt64, isLast: Bool, hash: [UInt8], storedLength: Int, opened: Bool, version: FormatVersion = .v1) {
        self.version = version
        self.index = index
        self.isLast = isLast
        self.hash = hash
        self.storedLength = storedLength
        self.opened = opened
    }
}
