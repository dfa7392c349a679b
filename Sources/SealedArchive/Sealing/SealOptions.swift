import Foundation

/// What goes into a new archive's header besides its recipients and signer.
public struct SealOptions: Sendable {
    /// The format version written (Spec/FORMAT.md, Spec/FORMAT-v2.md).
    public var formatVersion: FormatVersion = .v1
    /// Version 2: records per group as a power of two; nil for the default
    /// (one GiB of chunks). Tests use small groups to reach boundaries.
    public var groupSizeLog2: Int?
    /// Chunk size as a power of two, 12 (4 KiB) to 24 (16 MiB).
    public var chunkSizeLog2: Int = FormatV1.defaultChunkSizeLog2
    public var payloadKind: PayloadKind = .bytes
    public var compression: Compression = .none
    /// The creation time recorded in the header, handed in by the caller.
    public var created: Date
    /// Optional text shown by `inspect` (1–255 bytes, no control characters).
    public var label: String?
    /// Optional position in a chain of archives.
    public var sequence: UInt64?
    /// Optional digest of the previous archive in the chain (32 bytes).
    public var previousDigest: [UInt8]?
    /// Seal to post-quantum and classical recipients together
    /// (``RecipientMix``); refused otherwise.
    public var allowMixedRecipients = false

    public init(created: Date) {
        self.created = created
    }

    func validate() throws {
        if let label {
            let bytes = Array(label.utf8)
            // Stricter than readers (Spec/FORMAT.md): no C1 or bidirectional
            // controls either, which a terminal would act on.
            guard (1...255).contains(bytes.count), !label.unicodeScalars.contains(where: TerminalText.isUnsafe) else {
                throw SealedArchiveError(.invalidArgument, "the label must be 1–255 bytes of text without control characters (C0, C1 or bidirectional)")
            }
        }
        // The format's own rules; the label rule above is the stricter one.
        try ArchiveEncoder.checkParameters(chunkSizeLog2: chunkSizeLog2, payloadKind: payloadKind, compression: compression,
                                           label: label, previousDigest: previousDigest, version: formatVersion)
        guard created.timeIntervalSince1970 >= 0 else {
            throw SealedArchiveError(.invalidArgument, "the creation time is before 1970")
        }
    }
}

/// What sealing produced.
public struct SealResult: Sendable {
    public let header: ArchiveHeader
    public let chunkCount: UInt64
    /// Bytes of plaintext sealed.
    public let plaintextLength: UInt64
    /// Bytes of archive written.
    public let archiveLength: UInt64
    /// The trailer digest: identifies this archive (and chains the next one).
    public let digest: [UInt8]
    /// ``digest`` as lowercase hex.
    public var digestHex: String { HexCoding.encode(digest) }
}
