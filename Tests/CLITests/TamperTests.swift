import Foundation
import TestSupport
import SealedArchive
import Testing

/// Where things are in an archive, read from its bytes as Spec/FORMAT.md
/// sections 4–7 (version 1) and Spec/FORMAT-v2.md sections 2–6 (version 2)
/// lay them out (not from the library), so tests can change bytes at exact
/// offsets.
struct ArchiveLayout {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) throws {
        guard bytes.count >= 146, bytes.starts(with: Array("SEALARC\0".utf8)), [1, 2].contains(bytes[8]) else {
            throw HarnessError("not an archive")
        }
        self.bytes = bytes
    }

    func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
    func u32(_ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
    func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) } }

    var version: Int { Int(bytes[8]) }
    var isVersion2: Bool { version == 2 }
    var headerLength: Int { u32(9) }
    var chunkSize: Int { 1 << Int(bytes[13]) }
    var created: UInt64 { u64(16) }
    /// Version 2: records per group.
    var groupSize: Int { isVersion2 ? 1 << Int(bytes[24]) : 1 }
    /// The offset of `recipient_count` (version 2: `stanza_count`).
    var recipientCountOffset: Int { isVersion2 ? 25 : 24 }
    var recipientCount: Int { u16(recipientCountOffset) }
    private var stanzasStart: Int { isVersion2 ? 27 : 26 }
    /// A stanza's length: version 2 adds its type and body length.
    private var stanzaLength: Int { isVersion2 ? 91 : 88 }
    /// Byte range of stanza `i` (version 2: type, body length, body).
    func stanza(_ i: Int) -> Range<Int> { (stanzasStart + stanzaLength * i)..<(stanzasStart + stanzaLength * (i + 1)) }
    /// Byte range of stanza `i`'s key id and wrapped key.
    func stanzaBody(_ i: Int) -> Range<Int> { (stanza(i).lowerBound + (isVersion2 ? 3 : 0))..<stanza(i).upperBound }
    func stanzaKeyID(_ i: Int) -> String { hex(bytes[stanzaBody(i).prefix(8)]) }
    var fieldsStart: Int { stanzasStart + stanzaLength * recipientCount }
    var headerMAC: Range<Int> { (headerLength - 32)..<headerLength }

    /// The header fields (tag → value), section 4.2.
    var fields: [UInt8: [UInt8]] {
        var result: [UInt8: [UInt8]] = [:]
        var at = fieldsStart
        while at + 3 <= headerLength - 32 {
            let length = u16(at + 1)
            result[bytes[at]] = Array(bytes[(at + 3)..<(at + 3 + length)])
            at += 3 + length
        }
        return result
    }

    var isSigned: Bool { fields[1] != nil }
    /// Version 2: the header signature after the header when signed.
    var headerSignature: Range<Int>? { isVersion2 && isSigned ? headerLength..<(headerLength + 64) : nil }
    /// Where record 0 starts.
    var leadLength: Int { headerSignature?.upperBound ?? headerLength }
    var trailerLength: Int { isSigned ? 112 : 48 }
    /// Bytes a record adds to its chunk: tag and hash (version 1), tag
    /// (version 2).
    var recordOverhead: Int { isVersion2 ? 16 : 48 }
    var recordLength: Int { chunkSize + recordOverhead }
    var trailerStart: Int { bytes.count - trailerLength }
    var chunkCount: Int {
        if isVersion2 { return Int(u64(trailerStart + 8)) }
        let records = bytes.count - headerLength - trailerLength
        return max(1, (records + recordLength - 1) / recordLength)
    }
    /// Version 2: groups, each with one segment and one group table entry.
    var groupCount: Int { (chunkCount + groupSize - 1) / groupSize }
    /// Version 2: the group table before the trailer.
    var groupTable: Range<Int> { (trailerStart - (isVersion2 ? 32 * groupCount : 0))..<trailerStart }
    /// Where the last record ends.
    private var lastRecordEnd: Int {
        isVersion2 ? groupTable.lowerBound - 32 * ((chunkCount - 1) % groupSize + 1) : trailerStart
    }

    /// Byte range of record `i` (ciphertext, tag, and in version 1 the
    /// record hash).
    func record(_ i: Int) -> Range<Int> {
        let start = leadLength + i * recordLength + (i / groupSize) * (isVersion2 ? 32 * groupSize : 0)
        return start..<(i == chunkCount - 1 ? lastRecordEnd : start + recordLength)
    }

    /// Where record `i`'s hash is stored: the end of its record (version
    /// 1) or its entry in its group's segment (version 2).
    func recordHash(_ i: Int) -> Range<Int> {
        guard isVersion2 else { return (record(i).upperBound - 32)..<record(i).upperBound }
        let group = i / groupSize
        let lastOfGroup = min(chunkCount - 1, group * groupSize + groupSize - 1)
        let start = record(lastOfGroup).upperBound + 32 * (i % groupSize)
        return start..<(start + 32)
    }

    var trailerChunkCount: Range<Int> { (trailerStart + 8)..<(trailerStart + 16) }
    var trailerDigest: Range<Int> { (trailerStart + 16)..<(trailerStart + 48) }
    var signature: Range<Int> { (trailerStart + 48)..<(trailerStart + 112) }
}

/// The payload bytes of a Bech32 key string (KEYS.md section 1): the data
/// part after the last "1", without the 6-character checksum, regrouped
/// from 5 to 8 bits. No checksum check: test inputs come from the CLI.
func bech32Payload(_ text: String) -> [UInt8]? {
    let alphabet = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l")
    guard let separator = text.lastIndex(of: "1") else { return nil }
    let data = Array(text.lowercased()[text.index(after: separator)...].dropLast(6))
    var accumulator = 0, bits = 0
    var bytes: [UInt8] = []
    for character in data {
        guard let value = alphabet.firstIndex(of: character) else { return nil }
        accumulator = accumulator << 5 | value
        bits += 5
        if bits >= 8 {
            bits -= 8
            bytes.append(UInt8(truncatingIfNeeded: accumulator >> bits))
        }
    }
    return bytes
}

/// One way to damage or forge an archive by hand.
enum Tamper: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case headerMagic = "change the magic"
    case headerVersion = "change the version to 3 (2 is a version 2 header)"
    case headerLengthOverLimit = "header_length over the limit (8193; version 2: 65537)"
    case headerLengthOneMore = "header_length one more than it is"
    case noRecipients = "recipient_count 0"
    case moreRecipients = "recipient_count one more than there are"
    case chunkSizeLog2TooLarge = "chunk_size_log2 25"
    case chunkSizeLog2Changed = "chunk_size_log2 13 instead of 12"
    case unknownPayloadKind = "payload_kind 3"
    case unknownFieldTag = "signer field tag 01 changed to 05"
    case flipHeaderCreated = "flip a bit in the header's creation time"
    case flipHeaderMAC = "flip a bit in the header MAC"
    case flipSignerField = "flip a bit in the header's signer key"
    case flipStanzaWrappedKey = "flip a bit in the identity's stanza (wrapped key)"
    case flipOtherStanzaKeyID = "flip a bit in the other stanza's key id"
    case flipFirstChunk = "flip a bit in the first chunk"
    case flipMiddleChunk = "flip a bit in a middle chunk"
    case flipLastChunk = "flip a bit in the last chunk"
    case flipRecordHash = "flip a bit in a record hash (version 2: in the segment)"
    case flipTrailerMagic = "flip a bit in the trailer magic"
    case flipTrailerCount = "flip a bit in the trailer chunk count"
    case flipTrailerDigest = "flip a bit in the trailer digest"
    case flipSignature = "flip a bit in the signature"
    case truncateAtChunkBoundary = "truncate at a chunk boundary"
    case truncateInsideChunk = "truncate inside a chunk"
    case truncateInsideTrailer = "truncate inside the trailer"
    case dropFinalRecord = "drop the final record"
    case dropMiddleRecord = "drop a middle record"
    case swapRecords = "swap two records"
    case duplicateRecord = "duplicate a record"
    case appendByte = "append one byte"
    case appendTrailer = "append a copy of the trailer"
    case flipHeaderSignature = "flip a bit in the header signature (version 2)"
    case flipGroupTable = "flip a bit in the group table (version 2)"

    /// Whether the change exists in an archive of `version`.
    func applies(toVersion version: Int) -> Bool {
        switch self {
        case .flipHeaderSignature, .flipGroupTable: return version == 2
        default: return true
        }
    }

    var testDescription: String { rawValue }

    /// Applies the change; `ownStanza` is the index of the stanza of the
    /// identity the test opens with.
    func apply(to layout: ArchiveLayout, ownStanza: Int) -> [UInt8] {
        var bytes = layout.bytes
        func flip(_ offset: Int, bit: UInt8 = 0x10) { bytes[offset] ^= bit }
        func setU32(_ offset: Int, _ value: Int) {
            for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
        }
        switch self {
        case .headerMagic: bytes[0] = UInt8(ascii: "Z")
        case .headerVersion: bytes[8] = 3
        case .headerLengthOverLimit: setU32(9, layout.isVersion2 ? 65537 : 8193)
        case .headerLengthOneMore: setU32(9, layout.headerLength + 1)
        case .noRecipients: bytes[layout.recipientCountOffset] = 0; bytes[layout.recipientCountOffset + 1] = 0
        case .moreRecipients: bytes[layout.recipientCountOffset] = UInt8(layout.recipientCount + 1)
        case .chunkSizeLog2TooLarge: bytes[13] = 25
        case .chunkSizeLog2Changed: bytes[13] = 13
        case .unknownPayloadKind: bytes[14] = 3
        case .unknownFieldTag: bytes[layout.fieldsStart] = 5
        case .flipHeaderCreated: flip(16, bit: 0x01)
        case .flipHeaderMAC: flip(layout.headerMAC.lowerBound + 5)
        case .flipSignerField: flip(layout.fieldsStart + 3 + 7)  // tag 01, length, key
        case .flipStanzaWrappedKey: flip(layout.stanzaBody(ownStanza).lowerBound + 8 + 40)
        case .flipOtherStanzaKeyID: flip(layout.stanzaBody(1 - ownStanza).lowerBound + 3)
        case .flipFirstChunk: flip(layout.record(0).lowerBound + 100)
        case .flipMiddleChunk: flip(layout.record(1).lowerBound + 2000)
        case .flipLastChunk: flip(layout.record(layout.chunkCount - 1).lowerBound + 10)
        case .flipRecordHash: flip(layout.recordHash(2).upperBound - 1)
        case .flipTrailerMagic: flip(layout.trailerStart + 2)
        case .flipTrailerCount: flip(layout.trailerChunkCount.lowerBound, bit: 0x02)
        case .flipTrailerDigest: flip(layout.trailerDigest.lowerBound + 31)
        case .flipSignature: flip(layout.signature.lowerBound + 20)
        case .truncateAtChunkBoundary: bytes.removeSubrange(layout.record(2).lowerBound...)
        case .truncateInsideChunk: bytes.removeSubrange((layout.record(1).lowerBound + 1234)...)
        case .truncateInsideTrailer: bytes.removeSubrange((layout.trailerStart + 50)...)
        case .dropFinalRecord: bytes.removeSubrange(layout.record(layout.chunkCount - 1))
        case .dropMiddleRecord: bytes.removeSubrange(layout.record(1))
        case .swapRecords:
            let (a, b) = (layout.record(0), layout.record(1))
            bytes.replaceSubrange(a.lowerBound..<b.upperBound, with: layout.bytes[b] + layout.bytes[a])
        case .duplicateRecord:
            bytes.insert(contentsOf: layout.bytes[layout.record(1)], at: layout.record(2).lowerBound)
        case .appendByte: bytes.append(0)
        case .appendTrailer: bytes += layout.bytes[layout.trailerStart...]
        case .flipHeaderSignature: flip((layout.headerSignature?.lowerBound ?? 0) + 9)
        case .flipGroupTable: flip(layout.groupTable.lowerBound + 4)
        }
        return bytes
    }
}

/// Damaged and forged archives are refused by `open -o`, `verify -i` and
/// keyless `verify`, with exit 65 and nothing written (Spec/CLI.md,
/// Spec/FORMAT.md section 8).
@Suite struct TamperTests {
    /// Three full 4 KiB chunks and a last one of 1000 bytes.
    static let plaintextLength = 3 * 4096 + 1000

    /// A fresh signed archive to two recipients; `id` is the second.
    struct Fixture {
        let sandbox: Sandbox
        let layout: ArchiveLayout
        let ownStanza: Int
        let signer: String
    }

    /// The files of the fixture (name, bytes, mode), the signer and the
    /// identity's stanza, made once per test process: the three keys and
    /// the seal are most of what a tamper case would otherwise spend, and
    /// every case starts from the same archive. Each test still gets a
    /// fresh sandbox holding copies of these files.
    struct Original: Sendable {
        let files: [(name: String, bytes: [UInt8], mode: Int)]
        let ownStanza: Int
        let signer: String
    }

    static let original1: Result<Original, any Error> = Result { try makeOriginal(version: 1) }
    static let original2: Result<Original, any Error> = Result { try makeOriginal(version: 2) }

    /// A fresh sandbox holding a copy of the shared original archive (in
    /// format `version`), keys and plaintext.
    static func makeFixture(version: Int = 2) throws -> Fixture {
        let original = try (version == 1 ? original1 : original2).get()
        let sandbox = try Sandbox()
        for file in original.files { try sandbox.write(file.name, file.bytes, mode: file.mode) }
        let layout = try ArchiveLayout(sandbox.read("archive"))
        return Fixture(sandbox: sandbox, layout: layout, ownStanza: original.ownStanza, signer: original.signer)
    }

    static func makeOriginal(version: Int) throws -> Original {
        let sandbox = try Sandbox()
        let other = try sandbox.makeIdentity("other-id")
        let mine = try sandbox.makeIdentity("id")
        let signer = try sandbox.makeSigningKey("sk")
        try sandbox.write("plain", randomBytes(plaintextLength))
        expectSuccess(try sandbox.run(["seal", "-r", other, "-r", mine, "--sign-key", "sk",
                                       "--chunk-size", "4KiB", "--format-version", "\(version)", "-o", "archive", "plain"]))
        let layout = try ArchiveLayout(sandbox.read("archive"))
        // The layout is what FORMAT.md (FORMAT-v2.md) says it is for this input.
        try #require(layout.version == version)
        try #require(layout.chunkSize == 4096)
        try #require(layout.recipientCount == 2)
        try #require(layout.isSigned)
        try #require(layout.chunkCount == 4)
        let overhead = version == 1 ? 48 : 16
        try #require(layout.record(3).count == 1000 + overhead)
        // Version 2: one group, so one segment of 4 hashes and a group
        // table of one entry after the last record.
        let hashes = version == 1 ? 0 : 4 * 32 + 32
        try #require(layout.bytes.count == layout.leadLength + 3 * (4096 + overhead) + 1000 + overhead + hashes + 112)
        try #require(Int(layout.u64(layout.trailerChunkCount.lowerBound)) == 4)
        try #require(layout.bytes[layout.fieldsStart] == 1, "the signer field comes first")
        try #require(layout.fields[1] == bech32Payload(signer), "signer field holds the signing key")
        let ownStanza = try #require((0..<2).first {
            layout.stanzaKeyID($0) == (try? Recipient(parsing: mine).keyID.description)
        })
        let files = try ["archive", "id", "other-id", "plain", "sk"].map { name in
            let attributes = try FileManager.default.attributesOfItem(atPath: sandbox.path(name))
            let mode = try #require((attributes[.posixPermissions] as? NSNumber)?.intValue)
            return (name: name, bytes: try sandbox.read(name), mode: mode)
        }
        return Original(files: files, ownStanza: ownStanza, signer: signer)
    }

    @Test(arguments: [1, 2])
    func untouchedArchivePasses(version: Int) throws {
        let fixture = try Self.makeFixture(version: version)
        let sandbox = fixture.sandbox
        expectSuccess(try sandbox.run(["open", "-i", "id", "--signer", fixture.signer, "-o", "out", "archive"]))
        #expect(try sandbox.read("out") == sandbox.read("plain"))
        expectVerifyOK(try sandbox.run(["verify", "-i", "id", "archive"]), name: "archive")
        expectVerifyOK(try sandbox.run(["verify", "archive"]), name: "archive")
        expectVerifyOK(try sandbox.run(["verify", "--signer", fixture.signer, "archive"]), name: "archive")
    }

    /// The fast tier takes 8 of the cases, spread over header, stanzas,
    /// records, trailer and the cuts; the library's tests flip every bit
    /// and cut at every length in both tiers.
    @Test(arguments: TestTier.sample(TestTier.pairs(Tamper.allCases, [1, 2]).filter { $0.0.applies(toVersion: $0.1) }, fast: 8))
    func tamperedArchiveIsRefused(_ tamper: Tamper, version: Int) throws {
        let fixture = try Self.makeFixture(version: version)
        let sandbox = fixture.sandbox
        let tampered = tamper.apply(to: fixture.layout, ownStanza: fixture.ownStanza)
        try #require(tampered != fixture.layout.bytes)
        try sandbox.write("bad", tampered)

        let open = try sandbox.run(["open", "-i", "id", "-o", "out", "bad"])
        expectError(open, 65)
        #expect(open.stdout.isEmpty, "\(open)")
        expectNoOutput(sandbox, "out")

        // Also when a signer is required (the archive names the right one).
        let openSigned = try sandbox.run(["open", "-i", "id", "--signer", fixture.signer, "-o", "out", "bad"])
        expectError(openSigned, 65)
        #expect(openSigned.stdout.isEmpty, "\(openSigned)")
        expectNoOutput(sandbox, "out")

        expectVerifyFailure(try sandbox.run(["verify", "-i", "id", "bad"]), 65, name: "bad")
        expectVerifyFailure(try sandbox.run(["verify", "bad"]), 65, name: "bad")

        // Through a pipe: non-zero, and only authenticated plaintext, never
        // more than the original.
        let piped = try sandbox.run(["open", "-i", "id"], stdin: .file("bad"))
        expectError(piped, 65)
        let plain = try sandbox.read("plain")
        #expect(piped.stdout.count <= plain.count && plain.starts(with: piped.stdout), "\(piped)")

        #expect(try sandbox.listing() == ["archive", "bad", "id", "other-id", "plain", "sk"])
    }

    /// FORMAT.md section 8, check 9 before 10–11: when the identity's own
    /// stanza key id is changed, no stanza is the identity's, so opening is
    /// `no-identity` (77); keyless verification sees a damaged archive (65).
    /// A signed version 2 header is checked against its header signature
    /// before any stanza is looked at (FORMAT-v2.md check 9): 65.
    @Test(arguments: [1, 2])
    func changedOwnKeyIDIsNoIdentity(version: Int) throws {
        let fixture = try Self.makeFixture(version: version)
        let sandbox = fixture.sandbox
        var bytes = fixture.layout.bytes
        bytes[fixture.layout.stanzaBody(fixture.ownStanza).lowerBound + 2] ^= 0x01
        try sandbox.write("bad", bytes)
        let noIdentity: Int32 = version == 1 ? 77 : 65
        let open = try sandbox.run(["open", "-i", "id", "-o", "out", "bad"])
        expectError(open, noIdentity)
        #expect(open.stdout.isEmpty)
        expectNoOutput(sandbox, "out")
        expectVerifyFailure(try sandbox.run(["verify", "-i", "id", "bad"]), noIdentity, name: "bad")
        expectVerifyFailure(try sandbox.run(["verify", "bad"]), 65, name: "bad")
        // The other recipient still finds its stanza, and the header MAC
        // (which covers the changed key id) fails: 65.
        expectError(try sandbox.run(["open", "-i", "other-id", "-o", "out", "bad"]), 65)
        expectNoOutput(sandbox, "out")
    }

    /// Damage in two records is reported as the first of them, as a
    /// sequential reader would (FORMAT.md section 8), whatever the order the
    /// records are checked in.
    @Test(arguments: [1, 2])
    func firstDamagedRecordIsReported(version: Int) throws {
        let fixture = try Self.makeFixture(version: version)
        let sandbox = fixture.sandbox
        var bytes = fixture.layout.bytes
        bytes[fixture.layout.record(2).lowerBound + 7] ^= 0x01
        bytes[fixture.layout.record(1).lowerBound + 7] ^= 0x01
        try sandbox.write("bad", bytes)
        for arguments in [["verify", "bad"], ["verify", "-i", "id", "bad"]] {
            let result = try sandbox.run(arguments)
            expectVerifyFailure(result, 65, name: "bad")
            #expect(result.stdoutText.contains("chunk 1 "), "\(result)")
            #expect(!result.stdoutText.contains("chunk 2 "), "\(result)")
        }
    }

    /// `open -o` onto an existing file with `--force`: a damaged archive
    /// leaves the existing file as it was.
    @Test func failedForcedOpenLeavesTheExistingFile() throws {
        let fixture = try Self.makeFixture()
        let sandbox = fixture.sandbox
        try sandbox.write("bad", Tamper.flipLastChunk.apply(to: fixture.layout, ownStanza: fixture.ownStanza))
        try sandbox.write("out", Array("previous\n".utf8))
        let open = try sandbox.run(["open", "-i", "id", "--force", "-o", "out", "bad"])
        expectError(open, 65)
        #expect(try sandbox.read("out") == Array("previous\n".utf8))
        #expect(try sandbox.partialFiles(for: "out").isEmpty)
    }
}
