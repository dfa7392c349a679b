/// The constants of format version 1, each named as in Spec/FORMAT.md.
public enum FormatV1 {
    package static let magic: [UInt8] = Array("SEALARC".utf8) + [0]
    package static let version: UInt8 = 1
    /// magic, version and header_length: enough to know how much to read.
    package static let prefixLength = 13
    /// Everything before the stanzas.
    package static let fixedLength = 26
    package static let stanzaLength = KeyID.length + 80
    package static let macLength = 32
    package static let minimumHeaderLength = fixedLength + stanzaLength + macLength
    package static let maximumHeaderLength = 8192
    public static let maximumRecipients = 64
    public static let chunkSizeLog2Range = 12...24
    public static let defaultChunkSizeLog2 = 20
    package static let fileKeyLength = 32

    package static let recordHashLength = 32
    /// Bytes a record adds to its chunk: the AEAD tag and the record hash.
    public static let recordOverhead = ChunkCipher.tagLength + recordHashLength

    package static let trailerMagic: [UInt8] = Array("SEALEND".utf8) + [0]
    package static let unsignedTrailerLength = 8 + 8 + 32
    package static let signedTrailerLength = unsignedTrailerLength + Ed25519.signatureLength

    // Domain strings (Spec/FORMAT.md sections 3, 5, 6).
    package static let headerKeyDomain: StaticString = "SealedArchive/v1/header-mac"
    package static let payloadKeyDomain: StaticString = "SealedArchive/v1/payload"
    package static let chunkHashDomain: StaticString = "SealedArchive/v1/chunk"
    package static let digestDomain: StaticString = "SealedArchive/v1/digest"
    package static let signatureDomain: StaticString = "SealedArchive/v1/signature"

    package static func trailerLength(signed: Bool) -> Int { signed ? signedTrailerLength : unsignedTrailerLength }
}

/// What the plaintext of an archive is (header byte 14).
public enum PayloadKind: UInt8, Sendable, CustomStringConvertible {
    /// Opaque bytes, restored as they were given.
    case bytes = 1
    /// A tar archive, which an opener may extract.
    case tar = 2

    public var description: String { self == .bytes ? "bytes" : "tar" }
}

/// How the plaintext was compressed before encryption (header byte 15).
public enum Compression: UInt8, Sendable, CustomStringConvertible {
    case none = 0
    case zstd = 1

    public var description: String { self == .none ? "none" : "zstd" }
}
