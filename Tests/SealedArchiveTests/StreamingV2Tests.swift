import Foundation
import Testing
@testable import SealedArchive
import TestSupport

/// The streaming reader and writer on format version 2 (Spec/FORMAT-v2.md):
/// records and segments interleaved, the group table before the trailer,
/// the header signature checked before any record is read. Small chunks and
/// groups of two put every group boundary within a few records.
@Suite struct StreamingV2Tests {
    let identity = try! Identity.generate()
    let signing = try! SigningKey.generate()

    func seal(_ plaintext: [UInt8], signed: Bool = true, groupSizeLog2: Int = 1) throws -> (archive: [UInt8], result: SealResult) {
        try sealInMemory(plaintext, to: [identity.recipient], signedBy: signed ? signing : nil) {
            $0.formatVersion = .v2
            $0.groupSizeLog2 = groupSizeLog2
        }
    }

    /// 0 to 7 records of 4 KiB, each count with a full and a short last
    /// record, so the last record falls on every place in its group.
    static let lengths = [0, 1, 4096, 4097, 8192, 8193, 12288, 12289, 16384, 20000, 28672, 28673]

    @Test(arguments: TestTier.sample(lengths, fast: 6))
    func roundTripsThroughTheStreamingReader(_ length: Int) throws {
        let plaintext = randomBytes(length)
        let (archive, sealed) = try seal(plaintext)
        // The core, reading the whole buffer, agrees with the writer.
        let image = try ArchiveImage(archive)
        #expect(image.header.version == .v2)
        for step in [1, 4097, 1 << 20] {
            #expect(try openInMemory(archive, with: [identity], signers: [signing.signer], step: step) == plaintext)
        }
        let keyless = try verifyInMemory(archive, signers: [signing.signer])
        #expect(keyless.digest == sealed.digest)
        #expect(keyless.chunkCount == sealed.chunkCount)
        #expect(keyless.archiveLength == UInt64(archive.count))

        // The pulled plaintext (what extraction reads) too.
        let source = try ArchiveReader(source: TricklingSource(archive, step: 777), requiredSigners: nil).unlock(with: [identity]).plaintext()
        var pulled: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 3000)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if n == 0 { break }
            pulled += buffer[..<n]
        }
        #expect(pulled == plaintext)
        #expect(source.result?.digest == sealed.digest)
    }

    @Test func theDefaultGroupSizeHoldsAGibibyteOfChunks() throws {
        let plaintext = randomBytes(50_000)
        let (archive, _) = try seal(plaintext, groupSizeLog2: FormatV2.defaultGroupSizeLog2(chunkSizeLog2: 12))
        #expect(try openInMemory(archive, with: [identity], step: 1000) == plaintext)
    }

    @Test func everyTruncationIsDetected() throws {
        let (archive, _) = try seal(randomBytes(3 * 4096 + 10))
        for cut in TestTier.sample(Array(0..<archive.count), fast: 300) {
            let prefix = Array(archive[..<cut])
            #expect(errorCode { _ = try openInMemory(prefix, with: [identity], step: 1000) } != nil, "cut at \(cut) opened")
            #expect(errorCode { _ = try verifyInMemory(prefix) } != nil, "cut at \(cut) verified")
        }
    }

    @Test func everyBitFlipIsDetected() throws {
        let (archive, _) = try seal(randomBytes(3 * 4096 + 10))
        for position in TestTier.sample(Array(0..<archive.count), fast: 300) {
            var damaged = archive
            damaged[position] ^= 0x10
            #expect(errorCode { _ = try openInMemory(damaged, with: [identity], signers: [signing.signer]) } != nil,
                    "a flip at byte \(position) opened")
            #expect(errorCode { _ = try verifyInMemory(damaged, signers: [signing.signer]) } != nil,
                    "a flip at byte \(position) verified")
        }
    }

    @Test func bytesAfterTheTrailerAreNamed() throws {
        let (archive, _) = try seal(randomBytes(9000))
        #expect(errorCode { _ = try openInMemory(archive + [0], with: [identity]) } == .trailer)
        #expect(errorCode { _ = try verifyInMemory(archive + Array(repeating: 7, count: 100)) } == .trailer)
    }

    /// The attack of issue 10: a recipient's public key and the host's
    /// public signing key are enough to make a header naming the host; its
    /// header signature cannot be made, so the reader refuses the archive
    /// while reading the header, before any record, decrypted or not.
    @Test func aForgedHeaderIsRefusedBeforeAnyRecordIsRead() throws {
        let forger = try SigningKey.generate()
        let (forged, _) = try sealInMemory(randomBytes(20_000), to: [identity.recipient], signedBy: forger) {
            $0.formatVersion = .v2
        }
        // Name the host's key in place of the forger's: the key sits in the
        // header as a field, the same length.
        let hostKey = signing.signer.publicKey, forgerKey = forger.signer.publicKey
        let at = try #require(forged.firstRange(of: forgerKey))
        var archive = forged
        archive.replaceSubrange(at, with: hostKey)
        let source = CountingSource(archive)
        #expect(errorCode { _ = try ArchiveReader(source: source, requiredSigners: [signing.signer]) } == .signature)
        let header = try ArchiveHeader(parsing: archive)
        #expect(source.consumed == header.leadLength, "read \(source.consumed) bytes, the header and its signature are \(header.leadLength)")
    }

    @Test func rewrapKeepsVersion2AndEveryRecordAndSegment() throws {
        let plaintext = randomBytes(5 * 4096 + 1)
        let (archive, _) = try seal(plaintext)
        let newIdentity = try Identity.generate()
        let newSigner = try SigningKey.generate()
        let reader = try ArchiveReader(source: MemorySource(archive), requiredSigners: [signing.signer]).unlock(with: [identity])
        let sink = MemorySink()
        let result = try Rewrap.rewrap(reader, origin: .trustedSigners([TrustedSigner(signing.signer)]), to: [newIdentity.recipient],
                                       signingKey: newSigner, into: sink)
        let rewrapped = sink.bytes
        #expect(result.archiveLength == UInt64(rewrapped.count))
        let (old, new) = (try ArchiveHeader(parsing: archive), try ArchiveHeader(parsing: rewrapped))
        #expect(new.version == .v2 && new.groupSizeLog2 == old.groupSizeLog2)
        // Records, segments and the group table are copied byte for byte.
        let trailer = old.trailerLength
        #expect(Array(archive[old.leadLength..<(archive.count - trailer)]) == Array(rewrapped[new.leadLength..<(rewrapped.count - trailer)]))
        #expect(try openInMemory(rewrapped, with: [newIdentity], signers: [newSigner.signer], step: 999) == plaintext)
        #expect(errorCode { _ = try openInMemory(rewrapped, with: [identity]) } == .noIdentity)
    }
}

/// A memory source that counts the bytes handed out.
final class CountingSource: ByteSource {
    private let bytes: [UInt8]
    private(set) var consumed = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - consumed)
        bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[consumed..<consumed + n])) }
        consumed += n
        return n
    }
}
