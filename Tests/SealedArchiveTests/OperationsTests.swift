import Foundation
import Testing
import TestSupport
@testable import SealedArchive

/// The library operations the CLI only calls: ``Sealer`` and the typed set
/// checks of ``ArchiveSet``.
@Suite struct SealerTests {
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sealer-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/tree/sub", withIntermediateDirectories: true)
        try Data(TestSupport.randomBytes(5000)).write(to: URL(fileURLWithPath: directory + "/tree/sub/a.bin"))
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: directory + "/tree/b.txt"))
    }

    func path(_ name: String) -> String { directory + "/" + name }

    func header(_ name: String) throws -> ArchiveHeader {
        try ArchiveReader(source: FileSource(path: path(name))).header
    }

    @Test func aDirectoryIsPackedAsCompressedTar() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let identity = try Identity.generate()
        let signing = try SigningKey.generate()
        var request = Sealer.Request(recipients: [identity.recipient])
        request.input = path("tree")
        request.output = path("tree.sarc")
        request.signingKey = signing
        request.label = "nightly"
        let report = try Sealer.seal(request, now: fixedDate)
        #expect(report.schema == 1 && report.kind == "seal")
        #expect(report.archive == path("tree.sarc"))
        #expect(report.recipient_key_ids == [identity.recipient.keyID.description])
        #expect(report.signer_key_id == signing.signer.keyID.description)
        #expect(report.sequence == nil && report.checksum_file == nil)
        #expect(report.archive_bytes == (try FileManager.default.attributesOfItem(atPath: path("tree.sarc"))[.size] as? UInt64))
        let header = try header("tree.sarc")
        #expect(header.payloadKind == .tar && header.compression == .zstd)
        #expect(header.created == UInt64(fixedDate.timeIntervalSince1970) && header.label == "nightly")
    }

    @Test func aTarFileIsRecognisedAndOtherBytesAreNot() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let recipient = try Identity.generate().recipient
        let (sink, file) = try OutputFile.open(path("tree.tar"), mode: 0o600, replaceExisting: false)
        _ = try DirectoryPacker.pack(directory: path("tree"), into: sink, compression: .none)
        try file?.commit()

        var request = Sealer.Request(recipients: [recipient])
        request.input = path("tree.tar")
        request.output = path("tar.sarc")
        _ = try Sealer.seal(request, now: fixedDate)
        #expect(try header("tar.sarc").payloadKind == .tar)
        // Format 2 re-frames a tar as zstd frames (Spec/FORMAT-v2.md 8).
        #expect(try header("tar.sarc").compression == Compression.zstd)
        #expect(try header("tar.sarc").version == .v2)

        request.input = path("tree/sub/a.bin")
        request.output = path("bytes.sarc")
        let report = try Sealer.seal(request, now: fixedDate)
        #expect(try header("bytes.sarc").payloadKind == .bytes)
        #expect(report.payload_bytes == 5000)

        // --payload tar on bytes: refused as a usage mistake, nothing written.
        request.payload = .tar
        request.output = path("refused.sarc")
        #expect(throws: SealedArchiveError(.invalidArgument, "")) { try Sealer.seal(request, now: fixedDate) }
        #expect(!FileManager.default.fileExists(atPath: path("refused.sarc")))
    }

    @Test func chainAndChecksumAreWrittenWithTheArchive() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var request = Sealer.Request(recipients: [try Identity.generate().recipient])
        request.input = path("tree/b.txt")
        request.chainFile = path("chain.json")
        request.checksum = .besideArchive
        request.output = path("one.sarc")
        let first = try Sealer.seal(request, now: fixedDate)
        request.output = path("two.sarc")
        let second = try Sealer.seal(request, now: fixedDate.addingTimeInterval(60))
        #expect(first.sequence == 1 && second.sequence == 2)
        #expect(second.checksum_file == path("two.sarc.sha256"))
        let line = try String(contentsOfFile: path("two.sarc.sha256"), encoding: .utf8)
        #expect(line == "\(sha256Hex(Array(try Data(contentsOf: URL(fileURLWithPath: path("two.sarc"))))))  two.sarc\n")
        #expect(try header("two.sarc").previousDigest.map(HexCoding.encode) == first.digest)
        #expect(try ChainState.read(path: path("chain.json"))?.sequence == 2)
    }

    @Test func checksumNamesFollowTheOutput() {
        var request = Sealer.Request(recipients: [])
        request.checksum = .file("out/x.sarc.sha256")
        #expect(request.checksumTarget?.archiveName == "x.sarc", "standard output: named after the file")
        request.checksum = .file("sums")
        #expect(request.checksumTarget?.archiveName == "-")
        request.output = "dir/a.sarc"
        #expect(request.checksumTarget?.archiveName == "a.sarc")
        request.checksum = .besideArchive
        #expect(request.checksumTarget?.path == "dir/a.sarc.sha256")
    }

    @Test func chunkSizesAreParsedAgainstTheFormatRange() throws {
        #expect(try ChunkSize.parseLog2("1MiB") == 20)
        #expect(try ChunkSize.parseLog2("4K") == 12)
        #expect(try ChunkSize.parseLog2("16777216") == 24)
        for bad in ["2KiB", "32MiB", "3MiB", "0", "-4K", "", "1GiB"] {
            #expect(throws: SealedArchiveError(.invalidArgument, "")) { try ChunkSize.parseLog2(bad) }
        }
        #expect(ChunkSize.describe(log2: ChunkSize.log2Range.lowerBound) == "4KiB")
        #expect(ChunkSize.describe(log2: ChunkSize.log2Range.upperBound) == "16MiB")
    }
}

@Suite struct ArchiveSetProblemTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func facts(_ name: String, sequence: UInt64?, age: TimeInterval, digest: UInt8, previous: UInt8? = nil) -> ArchiveFacts {
        ArchiveFacts(name: name, created: UInt64(now.timeIntervalSince1970 - age), sequence: sequence,
                     previousDigest: previous.map { [UInt8](repeating: $0, count: 32) }, digest: [UInt8](repeating: digest, count: 32))
    }

    @Test func gapsAreRangesOfNumbers() {
        let set = [facts("a", sequence: 1, age: 500, digest: 1), facts("e", sequence: 5, age: 100, digest: 5, previous: 4)]
        #expect(ArchiveSet.chainProblems(set) == [.missing(first: 2, last: 4, after: "a", before: "e")])
        // A damaged archive 3 is present: only 2 and 4 are missing.
        #expect(ArchiveSet.chainProblems(set, failed: [3]) == [
            .missing(first: 2, last: 2, after: "a", before: "e"), .missing(first: 4, last: 4, after: "a", before: "e"),
        ])
        #expect(ArchiveSet.chainProblems(set, expectedLast: 7).last == .behindHost(hostLast: 7, newestHere: 5))
    }

    @Test func duplicatesReplacementsAndRollbacks() {
        let copies = [facts("a", sequence: 1, age: 10, digest: 1), facts("b", sequence: 1, age: 10, digest: 1)]
        #expect(ArchiveSet.chainProblems(copies) == [.copies(sequence: 1, archives: ["a", "b"])])
        let forked = [facts("a", sequence: 1, age: 10, digest: 1), facts("b", sequence: 1, age: 10, digest: 2)]
        #expect(ArchiveSet.chainProblems(forked) == [.forked(sequence: 1, archives: ["a", "b"])])
        let replaced = [facts("a", sequence: 1, age: 100, digest: 1), facts("b", sequence: 2, age: 50, digest: 2, previous: 9)]
        #expect(ArchiveSet.chainProblems(replaced) == [.replaced(archive: "b", sequence: 2, previous: "a", previousSequence: 1)])
        let rolledBack = [facts("a", sequence: 1, age: 50, digest: 1), facts("b", sequence: 2, age: 100, digest: 2, previous: 1)]
        #expect(ArchiveSet.chainProblems(rolledBack) == [.rollback(archive: "b", sequence: 2, previous: "a", previousSequence: 1)])
    }

    @Test func staleCarriesTheAgeInSeconds() throws {
        let problem = try #require(ArchiveSet.freshnessProblem([facts("old", sequence: nil, age: 90_000, digest: 1)], maxAge: 86_400, now: now))
        #expect(problem == .stale(archive: "old", ageSeconds: 90_000, maxAgeSeconds: 86_400))
        let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(problem)) as? [String: Any])
        #expect(json["type"] as? String == "stale")
        #expect((json["age_seconds"] as? NSNumber)?.intValue == 90_000 && (json["max_age_seconds"] as? NSNumber)?.intValue == 86_400)
        #expect((json["message"] as? String)?.contains("RPO missed") == true)
    }

}

@Suite struct ArchiveSummaryTests {
    @Test func aHeaderSummaryRoundTripsThroughJSON() throws {
        let identity = try Identity.generate()
        let signing = try SigningKey.generate()
        let (archive, _) = try sealInMemory(TestSupport.randomBytes(100), to: [identity.recipient], signedBy: signing) {
            $0.label = "daily"
            $0.sequence = 3
            $0.previousDigest = [UInt8](repeating: 7, count: 32)
        }
        let header = try ArchiveReader(source: TricklingSource(archive, step: 1 << 20)).header
        let summary = ArchiveSummary(header: header)
        let line = try summary.jsonLine()
        #expect(try JSONDecoder().decode(ArchiveSummary.self, from: Data(line.utf8)) == summary)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect((object["schema"] as? NSNumber)?.intValue == 1 && object["kind"] == nil, "inspect has no kind: \(line)")
        #expect(object["sequence"] as? NSNumber == 3 && object["label"] as? String == "daily")
        #expect(object["previous_digest"] as? String == String(repeating: "07", count: 32))
        #expect(object["signer_key_id"] as? String == signing.signer.keyID.description)
        #expect(Set(object.keys) == ["schema", "format_version", "created", "created_unix", "payload_kind", "compression", "chunk_size",
                                     "header_length", "recipients", "recipient_types", "signer", "signer_key_id", "label", "sequence", "previous_digest"])
    }

    @Test func aDrillSummaryIsOneFlatObjectThatReadsBack() throws {
        var archive = ArchiveSummary()
        archive.archive = "a.sarc"
        archive.recipients = ["0123456789abcdef"]
        archive.kind = "archive"  // the drill's kind wins
        var drill = DrillSummary(failedBeforeChoosing: SealedArchiveError(.header, "no archive found"))
        drill.archive = archive
        drill.age_seconds = 90
        let line = try ArchiveSummary.jsonLine(drill)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["kind"] as? String == "drill" && object["archive"] as? String == "a.sarc", "\(line)")
        #expect((object["error"] as? [String: Any])?["code"] as? String == "header" && object["failures"] as? [String] == ["no archive found"])
        let decoded = try JSONDecoder().decode(DrillSummary.self, from: Data(line.utf8))
        #expect(decoded.archive.archive == "a.sarc" && decoded.archive.kind == nil && decoded.age_seconds == 90 && !decoded.ok)
    }
}
