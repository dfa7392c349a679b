import Foundation

/// An archive header (Spec/FORMAT.md section 4, Spec/FORMAT-v2.md section
/// 3): everything an opener needs before the records, authenticated by a
/// MAC under a key derived from the file key.
///
/// `init(parsing:)` performs the decoder checks 1–7 (of FORMAT.md section 8
/// or FORMAT-v2.md section 7, by the version byte) in order and rejects
/// anything non-canonical; `serializeUnauthenticated()` writes exactly the
/// bytes that parsing accepts.
public struct ArchiveHeader: Sendable {
    public let version: FormatVersion
    /// Version 2: a group holds `1 << groupSizeLog2` records. 0 in version 1.
    public let groupSizeLog2: Int
    /// Chunk size is `1 << chunkSizeLog2` bytes.
    public let chunkSizeLog2: Int
    public let payloadKind: PayloadKind
    public let compression: Compression
    /// Seconds since the Unix epoch.
    public let created: UInt64
    public let stanzas: [Stanza]
    /// The sealing host's key, present when the archive is signed.
    public let signer: SignerKey?
    public let label: String?
    public let sequence: UInt64?
    public let previousDigest: [UInt8]?
    /// The header MAC (empty on a header not yet serialised).
    public let mac: [UInt8]
    /// The exact header bytes, MAC included (empty until serialised).
    public let bytes: [UInt8]
    /// Version 2, signed: the 64-byte header signature that follows the
    /// header (Spec/FORMAT-v2.md section 3.3), once verified (check 9) or
    /// made by the encoder. Nil otherwise.
    public let signature: [UInt8]?

    public var chunkSize: Int { 1 << chunkSizeLog2 }
    public var createdDate: Date { Date(timeIntervalSince1970: TimeInterval(created)) }
    public var length: Int { bytes.count }
    public var isSigned: Bool { signer != nil }
    /// The previous archive's digest as lowercase hex, when chained.
    public var previousDigestHex: String? { previousDigest.map(HexCoding.encode) }
    package var trailerLength: Int { FormatV1.trailerLength(signed: isSigned) }
    /// A full record: chunk and tag, and in version 1 the record hash.
    package var recordLength: Int { chunkSize + version.recordOverhead }
    /// Version 2: records in a group. 1 in version 1 (no groups).
    public var groupSize: Int { 1 << groupSizeLog2 }
    /// Whether a 64-byte header signature follows the header: a signed
    /// version 2 header (Spec/FORMAT-v2.md section 2).
    public var hasHeaderSignature: Bool { version == .v2 && isSigned }
    /// `S`: the bytes before record 0, header and header signature
    /// (Spec/FORMAT-v2.md section 3.3). A decoder needs this many bytes.
    public var leadLength: Int { length + (hasHeaderSignature ? FormatV2.headerSignatureLength : 0) }
    /// Header and header signature, as written before record 0.
    public var leadBytes: [UInt8] { bytes + (signature ?? []) }

    package enum FieldTag: UInt8 {
        case signer = 1, label = 2, sequence = 3, previousDigest = 4
    }

    package init(version: FormatVersion = .v1, groupSizeLog2: Int = 0,
         chunkSizeLog2: Int, payloadKind: PayloadKind, compression: Compression, created: UInt64,
         stanzas: [Stanza], signer: SignerKey?, label: String?, sequence: UInt64?, previousDigest: [UInt8]?,
         mac: [UInt8] = [], bytes: [UInt8] = [], signature: [UInt8]? = nil) {
        self.version = version
        self.groupSizeLog2 = version == .v1 ? 0 : groupSizeLog2
        self.signature = signature
        self.chunkSizeLog2 = chunkSizeLog2
        self.payloadKind = payloadKind
        self.compression = compression
        self.created = created
        self.stanzas = stanzas
        self.signer = signer
        self.label = label
        self.sequence = sequence
        self.previousDigest = previousDigest
        self.mac = mac
        self.bytes = bytes
    }

    // MARK: Parsing

    /// Checks 1–3 on the first 13 bytes (fewer when the input is shorter) and
    /// returns `header_length`.
    package static func headerLength(fromPrefix prefix: UnsafeRawBufferPointer) throws -> Int {
        guard prefix.count >= FormatV1.prefixLength, prefix.starts(with: FormatV1.magic) else {
            throw SealedArchiveError(.header, "not a sealed archive: it does not start with the SEALARC magic bytes")
        }
        let versionByte = prefix[8]
        guard let version = FormatVersion(rawValue: versionByte) else {
            throw SealedArchiveError(.version,
                "archive format version \(versionByte) is not supported (this sealed-archive reads versions 1 and 2); use a newer sealed-archive")
        }
        var reader = ByteReader(prefix, offset: 9) { SealedArchiveError(.header, "header too short") }
        let length = Int(try reader.u32())
        guard length >= version.minimumHeaderLength, length <= version.maximumHeaderLength else {
            throw SealedArchiveError(.limit,
                "header length \(length) is outside the allowed \(version.minimumHeaderLength)–\(version.maximumHeaderLength) bytes")
        }
        return length
    }

    /// Parses a complete header (checks 1–7 of Spec/FORMAT.md section 8, or
    /// of Spec/FORMAT-v2.md section 7 for a version 2 header). `input` must
    /// hold at least the header; what follows it is ignored (a version 2
    /// header signature is checked by ``ArchiveDecoder``, check 9).
    public init(parsing input: [UInt8]) throws {
        let length = try input.withUnsafeBytes { try Self.headerLength(fromPrefix: $0) }
        guard input.count >= length else {
            throw SealedArchiveError(.truncated, "the archive is truncated: it ends at byte \(input.count), inside its header (of \(length) bytes)")
        }
        let version = FormatVersion(rawValue: input[8]) ?? .v1
        let header = Array(input[..<length])
        self = try header.withUnsafeBytes { raw in
            func malformed(_ what: String) -> SealedArchiveError { SealedArchiveError(.header, "malformed header: \(what)") }
            var reader = ByteReader(UnsafeRawBufferPointer(rebasing: raw[..<(length - FormatV1.macLength)]), offset: FormatV1.prefixLength) {
                malformed("a field runs past the end of the header")
            }
            let chunkSizeLog2 = Int(try reader.u8())
            let kindByte = try reader.u8()
            let compressionByte = try reader.u8()
            let created = try reader.u64()
            let groupSizeLog2 = version == .v2 ? Int(try reader.u8()) : 0
            let stanzaCount = Int(try reader.u16())
            let maximumStanzas = version == .v1 ? FormatV1.maximumRecipients : FormatV2.maximumStanzas
            // Check 5 before 6: a count over the limit is a limit error even
            // when other fields are also bad.
            guard (1...maximumStanzas).contains(stanzaCount) else {
                throw SealedArchiveError(.limit,
                    "the archive has \(stanzaCount) recipients; the allowed range is 1–\(maximumStanzas)")
            }
            guard FormatV1.chunkSizeLog2Range.contains(chunkSizeLog2) else {
                throw malformed("chunk size 2^\(chunkSizeLog2) is outside 2^\(FormatV1.chunkSizeLog2Range.lowerBound)–2^\(FormatV1.chunkSizeLog2Range.upperBound)")
            }
            if version == .v2 {
                let groups = FormatV2.groupSizeLog2Range(chunkSizeLog2: chunkSizeLog2)
                guard groups.contains(groupSizeLog2) else {
                    throw malformed("group size 2^\(groupSizeLog2) is outside 2^\(groups.lowerBound)–2^\(groups.upperBound) for chunks of 2^\(chunkSizeLog2)")
                }
            }
            guard let payloadKind = PayloadKind(rawValue: kindByte) else { throw malformed("unknown payload kind \(kindByte)") }
            guard let compression = Compression(rawValue: compressionByte) else { throw malformed("unknown compression \(compressionByte)") }
            // Byte payloads are stored as given (Spec/FORMAT.md, check 6):
            // `open -o` writes them out unchanged, so a compressed one would
            // come back still compressed.
            guard payloadKind == .tar || compression == .none else {
                throw malformed("a byte payload (kind 01) recorded as compressed (\(compression)): only a tar payload may be")
            }
            // Version 2 tar payloads are always zstd frames (FORMAT-v2.md 3).
            guard version == .v1 || payloadKind == .bytes || compression == .zstd else {
                throw malformed("a version 2 tar payload recorded as uncompressed: it is always zstd frames")
            }

            var stanzas: [Stanza] = []
            var seen = Set<KeyID>()
            for _ in 0..<stanzaCount {
                if version == .v1 {
                    let keyID = KeyID(bytes: try reader.bytes(KeyID.length))
                    guard seen.insert(keyID).inserted else { throw malformed("two stanzas for key \(keyID)") }
                    stanzas.append(Stanza(keyID: keyID, wrappedKey: try reader.bytes(FormatV1.stanzaLength - KeyID.length)))
                } else {
                    // Typed stanzas (FORMAT-v2.md 3.1): an unknown type is
                    // kept and skipped, and not checked for duplicates.
                    let type = try reader.u8()
                    let bodyLength = Int(try reader.u16())
                    guard let stanza = Stanza(type: type, body: try reader.bytes(bodyLength)) else {
                        throw malformed("a stanza of type \(type) with a body of \(bodyLength) bytes")
                    }
                    if stanza.isKnownType {
                        guard seen.insert(stanza.keyID).inserted else { throw malformed("two stanzas for key \(stanza.keyID)") }
                    }
                    stanzas.append(stanza)
                }
            }

            var signer: SignerKey?
            var label: String?
            var sequence: UInt64?
            var previousDigest: [UInt8]?
            var lastTag: UInt8 = 0
            while reader.remaining > 0 {
                let tagByte = try reader.u8()
                let fieldLength = Int(try reader.u16())
                guard tagByte > lastTag else { throw malformed("header fields out of order or repeated (tag \(tagByte))") }
                lastTag = tagByte
                let value = try reader.bytes(fieldLength)
                switch FieldTag(rawValue: tagByte) {
                case .signer:
                    guard fieldLength == Ed25519.publicKeyLength else { throw malformed("signer field of \(fieldLength) bytes") }
                    signer = try SignerKey(publicKey: value)
                case .label:
                    guard let text = Self.validLabel(value, version: version) else {
                        throw malformed(version == .v1
                            ? "label is not 1–255 bytes of UTF-8 text without control characters"
                            : "label is not 1–255 bytes of UTF-8 text without control or bidirectional format characters")
                    }
                    label = text
                case .sequence:
                    guard fieldLength == 8 else { throw malformed("sequence field of \(fieldLength) bytes") }
                    sequence = try value.withUnsafeBytes { v in
                        var fieldReader = ByteReader(v) { malformed("sequence") }
                        return try fieldReader.u64()
                    }
                case .previousDigest:
                    guard fieldLength == 32 else { throw malformed("previous-digest field of \(fieldLength) bytes") }
                    previousDigest = value
                case nil:
                    throw malformed("unknown header field \(tagByte) (written by a newer sealed-archive?)")
                }
            }
            return ArchiveHeader(
                version: version, groupSizeLog2: groupSizeLog2,
                chunkSizeLog2: chunkSizeLog2, payloadKind: payloadKind, compression: compression, created: created,
                stanzas: stanzas, signer: signer, label: label, sequence: sequence, previousDigest: previousDigest,
                mac: Array(raw[(length - FormatV1.macLength)...]), bytes: header)
        }
    }

    /// The label's text when `value` is a valid label: 1–255 bytes of
    /// strict UTF-8; no C0 control or DEL (version 1, FORMAT.md 4.2); in
    /// version 2 also none of the C1, bidirectional and deprecated format
    /// controls and line separators of FORMAT-v2.md section 3.2, which could
    /// make a printed label lie about itself.
    package static func validLabel(_ value: [UInt8], version: FormatVersion) -> String? {
        guard (1...255).contains(value.count), let text = String(validating: value, as: UTF8.self) else { return nil }
        switch version {
        case .v1:
            return value.contains(where: { $0 < 0x20 || $0 == 0x7f }) ? nil : text
        case .v2:
            return text.unicodeScalars.contains(where: { isForbiddenInLabel($0.value) }) ? nil : text
        }
    }

    private static func isForbiddenInLabel(_ scalar: UInt32) -> Bool {
        switch scalar {
        case 0x0000...0x001F, 0x007F...0x009F, 0x061C, 0x200E, 0x200F, 0x202A...0x202E,
             0x2066...0x2069, 0x206A...0x206F, 0x2028, 0x2029: return true
        default: return false
        }
    }

    // MARK: Serialising

    /// The header bytes the MAC covers: everything but the MAC, with
    /// `header_length` already counting the MAC.
    package func serializeUnauthenticated() throws -> [UInt8] {
        var fields: [UInt8] = []
        func field(_ tag: FieldTag, _ value: [UInt8]) {
            fields.append(tag.rawValue)
            fields.appendLittleEndian(UInt16(value.count))
            fields.append(contentsOf: value)
        }
        if let signer { field(.signer, signer.publicKey) }
        if let label { field(.label, Array(label.utf8)) }
        if let sequence { var v: [UInt8] = []; v.appendLittleEndian(sequence); field(.sequence, v) }
        if let previousDigest { field(.previousDigest, previousDigest) }

        let stanzaBytes: Int
        let fixedLength: Int
        let maximumStanzas: Int
        switch version {
        case .v1:
            guard stanzas.allSatisfy(\.isX25519) else {
                throw SealedArchiveError(.invalidArgument, "a version 1 header holds X25519 stanzas only")
            }
            stanzaBytes = stanzas.count * FormatV1.stanzaLength
            fixedLength = FormatV1.fixedLength
            maximumStanzas = FormatV1.maximumRecipients
        case .v2:
            guard stanzas.allSatisfy({ $0.body.count <= Int(UInt16.max) }) else {
                throw SealedArchiveError(.limit, "a stanza body is over 65535 bytes")
            }
            stanzaBytes = stanzas.reduce(0) { $0 + FormatV2.stanzaPrefixLength + $1.body.count }
            fixedLength = FormatV2.fixedLength
            maximumStanzas = FormatV2.maximumStanzas
        }
        let length = fixedLength + stanzaBytes + fields.count + FormatV1.macLength
        guard length <= version.maximumHeaderLength, (1...maximumStanzas).contains(stanzas.count) else {
            throw SealedArchiveError(.limit, "the header would be \(length) bytes for \(stanzas.count) recipients; the limits are \(version.maximumHeaderLength) bytes and \(maximumStanzas) recipients")
        }
        var out = FormatV1.magic
        out.reserveCapacity(length)
        out.append(version.rawValue)
        out.appendLittleEndian(UInt32(length))
        out.append(UInt8(chunkSizeLog2))
        out.append(payloadKind.rawValue)
        out.append(compression.rawValue)
        out.appendLittleEndian(created)
        if version == .v2 { out.append(UInt8(groupSizeLog2)) }
        out.appendLittleEndian(UInt16(stanzas.count))
        for stanza in stanzas {
            if version == .v2 {
                out.append(stanza.type)
                out.appendLittleEndian(UInt16(stanza.body.count))
            }
            out.append(contentsOf: stanza.body)
        }
        out.append(contentsOf: fields)
        return out
    }

    /// This header with its MAC under `headerKey` appended, as written.
    package func authenticated(with headerKey: SecureBytes) throws -> ArchiveHeader {
        let body = try serializeUnauthenticated()
        let mac = try Self.mac(of: body, key: headerKey)
        return ArchiveHeader(
            version: version, groupSizeLog2: groupSizeLog2,
            chunkSizeLog2: chunkSizeLog2, payloadKind: payloadKind, compression: compression, created: created,
            stanzas: stanzas, signer: signer, label: label, sequence: sequence, previousDigest: previousDigest,
            mac: mac, bytes: body + mac)
    }

    /// This header with its header signature (version 2, signed) attached.
    package func with(signature: [UInt8]?) -> ArchiveHeader {
        ArchiveHeader(
            version: version, groupSizeLog2: groupSizeLog2,
            chunkSizeLog2: chunkSizeLog2, payloadKind: payloadKind, compression: compression, created: created,
            stanzas: stanzas, signer: signer, label: label, sequence: sequence, previousDigest: previousDigest,
            mac: mac, bytes: bytes, signature: signature)
    }

    /// The message of the header signature (Spec/FORMAT-v2.md section 3.3):
    /// the domain string and every header byte, MAC included.
    package var headerSignatureMessage: [UInt8] {
        Array(String(describing: FormatV2.headerSignatureDomain).utf8) + bytes
    }

    /// Whether the MAC verifies under `headerKey` (check 11), in constant time.
    package func hasValidMAC(headerKey: SecureBytes) throws -> Bool {
        let expected = try Self.mac(of: Array(bytes[..<(bytes.count - FormatV1.macLength)]), key: headerKey)
        return constantTimeEquals(expected, mac)
    }

    private static func mac(of body: [UInt8], key: SecureBytes) throws -> [UInt8] {
        let hasher = try BLAKE2b(key: key)
        hasher.update(body)
        return hasher.finalize()
    }
}
