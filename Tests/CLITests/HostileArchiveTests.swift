import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Extraction of hostile tar payloads (Spec/CLI.md, `open`): every case of
// Tests/Fixtures/make_hostile_tars.py is sealed with a fresh key and opened
// into DEST inside a fresh, empty directory P. A refused case must exit 65
// with one `refusing entry 'NAME': REASON` line, leave neither DEST nor a
// `.DEST.staging.*` in P, and — above all — create or change nothing outside
// DEST: the whole sandbox tree and the outside paths the case aims at are
// snapshotted before and after each command. `verify -i` and `open --list`
// must refuse the same archives and write nothing.

///
/// The fixtures are made by Python (the standard library's tarfile), so the
/// suite needs python3; the decompression bomb is full tier only.
@Suite(.enabled(if: ExternalTool.python3.enabled, "needs python3 for Tests/Fixtures/make_hostile_tars.py"))
struct HostileArchiveTests {
    init() throws { _ = try ExternalTool.python3.path() }

    /// Cases run by `hostileCase` (everything but the slow and the
    /// unprivileged ones, which have their own tests).
    static let cases = [
        "dotdot_escape", "nested_dotdot_escape", "absolute_path", "empty_name",
        "symlink_etc_then_write", "symlink_dotdot_then_write", "symlink_absolute_outside",
        "symlink_absolute_write_through", "symlink_climb", "symlink_climb_then_write", "symlink_chain",
        "symlink_chain_physical_parent", "symlink_chain_via_subdir", "symlink_outside_then_failure",
        "hardlink_etc_passwd", "hardlink_dotdot_outside", "hardlink_absolute_outside", "hardlink_missing_target",
        "hardlink_before_target", "hardlink_to_directory", "hardlink_through_symlink", "hardlink_with_data",
        "character_device", "block_device", "fifo",
        "setuid_setgid",
        "duplicate_file", "file_then_directory", "directory_then_file", "symlink_then_file_same_name",
        "parent_is_file", "implicit_dir_then_symlink", "implicit_dir_then_file", "implicit_dir_then_hardlink",
        "directory_after_contents",
        "manifest_wrong_digest", "manifest_missing_file", "manifest_unlisted_file", "manifest_unlisted_hardlink",
        "name_component_too_long", "path_too_long", "symlink_target_too_long",
        "sparse_map_past_size", "sparse_map_backwards", "sparse_map_overlapping", "mtime_out_of_range",
        "benign",
    ]
    static let unprivilegedCases = [
        "readonly_dir_then_refusal", "readonly_dir_manifest_mismatch",
        "dir_0000_holding_dir", "dir_0600_holding_dir", "dir_0500_listed_after_contents", "file_0000_and_hardlink",
        "dir_0000_then_refusal",
    ]
    static let bombCase = "zstd_bomb"

    /// Every case the fixture script knows is exercised here.
    @Test func everyFixtureCaseIsTested() throws {
        let sandbox = try Sandbox()
        let result = try sandbox.execute("/usr/bin/env", ["python3", HostileFixtures.script, "--names"])
        try #require(result.status == 0, "\(result)")
        let known = Set(result.stdoutLines)
        let tested = Set(Self.cases + Self.unprivilegedCases + [Self.bombCase])
        #expect(known == tested, "untested: \(known.subtracting(tested).sorted()), unknown: \(tested.subtracting(known).sorted())")
    }

    /// The cases the fast tier runs: one of each kind (escape by name,
    /// by symlink and by hard link, a special file, the manifest, limits,
    /// sparse maps, and the benign archive). Each case costs
    /// a python run, a key, a seal and several opens, about a second; the
    /// full tier runs all of `cases`.
    static let fastCases = [
        "dotdot_escape", "symlink_etc_then_write", "hardlink_etc_passwd", "fifo",
        "manifest_unlisted_hardlink", "path_too_long", "sparse_map_overlapping", "benign",
    ]

    /// The fast subset only names real cases.
    @Test func fastCasesAreCases() {
        #expect(Set(Self.fastCases).isSubset(of: Set(Self.cases)), "\(Set(Self.fastCases).subtracting(Self.cases))")
    }

    @Test(arguments: TestTier.scaled(fast: HostileArchiveTests.fastCases, full: HostileArchiveTests.cases))
    func hostileCase(_ name: String) throws {
        let run = try HostileRun(name)
        try #require(run.fixture.slow != true && run.fixture.unprivileged != true)
        try run.check(run.fixture.outcome, flags: [], label: "default")
        if let allow = run.fixture.allowEscaping {
            try run.check(allow, flags: ["--allow-escaping-symlinks"], label: "allow")
        }
        if run.fixture.noManifest == "ok" {
            try run.check(HostileOutcome(expect: "ok"), flags: ["--no-manifest"], label: "nomanifest")
        }
    }

    /// Read-only and unsearchable directories and unreadable files: they
    /// must be restored (directories created writable, modes applied last)
    /// and cleaned up after a failure. Only an unprivileged user sees the
    /// problem (root ignores modes), so when the tests run as root the
    /// commands run as `nobody` through setpriv.
    @Test(.enabled(if: HostileRun.canRunUnprivileged || TestTier.full, "needs a non-root user, or setpriv or runuser (util-linux) when root"),
          arguments: TestTier.scaled(fast: ["readonly_dir_then_refusal", "dir_0500_listed_after_contents"],
                                     full: HostileArchiveTests.unprivilegedCases))
    func staysCleanForUnprivilegedUser(_ name: String) throws {
        try #require(HostileRun.canRunUnprivileged, "running as root, and neither setpriv nor runuser (util-linux) is installed")
        let run = try HostileRun(name, unprivileged: true)
        try run.check(run.fixture.outcome, flags: [], label: "default")
    }

    /// Three GiB of zeros in a ~100 KB zstd payload: refused once the content
    /// passes 1 GiB + 200 × the payload read, and no file grows past that
    /// bound (RLIMIT_FSIZE is set just above it: a tool that kept writing
    /// would fail with EFBIG, exit 74, instead of 65).
    @Test(.enabled(if: TestTier.full, "full tier: decompresses over a GiB"))
    func decompressionBombIsRefusedEarly() throws {
        let run = try HostileRun(Self.bombCase)
        let bombBytes = try #require(run.fixture.bombBytes)
        #expect(try run.sandbox.size("fixtures/\(run.fixture.archive)") < 1 << 20, "the bomb should compress to a small tar.zst")
        // The limit scales with the payload read, which format 2 re-frames:
        // the archive's size bounds it.
        let payload = try run.sandbox.size(run.archive)
        #expect(payload < 1 << 20, "the bomb should seal to a small archive, got \(payload) bytes")
        let bound = (1 << 30) + 200 * payload
        #expect(bombBytes > bound + (1 << 30), "the bomb must be well over the limit")
        let fileSizeLimit = bound + (1 << 20)

        let outcome = run.fixture.outcome
        let parent = try run.freshParent("p-default")
        let before = run.state()
        let started = Date()
        let open = try run.sandbox.execute("/usr/bin/env", [
            "python3", "-c", """
            import os, resource, sys
            limit = int(sys.argv[1])
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
            os.execv(sys.argv[2], sys.argv[2:])
            """, String(fileSizeLimit), try CLI.binary().path,
            "open", "-i", "id", "-C", "\(parent)/dest", run.archive,
        ], display: ["sealed-archive", "open", "-i", "id", "-C", "\(parent)/dest", run.archive, "(RLIMIT_FSIZE \(fileSizeLimit))"])
        let elapsed = Date().timeIntervalSince(started)
        let after = run.state()
        expectError(open, 65, mentioning: run.needles(outcome))
        run.expectRefusedLeftNothing(parent: parent, before: before, after: after, what: "open -C")
        #expect(elapsed < 60, "the bomb took \(elapsed) s to refuse")
        try run.expectVerifyAndListRefuse(outcome, flags: [])
    }

    /// The benign archive in detail: content, links, hard links, unicode
    /// names, modes, times, owner, DEST's mode, the manifest note, and the
    /// same tar compressed with zstd.
    @Test(.enabled(if: ExternalTool.zstd.enabled, "needs zstd"))
    func benignArchiveExtractsExactly() throws {
        _ = try ExternalTool.zstd.path()
        let run = try HostileRun("benign")
        let made = try run.sandbox.shell("zstd -q -c fixtures/benign.tar > fixtures/benign.tar.zst")
        try #require(made.status == 0, "\(made)")
        let sealed = try run.sandbox.run(["seal", "-r", run.recipient, "--payload", "tar", "-o", "zst.sarc", "fixtures/benign.tar.zst"])
        expectSuccess(sealed)

        for archive in [run.archive, "zst.sarc"] {
            let parent = try run.freshParent("p-\(archive)")
            let open = try run.tool(["open", "-i", "id", "-C", "\(parent)/dest", archive])
            expectExtractionSucceeded(open)
            let manifestFiles = try #require(run.fixture.manifestFiles)
            #expect(open.stderr.contains("MANIFEST.sha256 matches (\(manifestFiles) files)"), "\(open)")
            let dest = run.sandbox.path("\(parent)/dest")
            #expect(try run.sandbox.mode("\(parent)/dest") == 0o700)
            for (path, content) in run.fixture.outcome.files ?? [:] {
                #expect(FileManager.default.contents(atPath: "\(dest)/\(path)") == Data(content.utf8), "\(path)")
            }
            var info = stat()
            #expect(lstat("\(dest)/file.txt", &info) == 0)
            #expect(info.st_uid == getuid(), "owners are not restored")
            #if os(Linux)
            #expect(info.st_mtim.tv_sec == 1_700_000_000, "modification time restored")
            #endif
            #expect(info.st_mode & 0o7777 == 0o640)
            let listed = try run.tool(["open", "-i", "id", "--list", archive])
            expectExtractionSucceeded(listed)
            #expect(listed.stdoutLines.count == 10, "\(listed)")
            #expect(listed.stdoutLines.contains { $0.hasPrefix("symlink") && $0.hasSuffix("sub/link -> ../file.txt") }, "\(listed)")
            let verify = try run.tool(["verify", "-i", "id", archive])
            expectExtractionSucceeded(verify)
            #expect(verify.stdoutLines.count == 1 && verify.stdoutLines.allSatisfy { $0.hasPrefix("OK \(archive)") }, "\(verify)")
        }
    }
}

// MARK: - Fixtures

private enum HostileFixtures {
    /// Tests/Fixtures/make_hostile_tars.py, found from this file's path.
    static let script: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/make_hostile_tars.py").path
}

/// What one open should do (cases.json; the same keys at the top level of a
/// case and in its `allow_escaping`).
private struct HostileOutcome: Decodable {
    var expect: String
    var entry: String?
    var reason: String?
    var files: [String: String]?
    var symlinks: [String: String]?
    var hardlinks: [[String]]?
    var modes: [String: Int]?
}

private struct HostileCase: Decodable {
    let name: String
    let archive: String
    let outcome: HostileOutcome
    let allowEscaping: HostileOutcome?
    let noManifest: String?
    let outside: [String]?
    let slow: Bool?
    let unprivileged: Bool?
    let bombBytes: Int?
    let manifestFiles: Int?

    enum CodingKeys: String, CodingKey {
        case name, archive, allowEscaping, noManifest, outside, slow, unprivileged, bombBytes, manifestFiles
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        archive = try container.decode(String.self, forKey: .archive)
        outcome = try HostileOutcome(from: decoder)
        allowEscaping = try container.decodeIfPresent(HostileOutcome.self, forKey: .allowEscaping)
        noManifest = try container.decodeIfPresent(String.self, forKey: .noManifest)
        outside = try container.decodeIfPresent([String].self, forKey: .outside)
        slow = try container.decodeIfPresent(Bool.self, forKey: .slow)
        unprivileged = try container.decodeIfPresent(Bool.self, forKey: .unprivileged)
        bombBytes = try container.decodeIfPresent(Int.self, forKey: .bombBytes)
        manifestFiles = try container.decodeIfPresent(Int.self, forKey: .manifestFiles)
    }
}

// MARK: - One case in its sandbox

/// A case's sandbox: a fresh identity, `outside/` (files the case aims at),
/// the generated tar sealed as `NAME.sarc`, and a unique absolute path
/// beside the sandbox for the absolute-path case.
private final class HostileRun {
    let sandbox: Sandbox
    let fixture: HostileCase
    let recipient: String
    let archive: String
    let outsideDirectory: String
    let absoluteEscape: String
    let unprivileged: Bool

    static let nobody: uid_t = 65534
    static let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }
    /// The fallback when setpriv is missing (util-linux has both).
    static let runuser = ["/usr/sbin/runuser", "/sbin/runuser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static var canRunUnprivileged: Bool { getuid() != 0 || setpriv != nil || runuser != nil }

    init(_ name: String, unprivileged: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws {
        sandbox = try Sandbox()
        archive = "\(name).sarc"
        self.unprivileged = unprivileged && getuid() == 0
        recipient = try sandbox.makeIdentity("id", sourceLocation: sourceLocation)
        outsideDirectory = sandbox.path("outside")
        absoluteEscape = sandbox.root.path + "-absolute-escape"
        try FileManager.default.createDirectory(atPath: sandbox.path("outside/dir"), withIntermediateDirectories: true)
        try sandbox.write("outside/target", Array("the link target\n".utf8))
        try sandbox.write("outside/victim", Array("not to be overwritten\n".utf8))

        let made = try sandbox.execute("/usr/bin/env", [
            "python3", HostileFixtures.script, sandbox.path("fixtures"),
            "--outside", outsideDirectory, "--absolute-escape", absoluteEscape, "--case", name,
        ])
        try #require(made.status == 0, "\(made)", sourceLocation: sourceLocation)
        let listing = try JSONDecoder.snakeCase.decode([HostileCase].self, from: Data(sandbox.read("fixtures/cases.json")))
        fixture = try #require(listing.first { $0.name == name }, "no case \(name) in cases.json", sourceLocation: sourceLocation)

        // Format 2 parses the tar while sealing (to index it), so it refuses
        // a tar it cannot describe, such as an overlapping sparse map: then
        // only a refusal may be expected, it is a one-line `payload` or
        // `unsafe-entry` error (65) with nothing written, and the archive
        // is sealed in format 1 (which seals any tar's bytes) so that the
        // reader's own checks still face the hostile tar.
        var seal = try sandbox.run(["seal", "-r", recipient, "--payload", "tar", "-o", archive, "fixtures/\(fixture.archive)"])
        if seal.status == 65 {
            #expect(fixture.outcome.expect != "ok", "format 2 refused to seal a tar that should extract: \(seal)", sourceLocation: sourceLocation)
            #expect(seal.stderrLinesWithoutWarnings.count == 1 && seal.stdout.isEmpty, "\(seal)", sourceLocation: sourceLocation)
            #expect(!sandbox.exists(archive), "\(seal)", sourceLocation: sourceLocation)
            seal = try sandbox.run(["seal", "-r", recipient, "--payload", "tar", "--format-version", "1", "-o", archive,
                                    "fixtures/\(fixture.archive)"])
        }
        try #require(seal.status == 0, "\(seal)", sourceLocation: sourceLocation)
        if self.unprivileged {
            // The identity must stay 0600, so it changes owner instead.
            try #require(chown(sandbox.path("id"), Self.nobody, gid_t(Self.nobody)) == 0)
        }
    }

    deinit {
        if let parents = try? FileManager.default.contentsOfDirectory(atPath: sandbox.work) {
            // Leftovers of a failed cleanup may hold read-only directories.
            for name in parents where name.hasPrefix("p-") { makeWritable(sandbox.path(name)) }
        }
        try? FileManager.default.removeItem(atPath: absoluteEscape)
    }

    /// Runs sealed-archive (as `nobody` for the unprivileged cases).
    func tool(_ arguments: [String], stdin: Input = .none) throws -> RunResult {
        guard unprivileged else { return try sandbox.run(arguments, stdin: stdin) }
        if let setpriv = Self.setpriv {
            return try sandbox.execute(setpriv, ["--reuid=\(Self.nobody)", "--regid=\(Self.nobody)", "--clear-groups",
                                                 try CLI.binary().path] + arguments, stdin: stdin,
                                       display: ["(as nobody) sealed-archive"] + arguments)
        }
        let runuser = try #require(Self.runuser, "neither setpriv nor runuser to run as nobody")
        return try sandbox.execute(runuser, ["-u", "nobody", "--", try CLI.binary().path] + arguments, stdin: stdin,
                                   display: ["(as nobody) sealed-archive"] + arguments)
    }

    /// A fresh empty directory in the work directory; returns its name.
    func freshParent(_ name: String) throws -> String {
        try FileManager.default.createDirectory(atPath: sandbox.path(name), withIntermediateDirectories: false)
        if unprivileged { try sandbox.setMode(name, 0o777) }
        return name
    }

    /// The paths outside DEST a case aims at besides the sandbox: the
    /// absolute-path target beside the sandbox and /etc/passwd.
    var outsideTargets: [String] {
        Array(Set((fixture.outside ?? []) + [absoluteEscape, "/etc/passwd"])).sorted()
    }

    /// The whole sandbox (but the harness's capture files) and the outside
    /// targets.
    func state() -> [String: HostileNode] {
        var nodes = hostileSnapshot(sandbox.root.path, skipping: [sandbox.root.appendingPathComponent("captures").path])
        for path in outsideTargets {
            nodes[path] = hostileNode(path) ?? HostileNode.absent
        }
        return nodes
    }

    /// Error-line substrings: the entry quoted as Spec/CLI.md says, and the
    /// reason.
    func needles(_ outcome: HostileOutcome) -> [String] {
        let entry = outcome.entry ?? ""
        let reason = outcome.reason ?? ""
        if reason.contains("MANIFEST.sha256") { return ["'\(entry)'", reason] }
        return ["refusing entry '\(entry)'", reason].filter { !$0.isEmpty }
    }

    // MARK: Checks

    func check(_ outcome: HostileOutcome, flags: [String], label: String,
               sourceLocation: SourceLocation = #_sourceLocation) throws {
        let parent = try freshParent("p-\(label)")
        let before = state()
        let open = try tool(["open", "-i", "id"] + flags + ["-C", "\(parent)/dest", archive])
        let after = state()
        let context = "\(fixture.name) \(flags.joined(separator: " "))"

        switch outcome.expect {
        case "refused":
            if open.status == 0 {
                // One issue saying what was extracted instead of many.
                let dest = sandbox.path("\(parent)/dest")
                Issue.record("""
                    \(context): expected exit 65 refusing '\(outcome.entry ?? "")', but extraction succeeded: \(open)
                    DEST holds:
                    \(hostileTreeDescription(dest))
                    """, sourceLocation: sourceLocation)
                let changes = hostileChanges(before, after, allowedUnder: [dest], timesMayChange: [sandbox.path(parent)])
                #expect(changes.isEmpty, "\(context) changed things outside DEST:\n\(changes.joined(separator: "\n"))",
                        sourceLocation: sourceLocation)
            } else {
                expectError(open, 65, mentioning: needles(outcome), sourceLocation: sourceLocation)
                expectRefusedLeftNothing(parent: parent, before: before, after: after, what: "open -C \(context)",
                                         sourceLocation: sourceLocation)
            }
            try expectVerifyAndListRefuse(outcome, flags: flags, sourceLocation: sourceLocation)
        case "ok", "stripped":
            expectExtractionSucceeded(open, sourceLocation: sourceLocation)
            try expectExtracted(outcome, parent: parent, before: before, after: after, context: context,
                                sourceLocation: sourceLocation)
            let verify = try tool(["verify", "-i", "id"] + flags + [archive])
            expectExtractionSucceeded(verify, sourceLocation: sourceLocation)
            #expect(verify.stdoutLines.count == 1 && verify.stdoutLines.allSatisfy { $0.hasPrefix("OK \(archive)") },
                    "\(verify)", sourceLocation: sourceLocation)
            expectExtractionSucceeded(try tool(["open", "-i", "id"] + flags + ["--list", archive]), sourceLocation: sourceLocation)
        case "consistent":
            // Refused, or extracted with every file as the manifest vouches.
            if open.status == 65 {
                expectOneErrorLine(open, sourceLocation: sourceLocation)
                expectRefusedLeftNothing(parent: parent, before: before, after: after, what: "open -C \(context)",
                                         sourceLocation: sourceLocation)
            } else {
                expectExtractionSucceeded(open, sourceLocation: sourceLocation)
                try expectExtracted(outcome, parent: parent, before: before, after: after, context: context,
                                    sourceLocation: sourceLocation)
            }
        default:
            Issue.record("unknown expectation \(outcome.expect) in cases.json", sourceLocation: sourceLocation)
        }
    }

    /// After a refused open: no DEST, nothing left in P (no staging
    /// directory), nothing created or changed anywhere else.
    func expectRefusedLeftNothing(parent: String, before: [String: HostileNode], after: [String: HostileNode],
                                  what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!sandbox.exists("\(parent)/dest"), "\(what): DEST exists after a refusal", sourceLocation: sourceLocation)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: sandbox.path(parent))) ?? ["<cannot list>"]
        #expect(left.isEmpty, "\(what): left in P: \(left.sorted())", sourceLocation: sourceLocation)
        let changes = hostileChanges(before, after, allowedUnder: [], timesMayChange: [sandbox.path(parent)])
        #expect(changes.isEmpty, "\(what) changed things outside DEST:\n\(changes.joined(separator: "\n"))",
                sourceLocation: sourceLocation)
    }

    /// `verify -i` and `open --list` refuse too, naming the entry, and write
    /// nothing.
    func expectVerifyAndListRefuse(_ outcome: HostileOutcome, flags: [String],
                                   sourceLocation: SourceLocation = #_sourceLocation) throws {
        let needles = needles(outcome)
        var before = state()
        let verify = try tool(["verify", "-i", "id"] + flags + [archive])
        var after = state()
        // `FAILED NAME: reason` (or `FAILED NAME [level]: reason`).
        #expect(verify.status == 65, "verify should refuse too: \(verify)", sourceLocation: sourceLocation)
        if verify.status != 0 {
            #expect(verify.stdoutLines.count == 1, "\(verify)", sourceLocation: sourceLocation)
            let line = verify.stdoutLines.first ?? ""
            #expect(line.hasPrefix("FAILED \(archive):") || line.hasPrefix("FAILED \(archive) "), "\(verify)",
                    sourceLocation: sourceLocation)
            for needle in needles {
                #expect(line.contains(needle), "verify should mention \(needle): \(verify)", sourceLocation: sourceLocation)
            }
            #expect(verify.stderrLinesWithoutWarnings.count <= 1 && !verify.killedBySignal, "\(verify)",
                    sourceLocation: sourceLocation)
        }
        var changes = hostileChanges(before, after, allowedUnder: [], timesMayChange: [])
        #expect(changes.isEmpty, "verify wrote:\n\(changes.joined(separator: "\n"))", sourceLocation: sourceLocation)

        // Listed through a pipe, the archive is read whole, as by verify -i.
        before = after
        let list = try tool(["open", "-i", "id"] + flags + ["--list", "-"], stdin: .file(archive))
        after = state()
        if list.status == 0 {
            Issue.record("open --list should refuse too: \(list)", sourceLocation: sourceLocation)
        } else {
            expectError(list, 65, mentioning: needles, sourceLocation: sourceLocation)
        }
        changes = hostileChanges(before, after, allowedUnder: [], timesMayChange: [])
        #expect(changes.isEmpty, "open --list wrote:\n\(changes.joined(separator: "\n"))", sourceLocation: sourceLocation)

        // From the file, a format 2 archive is listed by its index: the
        // name rules, hard link targets and the size limit still refuse
        // (naming the entry; the index types a device, FIFO or socket only
        // as a special file), but content (a manifest's digests, sparse
        // maps) is not read.
        before = after
        let indexList = try tool(["open", "-i", "id"] + flags + ["--list", archive])
        after = state()
        if indexList.status != 0 {
            expectError(indexList, 65, mentioning: needles.filter { !["FIFO", "character device", "block device"].contains($0) },
                        sourceLocation: sourceLocation)
        }
        changes = hostileChanges(before, after, allowedUnder: [], timesMayChange: [])
        #expect(changes.isEmpty, "open --list wrote:\n\(changes.joined(separator: "\n"))", sourceLocation: sourceLocation)
    }

    /// After a successful open: DEST holds what the case says, P holds only
    /// DEST, nothing changed outside DEST, no setuid/setgid/sticky bit.
    func expectExtracted(_ outcome: HostileOutcome, parent: String, before: [String: HostileNode],
                         after: [String: HostileNode], context: String,
                         sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dest = sandbox.path("\(parent)/dest")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: sandbox.path(parent))) ?? []
        #expect(left == ["dest"], "\(context): P holds \(left.sorted())", sourceLocation: sourceLocation)
        let changes = hostileChanges(before, after, allowedUnder: [dest], timesMayChange: [sandbox.path(parent)])
        #expect(changes.isEmpty, "\(context) changed things outside DEST:\n\(changes.joined(separator: "\n"))",
                sourceLocation: sourceLocation)
        for (path, content) in outcome.files ?? [:] {
            let actual = FileManager.default.contents(atPath: "\(dest)/\(path)")
            #expect(actual == Data(content.utf8),
                    "\(context): \(path) holds \(actual.map { Array($0) }.map { "\($0)" } ?? "nothing"), expected \(Array(content.utf8))",
                    sourceLocation: sourceLocation)
        }
        for (path, target) in outcome.symlinks ?? [:] {
            let stored = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(dest)/\(path)")
            #expect(stored == target, "\(context): \(path) should be a link to \(target)", sourceLocation: sourceLocation)
        }
        for pair in outcome.hardlinks ?? [] {
            let nodes = pair.map { hostileNode("\(dest)/\($0)") }
            #expect(nodes.allSatisfy { $0 != nil } && Set(nodes.map { $0?.inode }).count == 1,
                    "\(context): \(pair) should be one file", sourceLocation: sourceLocation)
        }
        for (path, mode) in outcome.modes ?? [:] {
            #expect(hostileNode("\(dest)/\(path)")?.permissions == UInt32(mode),
                    "\(context): \(path) should have mode \(String(mode, radix: 8))", sourceLocation: sourceLocation)
        }
        for (path, node) in hostileSnapshot(dest, skipping: []) where node.kind != "symlink" {
            #expect(node.permissions & 0o7000 == 0,
                    "\(context): \(path) has mode \(String(node.permissions, radix: 8))", sourceLocation: sourceLocation)
        }
    }

    private func makeWritable(_ path: String) {
        guard let node = hostileNode(path), node.kind == "directory" else { return }
        chmod(path, 0o700)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            makeWritable(path + "/" + name)
        }
    }
}

/// Exit 0 and no error line (open -C and verify print notes on stderr).
private func expectExtractionSucceeded(_ result: RunResult, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
    #expect(!result.stderrLines.contains { $0.hasPrefix("sealed-archive: error:") }, "\(result)",
            sourceLocation: sourceLocation)
}

private extension JSONDecoder {
    static var snakeCase: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}

// MARK: - Snapshots

/// What lstat says about a path, its link target, and the content of a
/// small regular file.
private struct HostileNode: Equatable {
    var kind: String
    var permissions: UInt32 = 0
    var size: Int64 = 0
    var links: UInt64 = 0
    var inode: UInt64 = 0
    var owner: UInt32 = 0
    var modified: Int64 = 0
    var modifiedNanoseconds: Int64 = 0
    var linkTarget: String?
    var content: Data?

    static let absent = HostileNode(kind: "absent")

    /// The fields that differ from `other`.
    func differences(from other: HostileNode) -> [String] {
        var out: [String] = []
        if kind != other.kind { out.append("kind \(other.kind) -> \(kind)") }
        if permissions != other.permissions {
            out.append("mode \(String(other.permissions, radix: 8)) -> \(String(permissions, radix: 8))")
        }
        if size != other.size { out.append("size \(other.size) -> \(size)") }
        if links != other.links { out.append("links \(other.links) -> \(links)") }
        if inode != other.inode { out.append("inode \(other.inode) -> \(inode)") }
        if owner != other.owner { out.append("owner \(other.owner) -> \(owner)") }
        if modified != other.modified || modifiedNanoseconds != other.modifiedNanoseconds { out.append("mtime changed") }
        if linkTarget != other.linkTarget { out.append("link \(other.linkTarget ?? "-") -> \(linkTarget ?? "-")") }
        if content != other.content { out.append("content changed") }
        return out
    }
}

private func hostileNode(_ path: String) -> HostileNode? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    let kind: String
    switch info.st_mode & S_IFMT {
    case S_IFREG: kind = "file"
    case S_IFDIR: kind = "directory"
    case S_IFLNK: kind = "symlink"
    case S_IFIFO: kind = "fifo"
    case S_IFCHR: kind = "character device"
    case S_IFBLK: kind = "block device"
    case S_IFSOCK: kind = "socket"
    default: kind = "unknown"
    }
    var node = HostileNode(kind: kind)
    node.permissions = UInt32(info.st_mode & 0o7777)
    node.size = Int64(info.st_size)
    node.links = UInt64(info.st_nlink)
    node.inode = UInt64(info.st_ino)
    node.owner = UInt32(info.st_uid)
    #if os(Linux)
    node.modified = Int64(info.st_mtim.tv_sec)
    node.modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
    #else
    node.modified = Int64(info.st_mtimespec.tv_sec)
    node.modifiedNanoseconds = Int64(info.st_mtimespec.tv_nsec)
    #endif
    if kind == "symlink" { node.linkTarget = try? FileManager.default.destinationOfSymbolicLink(atPath: path) }
    if kind == "file" && node.size <= 4 << 20 { node.content = FileManager.default.contents(atPath: path) }
    return node
}

/// One line per path under `root`: kind, mode, link target.
private func hostileTreeDescription(_ root: String) -> String {
    hostileSnapshot(root, skipping: []).sorted { $0.key < $1.key }.map { path, node in
        let relative = path == root ? "." : String(path.dropFirst(root.count + 1))
        return "  \(node.kind) \(String(node.permissions, radix: 8)) \(relative)\(node.linkTarget.map { " -> \($0)" } ?? "")"
    }.joined(separator: "\n")
}

/// Every path under `root` (not following links), `root` included.
private func hostileSnapshot(_ root: String, skipping: Set<String>) -> [String: HostileNode] {
    var nodes: [String: HostileNode] = [:]
    func walk(_ path: String) {
        guard let node = hostileNode(path) else { return }
        nodes[path] = node
        guard node.kind == "directory" else { return }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            let child = path + "/" + name
            if !skipping.contains(child) { walk(child) }
        }
    }
    walk(root)
    return nodes
}

/// What was created, removed or changed, except under `allowedUnder`; the
/// directories in `timesMayChange` may change mtime, size and link count
/// (an entry was created, and maybe removed, in them).
private func hostileChanges(_ before: [String: HostileNode], _ after: [String: HostileNode],
                           allowedUnder: [String], timesMayChange: Set<String>) -> [String] {
    var changes: [String] = []
    for path in Set(before.keys).union(after.keys).sorted() {
        if allowedUnder.contains(where: { path == $0 || path.hasPrefix($0 + "/") }) { continue }
        switch (before[path], after[path]) {
        case (nil, let node?):
            changes.append("created \(path) (\(node.kind))")
        case (_?, nil):
            changes.append("removed \(path)")
        case (var old?, var new?):
            if timesMayChange.contains(path) {
                old.modified = 0; old.modifiedNanoseconds = 0; old.size = 0; old.links = 0
                new.modified = 0; new.modifiedNanoseconds = 0; new.size = 0; new.links = 0
            }
            let differences = new.differences(from: old)
            if !differences.isEmpty { changes.append("changed \(path): \(differences.joined(separator: ", "))") }
        case (nil, nil):
            break
        }
    }
    return changes
}
