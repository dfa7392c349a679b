import Foundation
import Testing
@testable import SealedArchive
import TestSupport

@Suite struct RoundTripTests {
    let alice = try! Identity.generate()
    let bob = try! Identity.generate()
    let host = try! SigningKey.generate()

    /// Sizes around chunk and batch boundaries, for a 4 KiB chunk.
    static let sizes = [0, 1, 4095, 4096, 4097, 8192, 3 * 4096 + 17,
                        Parallel.batchSize * 4096, Parallel.batchSize * 4096 + 1, 5 * Parallel.batchSize * 4096 - 1]

    @Test(arguments: sizes)
    func opensToTheSameBytesWithEitherIdentity(_ size: Int) throws {
        let plaintext = randomBytes(size)
        let (archive, result) = try sealInMemory(plaintext, to: [alice.recipient, bob.recipient], signedBy: host)
        #expect(result.plaintextLength == UInt64(size))
        #expect(result.chunkCount == UInt64(max(1, (size + 4095) / 4096)))
        #expect(result.archiveLength == UInt64(archive.count))
        #expect(try openInMemory(archive, with: [alice], signers: [host.signer]) == plaintext)
        #expect(try openInMemory(archive, with: [bob]) == plaintext)
        // A reader fed a few bytes at a time, as from a slow pipe.
        #expect(try openInMemory(archive, with: [bob], step: 777) == plaintext)
        let verified = try verifyInMemory(archive, signers: [host.signer])
        #expect(verified.digest == result.digest)
        #expect(verified.plaintextLength == UInt64(size))
        #expect(!verified.decrypted)
    }

    @Test func writesInOddPiecesGiveTheSameArchiveShape() throws {
        let plaintext = randomBytes(50_000)
        var options = SealOptions(created: fixedDate)
        options.chunkSizeLog2 = 12
        let sink = MemorySink()
        let writer = try ArchiveWriter(sink: sink, recipients: [alice.recipient], signingKey: nil, options: options)
        var offset = 0
        var step = 1
        while offset < plaintext.count {
            let n = min(step, plaintext.count - offset)
            try plaintext.withUnsafeBytes { try writer.write(UnsafeRawBufferPointer(rebasing: $0[offset..<offset + n])) }
            offset += n
            step = step * 3 % 9973 + 1
        }
        let result = try writer.finish()
        #expect(result.chunkCount == 13)
        #expect(try openInMemory(sink.bytes, with: [alice]) == plaintext)
    }

    @Test func everyChunkSizeInTheRangeWorks() throws {
        let plaintext = randomBytes(70_000)
        for log2 in [12, 13, 16, 20, 24] {
            let (archive, _) = try sealInMemory(plaintext, to: [alice.recipient], chunkSizeLog2: log2)
            #expect(try openInMemory(archive, with: [alice]) == plaintext, "chunk size 2^\(log2)")
        }
    }

    @Test func headerMetadataRoundTrips() throws {
        let previous = randomBytes(32)
        let (archive, _) = try sealInMemory([1, 2, 3], to: [alice.recipient], signedBy: host) {
            $0.label = "silver-auth ✓"
            $0.sequence = 7
            $0.previousDigest = previous
            $0.payloadKind = .tar
            $0.compression = .zstd
        }
        let header = try ArchiveHeader(parsing: archive)
        #expect(header.label == "silver-auth ✓")
        #expect(header.sequence == 7)
        #expect(header.previousDigest == previous)
        #expect(header.payloadKind == .tar)
        #expect(header.compression == .zstd)
        #expect(header.created == UInt64(fixedDate.timeIntervalSince1970))
        #expect(header.signer == host.signer)
        #expect(header.stanzas.map(\.keyID) == [alice.recipient.keyID])
    }

    @Test func theSameRecipientTwiceMakesOneStanza() throws {
        let (archive, _) = try sealInMemory([1], to: [alice.recipient, alice.recipient, bob.recipient])
        #expect(try ArchiveHeader(parsing: archive).stanzas.count == 2)
    }

    @Test func recipientLimitsAreEnforcedWhenSealing() throws {
        let many = try (0..<65).map { _ in try Identity.generate().recipient }
        #expect(errorCode { _ = try sealInMemory([1], to: many) } == .invalidArgument)
        #expect(errorCode { _ = try sealInMemory([1], to: Array(many.prefix(64))) } == nil)
        #expect(errorCode { _ = try sealInMemory([1], to: []) } == .invalidArgument)
    }

    @Test func badOptionsAreRefused() {
        #expect(errorCode { _ = try sealInMemory([1], to: [alice.recipient], chunkSizeLog2: 11) } == .invalidArgument)
        #expect(errorCode { _ = try sealInMemory([1], to: [alice.recipient], chunkSizeLog2: 25) } == .invalidArgument)
        #expect(errorCode { _ = try sealInMemory([1], to: [alice.recipient]) { $0.label = "two\nlines" } } == .invalidArgument)
        #expect(errorCode { _ = try sealInMemory([1], to: [alice.recipient]) { $0.label = String(repeating: "x", count: 256) } } == .invalidArgument)
        #expect(errorCode { _ = try sealInMemory([1], to: [alice.recipient]) { $0.previousDigest = [1, 2] } } == .invalidArgument)
    }

    @Test func smallOrderRecipientsAreRefused() throws {
        // The all-zero point has small order: libsodium refuses to seal to it.
        let zero = try Recipient(publicKey: [UInt8](repeating: 0, count: 32))
        #expect(errorCode { _ = try sealInMemory([1], to: [zero]) } == .invalidKey)
    }

    @Test func eachArchiveHasItsOwnFileKey() throws {
        let plaintext = randomBytes(5000)
        let (a, _) = try sealInMemory(plaintext, to: [alice.recipient])
        let (b, _) = try sealInMemory(plaintext, to: [alice.recipient])
        let h = try ArchiveHeader(parsing: a).length
        #expect(a.count == b.count)
        #expect(Array(a[h...]) != Array(b[h...]))
        #expect(try ArchiveHeader(parsing: a).stanzas != ArchiveHeader(parsing: b).stanzas)
    }

    /// Decrypting before unlock no longer compiles (only
    /// ``UnlockedArchiveReader``, which ``ArchiveReader/unlock(with:)``
    /// returns, decrypts); what the types cannot say is that the stream is
    /// read once: a second pass, through either form of the reader, is a
    /// caller's error, thrown, not a process stop and not an empty read.
    @Test func aSecondPassThrowsInvalidArgument() throws {
        let (archive, _) = try sealInMemory(randomBytes(5000), to: [alice.recipient])
        let locked = try ArchiveReader(source: MemorySource(archive))
        #expect(errorCode { _ = try locked.verify() } == nil)
        #expect(errorCode { _ = try locked.verify() } == .invalidArgument)
        // Unlocking reads nothing past the header, so it still works, but
        // the records were read.
        #expect(errorCode { _ = try locked.unlock(with: [alice]).decrypt(into: MemorySink()) } == .invalidArgument)

        let reader = try ArchiveReader(source: MemorySource(archive))
        let unlocked = try reader.unlock(with: [bob, alice])
        #expect(unlocked.keyID == alice.recipient.keyID)
        #expect(unlocked.header.length == reader.header.length)
        _ = try unlocked.decrypt(into: MemorySink())
        #expect(errorCode { _ = try unlocked.decrypt(into: MemorySink()) } == .invalidArgument)
        #expect(errorCode { _ = try unlocked.plaintext() } == .invalidArgument)
        #expect(errorCode { _ = try reader.verify() } == .invalidArgument)
        // A second unlock shares the first one's stream: still one pass.
        #expect(errorCode { _ = try reader.unlock(with: [alice]).decrypt(into: MemorySink()) } == .invalidArgument)
    }
}

@Suite struct TamperTests {
    let alice = try! Identity.generate()
    let host = try! SigningKey.generate()

    /// Every single-bit change anywhere in a signed archive is caught, with
    /// and without the identity, whatever byte it lands in.
    @Test func everyBitFlipIsDetected() throws {
        let plaintext = randomBytes(3 * 4096 + 100)
        let (archive, _) = try sealInMemory(plaintext, to: [alice.recipient], signedBy: host)
        var generator = SystemRandomNumberGenerator()
        // Every byte of the header and trailer, and a sample of the records.
        let edges = Array(0..<300) + Array((archive.count - 200)..<archive.count)
        let sample = (0..<300).map { _ in Int.random(in: 0..<archive.count, using: &generator) }
        for offset in Set(edges + sample) {
            var tampered = archive
            tampered[offset] ^= UInt8(1) << UInt8.random(in: 0...7, using: &generator)
            let opened = errorCode { _ = try openInMemory(tampered, with: [alice]) }
            let keyless = errorCode { _ = try verifyInMemory(tampered, signers: [host.signer]) }
            #expect(opened != nil && opened!.isArchiveFault || opened == .noIdentity, "open missed a flip at byte \(offset)")
            #expect(keyless != nil && keyless!.isArchiveFault, "keyless verify missed a flip at byte \(offset)")
        }
    }

    /// Cutting the archive anywhere is caught.
    @Test func everyTruncationIsDetected() throws {
        let (archive, _) = try sealInMemory(randomBytes(2 * 4096 + 5), to: [alice.recipient], signedBy: host)
        for length in stride(from: 0, to: archive.count, by: 97) + [archive.count - 1] {
            let cut = Array(archive[..<length])
            #expect(errorCode { _ = try openInMemory(cut, with: [alice]) }?.isArchiveFault == true, "cut at \(length)")
            #expect(errorCode { _ = try verifyInMemory(cut) }?.isArchiveFault == true, "cut at \(length)")
        }
    }

    @Test func damageIsLocatedToItsChunk() throws {
        let (archive, _) = try sealInMemory(randomBytes(5 * 4096), to: [alice.recipient], signedBy: host)
        let h = try ArchiveHeader(parsing: archive).length
        var tampered = archive
        tampered[h + 3 * (4096 + 48) + 5] ^= 0x80
        do {
            _ = try verifyInMemory(tampered)
            Issue.record("damage not detected")
        } catch let error as SealedArchiveError {
            #expect(error.code == .damaged)
            #expect(error.message.contains("chunk 3 "))
            #expect(error.message.contains("bytes \(h + 3 * (4096 + 48))–"))
        }
    }

    /// Plaintext reaches the sink only in authenticated batches; a damaged
    /// record stops the stream before its own plaintext is released.
    @Test func nothingPastADamagedChunkIsReleased() throws {
        let plaintext = randomBytes(40 * 4096)
        let (archive, _) = try sealInMemory(plaintext, to: [alice.recipient])
        let h = try ArchiveHeader(parsing: archive).length
        var tampered = archive
        let damaged = 30
        tampered[h + damaged * (4096 + 48) + 1] ^= 1
        let reader = try ArchiveReader(source: MemorySource(tampered)).unlock(with: [alice])
        let sink = MemorySink()
        #expect(throws: SealedArchiveError(.damaged, "")) { _ = try reader.decrypt(into: sink) }
        #expect(sink.bytes.count <= damaged * 4096)
        #expect(sink.bytes == Array(plaintext.prefix(sink.bytes.count)))
    }
}

@Suite struct HeaderParsingTests {
    let alice = try! Identity.generate()

    func header(_ configure: (inout SealOptions) -> Void = { _ in }) throws -> [UInt8] {
        let (archive, _) = try sealInMemory([], to: [alice.recipient], signedBy: try SigningKey.generate(), configure: configure)
        return Array(archive[..<(try ArchiveHeader(parsing: archive).length)])
    }

    /// Rebuilds `header` with its fields replaced by `fields`, keeping the
    /// length field consistent.
    func withFields(_ header: [UInt8], _ fields: [UInt8]) throws -> [UInt8] {
        let stanzasEnd = FormatV1.fixedLength + FormatV1.stanzaLength
        var out = Array(header[..<stanzasEnd]) + fields + Array(header.suffix(32))
        let length = UInt32(out.count)
        for i in 0..<4 { out[9 + i] = UInt8(truncatingIfNeeded: length >> (8 * UInt32(i))) }
        return out
    }

    @Test func serialisationIsWhatParsingAccepts() throws {
        let bytes = try header { $0.label = "x"; $0.sequence = 1; $0.previousDigest = [UInt8](repeating: 7, count: 32) }
        let parsed = try ArchiveHeader(parsing: bytes)
        #expect(parsed.bytes == bytes)
        #expect(try parsed.serializeUnauthenticated() == Array(bytes.dropLast(32)))
    }

    @Test func fieldsOutOfOrderRepeatedOrUnknownAreRejected() throws {
        let base = try header()
        let label: [UInt8] = [2, 1, 0, 0x41]
        let sequence: [UInt8] = [3, 8, 0] + [UInt8](repeating: 0, count: 8)
        #expect(errorCode { _ = try ArchiveHeader(parsing: try withFields(base, label + sequence)) } == nil)
        #expect(errorCode { _ = try ArchiveHeader(parsing: try withFields(base, sequence + label)) } == .header)
        #expect(errorCode { _ = try ArchiveHeader(parsing: try withFields(base, label + label)) } == .header)
        #expect(errorCode { _ = try ArchiveHeader(parsing: try withFields(base, [9, 1, 0, 0])) } == .header)
        #expect(errorCode { _ = try ArchiveHeader(parsing: try withFields(base, [2, 0, 0])) } == .header, "empty label")
        #expect(errorCode { _ = try ArchiveHeader(parsing: try withFields(base, [2, 1, 0, 0x07])) } == .header, "control character")
        #expect(errorCode { _ = try ArchiveHeader(parsing: try withFields(base, [2, 2, 0, 0xC0, 0x80])) } == .header, "overlong UTF-8")
        #expect(errorCode { _ = try ArchiveHeader(parsing: try withFields(base, [3, 7, 0] + [UInt8](repeating: 0, count: 7))) } == .header)
        #expect(errorCode { _ = try ArchiveHeader(parsing: try withFields(base, [1, 31, 0] + [UInt8](repeating: 0, count: 31))) } == .header)
        #expect(errorCode { _ = try ArchiveHeader(parsing: try withFields(base, [2, 5, 0, 0x41])) } == .header, "field runs past the end")
    }

    @Test func duplicateStanzasAreRejected() throws {
        let (archive, _) = try sealInMemory([], to: [alice.recipient, try Identity.generate().recipient])
        var bytes = Array(archive[..<(try ArchiveHeader(parsing: archive).length)])
        let second = FormatV1.fixedLength + FormatV1.stanzaLength
        bytes.replaceSubrange(second..<(second + 8), with: bytes[FormatV1.fixedLength..<(FormatV1.fixedLength + 8)])
        #expect(errorCode { _ = try ArchiveHeader(parsing: bytes) } == .header)
    }

    @Test func checksHappenInTheSpecifiedOrder() throws {
        var bytes = try header()
        bytes[8] = 9          // version (check 2) …
        bytes[24] = 200       // … wins over the recipient count (check 5)
        #expect(errorCode { _ = try ArchiveHeader(parsing: bytes) } == .version)
        bytes[8] = 1
        bytes[13] = 30        // chunk size (check 6) loses to the count (check 5)
        #expect(errorCode { _ = try ArchiveHeader(parsing: bytes) } == .limit)
        bytes[24] = 1
        #expect(errorCode { _ = try ArchiveHeader(parsing: bytes) } == .header)
        #expect(errorCode { _ = try ArchiveHeader(parsing: Array(bytes.prefix(12))) } == .header)
        #expect(errorCode { _ = try ArchiveHeader(parsing: Array(bytes.prefix(100))) } == .truncated)
    }

    @Test func signerRequirementsAreCheckedBeforeAnyRecord() throws {
        let host = try SigningKey.generate()
        let (archive, _) = try sealInMemory(randomBytes(100), to: [alice.recipient], signedBy: host)
        let header = Array(archive[..<(try ArchiveHeader(parsing: archive).length)])
        // Only the header is given: the signer check fails before the reader
        // notices that the records are missing.
        #expect(errorCode { _ = try ArchiveReader(source: MemorySource(header), requiredSigners: [try SigningKey.generate().signer]) } == .untrustedSigner)
        #expect(errorCode { _ = try ArchiveReader(source: MemorySource(header), requiredSigners: [host.signer]) } == nil)
    }
}

@Suite struct TrustedSignerTests {
    let alice = try! Identity.generate()
    let host = try! SigningKey.generate()

    @Test func signerWindowsBoundWhichArchivesAKeyVouchesFor() throws {
        let (archive, _) = try sealInMemory([1, 2, 3], to: [alice.recipient], signedBy: host)
        let created = fixedDate
        let inside = TrustedSigner(host.signer, validFrom: created.addingTimeInterval(-60), validUntil: created.addingTimeInterval(60))
        let before = TrustedSigner(host.signer, validUntil: created)
        let after = TrustedSigner(host.signer, validFrom: created.addingTimeInterval(1))
        #expect(errorCode { _ = try ArchiveReader(source: MemorySource(archive), trustedSigners: [inside]).verify() } == nil)
        #expect(errorCode { _ = try ArchiveReader(source: MemorySource(archive), trustedSigners: [before]) } == .untrustedSigner)
        #expect(errorCode { _ = try ArchiveReader(source: MemorySource(archive), trustedSigners: [after]) } == .untrustedSigner)
        #expect(errorCode { _ = try ArchiveReader(source: MemorySource(archive), trustedSigners: [before, inside]) } == nil)
    }

    @Test func signerLinesRoundTrip() throws {
        let line = "\(host.signer) valid-from=2026-01-01T00:00:00Z valid-until=2026-04-01T00:00:00Z"
        let signer = try TrustedSigner(parsing: line)
        #expect(signer.description == line)
        #expect(signer.admits(created: 1_770_000_000))   // 2026-02-02
        #expect(!signer.admits(created: 1_780_000_000))  // 2026-05-28
        #expect(errorCode { _ = try TrustedSigner(parsing: "\(host.signer) valid-until=tomorrow") } == .invalidKey)
        #expect(errorCode { _ = try TrustedSigner(parsing: "\(host.signer) expires=2026-01-01T00:00:00Z") } == .invalidKey)
        // Found by fuzz-keys: a time with trailing junk or a year past 9999
        // was accepted and written back as a different line.
        for time in ["20272026-01-01T00:00:00Z-01-01T00:00:00Z", "2026-01-01T00:00:00Zjunk", "2026-1-1T00:00:00Z"] {
            #expect(errorCode { _ = try TrustedSigner(parsing: "\(host.signer) valid-until=\(time)") } == .invalidKey, "\(time)")
        }
    }
}

@Suite struct RewrapTests {
    @Test func rewrappedArchivesOpenWithTheNewKeyAndKeepEveryRecord() throws {
        let old = try Identity.generate(), new = try Identity.generate()
        let host = try SigningKey.generate(), operator_ = try SigningKey.generate()
        let plaintext = randomBytes(5 * 4096 + 77)
        let (archive, sealed) = try sealInMemory(plaintext, to: [old.recipient], signedBy: host) { $0.sequence = 9 }
        let reader = try ArchiveReader(source: MemorySource(archive), requiredSigners: [host.signer]).unlock(with: [old])
        let sink = MemorySink()
        let result = try Rewrap.rewrap(reader, origin: .trustedSigners([TrustedSigner(host.signer)]), to: [new.recipient], signingKey: operator_, into: sink)
        let rewrapped = sink.bytes

        #expect(try openInMemory(rewrapped, with: [new], signers: [operator_.signer]) == plaintext)
        #expect(errorCode { _ = try openInMemory(rewrapped, with: [old]) } == .noIdentity)
        #expect(errorCode { _ = try verifyInMemory(rewrapped, signers: [host.signer]) } == .untrustedSigner)
        #expect(result.chunkCount == sealed.chunkCount)
        #expect(result.archiveLength == UInt64(rewrapped.count))
        let oldHeader = try ArchiveHeader(parsing: archive), newHeader = try ArchiveHeader(parsing: rewrapped)
        #expect(newHeader.created == oldHeader.created)
        #expect(newHeader.sequence == 9)
        // The records are byte for byte the same; only header and trailer changed.
        #expect(Array(rewrapped[newHeader.length..<(rewrapped.count - 112)]) == Array(archive[oldHeader.length..<(archive.count - 112)]))
    }

    @Test func aDamagedArchiveIsNotRewrapped() throws {
        let old = try Identity.generate()
        let (archive, _) = try sealInMemory(randomBytes(3 * 4096), to: [old.recipient])
        var damaged = archive
        damaged[try ArchiveHeader(parsing: archive).length + 5000] ^= 1
        let reader = try ArchiveReader(source: MemorySource(damaged)).unlock(with: [old])
        #expect(errorCode { _ = try Rewrap.rewrap(reader, origin: .allowUnsigned, to: [try Identity.generate().recipient], signingKey: try SigningKey.generate(), into: MemorySink()) } == .damaged)
    }

    /// The origin policy lives in the library: without trusted signers (and
    /// without an explicit `allowUnsigned`) nothing is re-signed, and an
    /// unsigned, foreign-signed or forged original is refused even when the
    /// reader was opened without signers.
    @Test func anOriginalNoTrustedSignerVouchesForIsRefusedByTheLibrary() throws {
        let old = try Identity.generate(), host = try SigningKey.generate(), forger = try SigningKey.generate()
        let operator_ = try SigningKey.generate()
        let plaintext = randomBytes(2 * 4096 + 5)
        #expect(errorCode { _ = try RewrapOrigin(trustedSigners: nil, allowUnsigned: false) } == .invalidArgument)
        #expect(errorCode { _ = try RewrapOrigin(trustedSigners: [], allowUnsigned: false) } == .invalidArgument)
        #expect(try RewrapOrigin(trustedSigners: nil, allowUnsigned: true) == .allowUnsigned)
        let policy = try RewrapOrigin(trustedSigners: [TrustedSigner(host.signer)], allowUnsigned: false)

        func rewrap(_ archive: [UInt8], _ origin: RewrapOrigin) throws -> [UInt8] {
            let reader = try ArchiveReader(source: MemorySource(archive)).unlock(with: [old])
            let sink = MemorySink()
            _ = try Rewrap.rewrap(reader, origin: origin, to: [try Identity.generate().recipient], signingKey: operator_, into: sink)
            return sink.bytes
        }
        let (unsigned, _) = try sealInMemory(plaintext, to: [old.recipient])
        let (foreign, _) = try sealInMemory(plaintext, to: [old.recipient], signedBy: forger)
        let (genuine, _) = try sealInMemory(plaintext, to: [old.recipient], signedBy: host)
        #expect(errorCode { _ = try rewrap(unsigned, policy) } == .unsigned)
        #expect(errorCode { _ = try rewrap(foreign, policy) } == .untrustedSigner)
        #expect(errorCode { _ = try rewrap(genuine, .trustedSigners([])) } == .invalidArgument)
        // A window that ended before the archive was made.
        #expect(errorCode { _ = try rewrap(genuine, .trustedSigners([TrustedSigner(host.signer, validUntil: Date(timeIntervalSince1970: 1))])) } == .untrustedSigner)
        // A forged signature under the trusted key: the trailer's last bytes.
        var forged = genuine
        forged[forged.count - 1] ^= 1
        #expect(errorCode { _ = try rewrap(forged, policy) } == .signature)
        #expect(try !rewrap(genuine, policy).isEmpty)
        #expect(try !rewrap(unsigned, .allowUnsigned).isEmpty)
    }
}

@Suite struct ArchiveSetTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func facts(_ name: String, age: TimeInterval) -> ArchiveFacts {
        ArchiveFacts(name: name, created: UInt64(max(0, now.timeIntervalSince1970 - age)), sequence: nil, previousDigest: nil, digest: [])
    }

    @Test func aFutureDatedArchiveDoesNotSatisfyTheRPO() {
        #expect(ArchiveSet.freshnessProblem([facts("ok", age: 3600)], maxAge: 86400, now: now) == nil)
        #expect(ArchiveSet.freshnessProblem([facts("old", age: 200_000)], maxAge: 86400, now: now)?.description.contains("RPO") == true)
        #expect(ArchiveSet.freshnessProblem([facts("future", age: -10 * 86400)], maxAge: 86400, now: now)?.description.contains("future") == true)
        // Far-future dates (a forged header) are described, never trapped on.
        let forged = ArchiveFacts(name: "forged", created: .max, sequence: nil, previousDigest: nil, digest: [])
        #expect(ArchiveSet.freshnessProblem([forged], maxAge: 86400, now: now) != nil)
    }

    @Test func durationsAreBoundedBothWays() throws {
        #expect(errorCode { _ = try Duration.parse("1e300w") } == .invalidArgument)
        #expect(try Duration.parse("26h") == 26 * 3600)
        #expect(Duration.describe(.infinity) == "over 100 years")
        #expect(Duration.describe(-1e30).contains("future"))
    }
}

extension RoundTripTests {
    /// Spec/FORMAT.md check 6: a byte payload is stored as given (open -o
    /// writes it unchanged), so a header recording it as compressed is
    /// malformed even under a valid MAC, and the writer refuses to make one.
    @Test func aBytePayloadRecordedAsCompressedIsAHeaderError() throws {
        #expect(throws: SealedArchiveError(.invalidArgument, "")) {
            _ = try sealInMemory([1, 2, 3], to: [alice.recipient]) { $0.compression = .zstd }
        }
        let keys = try KeySchedule.random()
        let header = try ArchiveHeader(
            chunkSizeLog2: 12, payloadKind: .bytes, compression: .zstd, created: 0,
            stanzas: [try Stanza.wrap(keys.fileKey, to: alice.recipient)], signer: nil, label: nil, sequence: nil, previousDigest: nil
        ).authenticated(with: keys.headerKey)
        #expect(throws: SealedArchiveError(.header, "")) { _ = try ArchiveHeader(parsing: header.bytes) }
    }
}
