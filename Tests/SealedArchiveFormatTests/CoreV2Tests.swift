import Foundation
import Testing
import SealedArchiveFormat

/// Format version 2 through the core (Spec/FORMAT-v2.md): round trips
/// across group boundaries, every tamper class of section 7 with its exact
/// class, the partial read of 7.1, typed stanzas, the label rule, and the
/// header signature refusing a forged header before any identity is used.
@Suite struct CoreV2Tests {
    let alice: Identity
    let bob: Identity
    let host: SigningKey
    let mallory: SigningKey

    init() throws {
        alice = try Identity.generate()
        bob = try Identity.generate()
        host = try SigningKey.generate()
        mallory = try SigningKey.generate()
    }

    var trusted: [TrustedSigner] { [TrustedSigner(host.signer)] }

    /// The outcome of reading `archive` in order, with alice's identity
    /// (nil: keyless), requiring the host's signature when `requireSigner`.
    func outcome(_ archive: [UInt8], decrypting: Bool = true, requireSigner: Bool = false) -> SealedArchiveError? {
        thrown {
            let image = try ArchiveImage(archive, trustedSigners: requireSigner ? trusted : nil)
            let unlocked = decrypting ? try image.decoder.unlock(with: [alice]) : nil
            _ = try decode(image, with: unlocked)
        }
    }

    // MARK: Round trips

    @Test(arguments: [1, 2, 3, 4, 5], [false, true])
    func roundTripAcrossGroupBoundaries(records: Int, shortLast: Bool) throws {
        let length = records * 4096 - (shortLast ? 4096 - 100 : 0)
        let plaintext = deterministicBytes(length, seed: UInt8(records))
        let sealed = try encodeV2(plaintext, to: [alice.recipient], signedBy: host, label: "v2 ✓")
        #expect(sealed.segments.count == (records + 1) / 2)
        #expect(sealed.records.last?.count == (shortLast ? 100 : 4096) + 16)
        let image = try ArchiveImage(sealed.bytes, trustedSigners: trusted)
        #expect(image.header.version == .v2)
        #expect(image.header.groupSizeLog2 == 1)
        #expect(image.header.label == "v2 ✓")
        #expect(image.header.signature?.count == 64)
        #expect(try image.recordCount() == UInt64(records))
        for (index, range) in sealed.records.enumerated() {
            #expect(image.decoder.layout.offset(ofRecord: UInt64(index)) == UInt64(range.lowerBound))
        }
        for (group, range) in sealed.segments.dropLast().enumerated() {
            #expect(image.decoder.layout.offset(ofFullGroupSegment: UInt64(group)) == UInt64(range.lowerBound))
        }
        let unlocked = try image.decoder.unlock(with: [alice])
        let (opened, result) = try decode(image, with: unlocked)
        #expect(opened == plaintext)
        #expect(result.digest == sealed.digest)
        #expect(result.chunkCount == UInt64(records))
        #expect(result.archiveLength == UInt64(sealed.bytes.count))
        #expect(result.decrypted)
        #expect(try image.read().digest == sealed.digest)
        // Section 7.1: every record alone, from the group table and its segment.
        let table = try image.verifyGroupTable()
        #expect(table.recordCount == UInt64(records))
        #expect(table.digest == sealed.digest)
        var buffer = [UInt8](repeating: 0, count: 4096)
        for index in (0..<records).reversed() {
            let checked = try buffer.withUnsafeMutableBytes {
                try image.readPartially(record: UInt64(index), table: table, with: unlocked, into: $0)
            }
            #expect(Array(buffer[..<checked.plaintextLength]) == sealed.chunks[index])
        }
    }

    @Test func emptyPayloadIsOneRecordOfSixteenBytes() throws {
        let sealed = try encodeV2([], to: [alice.recipient])
        #expect(sealed.records == [sealed.lead..<sealed.lead + 16])
        #expect(sealed.segments.count == 1 && sealed.segments[0].count == 32)
        let image = try ArchiveImage(sealed.bytes)
        #expect(try decode(image, with: image.decoder.unlock(with: [alice])).plaintext.isEmpty)
        #expect(image.header.signature == nil)
        #expect(image.decoder.layout.headerLength == image.header.length)
    }

    @Test func theDefaultGroupSizeIsOneGibibyteOfChunks() throws {
        let encoder = try ArchiveEncoder(recipients: [alice.recipient], signingKey: nil, chunkSizeLog2: 12,
                                         payloadKind: .bytes, compression: .none, created: 0, version: .v2)
        #expect(encoder.header.groupSizeLog2 == 18)
        #expect(errorCode {
            _ = try ArchiveEncoder(recipients: [alice.recipient], signingKey: nil, chunkSizeLog2: 20,
                                   payloadKind: .bytes, compression: .none, created: 0, version: .v2, groupSizeLog2: 11)
        } == .invalidArgument)
    }

    // MARK: Header and header signature

    @Test func aHeaderBitIsASignatureFailureWhenSignedAndDamagedWhenNot() throws {
        var signed = try encodeV2(deterministicBytes(5000), to: [alice.recipient], signedBy: host).bytes
        signed[16] ^= 1
        #expect(outcome(signed)?.code == .signature)
        #expect(outcome(signed, decrypting: false)?.code == .signature)
        var unsigned = try encodeV2(deterministicBytes(5000), to: [alice.recipient]).bytes
        unsigned[16] ^= 1
        #expect(outcome(unsigned)?.code == .damaged)
        // Keyless, the MAC is not checked: the digest catches the change.
        #expect(outcome(unsigned, decrypting: false)?.code == .damaged)
    }

    @Test func aHeaderSignatureBitFailsAtCheckNineWhileTheTrailerWouldPass() throws {
        let sealed = try encodeV2(deterministicBytes(9000), to: [alice.recipient], signedBy: host)
        var archive = sealed.bytes
        let headerLength = try ArchiveHeader(parsing: archive).length
        archive[headerLength + 5] ^= 0x10
        // The trailer signature covers a digest over the header signature,
        // but check 9 comes first and names the header.
        let error = thrown { _ = try ArchiveDecoder(parsing: archive) }
        #expect(error?.code == .signature)
        #expect(error?.message.contains("header signature") == true)
        #expect(outcome(archive)?.code == .signature)
        // Cut inside the header signature: truncated (check 9).
        #expect(errorCode { _ = try ArchiveDecoder(parsing: Array(archive[..<(headerLength + 63)])) } == .truncated)
    }

    @Test func aRequiredSignerRefusesAForgedHeaderBeforeAnyIdentityIsUsed() throws {
        // Mallory copies the host's public key into a header she
        // authenticates with her own file key, and cannot sign it.
        let keys = try KeySchedule.random(version: .v2)
        let header = try ArchiveHeader(
            version: .v2, groupSizeLog2: 1, chunkSizeLog2: 12, payloadKind: .bytes, compression: .none, created: 1,
            stanzas: [try Stanza.wrap(keys.fileKey, to: alice.recipient)], signer: host.signer,
            label: nil, sequence: nil, previousDigest: nil).authenticated(with: keys.headerKey)
        let forged = header.bytes + (0..<64).map { _ in UInt8.random(in: 0...255) } + [UInt8](repeating: 0, count: 200)
        var unlocked: UnlockedArchive?
        let error = thrown {
            let decoder = try ArchiveDecoder(parsing: forged, trustedSigners: trusted)
            unlocked = try decoder.unlock(with: [alice])
        }
        #expect(error?.code == .signature)
        #expect(unlocked == nil)
        // Check 9 is made whether or not a signer is required.
        #expect(errorCode { _ = try ArchiveImage(forged) } == .signature)
    }

    @Test func unknownStanzaTypesAreKeptCoveredAndSkipped() throws {
        let keys = try KeySchedule.random(version: .v2)
        let unknown = try #require(Stanza(type: 0x7f, body: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]))
        // An unknown stanza may share a key id with a known one.
        let shadow = try #require(Stanza(type: 0x42, body: alice.recipient.keyID.bytes + [0xAA]))
        let header = try ArchiveHeader(
            version: .v2, groupSizeLog2: 1, chunkSizeLog2: 12, payloadKind: .bytes, compression: .none, created: 1,
            stanzas: [unknown, shadow, try Stanza.wrap(keys.fileKey, to: alice.recipient)], signer: nil,
            label: nil, sequence: nil, previousDigest: nil).authenticated(with: keys.headerKey)
        let parsed = try ArchiveHeader(parsing: header.bytes)
        #expect(parsed.stanzas.map(\.type) == [0x7f, 0x42, 0x01])
        #expect(try parsed.serializeUnauthenticated() + parsed.mac == header.bytes)
        let unlocked = try ArchiveDecoder(parsing: header.bytes).unlock(with: [alice])
        #expect(unlocked.keyID == alice.recipient.keyID)
        // Only the unknown stanzas: no identity.
        let onlyUnknown = try ArchiveHeader(
            version: .v2, groupSizeLog2: 1, chunkSizeLog2: 12, payloadKind: .bytes, compression: .none, created: 1,
            stanzas: [try #require(Stanza(type: 0x42, body: alice.recipient.keyID.bytes + [UInt8](repeating: 0xAA, count: 120)))],
            signer: nil, label: nil, sequence: nil, previousDigest: nil).authenticated(with: keys.headerKey)
        #expect(errorCode { _ = try ArchiveDecoder(parsing: onlyUnknown.bytes).unlock(with: [alice]) } == .noIdentity)
        // The MAC covers an unknown stanza's body.
        var changed = header.bytes
        changed[FormatV2Offsets.firstStanzaBody] ^= 1
        #expect(errorCode { _ = try ArchiveDecoder(parsing: changed).unlock(with: [alice]) } == .damaged)
    }

    @Test func aDuplicateKnownStanzaOrAKnownTypeOfAnotherLengthIsAMalformedHeader() throws {
        let keys = try KeySchedule.random(version: .v2)
        let stanza = try Stanza.wrap(keys.fileKey, to: alice.recipient)
        let twice = try ArchiveHeader(
            version: .v2, groupSizeLog2: 1, chunkSizeLog2: 12, payloadKind: .bytes, compression: .none, created: 1,
            stanzas: [stanza, stanza], signer: nil, label: nil, sequence: nil, previousDigest: nil).authenticated(with: keys.headerKey)
        #expect(errorCode { _ = try ArchiveHeader(parsing: twice.bytes) } == .header)
        #expect(Stanza(type: 0x01, body: [UInt8](repeating: 0, count: 87)) == nil)
        #expect(Stanza(type: 0x09, body: [UInt8](repeating: 0, count: 7)) == nil)
        // A type 01 stanza whose body_length says 87: check 7.
        let single = try ArchiveHeader(
            version: .v2, groupSizeLog2: 1, chunkSizeLog2: 12, payloadKind: .bytes, compression: .none, created: 1,
            stanzas: [stanza], signer: nil, label: nil, sequence: nil, previousDigest: nil).authenticated(with: keys.headerKey)
        var short = single.bytes
        short[FormatV2Offsets.firstStanzaLength] = 87
        #expect(errorCode { _ = try ArchiveHeader(parsing: short) } == .header)
    }

    @Test(arguments: ["\u{85}", "\u{9F}", "\u{61C}", "\u{200E}", "\u{200F}", "\u{202A}", "\u{202E}", "\u{2066}", "\u{2069}",
                      "\u{206A}", "\u{206F}", "\u{2028}", "\u{2029}", "\u{7F}", "\u{1B}", "\u{0}"])
    func labelsWithForbiddenCodePointsAreRefused(_ bad: String) throws {
        let label = "nightly" + bad + "x"
        #expect(errorCode { _ = try encodeV2([1], to: [alice.recipient], label: label) } == .invalidArgument)
        let keys = try KeySchedule.random(version: .v2)
        let header = try ArchiveHeader(
            version: .v2, groupSizeLog2: 1, chunkSizeLog2: 12, payloadKind: .bytes, compression: .none, created: 1,
            stanzas: [try Stanza.wrap(keys.fileKey, to: alice.recipient)], signer: nil,
            label: label, sequence: nil, previousDigest: nil).authenticated(with: keys.headerKey)
        #expect(errorCode { _ = try ArchiveHeader(parsing: header.bytes) } == .header)
        // Version 1 keeps its own rule: C1 and bidirectional controls pass.
        if bad.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7f }) {
            #expect(throws: Never.self) { _ = try encode([1], to: [alice.recipient], label: label) }
        }
    }

    @Test func labelsOfOrdinaryTextPass() throws {
        for label in ["nightly", "ünïcødé ✓", "日本語", "a\u{200D}b"] {
            let image = try ArchiveImage(try encodeV2([1], to: [alice.recipient], label: label).bytes)
            #expect(image.header.label == label)
        }
    }

    @Test func theHeaderChecksRunInOrder() throws {
        let archive = try encodeV2(deterministicBytes(100), to: [alice.recipient]).bytes
        func with(_ offset: Int, _ value: UInt8) -> [UInt8] { var a = archive; a[offset] = value; return a }
        #expect(errorCode { _ = try ArchiveImage(with(8, 3)) } == .version)
        #expect(errorCode { _ = try ArchiveImage(with(9, 69)) } == .limit)                    // header_length 69
        #expect(errorCode { _ = try ArchiveImage({ var a = archive; a[11] = 1; return a }()) } == .limit)  // 65536 + …
        #expect(errorCode { _ = try ArchiveImage(with(25, 65)) } == .limit)                    // stanza_count 65
        #expect(errorCode { _ = try ArchiveImage(with(25, 0)) } == .limit)
        #expect(errorCode { _ = try ArchiveImage(with(24, 0)) } == .header)                    // group_size_log2 0
        #expect(errorCode { _ = try ArchiveImage(with(24, 19)) } == .header)                   // 30 − 12 = 18 at most
        #expect(errorCode { _ = try ArchiveImage(with(15, 1)) } == .header)                    // bytes, compressed
        #expect(errorCode { _ = try ArchiveImage(Array(archive[..<100])) } == .truncated)
    }

    // MARK: Records, segments, group table, trailer

    /// Five records in three groups, signed, a short last record.
    func five() throws -> V2Archive {
        try encodeV2(deterministicBytes(4 * 4096 + 300), to: [alice.recipient], signedBy: host)
    }

    @Test func aRecordBitIsDamagedNamingTheRecord() throws {
        let sealed = try five()
        var archive = sealed.bytes
        archive[sealed.records[1].lowerBound + 7] ^= 1
        let decrypting = outcome(archive)
        #expect(decrypting?.code == .damaged)
        #expect(decrypting?.message.contains("chunk 1 ") == true)
        let keyless = outcome(archive, decrypting: false)
        #expect(keyless?.code == .damaged)
        #expect(keyless?.message.contains("chunk 1 ") == true)
    }

    @Test func aSegmentBitIsDamagedNamingTheRecord() throws {
        let sealed = try five()
        for (group, segment) in sealed.segments.enumerated() {
            var archive = sealed.bytes
            archive[segment.lowerBound + 32 + 3 < segment.upperBound ? segment.lowerBound + 35 : segment.lowerBound + 3] ^= 1
            let record = group * 2 + (segment.count > 32 ? 1 : 0)
            for decrypting in [true, false] {
                let error = outcome(archive, decrypting: decrypting)
                #expect(error?.code == .damaged)
                #expect(error?.message.contains("chunk \(record) ") == true, "\(error?.message ?? "")")
            }
        }
    }

    @Test func aGroupTableBitIsDamagedNamingTheGroup() throws {
        let sealed = try five()
        #expect(sealed.groupTable.count == 3 * 32)
        var archive = sealed.bytes
        archive[sealed.groupTable.lowerBound + 32 + 1] ^= 1
        let error = outcome(archive)
        #expect(error?.code == .damaged)
        #expect(error?.message.contains("group 1 ") == true)
        #expect(errorCode { _ = try ArchiveImage(archive).verifyGroupTable() } == .damaged)
    }

    @Test func droppedRecordsAndGroupsAndSwapsAreDamaged() throws {
        let sealed = try five()
        let a = sealed.bytes
        let droppedRecord = Array(a[..<sealed.records[0].lowerBound]) + Array(a[sealed.records[0].upperBound...])
        let droppedGroup = Array(a[..<sealed.records[2].lowerBound]) + Array(a[sealed.segments[1].upperBound...])
        var swapped = a
        swapped.replaceSubrange(sealed.records[1], with: a[sealed.records[2]])
        swapped.replaceSubrange(sealed.records[2], with: a[sealed.records[1]])
        for archive in [droppedRecord, droppedGroup, swapped] {
            #expect(outcome(archive)?.code == .damaged)
            #expect(outcome(archive, decrypting: false)?.code == .damaged)
        }
    }

    @Test func chunkCountChangedIsDamagedAndATrailerSignatureBitIsSignature() throws {
        let sealed = try five()
        var counted = sealed.bytes
        counted[sealed.trailer.lowerBound + 8] = 4
        #expect(outcome(counted)?.code == .damaged)
        #expect(errorCode { _ = try ArchiveImage(counted).verifyGroupTable() } == .damaged)
        var signature = sealed.bytes
        signature[signature.count - 1] ^= 1
        #expect(outcome(signature)?.code == .signature)
        #expect(errorCode { _ = try ArchiveImage(signature).verifyGroupTable() } == .signature)
        var digest = sealed.bytes
        digest[sealed.trailer.lowerBound + 20] ^= 1
        #expect(outcome(digest, decrypting: false)?.code == .damaged)
    }

    @Test func appendedBytesAreTrailer() throws {
        let sealed = try five()
        for extra in [1, 7, 200] {
            let archive = sealed.bytes + [UInt8](repeating: 0x41, count: extra)
            #expect(outcome(archive)?.code == .trailer, "\(extra) bytes appended")
            #expect(outcome(archive, decrypting: false)?.code == .trailer)
            #expect(errorCode { _ = try ArchiveImage(archive).verifyGroupTable() } == .trailer)
        }
        // Enough bytes to make the last record look full: the sequential
        // split moves (check 13), so the old last record fails to open as
        // a full one, and keyless no trailer for six records is found.
        let pushed = sealed.bytes + [UInt8](repeating: 0x41, count: 5000)
        #expect(outcome(pushed)?.code == .damaged)
        #expect(outcome(pushed, decrypting: false)?.code == .truncated)
    }

    @Test func aCutAtEveryOffsetIsTruncated() throws {
        for records in [1, 3] {
            let sealed = try encodeV2(deterministicBytes(records * 4096 - 4000), to: [alice.recipient], signedBy: host)
            let archive = sealed.bytes
            for cut in 0..<archive.count {
                let expected: SealedArchiveError.Code = cut < 13 ? .header : .truncated
                let got = errorCode { _ = try ArchiveImage(Array(archive[..<cut])).read() }
                if got != expected {
                    Issue.record("a cut at \(cut) of \(archive.count) gave \(got?.rawValue ?? "ok")")
                    break
                }
            }
        }
    }

    // MARK: Partial read (7.1)

    @Test func aPartialReadAuthenticatesOneRecordAndRefusesADamagedOne() throws {
        let sealed = try five()
        var archive = sealed.bytes
        archive[sealed.records[3].lowerBound + 1] ^= 1      // group 1, record 3
        archive[sealed.segments[0].lowerBound] ^= 1         // segment 0 (record 0's hash)
        let image = try ArchiveImage(archive, trustedSigners: trusted)
        let unlocked = try image.decoder.unlock(with: [alice])
        let table = try image.verifyGroupTable()
        var buffer = [UInt8](repeating: 0, count: 4096)
        func read(_ index: UInt64) -> SealedArchiveError? {
            thrown { _ = try buffer.withUnsafeMutableBytes { try image.readPartially(record: index, table: table, with: unlocked, into: $0) } }
        }
        #expect(read(0)?.code == .damaged)   // its segment no longer matches the table
        #expect(read(1)?.code == .damaged)   // same segment
        #expect(read(2) == nil)
        #expect(read(3)?.code == .damaged)   // the record itself
        #expect(read(4) == nil)
        #expect(Array(buffer[..<300]) == sealed.chunks[4])
        #expect(errorCode { _ = try image.readPartially(record: 5, table: table) } == .invalidArgument)
        // Keyless, the same.
        #expect(errorCode { _ = try image.readPartially(record: 3, table: table) } == .damaged)
        #expect(errorCode { _ = try image.readPartially(record: 2, table: table) } == nil)
    }

    @Test func theSplitOfNBytesMatchesTheSequentialReader() throws {
        for records in 1...5 {
            for short in [false, true] {
                let sealed = try encodeV2(deterministicBytes(records * 4096 - (short ? 1000 : 0)), to: [alice.recipient])
                let layout = try ArchiveImage(sealed.bytes).decoder.layout
                #expect(layout.recordsBeforeTail(archiveLength: UInt64(sealed.bytes.count)) == UInt64(records - 1))
            }
        }
        let layout = try ArchiveImage(try five().bytes).decoder.layout
        #expect(layout.offset(ofRecord: .max) == .max)
        #expect(layout.checkedOffset(ofRecord: .max / 2) == nil)
        #expect(layout.offset(ofFullGroupSegment: .max) == .max)
        #expect(layout.recordsBeforeTail(archiveLength: .max) > 0)
    }

    // MARK: Re-wrapping (section 11)

    @Test func rewrappingKeepsRecordsSegmentsAndTheGroupTable() throws {
        let sealed = try five()
        let image = try ArchiveImage(sealed.bytes)
        let unlocked = try image.decoder.unlock(with: [alice])
        let encoder = try ArchiveEncoder(rewrapping: unlocked, to: [bob.recipient], signingKey: mallory)
        #expect(encoder.header.version == .v2)
        var out = encoder.headerBytes
        for index in 0..<UInt64(5) {
            let range = sealed.records[Int(index)]
            out += sealed.bytes[range]
            out += try encoder.append(try image.check(record: index))
        }
        let (end, _) = try encoder.finish()
        out += end
        #expect(Array(out[(out.count - end.count)...].prefix(sealed.groupTable.count)) == Array(sealed.bytes[sealed.groupTable]))
        let rewrapped = try ArchiveImage(out, trustedSigners: [TrustedSigner(mallory.signer)])
        let opened = try decode(rewrapped, with: rewrapped.decoder.unlock(with: [bob])).plaintext
        #expect(opened == Array(sealed.chunks.joined()))
    }
}

/// Offsets in a version 2 header with one stanza first.
enum FormatV2Offsets {
    /// The first stanza's type byte is at 27, its body_length at 28–29.
    static let firstStanzaLength = 28
    static let firstStanzaBody = 30
}
