import Foundation
import Testing
@testable import SealedArchive

@Suite struct EntryPolicyTests {
    func entry(_ path: String, _ kind: TarEntry.Kind = .file, symlink: String? = nil, hardlink: String? = nil) -> TarEntry {
        TarEntry(path: Array(path.utf8), kind: kind, size: 0, permissions: 0o644, modified: 0,
                 symlinkTarget: symlink.map { Array($0.utf8) }, hardlinkTarget: hardlink.map { Array($0.utf8) },
                 handle: OpaquePointer(bitPattern: 1)!)
    }

    func admitted(_ entries: [TarEntry], allowEscaping: Bool = false) -> SealedArchiveError.Code? {
        var policy = EntryPolicy(allowEscapingSymlinks: allowEscaping)
        return errorCode { for e in entries { _ = try policy.admit(e) } }
    }

    @Test func normalisationDropsDotPrefixesAndTrailingSlashes() throws {
        #expect(try EntryPolicy.normalize(Array("./a/./b/".utf8)) == Array("a/b".utf8))
        #expect(try EntryPolicy.normalize(Array("./".utf8)) == nil)
        #expect(try EntryPolicy.normalize(Array("a//b".utf8)) == Array("a/b".utf8))
    }

    @Test(arguments: ["/etc/passwd", "../x", "a/../../x", "a/..", ".."])
    func escapingPathsAreRefused(_ path: String) {
        #expect(admitted([entry(path)]) == .unsafeEntry)
    }

    @Test func specialFilesAreRefused() {
        #expect(admitted([entry("dev", .other("a character device"))]) == .unsafeEntry)
        #expect(admitted([entry("fifo", .other("a FIFO"))]) == .unsafeEntry)
    }

    @Test func nothingIsWrittenThroughASymlink() {
        #expect(admitted([entry("link", .symlink, symlink: "sub"), entry("sub", .directory), entry("link/x")]) == .unsafeEntry)
        #expect(admitted([entry("sub", .directory), entry("link", .symlink, symlink: "sub"), entry("sub/x")]) == nil)
    }

    @Test(arguments: [("/etc", false), ("..", false), ("../x", false), ("a/../../x", false), ("sub/../..", false),
                      ("sub/..", false), ("x", true), ("sub/./y", true), ("./z", true)])
    func symlinkTargetsMustStayInside(_ target: String, _ inside: Bool) {
        #expect(EntryPolicy.escapes(Array(target.utf8), from: Array("top".utf8)) == !inside)
        #expect(admitted([entry("top", .symlink, symlink: target)]) == (inside ? nil : .unsafeEntry))
        #expect(admitted([entry("top", .symlink, symlink: target)], allowEscaping: true) == nil)
    }

    /// `a -> .` then `b -> a/..`: lexically inside, physically the parent.
    @Test func climbingAfterANameIsRefused() {
        #expect(admitted([entry("a", .symlink, symlink: "."), entry("b", .symlink, symlink: "a/..")]) == .unsafeEntry)
        #expect(admitted([entry("d", .directory), entry("d/l", .symlink, symlink: "../x/y")]) == nil)
    }

    @Test func linksDeeperInTheTreeMayClimbAsFarAsTheirDepth() {
        #expect(!EntryPolicy.escapes(Array("../../x".utf8), from: Array("a/b/link".utf8)))
        #expect(EntryPolicy.escapes(Array("../../../x".utf8), from: Array("a/b/link".utf8)))
    }

    @Test func hardLinksMustNameAFileExtractedBefore() {
        #expect(admitted([entry("a"), entry("b", .hardlink, hardlink: "a")]) == nil)
        #expect(admitted([entry("b", .hardlink, hardlink: "a"), entry("a")]) == .unsafeEntry)
        #expect(admitted([entry("b", .hardlink, hardlink: "/etc/passwd")]) == .unsafeEntry)
        #expect(admitted([entry("d", .directory), entry("b", .hardlink, hardlink: "d")]) == .unsafeEntry)
    }

    @Test func duplicatesAreRefusedExceptDirectories() {
        #expect(admitted([entry("a"), entry("a")]) == .unsafeEntry)
        #expect(admitted([entry("d", .directory), entry("d", .directory)]) == nil)
        #expect(admitted([entry("a"), entry("a", .directory)]) == .unsafeEntry)
        #expect(admitted([entry("a"), entry("a/b")]) == .unsafeEntry)
    }
}

@Suite struct ManifestTests {
    let digestA = String(repeating: "a", count: 64)
    let digestB = String(repeating: "b", count: 64)

    @Test func parsesSha256sumOutput() throws {
        let manifest = try Manifest(parsing: Array("\(digestA)  ./one.sql\n\(digestB) *two.tgz\r\n".utf8))
        #expect(manifest.digests == [Array("one.sql".utf8): digestA, Array("two.tgz".utf8): digestB])
    }

    @Test(arguments: ["nonsense\n", "\(String(repeating: "g", count: 64))  x\n", "\(String(repeating: "a", count: 64)) x\n",
                      "\(String(repeating: "a", count: 64))  ../x\n", "\\\(String(repeating: "a", count: 64))  x\\q\n",
                      "\\\(String(repeating: "a", count: 64))  x\\\n"])
    func rejectsMalformedLines(_ text: String) {
        #expect(errorCode { _ = try Manifest(parsing: Array(text.utf8)) } == .manifest)
    }

    /// sha256sum escapes a name holding a backslash or a newline: the line
    /// starts with a backslash. Such manifests are read, not refused.
    @Test func readsSha256sumEscapedNames() throws {
        let manifest = try Manifest(parsing: Array("\\\(digestA)  dir/new\\nline\n\\\(digestB)  back\\\\slash\r\n".utf8))
        #expect(manifest.digests == [Array("dir/new\nline".utf8): digestA, Array("back\\slash".utf8): digestB])
        #expect(ChecksumLine.serialize(digest: digestA, name: Array("new\nline".utf8)) == Array("\\\(digestA)  new\\nline\n".utf8))
    }

    @Test func namesMismatchesMissingAndUnlistedFiles() throws {
        let manifest = try Manifest(parsing: Array("\(digestA)  one\n\(digestB)  two\n".utf8))
        let one = Array("one".utf8), two = Array("two".utf8), three = Array("three".utf8)
        #expect(errorCode { try manifest.check(against: [one: digestA, two: digestB, Manifest.name: digestA]) } == nil)
        for (found, named) in [([one: digestA, two: digestA], "two"), ([one: digestA], "two"), ([one: digestA, two: digestB, three: digestA], "three")] {
            do {
                try manifest.check(against: found)
                Issue.record("not caught")
            } catch let error as SealedArchiveError {
                #expect(error.code == .manifest)
                #expect(error.message.contains("'\(named)'"))
            }
        }
    }
}

@Suite struct PayloadDetectionTests {
    func tarStream(compression: TarCompression) throws -> [UInt8] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("detect-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("hello".utf8).write(to: directory.appendingPathComponent("file"))
        let sink = MemorySink()
        _ = try DirectoryPacker.pack(directory: directory.path, into: sink, compression: compression)
        return sink.bytes
    }

    @Test func recognisesPlainAndZstdTarAndReplaysEveryByte() throws {
        for (compression, expected) in [(TarCompression.none, Compression.none), (.zstd(level: 1), .zstd)] {
            let stream = try tarStream(compression: compression)
            let detected = try PayloadDetection.detect(MemorySource(stream))
            #expect(detected.kind == .tar)
            #expect(detected.compression == expected)
            let replayed = MemorySink()
            var buffer = [UInt8](repeating: 0, count: 1000)
            while true {
                let n = try buffer.withUnsafeMutableBytes { try detected.source.read(into: $0) }
                if n == 0 { break }
                try buffer.withUnsafeBytes { try replayed.write(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            }
            #expect(replayed.bytes == stream)
        }
    }

    @Test func otherBytesAreBytes() throws {
        #expect(try PayloadDetection.detect(MemorySource(randomPlaintext(5000))).kind == .bytes)
        #expect(try PayloadDetection.detect(MemorySource([])).kind == .bytes)
        // zstd magic without a tar inside.
        #expect(try PayloadDetection.detect(MemorySource([0x28, 0xB5, 0x2F, 0xFD] + randomPlaintext(100))).kind == .bytes)
    }

    @Test func compressionArgumentsParse() throws {
        #expect(try TarCompression(parsing: "zstd") == .default)
        #expect(try TarCompression(parsing: "zstd:19") == .zstd(level: 19))
        #expect(try TarCompression(parsing: "none") == .none)
        for bad in ["zstd:0", "zstd:20", "gzip", "zstd:x"] {
            #expect(errorCode { _ = try TarCompression(parsing: bad) } == .invalidArgument)
        }
    }
}
