// The version 2 vectors of Spec/vectors/v2 (Spec/FORMAT-v2.md section 12),
// sealed through the format core's encoder with 4 KiB chunks: byte
// payloads only (kind 01; tar payloads need the zstd-frame layer).
import Foundation
import SealedArchive
import TestSupport

/// SplitMix64: the version 2 vectors' keys, file keys, ephemeral keys and
/// plaintexts come from it, so every run writes the same bytes.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }
}

@MainActor var v2Random = SplitMix64(state: 0x5345_414C_4152_4332)
@MainActor func seeded(_ count: Int) -> [UInt8] { v2Random.bytes(count) }
@MainActor func seededSecret() throws -> SecureBytes { try seeded(32).withUnsafeBytes { try SecureBytes(copying: $0) } }

/// Fixed keys for the version 2 vectors (derived from the seed above).
@MainActor enum V2Keys {
    static let alice = try! Identity(secret: seededSecret())
    static let bob = try! Identity(secret: seededSecret())
    static let carol = try! Identity(secret: seededSecret())
    static let mallory = try! Identity(secret: seededSecret())
    static let host = try! SigningKey(seed: seededSecret())
    static let otherHost = try! SigningKey(seed: seededSecret())
}

@MainActor func emitV2(_ name: String, _ description: String, archive: [UInt8], identities: [Identity] = [V2Keys.alice],
                       signers: [SigningKey] = [], expect: String, keyless: String? = nil, plaintext: [UInt8]? = nil,
                       tar: [UInt8]? = nil) throws {
    try emit(name, description, archive: archive, identities: identities, signers: signers, expect: expect, keyless: keyless,
             plaintext: plaintext, tar: tar)
}

/// A version 2 archive and where its parts lie, to damage one precisely.
struct SealedV2 {
    var bytes: [UInt8]
    var records: [Range<Int>] = []
    var segments: [Range<Int>] = []
    var groupTable: Range<Int> = 0..<0
    var trailer: Range<Int> = 0..<0
    var headerLength = 0
}

@MainActor func sealV2(_ plaintext: [UInt8], to recipients: [Identity] = [V2Keys.alice], signedBy key: SigningKey? = V2Keys.host,
            groupSizeLog2: Int? = 1, label: String? = nil, sequence: UInt64? = nil,
            previousDigest: [UInt8]? = nil, tarPayload: Bool = false) throws -> SealedV2 {
    let encoder = try ArchiveEncoder(recipients: recipients.map(\.recipient), signingKey: key, chunkSizeLog2: chunkLog2,
                                     payloadKind: tarPayload ? .tar : .bytes, compression: tarPayload ? .zstd : .none, created: UInt64(created.timeIntervalSince1970),
                                     label: label, sequence: sequence, previousDigest: previousDigest,
                                     version: .v2, groupSizeLog2: groupSizeLog2,
                                     reproducible: .init(fileKey: try seededSecret(), ephemeralSecret: { _ in try seededSecret() }))
    var sealed = SealedV2(bytes: encoder.headerBytes)
    sealed.headerLength = encoder.header.length
    let count = max(1, (plaintext.count + chunk - 1) / chunk)
    for index in 0..<count {
        let piece = Array(plaintext[min(plaintext.count, index * chunk)..<min(plaintext.count, (index + 1) * chunk)])
        var record = [UInt8](repeating: 0, count: encoder.storedLength(plaintextLength: piece.count))
        let checked = try piece.withUnsafeBytes { input in
            try record.withUnsafeMutableBytes { try encoder.seal(input, index: UInt64(index), isLast: index == count - 1, into: $0) }
        }
        sealed.records.append(sealed.bytes.count..<sealed.bytes.count + record.count)
        sealed.bytes += record
        let segment = try encoder.append(checked)
        if !segment.isEmpty {
            sealed.segments.append(sealed.bytes.count..<sealed.bytes.count + segment.count)
            sealed.bytes += segment
        }
    }
    let (end, _) = try encoder.finish()
    let trailerLength = key == nil ? 48 : 112
    sealed.groupTable = sealed.bytes.count..<(sealed.bytes.count + end.count - trailerLength)
    sealed.bytes += end
    sealed.trailer = (sealed.bytes.count - trailerLength)..<sealed.bytes.count
    return sealed
}

@MainActor func writeVersion2() throws {
    let (alice, bob, carol, mallory, host, otherHost) = (V2Keys.alice, V2Keys.bob, V2Keys.carol, V2Keys.mallory, V2Keys.host, V2Keys.otherHost)
    _ = (alice, bob)
    directory = baseDirectory.appendingPathComponent("v2", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)

    // MARK: Valid archives
    for records in 1...5 {
        for short in [false, true] {
            let plaintext = seeded(records * chunk - (short ? chunk - 777 : 0))
            try emitV2("v2-valid-g2-\(records)-record\(records == 1 ? "" : "s")-\(short ? "short" : "full")-last",
                     "G = 2, \(records) records, the last \(short ? "777 bytes" : "full"), signed and required",
                     archive: try sealV2(plaintext).bytes, signers: [host], expect: "ok", plaintext: plaintext)
        }
    }
    try emitV2("v2-valid-empty", "empty plaintext: one record of 16 bytes, a segment of one hash",
             archive: try sealV2([]).bytes, signers: [host], expect: "ok", plaintext: [])
    let three = seeded(2 * chunk + 1234)
    try emitV2("v2-valid-unsigned", "unsigned: no header signature", archive: try sealV2(three, signedBy: nil).bytes,
             expect: "ok", plaintext: three)
    try emitV2("v2-valid-signed-not-required", "signed, no signer required: checks 9 and 17 still run",
             archive: try sealV2(three).bytes, expect: "ok", plaintext: three)
    try emitV2("v2-valid-default-group-size", "the default group size (2^18 records of 4 KiB): one group",
             archive: try sealV2(three, groupSizeLog2: nil).bytes, signers: [host], expect: "ok", plaintext: three)
    try emitV2("v2-valid-label", "a label of non-ASCII text", archive: try sealV2(three, label: "authentik nightly ✓").bytes,
             signers: [host], expect: "ok", plaintext: three)
    try emitV2("v2-valid-chained", "label, sequence and previous digest", archive: try sealV2(three, label: "chain", sequence: 42,
             previousDigest: seeded(32)).bytes, signers: [host], expect: "ok", plaintext: three)
    try emitV2("v2-valid-three-recipients", "three recipients, opened by the third",
             archive: try sealV2(three, to: [alice, bob, carol]).bytes, identities: [carol], expect: "ok", plaintext: three)

    // MARK: Header (checks 1–9)
    let five = try sealV2(seeded(4 * chunk + 300))   // 5 records, 3 groups, signed
    let a = five.bytes
    let h = five.headerLength
    func put(_ offset: Int, _ value: UInt8, in archive: [UInt8] = a) -> [UInt8] { var c = archive; c[offset] = value; return c }
    try emitV2("v2-invalid-magic", "first magic byte changed (check 1)", archive: flipping(a, at: 0), expect: "header")
    try emitV2("v2-invalid-version", "version byte 3 (check 2)", archive: put(8, 3), expect: "version")
    try emitV2("v2-invalid-header-too-short", "header_length 69 (check 3)", archive: { var c = a; c[9] = 69; c[10] = 0; return c }(), expect: "limit")
    try emitV2("v2-invalid-header-too-large", "header_length 65537 (check 3)",
             archive: { var c = a; c[9] = 1; c[10] = 0; c[11] = 1; c[12] = 0; return c }(), expect: "limit")
    try emitV2("v2-invalid-truncated-header", "the input ends inside the header (check 4)", archive: Array(a[..<(h - 10)]), expect: "truncated")
    try emitV2("v2-invalid-too-many-stanzas", "stanza_count 65 (check 5)", archive: put(25, 65), expect: "limit")
    try emitV2("v2-invalid-group-size", "group_size_log2 19 with 4 KiB chunks (check 6)", archive: put(24, 19), expect: "header")
    try emitV2("v2-invalid-tar-uncompressed", "payload kind 02 with compression 00 (check 6)", archive: put(14, 2), expect: "header")
    try emitV2("v2-invalid-stanza-length", "a type 01 stanza with body_length 87 (check 7)", archive: put(28, 87), expect: "header")
    let labelled = try sealV2(three, label: "abcdefgh")
    guard let labelAt = labelled.bytes.firstRange(of: Array("abcdefgh".utf8))?.lowerBound else { fatalError("no label in the header") }
    var bidi = labelled.bytes
    bidi.replaceSubrange(labelAt..<labelAt + 3, with: Array("\u{202E}".utf8))
    try emitV2("v2-invalid-label-bidi", "a label holding U+202E RIGHT-TO-LEFT OVERRIDE (check 7, section 3.2)", archive: bidi, expect: "header")
    try emitV2("v2-invalid-unsigned-required", "unsigned, a signer required (check 8)", archive: try sealV2(three, signedBy: nil).bytes,
             signers: [host], expect: "unsigned")
    try emitV2("v2-invalid-untrusted-signer", "signed by another host than the one required (check 8)",
             archive: try sealV2(three, signedBy: otherHost).bytes, signers: [host], expect: "untrusted-signer")
    try emitV2("v2-invalid-truncated-header-signature", "the input ends inside the header signature (check 9)",
             archive: Array(a[..<(h + 40)]), expect: "truncated")
    try emitV2("v2-invalid-header-signature", "a bit flipped in the header signature; the trailer signature would pass (check 9)",
             archive: flipping(a, at: h + 10), signers: [host], expect: "signature")
    try emitV2("v2-invalid-header-bit-signed", "a bit flipped in created, signed: the header signature fails (check 9)",
             archive: flipping(a, at: 16), expect: "signature")
    let unsigned = try sealV2(three, signedBy: nil)
    try emitV2("v2-invalid-header-bit-unsigned", "a bit flipped in created, unsigned: the MAC fails (check 12), keyless the digest",
             archive: flipping(unsigned.bytes, at: 16), expect: "damaged")
    try emitV2("v2-invalid-stanza-bit", "a bit flipped in the only stanza's sealed key (check 11); keyless the digest",
             archive: flipping(unsigned.bytes, at: 27 + 3 + 8 + 40), expect: "damaged")
    try emitV2("v2-invalid-wrong-identity", "sealed to alice, opened with mallory's identity (check 10)", archive: a,
             identities: [mallory], expect: "no-identity", keyless: "ok")

    // MARK: Records, segments, group table, trailer (checks 13–17)
    try emitV2("v2-invalid-record", "a bit flipped in record 1: it does not open; keyless its segment differs (check 13)",
             archive: flipping(a, at: five.records[1].lowerBound + 100), expect: "damaged")
    try emitV2("v2-invalid-last-record", "a bit flipped in the last record (check 15)",
             archive: flipping(a, at: five.records[4].lowerBound + 10), expect: "damaged")
    try emitV2("v2-invalid-segment", "a bit flipped in segment 0 (check 13)", archive: flipping(a, at: five.segments[0].lowerBound + 40), expect: "damaged")
    try emitV2("v2-invalid-last-segment", "a bit flipped in the last segment (check 15)", archive: flipping(a, at: five.segments[2].lowerBound), expect: "damaged")
    try emitV2("v2-invalid-group-table", "a bit flipped in the group table's entry for group 1 (check 15)",
             archive: flipping(a, at: five.groupTable.lowerBound + 33), expect: "damaged")
    try emitV2("v2-invalid-dropped-record", "record 0 removed",
             archive: Array(a[..<five.records[0].lowerBound]) + Array(a[five.records[0].upperBound...]), expect: "damaged")
    try emitV2("v2-invalid-dropped-group", "group 1 (records 2 and 3 and their segment) removed",
             archive: Array(a[..<five.records[2].lowerBound]) + Array(a[five.segments[1].upperBound...]), expect: "damaged")
    var swapped = a
    swapped.replaceSubrange(five.records[1], with: a[five.records[2]])
    swapped.replaceSubrange(five.records[2], with: a[five.records[1]])
    try emitV2("v2-invalid-swapped-across-groups", "records 1 and 2 (groups 0 and 1) swapped", archive: swapped, expect: "damaged")
    try emitV2("v2-invalid-truncated-in-record", "cut inside record 3 (check 14)", archive: Array(a[..<(five.records[3].lowerBound + 1000)]), expect: "truncated")
    try emitV2("v2-invalid-truncated-at-segment", "cut after record 1, before its segment (check 14)",
             archive: Array(a[..<five.segments[0].lowerBound]), expect: "truncated")
    try emitV2("v2-invalid-truncated-trailer", "the last byte missing (check 14)", archive: Array(a.dropLast()), expect: "truncated")
    try emitV2("v2-invalid-appended-bytes", "seven bytes after the trailer (check 14)", archive: a + Array("garbage".utf8), expect: "trailer")
    try emitV2("v2-invalid-chunk-count", "chunk_count says 4 (check 16)", archive: put(five.trailer.lowerBound + 8, 4), expect: "damaged")
    try emitV2("v2-invalid-digest", "a bit flipped in the trailer digest (check 16)", archive: flipping(a, at: five.trailer.lowerBound + 20), expect: "damaged")
    try emitV2("v2-invalid-trailer-signature", "a bit flipped in the trailer signature (check 17)", archive: flipping(a, at: a.count - 1),
             signers: [host], expect: "signature")

    try writeVersion2Tar()
}

/// Format 2 tar payloads (FORMAT-v2.md section 8): frames, the entry index
/// and the seek table, made by the library from a fixed ustar stream; the
/// tamper vectors change the payload (stored as raw blocks, so the index
/// and the seek table lie in it as they are) before it is sealed, so every
/// container check passes and only a reader of the payload finds them.
@MainActor func writeVersion2Tar() throws {
    let host = V2Keys.host
    let env = Array("DATABASE_URL=postgres://db/app\nSECRET=1\n".utf8)
    let dump = Array((0..<300).map { "INSERT INTO t VALUES (\($0), 'row \($0)');\n" }.joined().utf8)
    let (envDigestHex, dumpDigestHex) = (sha256Hex(env), sha256Hex(dump))
    let manifest = Array("\(envDigestHex)  config/env.backup\n\(dumpDigestHex)  db/dump.sql\n\(dumpDigestHex)  db/again.sql\n".utf8)
    let tar = ustar([
        TarMember(name: "MANIFEST.sha256", kind: .file, content: manifest),
        TarMember(name: "config/", kind: .directory),
        TarMember(name: "config/env.backup", kind: .file, content: env),
        TarMember(name: "db/", kind: .directory),
        TarMember(name: "db/dump.sql", kind: .file, content: dump),
        TarMember(name: "db/again.sql", kind: .hardLink, link: "db/dump.sql"),
        TarMember(name: "db/current", kind: .symbolicLink, link: "dump.sql"),
    ])
    func payload(_ compression: TarCompression) throws -> [UInt8] {
        let sink = MemorySink()
        _ = try TarPayload.frame(MemorySource(tar), into: sink, compression: compression, frameSize: 4096)
        return sink.bytes
    }
    let zstd = try payload(.zstd(level: 3))
    let raw = try payload(.none)
    try emitV2("v2-valid-tar-zstd", "a tar payload: zstd frames of 4 KiB of tar, the entry index and the seek table (section 8)",
               archive: try sealV2(zstd, tarPayload: true).bytes, signers: [host], expect: "ok", plaintext: zstd, tar: tar)
    try emitV2("v2-valid-tar-raw-blocks", "a tar payload stored as raw blocks (--compression none)",
               archive: try sealV2(raw, tarPayload: true).bytes, signers: [host], expect: "ok", plaintext: raw, tar: tar)

    // Where the index and the seek table lie in the raw payload.
    let count = raw.count
    let frames = Int(raw[count - 8]) | Int(raw[count - 7]) << 8 | Int(raw[count - 6]) << 16 | Int(raw[count - 5]) << 24
    // The seek frame: magic, size, the entries, index_frame_length, f, "SEEK".
    let seekEntries = count - 16 - 8 * frames
    let envPath = Array("config/env.backup".utf8)
    guard let envEntry = raw.firstRange(of: [1, UInt8(envPath.count), 0] + envPath)?.lowerBound else { fatalError("no index entry for the env file") }
    // type, path_length, path, size (8), mode (4), mtime (8), link_length (2), header_offset (8), sha256
    let envOffset = envEntry + 3 + envPath.count + 8 + 4 + 8 + 2
    let envDigest = envOffset + 8
    guard let indexMagic = raw.firstRange(of: Array("SAIDX".utf8))?.lowerBound else { fatalError("no index in the payload") }
    func tampered(_ name: String, _ description: String, _ change: (inout [UInt8]) -> Void) throws {
        var changed = raw
        change(&changed)
        try emitV2(name, description, archive: try sealV2(changed, tarPayload: true).bytes, signers: [host],
                   expect: "damaged", keyless: "ok")
    }
    try tampered("v2-invalid-tar-index-digest", "the env file's SHA-256 in the index differs from its content (8.1)") { $0[envDigest] ^= 1 }
    try tampered("v2-invalid-tar-index-offset", "the env file's header_offset in the index is one block late (8.1)") { $0[envOffset + 1] &+= 2 }
    try tampered("v2-invalid-tar-index-count", "the index's count is one more than its entries (8.1)") { $0[indexMagic + 8] &+= 1 }
    try tampered("v2-invalid-tar-seek-size", "the first seek entry's decompressed_size is one more than the frame's (section 8)") {
        $0[seekEntries + 4] &+= 1
    }
    try tampered("v2-invalid-tar-seek-magic", "the seek frame's \"SEEK\" changed (section 8)") { $0[count - 1] ^= 0x20 }
    try tampered("v2-invalid-tar-frame-magic", "the first frame's zstd magic changed (section 8)") { $0[0] ^= 0x01 }
}
