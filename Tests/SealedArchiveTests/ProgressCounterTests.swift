import Foundation
import Testing
import TestSupport
@testable import SealedArchive

/// What the operations count into a ``ProgressCounter`` (the CLI's
/// `--progress`): every byte they read, against a total announced before
/// they start, so a display reaches exactly 100 % and its ETA is honest.
@Suite struct ProgressCounterTests {
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("progress-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/tree/sub", withIntermediateDirectories: true)
        try Data(randomBytes(300_000)).write(to: URL(fileURLWithPath: directory + "/tree/sub/a.bin"))
        try Data(randomBytes(70_000)).write(to: URL(fileURLWithPath: directory + "/tree/b.bin"))
        // A hard link is stored as a link: its bytes are read once.
        try FileManager.default.linkItem(atPath: directory + "/tree/b.bin", toPath: directory + "/tree/c.bin")
        try FileManager.default.createSymbolicLink(atPath: directory + "/tree/d", withDestinationPath: "b.bin")
    }

    func path(_ name: String) -> String { directory + "/" + name }

    @Test(arguments: [FormatVersion.v1, .v2])
    func sealingADirectoryCountsItsContentOnce(version: FormatVersion) throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let progress = ProgressCounter()
        var request = Sealer.Request(recipients: [try Identity.generate().recipient])
        request.input = path("tree")
        request.output = path("tree.sarc")
        request.formatVersion = version
        request.progress = progress
        _ = try Sealer.seal(request, now: fixedDate)
        #expect(progress.total == 370_000)
        #expect(progress.completed == 370_000)
    }

    @Test func sealingAFileCountsItsBytesAgainstItsSize() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let progress = ProgressCounter()
        var request = Sealer.Request(recipients: [try Identity.generate().recipient])
        request.input = path("tree/sub/a.bin")
        request.output = path("a.sarc")
        request.progress = progress
        _ = try Sealer.seal(request, now: fixedDate)
        #expect(progress.total == 300_000)
        #expect(progress.completed == 300_000)
    }

    /// A set's total is every archive's size, known before the first is
    /// read; each is read once (keyless) or once (deep).
    @Test func verifyingASetCountsEveryArchive() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let identity = try Identity.generate()
        var request = Sealer.Request(recipients: [identity.recipient])
        for name in ["one", "two"] {
            request.input = path("tree")
            request.output = path("\(name).sarc")
            _ = try Sealer.seal(request, now: fixedDate)
        }
        let sizes = try ["one", "two"].map { try #require(try FileManager.default.attributesOfItem(atPath: path("\($0).sarc"))[.size] as? UInt64) }
        for deep in [false, true] {
            let progress = ProgressCounter()
            var verify = Verifier.Request(archives: [path("one.sarc"), path("two.sarc")])
            verify.options.progress = progress
            if deep { verify.options.identities = [identity] }
            let report = try Verifier.run(verify, now: fixedDate)
            #expect(report.archives.allSatisfy { $0.passed })
            #expect(progress.total == sizes.reduce(0, +), "deep: \(deep)")
            #expect(progress.completed == sizes.reduce(0, +), "deep: \(deep)")
        }
    }

    /// A drill reads the archive twice: verification, then the restore.
    @Test func aDrillCountsBothReads() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let identity = try Identity.generate()
        var request = Sealer.Request(recipients: [identity.recipient])
        request.input = path("tree")
        request.output = path("tree.sarc")
        _ = try Sealer.seal(request, now: fixedDate)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path("tree.sarc"))[.size] as? UInt64)
        var options = Drill.Options(identities: [identity], workDirectory: directory)
        let progress = ProgressCounter()
        options.progress = progress
        let report = Drill.run(path: path("tree.sarc"), options: options, now: fixedDate)
        #expect(report.passed, "\(report.failures)")
        #expect(progress.total == 2 * size)
        #expect(progress.completed == 2 * size)
    }

    /// Standard input has no size: the total is unknown, not wrong.
    @Test func anInputWithoutASizeLeavesTheTotalUnknown() {
        let progress = ProgressCounter()
        progress.expect(10)
        progress.expect(sizeOf: "-")
        progress.add(4)
        #expect(progress.total == nil)
        #expect(progress.completed == 4)
    }
}
