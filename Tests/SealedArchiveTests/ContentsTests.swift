import Foundation
import Testing
@testable import SealedArchive
import TestSupport

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

    /// What no file system creates is refused before extraction (and by
    /// verify), at the documented limits.
    @Test func namesPathsAndLinkTargetsExtractionCannotCreateAreRefused() {
        let component = String(repeating: "n", count: EntryPolicy.maximumComponentLength)
        #expect(admitted([entry("d/" + component)]) == nil)
        #expect(admitted([entry("d/" + component + "n")]) == .unsafeEntry)
        #expect(admitted([entry(component + "n", .directory)]) == .unsafeEntry)
        // "./" components are dropped before the length is measured.
        #expect(admitted([entry("./" + component)]) == nil)

        let path = (0..<12).map { _ in String(repeating: "p", count: 254) }.joined(separator: "/")   // 3059 bytes
        #expect(admitted([entry(path + "/" + String(repeating: "q", count: 12))]) == nil)            // 3072
        #expect(admitted([entry(path + "/" + String(repeating: "q", count: 13))]) == .unsafeEntry)

        let target = String(repeating: "t/", count: EntryPolicy.maximumLinkTargetLength / 2) + "t"   // 4095 bytes
        #expect(admitted([entry("l", .symlink, symlink: target)]) == nil)
        #expect(admitted([entry("l", .symlink, symlink: target + "t")]) == .unsafeEntry)
    }

    @Test func aNegativeSizeIsRefused() {
        var policy = EntryPolicy(allowEscapingSymlinks: false)
        let negative = TarEntry(path: Array("f".utf8), kind: .file, size: -1, permissions: 0o644, modified: 0,
                                symlinkTarget: nil, hardlinkTarget: nil, handle: OpaquePointer(bitPattern: 1)!)
        #expect(errorCode { _ = try policy.admit(negative) } == .unsafeEntry)
    }

    @Test func refusalsShowTheNameEscaped() throws {
        var policy = EntryPolicy(allowEscapingSymlinks: false)
        let name = "\u{1b}[2J\u{9b}31m\u{202e}" + String(repeating: "x", count: 300)
        do {
            _ = try policy.admit(entry(name))
            Issue.record("a 300-byte name was admitted")
        } catch let error as SealedArchiveError {
            #expect(error.code == .unsafeEntry)
            #expect(error.message.hasPrefix("refusing entry '\\u{1b}[2J\\u{9b}31m\\u{202e}xxx"), "\(error.message)")
            #expect(!error.message.unicodeScalars.contains { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) || $0.value == 0x202e })
        }
    }
}

@Suite struct ShownNameTests {
    @Test func controlsAndBidiOverridesAreEscaped() {
        #expect(shownName(Array("plain é 日本".utf8)) == "plain é 日本")
        #expect(shownName(Array("a\u{1b}[31mb\u{7}\u{7f}\u{85}\u{9b}".utf8)) == "a\\u{1b}[31mb\\u{7}\\u{7f}\\u{85}\\u{9b}")
        for scalar: UInt32 in [0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
                               0x206a, 0x206f, 0x2028, 0x2029] {
            let text = "x" + String(Character(Unicode.Scalar(scalar)!)) + "y"
            #expect(shownName(Array(text.utf8)) == "x\\u{\(String(scalar, radix: 16))}y")
        }
        // Neighbours that are not controls stay as they are.
        #expect(shownName(Array("\u{61b}\u{61d}\u{200d}\u{2030}\u{2065}\u{2070}".utf8)) == "\u{61b}\u{61d}\u{200d}\u{2030}\u{2065}\u{2070}")
        // Invalid UTF-8 is replaced, never passed through.
        #expect(shownName([0x61, 0xff, 0x62]) == "a\u{fffd}b")
    }

    /// libarchive puts the path it could not create into its error string;
    /// the path comes from the archive, so the detail is escaped too.
    @Test func libarchiveErrorDetailsAreEscaped() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("detail-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data("a file, not a directory".utf8).write(to: URL(fileURLWithPath: directory + "/file"))

        let name = "e\u{1b}[2Jx\u{9b}1m"
        let reader = try TarStreamReader(source: MemorySource(ustarFile(name)))
        let entry = try #require(try reader.next())
        let disk = try DiskWriter()
        do {
            try disk.create(entry, at: Array((directory + "/file/" + name).utf8), hardlinkTo: nil)
            Issue.record("libarchive created an entry below a regular file")
        } catch let error as SealedArchiveError {
            #expect(error.code == .io)
            #expect(error.message.contains("e\\u{1b}[2Jx\\u{9b}1m"), "\(error.message)")
            #expect(!error.message.unicodeScalars.contains { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) }, "\(error.message)")
        }
    }

    /// A one-entry ustar stream: an empty file named `name`.
    func ustarFile(_ name: String) -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int) { for (i, byte) in text.utf8.enumerated() { header[offset + i] = byte } }
        put(name, at: 0)
        put("0000644", at: 100); put("0000000", at: 108); put("0000000", at: 116)
        put("00000000000", at: 124); put("14530000000", at: 136)
        put("0", at: 156); put("ustar", at: 257); put("00", at: 263)
        put("        ", at: 148)
        let sum = header.reduce(0) { $0 + Int($1) }
        put(String(sum, radix: 8).leftPadded(6) + "\0 ", at: 148)
        return header + [UInt8](repeating: 0, count: 1024)
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
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

    /// pzstd and others start with a skippable frame and write several
    /// frames: still a zstd-compressed tar.
    @Test func skippableFramesAndSeveralFramesAreRecognised() throws {
        let plain = try tarStream(compression: .none)
        let compressed = try tarStream(compression: .zstd(level: 1))
        let skippable: [UInt8] = [0x5A, 0x2A, 0x4D, 0x18, 4, 0, 0, 0, 1, 2, 3, 4]
        let detected = try PayloadDetection.detect(MemorySource(skippable + compressed + skippable + compressed))
        #expect(detected.kind == .tar && detected.compression == .zstd)
        // Without ustar magic (a V7 header): not a tar unless --payload tar.
        var v7 = plain
        for i in 257..<265 { v7[i] = 0 }
        for i in 148..<156 { v7[i] = 0x20 }
        let sum = v7[0..<512].reduce(0) { $0 + Int($1) }
        for (i, byte) in Array((String(repeating: "0", count: 6 - String(sum, radix: 8).count) + String(sum, radix: 8) + "\0 ").utf8).enumerated() {
            v7[148 + i] = byte
        }
        #expect(try PayloadDetection.detect(MemorySource(v7)).kind == .bytes)
        let required = try PayloadDetection.detect(MemorySource(v7), requireTar: true)
        #expect(required.kind == .tar && required.compression == .none)
        #expect(errorCode { _ = try PayloadDetection.detect(MemorySource(randomBytes(5000)), requireTar: true) } == .invalidArgument)
    }

    @Test func otherBytesAreBytes() throws {
        #expect(try PayloadDetection.detect(MemorySource(randomBytes(5000))).kind == .bytes)
        #expect(try PayloadDetection.detect(MemorySource([])).kind == .bytes)
        // zstd magic without a tar inside.
        #expect(try PayloadDetection.detect(MemorySource([0x28, 0xB5, 0x2F, 0xFD] + randomBytes(100))).kind == .bytes)
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

/// What libarchive was handed past the end-of-archive marker it stopped at
/// (it reads ahead of what it parses) is checked, not taken on trust.
@Suite struct EndOfArchiveTests {
    /// Hands out at most `step` bytes a read.
    final class SteppedSource: ByteSource {
        private let bytes: [UInt8]
        private let step: Int
        private var offset = 0
        init(_ bytes: [UInt8], step: Int) { (self.bytes, self.step) = (bytes, step) }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let n = min(step, buffer.count, bytes.count - offset)
            bytes[offset..<offset + n].withUnsafeBytes { buffer.copyMemory(from: $0) }
            offset += n
            return n
        }
    }

    func readToEnd(_ tar: [UInt8], step: Int = 1 << 20) throws -> (consumed: Int64, restIsZero: Bool) {
        let reader = try TarStreamReader(source: SteppedSource(tar, step: step), decompressing: false)
        while try reader.next() != nil {}
        try reader.close()
        return try reader.endOfArchive()
    }

    /// Whether a whole read accepts what follows the marker: what libarchive
    /// was handed, then the rest of the source.
    func wholeReadAccepts(_ tar: [UInt8], step: Int) throws -> Bool {
        let source = SteppedSource(tar, step: step)
        let reader = try TarStreamReader(source: source, decompressing: false)
        while try reader.next() != nil {}
        try reader.close()
        do {
            try reader.requireOnlyZerosAfterEnd(of: source, orThrow: Restore.dataAfterEnd)
            return true
        } catch let error as SealedArchiveError where error.code == .damaged {
            return false
        }
    }

    @Test func bytesAfterTheMarkerAreSeen() throws {
        let member = ShownNameTests().ustarFile("a")   // header and a 1024-byte marker
        let plain = try readToEnd(member)
        #expect(plain.consumed == 1536)
        #expect(plain.restIsZero)
        let padded = try readToEnd(member + [UInt8](repeating: 0, count: 9216))
        #expect(padded.consumed == 1536 && padded.restIsZero)
        // A second member hidden after the marker: libarchive stops at the
        // marker and never parses it.
        let hidden = try readToEnd(member + ShownNameTests().ustarFile("b"))
        #expect(hidden.consumed == 1536)
        #expect(!hidden.restIsZero)
    }

    /// The verdict does not depend on how the bytes arrive: a short marker
    /// (one zero block, then under a block) read a few bytes at a time,
    /// where libarchive reads ahead over several reads without consuming.
    @Test(arguments: [1, 7, 100, 511, 512, 513, 4099, 1 << 20])
    func theVerdictDoesNotDependOnTheReads(step: Int) throws {
        let header = Array(ShownNameTests().ustarFile("a").prefix(512))
        let short = header + [UInt8](repeating: 0, count: 512 + 100)
        #expect(try readToEnd(short, step: step).restIsZero, "zeros, \(step) at a time")
        #expect(try wholeReadAccepts(short, step: step))
        var junk = short
        junk[512 + 512 + 50] = 1
        #expect(try !readToEnd(junk, step: step).restIsZero, "a byte after the zero block, \(step) at a time")
        #expect(try !wholeReadAccepts(junk, step: step))
        // Handed to libarchive or still in the source, depending on the
        // reads: refused either way by a whole read.
        let hidden = header + [UInt8](repeating: 0, count: 1024) + ShownNameTests().ustarFile("b")
        #expect(try !wholeReadAccepts(hidden, step: step), "a member after the marker, \(step) at a time")
    }
}

@Suite struct ZeroBytesTests {
    @Test func everyNonZeroByteIsSeenWhereverItIs() {
        for count in [0, 1, 7, 8, 9, 64, 1001] {
            var bytes = [UInt8](repeating: 0, count: count)
            #expect(bytes.withUnsafeBytes { $0.isAllZero }, "\(count) zeros")
            for k in 0..<count {
                bytes[k] = 0x80
                #expect(!bytes.withUnsafeBytes { $0.isAllZero }, "byte \(k) of \(count)")
                // At an odd start too (unaligned words).
                if count > 1 { #expect(!bytes.withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[1...]).isAllZero } == (k >= 1)) }
                #expect(bytes.withUnsafeBytes { $0.lengthBeforeTrailingZeros } == k + 1, "byte \(k) of \(count)")
                bytes[k] = 0
            }
            #expect(bytes.withUnsafeBytes { $0.lengthBeforeTrailingZeros } == 0)
        }
    }
}
