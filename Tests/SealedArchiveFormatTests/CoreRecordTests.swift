import Foundation
import Testing
import SealedArchiveFormat

/// The core's record API on archives it encodes: by-index opening, damage
/// localised to one record, round trips, the tail's classes, call order.
@Suite struct CoreRecordTests {
    let identity: Identity
    let signer: SigningKey
    /// Five full 4 KiB chunks and a short sixth.
    let plaintext = deterministicBytes(5 * 4096 + 100)

    init() throws {
        identity = try Identity.generate()
        signer = try SigningKey.generate()
    }

    @Test func encoderThenDecoderRoundTripKeepsEveryField() throws {
        let (archive, digest) = try encode(plaintext, to: [identity.recipient], signedBy: signer, label: "nightly", sequence: 9)
        let image = try ArchiveImage(archive, trustedSigners: [TrustedSigner(signer.signer)])
        #expect(image.header.label == "nightly")
        #expect(image.header.sequence == 9)
        #expect(image.header.signer == signer.signer)
        #expect(try image.recordCount() == 6)
        let unlocked = try image.decoder.unlock(with: [identity])
        #expect(unlocked.keyID == identity.recipient.keyID)
        let (opened, result) = try decode(image, with: unlocked)
        #expect(opened == plaintext)
        #expect(result.digest == digest)
        #expect(result.chunkCount == 6)
        #expect(result.plaintextLength == UInt64(plaintext.count))
        #expect(result.archiveLength == UInt64(archive.count))
        #expect(result.decrypted)
        let keyless = try image.read()
        #expect(keyless.digest == digest)
        #expect(!keyless.decrypted)
    }

    @Test func emptyPlaintextIsOneEmptyRecord() throws {
        let (archive, _) = try encode([], to: [identity.recipient])
        let image = try ArchiveImage(archive)
        #expect(try image.recordCount() == 1)
        #expect(try decode(image, with: image.decoder.unlock(with: [identity])).plaintext.isEmpty)
    }

    @Test func recordsOpenedOutOfOrderGiveTheSamePlaintext() throws {
        let (archive, _) = try encode(plaintext, to: [identity.recipient])
        let image = try ArchiveImage(archive)
        let unlocked = try image.decoder.unlock(with: [identity])
        var pieces = [[UInt8]](repeating: [], count: 6)
        var buffer = [UInt8](repeating: 0, count: 4096)
        for index in [3, 0, 5, 1, 4, 2] as [UInt64] {
            let checked = try buffer.withUnsafeMutableBytes { try image.open(record: index, with: unlocked, into: $0) }
            #expect(checked.index == index)
            pieces[Int(index)] = Array(buffer[..<checked.plaintextLength])
        }
        #expect(Array(pieces.joined()) == plaintext)
    }

    @Test func aTamperedRecordFailsAsDamagedNamingItWhileTheOthersOpen() throws {
        var (archive, _) = try encode(plaintext, to: [identity.recipient])
        let layout = try ArchiveImage(archive).decoder.layout
        archive[Int(layout.offset(ofRecord: 2)) + 10] ^= 0x01
        let image = try ArchiveImage(archive)
        let unlocked = try image.decoder.unlock(with: [identity])
        var buffer = [UInt8](repeating: 0, count: 4096)
        for index in 0..<UInt64(6) {
            let error = thrown { _ = try buffer.withUnsafeMutableBytes { try image.open(record: index, with: unlocked, into: $0) } }
            if index == 2 {
                #expect(error?.code == .damaged)
                #expect(error?.message.contains("chunk 2 ") == true)
                #expect(errorCode { _ = try image.check(record: index) } == .damaged)
            } else {
                #expect(error == nil, "record \(index) should still open")
            }
        }
        let inOrder = thrown { _ = try decode(image, with: unlocked) }
        #expect(inOrder?.code == .damaged)
        #expect(inOrder?.message.contains("chunk 2 ") == true)
        #expect(errorCode { _ = try image.read() } == .damaged)
    }

    @Test func aRecordCheckedAtAnotherIndexOrAsLastFails() throws {
        let (archive, _) = try encode(plaintext, to: [identity.recipient])
        let image = try ArchiveImage(archive)
        let (range, _) = try image.recordRange(1)
        let record = Array(archive[range])
        #expect(errorCode { _ = try record.withUnsafeBytes { try image.decoder.check(record: $0, index: 1, isLast: false) } } == nil)
        #expect(errorCode { _ = try record.withUnsafeBytes { try image.decoder.check(record: $0, index: 2, isLast: false) } } == .damaged)
        #expect(errorCode { _ = try record.withUnsafeBytes { try image.decoder.check(record: $0, index: 1, isLast: true) } } == .damaged)
    }

    @Test func aCutTrailerIsTruncatedAndAppendedBytesAreTrailer() throws {
        let (archive, _) = try encode(plaintext, to: [identity.recipient], signedBy: signer)
        let cutTrailer = Array(archive.dropLast(1))
        #expect(errorCode { _ = try ArchiveImage(cutTrailer).read() } == .truncated)
        #expect(errorCode { _ = try ArchiveImage(cutTrailer).recordCount() } == .truncated)
        let cutInRecord = Array(archive.prefix(Int(try ArchiveImage(archive).decoder.layout.offset(ofRecord: 3)) + 50))
        #expect(errorCode { _ = try ArchiveImage(cutInRecord).read() } == .truncated)
        let extended = archive + [1, 2, 3]
        let error = thrown { _ = try ArchiveImage(extended).read() }
        #expect(error?.code == .trailer)
        #expect(error?.message.contains("3 bytes follow") == true)
        #expect(errorCode { _ = try ArchiveImage(Array(archive.prefix(20))) } == .truncated)
    }

    @Test func theSignerPolicyIsCheckedOnTheHeader() throws {
        let (signed, _) = try encode(plaintext, to: [identity.recipient], signedBy: signer)
        let (unsigned, _) = try encode(plaintext, to: [identity.recipient])
        let other = try SigningKey.generate().signer
        #expect(errorCode { _ = try ArchiveDecoder(parsing: unsigned, trustedSigners: [TrustedSigner(other)]) } == .unsigned)
        #expect(errorCode { _ = try ArchiveDecoder(parsing: signed, trustedSigners: [TrustedSigner(other)]) } == .untrustedSigner)
        #expect(errorCode { _ = try ArchiveDecoder(parsing: signed, trustedSigners: [TrustedSigner(signer.signer)]) } == nil)
    }

    @Test func aForeignIdentityCannotUnlock() throws {
        let (archive, _) = try encode(plaintext, to: [identity.recipient])
        #expect(errorCode { _ = try ArchiveDecoder(parsing: archive).unlock(with: [try Identity.generate()]) } == .noIdentity)
    }

    @Test func callOrderMistakesAreErrorsNotCrashes() throws {
        let (archive, _) = try encode(plaintext, to: [identity.recipient])
        let image = try ArchiveImage(archive)
        let accumulator = try image.decoder.makeAccumulator()
        #expect(errorCode { try accumulator.add(try image.check(record: 1)) } == .invalidArgument)
        try accumulator.add(try image.check(record: 0))
        #expect(errorCode { _ = try accumulator.finish(trailer: UnsafeRawBufferPointer(start: nil, count: 0)) } == .invalidArgument)

        let encoder = try ArchiveEncoder(recipients: [identity.recipient], signingKey: nil, payloadKind: .bytes,
                                         compression: .none, created: 0)
        #expect(errorCode { _ = try encoder.finish() } == .invalidArgument)
        var record = [UInt8](repeating: 0, count: 64)
        #expect(errorCode { _ = try [UInt8](repeating: 1, count: 10).withUnsafeBytes { input in
            try record.withUnsafeMutableBytes { try encoder.seal(input, index: 0, isLast: false, into: $0) } } } == .invalidArgument)
        #expect(errorCode { _ = try ArchiveEncoder(recipients: [], signingKey: nil, payloadKind: .bytes, compression: .none, created: 0) } == .invalidArgument)
        #expect(errorCode { _ = try ArchiveEncoder(recipients: [identity.recipient], signingKey: nil, chunkSizeLog2: 30,
                                                   payloadKind: .bytes, compression: .none, created: 0) } == .invalidArgument)
    }

    @Test func layoutPlacesRecordsAtFixedOffsets() throws {
        let (archive, _) = try encode(plaintext, to: [identity.recipient])
        let image = try ArchiveImage(archive)
        let layout = image.decoder.layout
        #expect(layout.recordLength == 4096 + FormatV1.recordOverhead)
        #expect(layout.offset(ofRecord: 0) == UInt64(image.header.length))
        #expect(layout.recordsBeforeTail(archiveLength: UInt64(archive.count)) == 5)
        for index in 0..<UInt64(5) {
            #expect(try image.recordRange(index).range.lowerBound == Int(layout.offset(ofRecord: index)))
        }
    }
}
