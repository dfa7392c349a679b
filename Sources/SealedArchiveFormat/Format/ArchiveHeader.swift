import Foundation

/// An archive header (Spec/FORMAT.md section 4): everything an opener needs
/// before the records, authenticated by a MAC under a key derived from the
/// file key.
///
/// `init(parsing:)` performs the decoder checks 1–7 of section 8 in order
/// and rejects anything non-canonical; `serialize(mac:)` writes exactly the
/// bytes that parsing accepts.
public struct ArchiveHeader: Sendable {
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

    public var chunkSize: Int { 1 << chunkSizeLog2 }
    public var createdDate: Date { Date(timeIntervalSince1970: TimeInterval(created)) }
    public var length: Int { bytes.count }
    public var isSigned: Bool { signer != nil }
    /// The previous archive's digest as lowercase hex, when chained.
    public var previousDigestHex: String? { previousDigest.map(HexCoding.encode) }
    package var trailerLength: Int { FormatV1.trailerLength(signed: isSigned) }
    /// A full record: chunk, tag, record hash.
    package var recordLength: Int { chunkSize + FormatV1.recordOverhead }

    package enum FieldTag: UInt8 {
        case signer = 1, label = 2, sequence = 3, previousDigest = 4
    }

    package init(chunkSizeLog2: Int, payloadKind: PayloadKind, compression: Compression, created: UInt64,
         stanzas: [Stanza], signer: SignerKey?, label: String?, sequence: UInt64?, previousDigest: [UInt8]?,
         mac: [UInt8] = [], bytes: [UInt8] = []) {
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
        let version = prefix[8]
        guard version == FormatV1.version else {
            throw SealedArchiveError(.version,
                "archive format version \(version) is not supported (this sealed-archive reads version \(FormatV1.version)); use a newer sealed-archive")
        }
        var reader = ByteReader(prefix, offset: 9) { SealedArchiveError(.header, "header too short") }
        let length = Int(try reader.u32())
        guard length >= FormatV1.minimumHeaderLength, length <= FormatV1.maximumHeaderLength else {
            throw SealedArchiveError(.limit,
                "header length \(length) is outside the allowed \(FormatV1.minimumHeaderLength)–\(FormatV1.maximumHeaderLength) bytes")
        }
        return length
    }

    /// Parses a complete header (checks 1–7 of Spec/FORMAT.md section 8).
    /// `bytes` must hold at least the header; what follows it is ignored.
    public init(parsing input: [UInt8]) throws {
        let length = try input.withUnsafeBytes { try Self.headerLength(fromPrefix: $0) }
        guard input.count >= length else {
            throw SealedArchiveError(.truncated, "the archive is truncated: it ends at byte \(input.count), inside its header (of \(length) bytes)")
        }
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
            let recipientCount = Int(try reader.u16())
            // Check 5 before 6: a count over the limit is a limit error even
            // when other fields are also bad.
            guard (1...FormatV1.maximumRecipients).contains(recipientCount) else {
                throw SealedArchiveError(.limit,
                    "the archive has \(recipientCount) recipients; the allowed range is 1–\(FormatV1.maximumRecipients)")
            }
            guard FormatV1.chunkSizeLog2Range.contains(chunkSizeLog2) else {
                throw malformed("chunk size 2^\(chunkSizeLog2) is outside 2^\(FormatV1.chunkSizeLog2Range.lowerBound)–2^\(FormatV1.chunkSizeLog2Range.upperBound)")
            }
            guard let payloadKind = PayloadKind(rawValue: kindByte) else { throw malformed("unknown payload kind \(kindByte)") }
            guard let compression = Compression(rawValue: compressionByte) else { throw malformed("unknown compression \(compressionByte)") }
            // Byte payloads are stored as given (Spec/FORMAT.md, check 6):
            // `open -o` writes them out unchanged, so a compressed one would
            // come back still compressed.
            guard payloadKind == .tar || compression == .none else {
                throw malformed("a byte payload (kind 01) recorded as compressed (\(compression)): only a tar payload may be")
            }

            var stanzas: [Stanza] = []
            var seen = Set<KeyID>()
            for _ in 0..<recipientCount {
                let keyID = KeyID(bytes: try reader.bytes(KeyID.length))
                guard seen.insert(keyID).inserted else { throw malformed("two stanzas for key \(keyID)") }
                stanzas.append(Stanza(keyID: keyID, wrappedKey: try reader.bytes(FormatV1.stanzaLength - KeyID.length)))
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
                    guard (1...255).contains(fieldLength), let text = String(validating: value, as: UTF8.self),
                          !value.contains(where: { $0 < 0x20 || $0 == 0x7f }) else {
                        throw malformed("label is not 1–255 bytes of UTF-8 text without control characters")
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
                chunkSizeLog2: chunkSizeLog2, payloadKind: payloadKind, compression: compression, created: created,
                stanzas: stanzas, signer: signer, label: label, sequence: sequence, previousDigest: previousDigest,
                mac: Array(raw[(length - FormatV1.macLength)...]), bytes: header)
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

        let length = FormatV1.fixedLength + stanzas.count * FormatV1.stanzaLength + fields.count + FormatV1.macLength
        guard length <= FormatV1.maximumHeaderLength, (1...FormatV1.maximumRecipients).contains(stanzas.count) else {
            throw SealedArchiveError(.limit, "the header would be \(length) bytes for \(stanzas.count) recipients; the limits are \(FormatV1.maximumHeaderLength) bytes and \(FormatV1.maximumRecipients) recipients")
        }
        var out = FormatV1.magic
        out.reserveCapacity(length)
        out.append(FormatV1.version)
        out.appendLittleEndian(UInt32(length))
        out.append(UInt8(chunkSizeLog2))
        out.append(payloadKind.rawValue)
        out.append(compression.rawValue)
        out.appendLittleEndian(created)
        out.appendLittleEndian(UInt16(stanzas.count))
        for stanza in stanzas {
            out.append(contentsOf: stanza.keyID.bytes)
            out.append(contentsOf: stanza.wrappedKey)
        }
        out.append(contentsOf: fields)
        return out
    }

    /// This header with its MAC under `headerKey` appended, as written.
    package func authenticated(with headerKey: SecureBytes) throws -> ArchiveHeader {
        let body = try serializeUnauthenticated()
        let mac = try Self.mac(of: body, key: headerKey)
        return ArchiveHeader(
            chunkSizeLog2: chunkSizeLog2, payloadKind: payloadKind, compression: compression, created: created,
            stanzas: stanzas, signer: signer, label: label, sequence: sequence, previousDigest: previousDigest,
            mac: mac, bytes: body + mac)
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
