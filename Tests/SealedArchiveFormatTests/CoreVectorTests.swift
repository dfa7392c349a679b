import Foundation
import Testing
import SealedArchiveFormat
import TestSupport

/// Every vector of Spec/vectors decoded through the format core alone
/// (ArchiveImage over ArchiveDecoder, UnlockedArchive, RecordAccumulator),
/// with the outcome its JSON states, decrypting and keyless.
@Suite struct CoreVectorTests {
    typealias Vector = TestVector

    static func all() throws -> [Vector] { try TestVector.load() }

    func bytes(_ vector: Vector) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: vector.archiveURL))
    }

    func trusted(_ vector: Vector) throws -> [TrustedSigner]? {
        vector.signers.isEmpty ? nil : try vector.signers.map { TrustedSigner(try SignerKey(parsing: $0)) }
    }

    @Test func everyClassIsCovered() throws {
        let vectors = try Self.all()
        #expect(vectors.count >= 25)
        let classes = Set(vectors.map(\.expect))
        for needed in ["ok", "header", "version", "limit", "truncated", "trailer", "damaged", "signature", "no-identity", "untrusted-signer", "unsigned"] {
            #expect(classes.contains(needed), "no vector of class \(needed)")
        }
    }

    @Test(arguments: try CoreVectorTests.all())
    func decryptingOutcome(_ vector: Vector) throws {
        let identities = try vector.identities.map { text in try Array(text.utf8).withUnsafeBytes { try Identity(parsing: $0) } }
        let archive = try bytes(vector)
        let signers = try trusted(vector)
        var plaintext: [UInt8] = []
        let outcome = errorCode {
            let image = try ArchiveImage(archive, trustedSigners: signers)
            let unlocked = try image.decoder.unlock(with: identities)
            plaintext = try decode(image, with: unlocked).plaintext
        }
        #expect((outcome?.rawValue ?? "ok") == vector.expect)
        if vector.expect == "ok" {
            #expect(plaintext.count == vector.plaintext_length)
            #expect(sha256Hex(plaintext) == vector.plaintext_sha256)
        }
    }

    @Test(arguments: try CoreVectorTests.all())
    func keylessOutcome(_ vector: Vector) throws {
        let archive = try bytes(vector)
        let signers = try trusted(vector)
        let outcome = errorCode { _ = try ArchiveImage(archive, trustedSigners: signers).read() }
        #expect((outcome?.rawValue ?? "ok") == vector.keyless_expect)
    }

    /// The good vectors opened record by record, last first: the same
    /// plaintext as in order.
    @Test(arguments: try CoreVectorTests.all().filter { $0.expect == "ok" })
    func goodVectorsOpenByIndexInAnyOrder(_ vector: Vector) throws {
        let identities = try vector.identities.map { text in try Array(text.utf8).withUnsafeBytes { try Identity(parsing: $0) } }
        let image = try ArchiveImage(try bytes(vector))
        let unlocked = try image.decoder.unlock(with: identities)
        let count = try image.recordCount()
        var pieces = [[UInt8]](repeating: [], count: Int(count))
        var buffer = [UInt8](repeating: 0, count: image.header.chunkSize)
        for index in (0..<count).reversed() {
            let checked = try buffer.withUnsafeMutableBytes { try image.open(record: index, with: unlocked, into: $0) }
            #expect(checked.isLast == (index == count - 1))
            pieces[Int(index)] = Array(buffer[..<checked.plaintextLength])
        }
        #expect(sha256Hex(Array(pieces.joined())) == vector.plaintext_sha256)
    }
}
