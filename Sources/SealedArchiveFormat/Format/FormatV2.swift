/// The format version an archive is written in (header byte 8). Version 1
/// (Spec/FORMAT.md) stays readable forever; version 2 (Spec/FORMAT-v2.md)
/// adds the header signature, segments and the group table, and typed
/// stanzas.
public enum FormatVersion: UInt8, Sendable, CustomStringConvertible, CaseIterable {
    case v1 = 1
    case v2 = 2

    public var description: String { "\(rawValue)" }

    package var minimumHeaderLength: Int { self == .v1 ? FormatV1.minimumHeaderLength : FormatV2.minimumHeaderLength }
    package var maximumHeaderLength: Int { self == .v1 ? FormatV1.maximumHeaderLength : FormatV2.maximumHeaderLength }
    /// Bytes a record adds to its chunk: tag and hash in version 1, the tag
    /// alone in version 2 (its hash is in the segment).
    public var recordOverhead: Int { self == .v1 ? FormatV1.recordOverhead : FormatV2.recordOverhead }
    package var headerKeyDomain: StaticString { self == .v1 ? FormatV1.headerKeyDomain : FormatV2.headerKeyDomain }
    package var payloadKeyDomain: StaticString { self == .v1 ? FormatV1.payloadKeyDomain : FormatV2.payloadKeyDomain }
    package var chunkHashDomain: StaticString { self == .v1 ? FormatV1.chunkHashDomain : FormatV2.chunkHashDomain }
    package var digestDomain: StaticString { self == .v1 ? FormatV1.digestDomain : FormatV2.digestDomain }
    package var signatureDomain: StaticString { self == .v1 ? FormatV1.signatureDomain : FormatV2.signatureDomain }
}

/// The constants of format version 2, each named as in Spec/FORMAT-v2.md.
/// What is not here (magic, trailer, chunk sizes, file key) is version 1's.
public enum FormatV2 {
    package static let version: UInt8 = 2
    /// Everything before the stanzas: version 1's fixed part with the group
    /// size byte at offset 24 and stanza_count at 25 (section 3).
    package static let fixedLength = 27
    /// A stanza's type and body_length (section 3.1).
    package static let stanzaPrefixLength = 3
    /// The body of a type 01 (X25519) stanza: key id and sealed file key.
    package static let x25519BodyLength = KeyID.length + 80
    /// The body of a type 02 (post-quantum, X-Wing) stanza: key id, X-Wing
    /// ciphertext, wrapped file key (8 + 1120 + 48).
    package static let postQuantumBodyLength = KeyID.length + XWingWrap.length
    /// One stanza of an unknown type with an 8-byte body (the smallest a
    /// stanza can be), no field, the MAC: 27 + 3 + 8 + 32.
    package static let minimumHeaderLength = fixedLength + stanzaPrefixLength + KeyID.length + 32
    package static let maximumHeaderLength = 65536
    public static let maximumStanzas = 64
    package static let headerSignatureLength = 64
    /// An entry of a segment or of the group table.
    package static let hashLength = 32
    /// Bytes a record adds to its chunk: the AEAD tag (section 5).
    public static let recordOverhead = ChunkCipher.tagLength
    /// Groups never exceed 2^30 bytes of chunk plaintext (section 3).
    package static let maximumGroupPlaintextLog2 = 30

    /// The group size an encoder writes by default: one GiB of chunks.
    public static func defaultGroupSizeLog2(chunkSizeLog2: Int) -> Int { maximumGroupPlaintextLog2 - chunkSizeLog2 }
    /// The group sizes check 6 admits for a chunk size.
    public static func groupSizeLog2Range(chunkSizeLog2: Int) -> ClosedRange<Int> {
        1...max(1, maximumGroupPlaintextLog2 - chunkSizeLog2)
    }

    // Domain strings (Spec/FORMAT-v2.md sections 2, 3, 3.3, 5, 6).
    package static let headerKeyDomain: StaticString = "SealedArchive/v2/header-mac"
    package static let payloadKeyDomain: StaticString = "SealedArchive/v2/payload"
    package static let chunkHashDomain: StaticString = "SealedArchive/v2/chunk"
    package static let segmentDomain: StaticString = "SealedArchive/v2/segment"
    package static let digestDomain: StaticString = "SealedArchive/v2/digest"
    package static let signatureDomain: StaticString = "SealedArchive/v2/signature"
    package static let headerSignatureDomain: StaticString = "SealedArchive/v2/header-signature"
}
