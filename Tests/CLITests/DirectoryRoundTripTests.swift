import Foundation
import TestSupport
import Glibc
import Testing

/// Directories sealed and opened again come back exactly: contents, modes,
/// mtimes, symlinks, hard links, awkward names; the tar stream is
/// deterministic and interoperable; a file changing while it is packed is an
/// error; MANIFEST.sha256 is checked (Spec/CLI.md, `seal`, `pack`, `open`).
@Suite struct DirectoryRoundTripTests {
    /// How `seal` compresses the tar stream.
    enum Method: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case zstdDefault = "default (zstd)"
        case none = "--compression none"
        case zstdLevel1 = "--compression zstd:1"

        var arguments: [String] {
            switch self {
            case .zstdDefault: return []
            case .none: return ["--compression", "none"]
            case .zstdLevel1: return ["--compression", "zstd:1"]
            }
        }

        /// What `inspect --json` reports: a format 2 tar payload is always
        /// zstd frames (`--compression none` makes them of raw blocks).
        var headerCompression: String { "zstd" }

        var testDescription: String { rawValue }
    }

    /// Three trees in the full tier, one in the fast tier.
    static let seeds: [UInt64] = TestTier.scaled(fast: [1], full: [1, 0x5EA1_ED, 20_251_129])

    /// The JSON object `inspect --json` prints.
    static func inspect(_ sandbox: Sandbox, _ archive: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let result = try sandbox.run(["inspect", "--json", archive])
        try #require(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout))
        return try #require(object as? [String: Any], "\(result)", sourceLocation: sourceLocation)
    }

    /// Two runs a day apart by the CLI's clock (SEALED_ARCHIVE_NOW), so any
    /// field derived from it would differ.
    static let firstClock = ["SEALED_ARCHIVE_NOW": "2027-03-01T12:00:00Z"]
    static let secondClock = ["SEALED_ARCHIVE_NOW": "2027-03-02T12:00:01Z"]

    /// In the full tier, also lets the real clock move past a second, for
    /// any time libarchive or the system reads without the CLI's clock.
    static func letTimePass() {
        if TestTier.full { sleepSeconds(1.1) }
    }

    // MARK: Random trees

    /// A random tree with every awkward case (see ``RandomTreeBuilder``),
    /// sealed with each compression and opened with -C into a new
    /// directory, comes back identical: the same paths, kinds, contents, mode
    /// bits, mtimes (seconds), symlink targets and hard links, and `diff -r`
    /// agrees. `--list` shows every entry and `verify -i` passes.
    @Test(arguments: seeds, Method.allCases)
    func randomTreeRoundTrips(seed: UInt64, method: Method) throws {
        let sandbox = try Sandbox()
        defer { makeTreeRemovable(sandbox.root.path) }
        let recipient = try sandbox.makeIdentity("id")
        var builder = RandomTreeBuilder(root: sandbox.path("src"), seed: seed)
        let report = try builder.build()
        // The generator made the cases it is meant to.
        #expect(report.longestNameBytes > 100, "\(report)")
        #expect(report.longestPathBytes > 255, "\(report)")
        #expect(report.deepestLevel >= 20, "\(report)")
        #expect(report.largestFile >= builder.bigFileSize, "\(report)")
        #expect(report.hardLinkGroups >= 3 && report.danglingSymlinks >= 1 && report.symlinksToDirectories >= 1, "\(report)")

        let seal = try sandbox.run(["seal", "-r", recipient] + method.arguments + ["-o", "tree.sarc", "src"])
        expectSuccess(seal)
        let header = try Self.inspect(sandbox, "tree.sarc")
        #expect(header["payload_kind"] as? String == "tar")
        #expect(header["compression"] as? String == method.headerCompression)

        let open = try sandbox.run(["open", "-i", "id", "-C", "out", "tree.sarc"])
        expectCompleted(open)
        #expect(open.stdout.isEmpty, "\(open)")
        #expect(try sandbox.mode("out") == 0o700, "DEST itself gets mode 0700 (Spec/CLI.md)")
        #expect(try sandbox.stagingDirectories(for: "out").isEmpty)
        try expectSameTree(sandbox, source: "src", copy: "out")

        // --list: one line per entry (the root directory is not an entry).
        let source = try TreeSnapshot(sandbox.path("src"))
        let list = try sandbox.run(["open", "-i", "id", "--list", "tree.sarc"])
        expectCompleted(list)
        #expect(list.stdoutLines.count == source.entries.count - 1, "\(list)")
        expectVerifyOK(try sandbox.run(["verify", "-i", "id", "tree.sarc"]), name: "tree.sarc")
    }

    /// Opening into an existing empty directory works the same, and the
    /// directory gets mode 0700.
    @Test func opensIntoAnExistingEmptyDirectory() throws {
        let sandbox = try Sandbox()
        defer { makeTreeRemovable(sandbox.root.path) }
        let recipient = try sandbox.makeIdentity("id")
        var builder = RandomTreeBuilder(root: sandbox.path("src"), seed: 4242)
        builder.bigFileSize = 0
        builder.mediumFiles = 1
        _ = try builder.build()
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "-o", "tree.sarc", "src"]))
        try FileManager.default.createDirectory(atPath: sandbox.path("dest"), withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o755])
        expectCompleted(try sandbox.run(["open", "-i", "id", "-C", "dest/", "tree.sarc"]))
        #expect(try sandbox.mode("dest") == 0o700)
        try expectSameTree(sandbox, source: "src", copy: "dest")
    }

    // MARK: Determinism

    /// The same directory sealed twice gives two different archives (fresh
    /// file keys) holding the same tar stream byte for byte, whatever the
    /// compression; `pack` twice gives the same stream after `zstd -d`, and
    /// it is the stream `seal` encrypted. An exact copy of the tree (`cp -a`)
    /// packs to the same bytes too.
    @Test func tarStreamIsDeterministic() throws {
        let sandbox = try Sandbox()
        defer { makeTreeRemovable(sandbox.root.path) }
        let recipient = try sandbox.makeIdentity("id")
        var builder = RandomTreeBuilder(root: sandbox.path("src"), seed: 77)
        builder.bigFileSize = TestTier.scaled(fast: 2_000_000, full: 8_000_000)
        _ = try builder.build()

        expectSuccess(try sandbox.run(["seal", "-r", recipient, "-o", "a1.sarc", "src"], environment: Self.firstClock))
        Self.letTimePass()  // any clock-derived field would differ now
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "-o", "a2.sarc", "src"], environment: Self.secondClock))
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "--compression", "none", "-o", "a3.sarc", "src"]))
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "--compression", "zstd:5", "-o", "a4.sarc", "src"]))
        #expect(try sandbox.read("a1.sarc") != sandbox.read("a2.sarc"), "two seals of one tree must not be the same ciphertext")

        // `open -o -` writes the decompressed tar stream.
        var streams: [String: [UInt8]] = [:]
        for archive in ["a1.sarc", "a2.sarc", "a3.sarc", "a4.sarc"] {
            let open = try sandbox.run(["open", "-i", "id", "-o", "-", archive])
            expectSuccess(open)
            streams[archive] = open.stdout
        }
        let stream = try #require(streams["a1.sarc"])
        #expect(stream.count > builder.bigFileSize)
        #expect(stream.count >= 262 && Array(stream[257..<262]) == Array("ustar".utf8), "open -o gives a plain tar stream")
        for archive in ["a2.sarc", "a3.sarc", "a4.sarc"] {
            #expect(streams[archive] == stream, "\(archive) holds a different tar stream than a1.sarc")
        }

        // pack, twice, and from a copy of the tree.
        let copy = try sandbox.execute("/bin/cp", ["-a", "src", "src-copy"])
        try #require(copy.status == 0, "\(copy)")
        expectSuccess(try sandbox.run(["pack", "src", "-o", "p1.tar.zst"], environment: Self.firstClock))
        Self.letTimePass()
        expectSuccess(try sandbox.run(["pack", "src", "-o", "p2.tar.zst"], environment: Self.secondClock))
        expectSuccess(try sandbox.run(["pack", "src-copy", "-o", "p3.tar.zst"]))
        expectSuccess(try sandbox.run(["pack", "--compression", "none", "src", "-o", "p4.tar"]))
        #expect(try sandbox.mode("p1.tar.zst") == 0o600)
        // Checked with the zstd tool where it is installed (always in the
        // full tier): the library's own decoder would hide its own bugs.
        for packed in ["p1.tar.zst", "p2.tar.zst", "p3.tar.zst"] where ExternalTool.zstd.enabled {
            let decompressed = try sandbox.execute(try ExternalTool.zstd.path(), ["-d", "-c", packed])
            #expect(decompressed.status == 0, "\(decompressed)")
            #expect(decompressed.stdout == stream, "zstd -d of \(packed) is not the tar stream seal encrypted")
        }
        #expect(try sandbox.read("p4.tar") == stream, "pack --compression none is not the tar stream seal encrypted")
    }

    // MARK: pack, then seal; other tar tools

    /// `pack DIR -o FILE` then `seal FILE` gives a tar archive that opens
    /// with -C to the same tree as `seal DIR`; GNU tar extracts the pack
    /// output to the same tree too.
    @Test(.enabled(if: ExternalTool.gnuTar.enabled && ExternalTool.zstd.enabled, "needs GNU tar and zstd"),
          arguments: ["zstd", "none"])
    func packThenSealOpensLikeSealingTheDirectory(compression: String) throws {
        let sandbox = try Sandbox()
        defer { makeTreeRemovable(sandbox.root.path) }
        let recipient = try sandbox.makeIdentity("id")
        var builder = RandomTreeBuilder(root: sandbox.path("src"), seed: compression == "none" ? 31 : 32)
        builder.bigFileSize = TestTier.scaled(fast: 2_000_000, full: 10_000_000)
        _ = try builder.build()
        let packed = compression == "none" ? "t.tar" : "t.tar.zst"

        expectSuccess(try sandbox.run(["pack", "--compression", compression, "-o", packed, "src"]))
        let seal = try sandbox.run(["seal", "-r", recipient, "-o", "p.sarc", packed])
        expectSuccess(seal)
        let header = try Self.inspect(sandbox, "p.sarc")
        #expect(header["payload_kind"] as? String == "tar")
        // Format 2 re-frames the packed tar: zstd frames either way.
        #expect(header["compression"] as? String == "zstd")
        expectCompleted(try sandbox.run(["open", "-i", "id", "-C", "out", "p.sarc"]))
        try expectSameTree(sandbox, source: "src", copy: "out")

        // The same tar stream as sealing the directory.
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "-o", "d.sarc", "src"]))
        let fromPack = try sandbox.run(["open", "-i", "id", "-o", "-", "p.sarc"])
        let fromDirectory = try sandbox.run(["open", "-i", "id", "-o", "-", "d.sarc"])
        expectSuccess(fromPack)
        expectSuccess(fromDirectory)
        #expect(fromPack.stdout == fromDirectory.stdout, "pack then seal holds another tar stream than seal DIR")

        // GNU tar reads what pack wrote.
        try FileManager.default.createDirectory(atPath: sandbox.path("gnu"), withIntermediateDirectories: false)
        let tar = try sandbox.execute(try ExternalTool.gnuTar.path(), (compression == "none" ? [] : ["--zstd"]) + ["-xpf", packed, "-C", "gnu"])
        #expect(tar.status == 0, "\(tar)")
        // GNU tar warns about any time before 1970 ("implausibly old") and,
        // when names are stored as raw bytes (non-ASCII names), about the pax
        // hdrcharset keyword it does not know; nothing else.
        #expect(tar.stderrLines.allSatisfy { $0.contains("implausibly old time stamp") || $0.contains("unknown extended header keyword 'hdrcharset'") },
                "GNU tar warned: \(tar)")
        try expectSameTree(sandbox, source: "src", copy: "gnu")

        // And the tar stream `open -o FILE` writes.
        expectSuccess(try sandbox.run(["open", "-i", "id", "-o", "opened.tar", "d.sarc"]))
        #expect(try sandbox.mode("opened.tar") == 0o600)
        try FileManager.default.createDirectory(atPath: sandbox.path("gnu2"), withIntermediateDirectories: false)
        let tar2 = try sandbox.execute(try ExternalTool.gnuTar.path(), ["-xpf", "opened.tar", "-C", "gnu2"])
        #expect(tar2.status == 0, "\(tar2)")
        try expectSameTree(sandbox, source: "src", copy: "gnu2")
    }

    // MARK: Unicode spelling, times before 1970

    /// Names in Unicode decomposed form (NFD: what macOS writes, and what
    /// a backup of a Mac share holds) are just bytes to Linux: they come
    /// back with the same bytes, and a MANIFEST.sha256 listing them matches.
    @Test func decomposedNamesKeepTheirBytes() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        let directory = "cafe\u{301}"                       // "café", NFD
        let file = directory + "/e\u{301}cole u\u{308}ber.txt"  // "école über.txt", NFD
        try FileManager.default.createDirectory(atPath: sandbox.path("src/" + directory), withIntermediateDirectories: true)
        try sandbox.write("src/" + file, Array("decomposed\n".utf8))
        try sandbox.write("src/plain.txt", Array("ascii\n".utf8))
        try FileManager.default.createSymbolicLink(atPath: sandbox.path("src/link"), withDestinationPath: file)
        #expect(Array(file.utf8).contains(0xCC), "the name is stored decomposed (U+0301 is CC 81)")

        expectSuccess(try sandbox.run(["seal", "-r", recipient, "-o", "nfd.sarc", "src"]))
        let open = try sandbox.run(["open", "-i", "id", "-C", "out", "nfd.sarc"])
        expectCompleted(open)
        try expectSameTree(sandbox, source: "src", copy: "out")
        let list = try sandbox.run(["open", "-i", "id", "--list", "nfd.sarc"])
        let stored = Array(file.utf8)
        #expect(list.stdoutLines.contains { Array($0.utf8).suffix(stored.count).elementsEqual(stored) },
                "--list shows the name as stored (decomposed), byte for byte: \(list)")

        // The same tree with a manifest made by sha256sum.
        let manifest = try sandbox.shell("cd src && sha256sum plain.txt \"$F\" > MANIFEST.sha256", environment: ["F": file])
        try #require(manifest.status == 0, "\(manifest)")
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "-o", "nfd-manifest.sarc", "src"]))
        expectVerifyOK(try sandbox.run(["verify", "-i", "id", "nfd-manifest.sarc"]), name: "nfd-manifest.sarc")
    }

    /// A file whose path inside the archive is longer than extraction
    /// creates (3072 bytes) is refused when sealing and packing, naming it:
    /// the backup could never be restored. At the limit it round-trips.
    @Test func pathsTooLongToRestoreAreRefusedWhenPacking() throws {
        let sandbox = try Sandbox()
        defer { makeTreeRemovable(sandbox.root.path) }
        let recipient = try sandbox.makeIdentity("id")
        // 15 directories of 200 bytes, then a file name making the path
        // inside the archive (without the leading "src/") 3072 bytes.
        let directories = (0..<15).map { String(repeating: Character(String(UnicodeScalar(UInt8(97 + $0)))), count: 200) }
        let deep = directories.joined(separator: "/")
        let atLimit = deep + "/" + String(repeating: "f", count: 3072 - deep.utf8.count - 1)
        try FileManager.default.createDirectory(atPath: sandbox.path("src/" + deep), withIntermediateDirectories: true)
        try sandbox.write("src/" + atLimit, Array("fits\n".utf8))
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "-o", "fits.sarc", "src"]))
        expectCompleted(try sandbox.run(["open", "-i", "id", "-C", "out", "fits.sarc"]))
        try expectSameTree(sandbox, source: "src", copy: "out")

        let tooLong = atLimit + "g"
        try sandbox.write("src/" + tooLong, Array("too long\n".utf8))
        for arguments in [["seal", "-r", recipient, "-o", "long.sarc", "src"], ["pack", "-o", "long.tar", "src"]] {
            let result = try sandbox.run(arguments)
            expectError(result, 64, mentioning: ["3073 bytes", "could never be restored"])
            #expect(!sandbox.exists("long.sarc") && !sandbox.exists("long.tar"), "\(result)")
        }
    }

    /// A directory holding both spellings of one name ("école" precomposed
    /// and decomposed: two different files to Linux) can be restored.
    @Test func bothSpellingsOfANameAreRestored() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try FileManager.default.createDirectory(atPath: sandbox.path("src"), withIntermediateDirectories: false)
        try sandbox.write("src/\u{E9}cole", Array("precomposed (NFC)\n".utf8))
        try sandbox.write("src/e\u{301}cole", Array("decomposed (NFD)\n".utf8))
        try #require(try FileManager.default.contentsOfDirectory(atPath: sandbox.path("src")).count == 2)

        expectSuccess(try sandbox.run(["seal", "-r", recipient, "-o", "both.sarc", "src"]))
        let open = try sandbox.run(["open", "-i", "id", "-C", "out", "both.sarc"])
        expectCompleted(open)
        if sandbox.exists("out") { try expectSameTree(sandbox, source: "src", copy: "out") }
    }

    /// A file from before 1970 with a fractional mtime, under a long name
    /// (so its header is pax): `open -C` restores its mtime, and so does GNU
    /// tar from the `pack` output: POSIX pax writes a time as a decimal
    /// number of seconds, so `mtime=-94620345.741223065` means 1.48 s
    /// earlier than the file's -94620344.258776935.
    @Test(.enabled(if: ExternalTool.gnuTar.enabled, "needs GNU tar"))
    func preEpochSubsecondTimeReadsTheSameInGNUTar() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try FileManager.default.createDirectory(atPath: sandbox.path("src"), withIntermediateDirectories: false)
        let longName = String(repeating: "o", count: 120)
        for name in [longName, "short"] {
            try sandbox.write("src/" + name, Array("1967\n".utf8))
            // 1967-01-01 20:34:15.741223065 UTC.
            var times = [timespec(tv_sec: -94_620_345, tv_nsec: 741_223_065), timespec(tv_sec: -94_620_345, tv_nsec: 741_223_065)]
            try #require(utimensat(AT_FDCWD, sandbox.path("src/" + name), &times, 0) == 0)
        }

        expectSuccess(try sandbox.run(["seal", "-r", recipient, "-o", "old.sarc", "src"]))
        expectCompleted(try sandbox.run(["open", "-i", "id", "-C", "out", "old.sarc"]))
        try expectSameTree(sandbox, source: "src", copy: "out")

        expectSuccess(try sandbox.run(["pack", "--compression", "none", "-o", "old.tar", "src"]))
        // Every pax mtime record, read as POSIX says (decimal seconds),
        // falls within the file's second.
        let text = String(decoding: try sandbox.read("old.tar"), as: UTF8.self)
        let records = text.components(separatedBy: " mtime=").dropFirst().map { $0.prefix { $0 != "\n" } }
        #expect(!records.isEmpty)
        for record in records {
            let value = try #require(Double(record), "mtime=\(record)")
            #expect(value.rounded(.down) == -94_620_345, "pax record mtime=\(record) is \(value) s, not within second -94620345")
        }
        try FileManager.default.createDirectory(atPath: sandbox.path("gnu"), withIntermediateDirectories: false)
        let tar = try sandbox.execute(try ExternalTool.gnuTar.path(), ["-xpf", "old.tar", "-C", "gnu"])
        #expect(tar.status == 0, "\(tar)")
        try expectSameTree(sandbox, source: "src", copy: "gnu")
    }

    // MARK: Files changing while packed

    /// A file appended to while `seal` (or `pack`) reads it is an error (74)
    /// naming the file, never a short archive: nothing under the output
    /// name and no temporary file left.
    @Test func fileGrowingWhileSealedIsAnError() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        // Large enough that the appender runs all through the read: 200 MB
        // in the full tier, 20 MB in the fast one.
        let initialSize = TestTier.scaled(fast: 20_000_000, full: 200_000_000)
        let made = try sandbox.shell("""
            mkdir src && echo first > src/a.txt && echo last > src/z.txt \
              && head -c "$SIZE" /dev/urandom > src/growing.log
            """, environment: ["SIZE": "\(initialSize)"])
        try #require(made.status == 0, "\(made)")

        let appender = try FileAppender(path: sandbox.path("src/growing.log"))
        defer { appender.stop() }
        // Appending has started before anything reads the file.
        while appender.appends < 3 { sleepSeconds(0.005) }

        for (command, output) in [(["seal", "-r", recipient, "-o", "grown.sarc", "src"], "grown.sarc"),
                                  (["pack", "-o", "grown.tar.zst", "src"], "grown.tar.zst")] {
            let before = appender.appends
            let result = try sandbox.run(command)
            try #require(appender.appends - before >= 5, "the appender stalled: cannot tell whether \(command[0]) saw the file grow")
            expectError(result, 74, mentioning: ["growing.log"])
            #expect(result.stderr.contains("grew") || result.stderr.contains("changed"), "\(result)")
            expectNoOutput(sandbox, output)
        }
        appender.stop()
        #expect(try sandbox.size("src/growing.log") > initialSize)
    }

    // MARK: MANIFEST.sha256

    /// A MANIFEST.sha256 made with `sha256sum` is checked by `open -C`,
    /// `open --list` and `verify -i`; a file changed after the manifest was
    /// written makes them fail (65) naming it, leaving nothing at DEST;
    /// `--no-manifest` then succeeds and says the manifest was skipped.
    @Test func manifestIsCheckedAndMismatchRefused() throws {
        let sandbox = try Sandbox()
        defer { makeTreeRemovable(sandbox.root.path) }
        let recipient = try sandbox.makeIdentity("id")
        var builder = RandomTreeBuilder(root: sandbox.path("src"), seed: 1234)
        builder.bigFileSize = 0
        builder.mediumFiles = 1
        let report = try builder.build()
        let manifest = try sandbox.shell("""
            cd src && find . -type f ! -path ./MANIFEST.sha256 -print0 | sort -z | xargs -0 sha256sum > MANIFEST.sha256
            """)
        try #require(manifest.status == 0, "\(manifest)")
        let listed = RunResult.lines(String(decoding: try sandbox.read("src/MANIFEST.sha256"), as: UTF8.self))
        try #require(listed.count >= report.files, "the manifest lists every file, hard links included")
        try #require(listed.allSatisfy { !$0.hasPrefix("\\") }, "no escaped names: \(listed.filter { $0.hasPrefix("\\") })")

        // Intact: checked and reported.
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "-o", "good.sarc", "src"]))
        let open = try sandbox.run(["open", "-i", "id", "-C", "good", "good.sarc"])
        expectCompleted(open)
        #expect(open.stderr.contains("MANIFEST.sha256 matches (\(listed.count) files)"), "\(open)")
        try expectSameTree(sandbox, source: "src", copy: "good")
        let verify = try sandbox.run(["verify", "-i", "id", "good.sarc"])
        expectVerifyOK(verify, name: "good.sarc")
        #expect(verify.stdoutText.contains("MANIFEST.sha256 matches"), "\(verify)")

        // One file changed after the manifest was written (same size, one byte).
        let victim = try #require(report.singleLinkFiles.sorted().first { (try? sandbox.size("src/" + $0)) ?? 0 > 10 })
        let victimPath = sandbox.path("src/" + victim)
        let mode = try sandbox.mode(victimPath)
        try sandbox.setMode(victimPath, 0o600)
        let handle = try #require(FileHandle(forUpdatingAtPath: victimPath))
        try handle.seek(toOffset: 5)
        let original = try #require(try handle.read(upToCount: 1)).first!
        try handle.seek(toOffset: 5)
        try handle.write(contentsOf: [original ^ 0x01])
        try handle.close()
        try sandbox.setMode(victimPath, mode)
        // seal refuses it, naming the file, and writes nothing…
        let refusedSeal = try sandbox.run(["seal", "-r", recipient, "-o", "bad.sarc", "src"])
        expectError(refusedSeal, 65, mentioning: [victim, "MANIFEST.sha256", "--no-manifest"])
        #expect(!sandbox.exists("bad.sarc"))
        // …and sealed anyway, the restore side finds it too.
        expectSuccess(try sandbox.run(["seal", "--no-manifest", "-r", recipient, "-o", "bad.sarc", "src"]))

        let refused = try sandbox.run(["open", "-i", "id", "-C", "dest", "bad.sarc"])
        expectError(refused, 65, mentioning: [victim, "MANIFEST.sha256"])
        #expect(!sandbox.exists("dest"), "a failed open must leave nothing at DEST")
        #expect(try sandbox.stagingDirectories(for: "dest").isEmpty, "the staging directory must be removed")

        // Listed whole (through a pipe) the contents are checked too; from
        // the file, --list shows the index and reads no file's content.
        let list = try sandbox.run(["open", "-i", "id", "--list", "-"], stdin: .file("bad.sarc"))
        #expect(list.status == 65, "\(list)")
        #expect(list.stderr.contains(victim), "\(list)")
        let byIndex = try sandbox.run(["open", "-i", "id", "--list", "bad.sarc"])
        #expect(byIndex.status == 0 && byIndex.stderr.contains("'verify -i' checks the contents"), "\(byIndex)")

        let failed = try sandbox.run(["verify", "-i", "id", "bad.sarc"])
        expectVerifyFailure(failed, 65, name: "bad.sarc")
        #expect(failed.stdoutText.contains(victim), "\(failed)")
        // verify reports the failure on standard output; it must not add a
        // misleading usage error on standard error (Spec/CLI.md, verify).
        #expect(!failed.stderr.contains("invalid arguments"), "verify of a damaged archive claims a usage error: \(failed)")

        let skipped = try sandbox.run(["open", "-i", "id", "--no-manifest", "-C", "dest", "bad.sarc"])
        expectCompleted(skipped)
        #expect(skipped.stderr.contains("MANIFEST.sha256 not checked (--no-manifest)"), "\(skipped)")
        try expectSameTree(sandbox, source: "src", copy: "dest")
        let verifySkipped = try sandbox.run(["verify", "-i", "id", "--no-manifest", "bad.sarc"])
        expectVerifyOK(verifySkipped, name: "bad.sarc")
        #expect(verifySkipped.stdoutText.contains("not checked"), "\(verifySkipped)")
    }
}

/// Appends 64 KiB to a file every 2 ms on a thread of its own, until stopped.
final class FileAppender: @unchecked Sendable {
    private let lock = NSLock()
    private var stopRequested = false
    private var stopped = false
    private var count = 0
    private let finished = DispatchSemaphore(value: 0)

    init(path: String) throws {
        let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw HarnessError("cannot open \(path) to append") }
        Thread.detachNewThread { [self] in
            let block = [UInt8](repeating: 0x41, count: 65_536)
            while !self.shouldStop {
                let written = block.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if written > 0 { self.increment() }
                usleep(2_000)
            }
            close(fd)
            self.finished.signal()
        }
    }

    private var shouldStop: Bool { lock.withLock { stopRequested } }
    private func increment() { lock.withLock { count += 1 } }

    /// How many blocks were appended so far.
    var appends: Int { lock.withLock { count } }

    /// Stops appending and waits for the thread (idempotent).
    func stop() {
        let wait: Bool = lock.withLock {
            defer { stopRequested = true; stopped = true }
            return !stopped
        }
        if wait { finished.wait() }
    }
}
