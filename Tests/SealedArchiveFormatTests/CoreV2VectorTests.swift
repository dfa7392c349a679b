import Foundation
import Testing
import SealedArchiveFormat
import TestSupport

/// Every version 2 vector of Spec/vectors/v2 decoded through the format
/// core alone, with the outcome its JSON states, decrypting and keyless;
/// the good ones also record by record through the partial read of
/// Spec/FORMAT-v2.md section 7.1.
@Suite struct CoreV2VectorTests {
    typealias Vector = TestVector

    static let directory = PackagePaths.vectors.appendingPathComponent("v2", isDirectory: true)

    /// Spec/vectors/v2 and Spec/vectors/pq (post-quantum stanzas), plus the
    /// `v2/` and `pq/` of SEALED_ARCHIVE_EXTRA_VECTORS when it has them: the
    /// version 2 archives the independent Python encoder wrote, so the core
    /// is checked against archives it did not make.
    static func all() throws -> [Vector] {
        let roots = [PackagePaths.vectors] + (ProcessInfo.processInfo.environment["SEALED_ARCHIVE_EXTRA_VECTORS"]
            .map { [URL(fileURLWithPath: $0, isDirectory: true)] } ?? [])
        return try roots.flatMap { root in
            try ["v2", "pq"].flatMap { name -> [Vector] in
                let directory = root.appendingPathComponent(name, isDirectory: true)
                return FileManager.default.fileExists(atPath: directory.path) ? try TestVector.load(in: directory) : []
            }
        }
    }

    /// The outcome the core alone must give. A tar payload's own checks
    /// (frames, seek table, index against the tar) are the library's, not
    /// the core's: where such a vector expects a failure those checks find,
    /// the core, which sees a sound container, says ok.
    static func coreExpectation(_ vector: Vector, archive: [UInt8], _ outcome: String) -> Bool {
        let isTarPayload = archive.count > 14 && archive[14] == PayloadKind.tar.rawValue
        return outcome == vector.expect || (isTarPayload && outcome == "ok" && vector.keyless_expect == "ok")
    }

    func bytes(_ vector: Vector) throws -> [UInt8] { try [UInt8](Data(contentsOf: vector.archiveURL)) }

    func trusted(_ vector: Vector) throws -> [TrustedSigner]? {
        vector.signers.isEmpty ? nil : try vector.signers.map { TrustedSigner(try SignerKey(parsing: $0)) }
    }

    func identities(_ vector: Vector) throws -> [Identity] {
        try vector.identities.map { text in try Array(text.utf8).withUnsafeBytes { try Identity(parsing: $0) } }
    }

    @Test func everyClassIsCovered() throws {
        let vectors = try Self.all()
        #expect(vectors.count >= 20)
        #expect(vectors.allSatisfy { $0.name.hasPrefix("v2-") || $0.name.hasPrefix("pq-") })
        let postQuantum = vectors.filter { $0.name.hasPrefix("pq-") }
        #expect(postQuantum.count >= 10)
        #expect(Set(postQuantum.map(\.expect)).isSuperset(of: ["ok", "header", "damaged", "no-identity"]))
        let classes = Set(vectors.filter { $0.directory.standardizedFileURL == Self.directory.standardizedFileURL }.map(\.expect))
        for needed in ["ok", "header", "version", "limit", "truncated", "trailer", "damaged", "signature", "no-identity", "untrusted-signer", "unsigned"] {
            #expect(classes.contains(needed), "no vector of class \(needed)")
        }
    }

    @Test(arguments: try CoreV2VectorTests.all())
    func decryptingOutcome(_ vector: Vector) throws {
        let archive = try bytes(vector)
        let keys = try identities(vector)
        let signers = try trusted(vector)
        var plaintext: [UInt8] = []
        let outcome = errorCode {
            let image = try ArchiveImage(archive, trustedSigners: signers)
            #expect(image.header.version == .v2)
            let unlocked = try image.decoder.unlock(with: keys)
            plaintext = try decode(image, with: unlocked).plaintext
        }
        #expect(Self.coreExpectation(vector, archive: archive, outcome?.rawValue ?? "ok"), "\(vector): \(outcome?.rawValue ?? "ok"), expected \(vector.expect)")
        if vector.expect == "ok" {
            #expect(plaintext.count == vector.plaintext_length)
            #expect(sha256Hex(plaintext) == vector.plaintext_sha256)
        }
    }

    @Test(arguments: try CoreV2VectorTests.all())
    func keylessOutcome(_ vector: Vector) throws {
        let archive = try bytes(vector)
        let signers = try trusted(vector)
        let outcome = errorCode { _ = try ArchiveImage(archive, trustedSigners: signers).read() }
        #expect((outcome?.rawValue ?? "ok") == vector.keyless_expect)
    }

    @Test(arguments: try CoreV2VectorTests.all().filter { $0.expect == "ok" })
    func goodVectorsReadPartiallyLastFirst(_ vector: Vector) throws {
        let image = try ArchiveImage(try bytes(vector), trustedSigners: try trusted(vector))
        let unlocked = try image.decoder.unlock(with: try identities(vector))
        let table = try image.verifyGroupTable()
        var pieces = [[UInt8]](repeating: [], count: Int(table.recordCount))
        var buffer = [UInt8](repeating: 0, count: image.header.chunkSize)
        for index in (0..<table.recordCount).reversed() {
            let checked = try buffer.withUnsafeMutableBytes { try image.readPartially(record: index, table: table, with: unlocked, into: $0) }
            #expect(checked.isLast == (index == table.recordCount - 1))
            pieces[Int(index)] = Array(buffer[..<checked.plaintextLength])
        }
        #expect(sha256Hex(Array(pieces.joined())) == vector.plaintext_sha256)
    }
}
