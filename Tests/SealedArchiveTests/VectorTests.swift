import Foundation
import Testing
@testable import SealedArchive
import TestSupport

/// Runs every vector of Spec/vectors through the reader, with the identities
/// it names and keyless, and checks the outcome the vector states.
@Suite struct VectorTests {
    typealias Vector = TestVector

    static let specDirectory = PackagePaths.vectors

    /// The spec's vectors, plus those in SEALED_ARCHIVE_EXTRA_VECTORS (a
    /// directory): the test command points it at vectors the independent
    /// Python encoder writes, so the Swift reader is checked against
    /// archives it did not make.
    static func all() throws -> [Vector] {
        try TestVector.load(in: specDirectory) + (extraDirectory.map { try TestVector.load(in: $0) } ?? [])
            + version2()
    }

    /// The version 2 vectors (Spec/vectors/v2 and pq/, post-quantum
    /// stanzas, and the extra directory's), read by the same streaming
    /// reader.
    static func version2() throws -> [Vector] {
        let directories = [specDirectory] + (extraDirectory.map { [$0] } ?? [])
        return try directories.flatMap { directory in
            try ["v2", "pq"].flatMap { name -> [Vector] in
                let sub = directory.appendingPathComponent(name, isDirectory: true)
                return FileManager.default.fileExists(atPath: sub.path) ? try TestVector.load(in: sub) : []
            }
        }
    }

    /// A version 2 vector whose container is intact and whose payload is a
    /// tar: its outcome is the payload reader's.
    static func holdsTarPayload(_ vector: Vector) -> Bool {
        guard vector.keyless_expect == "ok", let archive = try? [UInt8](Data(contentsOf: vector.archiveURL)) else { return false }
        return archive.count > 14 && archive[8] == 2 && archive[14] == PayloadKind.tar.rawValue
    }

    /// Whether the container reader's `outcome` is the vector's. A version
    /// 2 tar payload's own checks (frames, seek table, index against the
    /// tar) come after the container's, in the payload reader: for such a
    /// vector the container alone reads "ok" when its keyless checks pass.
    static func matches(_ outcome: String, _ vector: Vector, archive: [UInt8]) -> Bool {
        let isVersion2Tar = archive.count > 14 && archive[8] == 2 && archive[14] == PayloadKind.tar.rawValue
        return outcome == vector.expect || (isVersion2Tar && outcome == "ok" && vector.keyless_expect == "ok")
    }

    static var extraDirectory: URL? {
        ProcessInfo.processInfo.environment["SEALED_ARCHIVE_EXTRA_VECTORS"].map { URL(fileURLWithPath: $0, isDirectory: true) }
    }

    @Test func thereAreEnoughVectorsOfEachKind() throws {
        let vectors = try TestVector.load(in: Self.specDirectory)
        #expect(vectors.count >= 25)
        #expect(vectors.filter { $0.expect == "ok" }.count >= 7)
        let classes = Set(vectors.map(\.expect))
        for needed in ["header", "version", "limit", "trailer", "damaged", "signature", "no-identity", "untrusted-signer", "unsigned"] {
            #expect(classes.contains(needed), "no vector of class \(needed)")
        }
    }

    @Test(arguments: try VectorTests.all())
    func vectorOutcomeWithIdentities(_ vector: Vector) throws {
        let archive = try [UInt8](Data(contentsOf: vector.archiveURL))
        let identities = try vector.identities.map { text in try Array(text.utf8).withUnsafeBytes { try Identity(parsing: $0) } }
        let signers = vector.signers.isEmpty ? nil : try vector.signers.map { try SignerKey(parsing: $0) }
        var plaintext: [UInt8] = []
        let outcome = errorCode {
            let reader = try ArchiveReader(source: MemorySource(archive), requiredSigners: signers).unlock(with: identities)
            let sink = MemorySink()
            _ = try reader.decrypt(into: sink)
            plaintext = sink.bytes
        }
        #expect(Self.matches(outcome?.rawValue ?? "ok", vector, archive: archive), "\(vector.name): \(outcome?.rawValue ?? "ok")")
        if vector.expect == "ok" {
            #expect(plaintext.count == vector.plaintext_length)
            #expect(sha256Hex(plaintext) == vector.plaintext_sha256)
        }
    }

    @Test(arguments: try VectorTests.all())
    func vectorOutcomeKeyless(_ vector: Vector) throws {
        let archive = try [UInt8](Data(contentsOf: vector.archiveURL))
        let signers = vector.signers.isEmpty ? nil : try vector.signers.map { try SignerKey(parsing: $0) }
        let outcome = errorCode { _ = try verifyInMemory(archive, signers: signers) }
        #expect((outcome?.rawValue ?? "ok") == vector.keyless_expect, "\(vector.name)")
    }

    /// A version 2 tar payload read whole (frames, seek table, the index
    /// against the tar: what FORMAT-v2.md section 8 asks of a reader of the
    /// whole payload, without extraction's policy, which may refuse what
    /// the format allows, a FIFO): the vector's outcome, and for a good one
    /// the tar it states.
    @Test(arguments: try VectorTests.version2().filter(VectorTests.holdsTarPayload))
    func version2TarPayloadOutcome(_ vector: Vector) throws {
        let archive = try [UInt8](Data(contentsOf: vector.archiveURL))
        let identities = try vector.identities.map { text in try Array(text.utf8).withUnsafeBytes { try Identity(parsing: $0) } }
        let signers = vector.signers.isEmpty ? nil : try vector.signers.map { try SignerKey(parsing: $0) }
        let sink = MemorySink()
        let outcome = errorCode {
            let reader = try ArchiveReader(source: MemorySource(archive), requiredSigners: signers).unlock(with: identities)
            _ = try Restore.writeDecompressed(reader, into: sink)
        }
        #expect((outcome?.rawValue ?? "ok") == vector.expect, "\(vector.name)")
        if outcome == nil, let expected = vector.tar_sha256 {
            #expect(sha256Hex(sink.bytes) == expected, "\(vector.name)")
        }
    }
}
