import Foundation
import Testing
import TestSupport

/// `open --list` and `open --only` (Spec/CLI.md): from a format 2 archive
/// in a file they read the index and only the records they need; from a
/// pipe or a format 1 archive they read it whole; the result is the same.
@Suite struct PartialRestoreCommandTests {
    /// A backup-shaped tree: the env file, a dump, random data, a manifest
    /// of them; sealed signed to `id` as a.sarc (format 2) and v1.sarc.
    struct Fixture {
        let sandbox: Sandbox
        let signer: String
    }

    static func makeFixture(manifestLie: Bool = false) throws -> Fixture {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        let signer = try sandbox.makeSigningKey("sk")
        try FileManager.default.createDirectory(atPath: sandbox.path("src/config"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: sandbox.path("src/db"), withIntermediateDirectories: true)
        try sandbox.write("src/config/env.backup", Array("DATABASE_URL=postgres://backup\nSECRET=1\n".utf8))
        try sandbox.write("src/db/random.bin", randomBytes(6_000_000))
        try sandbox.write("src/db/dump.sql", Array(String(repeating: "INSERT INTO t VALUES (42, 'x');\n", count: 100_000).utf8))
        var manifest = ""
        for name in ["config/env.backup", "db/dump.sql", "db/random.bin"] {
            var digest = sha256Hex(try sandbox.read("src/" + name))
            if manifestLie && name == "config/env.backup" { digest = String(repeating: "0", count: 64) }
            manifest += "\(digest)  \(name)\n"
        }
        try sandbox.write("src/MANIFEST.sha256", Array(manifest.utf8))
        // 4 KiB chunks: 1,500 of them, so the index starts on a chunk of
        // its own (zero frames after the tar, FORMAT-v2.md section 10).
        // A lying manifest is sealed anyway (seal would refuse it) so that
        // the restore side's check is what is tested.
        let skip = manifestLie ? ["--no-manifest"] : []
        expectSuccess(try sandbox.run(["seal"] + skip + ["-r", recipient, "--sign-key", "sk", "--chunk-size", "4KiB", "-o", "a.sarc", "src"]))
        expectSuccess(try sandbox.run(["seal"] + skip + ["-r", recipient, "--sign-key", "sk", "--format-version", "1", "-o", "v1.sarc", "src"]))
        return Fixture(sandbox: sandbox, signer: signer)
    }

    /// "read N bytes of S" from the note.
    static func bytesRead(_ result: RunResult) -> (read: Int, of: Int)? {
        guard let match = result.stderr.firstMatch(of: /read (\d+) bytes? of (\d+)/),
              let read = Int(match.1), let of = Int(match.2) else { return nil }
        return (read, of)
    }

    @Test func onlyRestoresOneFileReadingLittleOfTheArchive() throws {
        let fixture = try Self.makeFixture()
        let sandbox = fixture.sandbox
        let result = try sandbox.run(["open", "-i", "id", "--signer", fixture.signer, "--only", "config/env.backup", "-C", "out", "a.sarc"])
        expectCompleted(result)
        #expect(try sandbox.read("out/config/env.backup") == sandbox.read("src/config/env.backup"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.path("out")) == ["config"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.path("out/config")) == ["env.backup"])
        let (read, size) = try #require(Self.bytesRead(result), "\(result)")
        #expect(size == (try sandbox.size("a.sarc")))
        // The tail (up to a chunk), the footer and the records of one frame.
        #expect(read < 3_500_000 && read < size / 2, "read \(read) of \(size): \(result)")
        #expect(result.stderr.contains("MANIFEST.sha256 matches (1 file)"), "\(result)")
    }

    @Test func aDirectoryBringsItsSubtreeAndAPipeGivesTheSame() throws {
        let fixture = try Self.makeFixture()
        let sandbox = fixture.sandbox
        expectCompleted(try sandbox.run(["open", "-i", "id", "--only", "db", "-C", "by-index", "a.sarc"]))
        expectCompleted(try sandbox.run(["open", "-i", "id", "--only", "db", "-C", "streamed", "-"], stdin: .file("a.sarc")))
        expectCompleted(try sandbox.run(["open", "-i", "id", "--only", "db", "-C", "version1", "v1.sarc"]))
        for tree in ["by-index", "streamed", "version1"] {
            #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.path(tree)) == ["db"], "\(tree)")
            for name in ["db/dump.sql", "db/random.bin"] {
                #expect(try sandbox.read("\(tree)/\(name)") == sandbox.read("src/\(name)"), "\(tree)/\(name)")
            }
        }
    }

    @Test func listByTheIndexShowsWhatTheWholeReadShows() throws {
        let fixture = try Self.makeFixture()
        let sandbox = fixture.sandbox
        let byIndex = try sandbox.run(["open", "-i", "id", "--list", "a.sarc"])
        let streamed = try sandbox.run(["open", "-i", "id", "--list", "-"], stdin: .file("a.sarc"))
        let version1 = try sandbox.run(["open", "-i", "id", "--list", "v1.sarc"])
        for result in [byIndex, streamed, version1] { expectCompleted(result) }
        #expect(byIndex.stdoutLines == streamed.stdoutLines && byIndex.stdoutLines == version1.stdoutLines)
        #expect(byIndex.stdoutLines.count == 6, "\(byIndex)")
        let (read, size) = try #require(Self.bytesRead(byIndex), "\(byIndex)")
        #expect(read < size / 2, "read \(read) of \(size)")
        let only = try sandbox.run(["open", "-i", "id", "--list", "--only", "config", "a.sarc"])
        #expect(only.stdoutLines.count == 2 && only.stdoutLines.allSatisfy { $0.contains("config") }, "\(only)")
    }

    @Test func pathsThatMatchNothingAndMissingDestinationsAreUsageErrors() throws {
        let fixture = try Self.makeFixture()
        let sandbox = fixture.sandbox
        for archive in ["a.sarc", "v1.sarc"] {
            let missing = try sandbox.run(["open", "-i", "id", "--only", "config/nope", "-C", "out", archive])
            expectError(missing, 64, mentioning: ["config/nope"])
            #expect(!sandbox.exists("out"))
        }
        expectError(try sandbox.run(["open", "-i", "id", "--only", "config", "a.sarc"]), 64)
        expectError(try sandbox.run(["open", "-i", "id", "--only", "../etc", "-C", "out", "a.sarc"]), 64)
        #expect(!sandbox.exists("out"))
    }

    @Test func aRestoredFileTheManifestContradictsIsRefused() throws {
        let fixture = try Self.makeFixture(manifestLie: true)
        let sandbox = fixture.sandbox
        for (archive, stdin) in [("a.sarc", Input.none), ("-", .file("a.sarc")), ("v1.sarc", .none)] {
            let result = try sandbox.run(["open", "-i", "id", "--only", "config/env.backup", "-C", "out", archive], stdin: stdin)
            expectError(result, 65, mentioning: ["MANIFEST.sha256"])
            #expect(!sandbox.exists("out"))
        }
        // Files the manifest vouches for still restore.
        expectCompleted(try sandbox.run(["open", "-i", "id", "--only", "db/dump.sql", "-C", "out", "a.sarc"]))
    }

    /// `--only FILE -o OUT`: one file's content, to a file (0600, only once
    /// every check passed) or standard output, by the index from a format 2
    /// file, by a whole read from a pipe or a format 1 archive; the same
    /// bytes each way. Anything but one regular file is a usage error,
    /// with nothing written.
    @Test func oneFileGoesToAFileOrStandardOutput() throws {
        let fixture = try Self.makeFixture()
        let sandbox = fixture.sandbox
        let dump = try sandbox.read("src/db/dump.sql")
        for (archive, stdin) in [("a.sarc", Input.none), ("-", .file("a.sarc")), ("v1.sarc", .none), ("-", .file("v1.sarc"))] {
            let streamed = try sandbox.run(["open", "-i", "id", "--signer", fixture.signer, "--only", "db/dump.sql", "-o", "-", archive], stdin: stdin)
            expectCompleted(streamed)
            #expect(streamed.stdout == dump, "\(archive): \(streamed.stdout.count) bytes")
            #expect(streamed.stderr.contains("MANIFEST.sha256 matches (1 file)"), "\(streamed)")
        }
        let byIndex = try sandbox.run(["open", "-i", "id", "--signer", fixture.signer, "--only", "config/env.backup", "-o", "env.out", "a.sarc"])
        expectCompleted(byIndex)
        #expect(try sandbox.read("env.out") == sandbox.read("src/config/env.backup"))
        #expect(try sandbox.mode("env.out") == 0o600)
        let (read, size) = try #require(Self.bytesRead(byIndex), "\(byIndex)")
        #expect(read < size / 2, "read \(read) of \(size)")

        for archive in ["a.sarc", "v1.sarc"] {
            expectError(try sandbox.run(["open", "-i", "id", "--only", "config", "-o", "dir.out", archive]), 64, mentioning: ["config", "-C DEST"])
            #expect(!sandbox.exists("dir.out"))
        }
        expectError(try sandbox.run(["open", "-i", "id", "--only", "db/dump.sql", "--only", "config/env.backup", "-o", "two.out", "a.sarc"]), 64)
        #expect(!sandbox.exists("two.out"))
    }

    /// The manifest contradicts the file: refused (65) with no output file.
    @Test func oneFileTheManifestContradictsIsNotWritten() throws {
        let fixture = try Self.makeFixture(manifestLie: true)
        let sandbox = fixture.sandbox
        for archive in ["a.sarc", "v1.sarc"] {
            expectError(try sandbox.run(["open", "-i", "id", "--only", "config/env.backup", "-o", "env.out", archive]), 65, mentioning: ["MANIFEST.sha256"])
            #expect(!sandbox.exists("env.out"))
            expectNoOutput(sandbox, "env.out")
        }
    }

    /// A hard link has no content of its own in the tar: its target is
    /// named instead, in both formats.
    @Test func aHardLinkNamesItsTarget() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try FileManager.default.createDirectory(atPath: sandbox.path("tree"), withIntermediateDirectories: false)
        try sandbox.write("tree/data", randomBytes(10_000))
        try FileManager.default.linkItem(atPath: sandbox.path("tree/data"), toPath: sandbox.path("tree/linked"))
        for version in ["1", "2"] {
            expectCompleted(try sandbox.run(["seal", "--format-version", version, "-r", recipient, "-o", "t\(version).sarc", "tree"]))
            let result = try sandbox.run(["open", "-i", "id", "--only", "linked", "-o", "-", "t\(version).sarc"])
            expectError(result, 64, mentioning: ["hard link to 'data'"])
            #expect(result.stdout.isEmpty)
            let data = try sandbox.run(["open", "-i", "id", "--only", "data", "-o", "-", "t\(version).sarc"])
            let content = try sandbox.read("tree/data")
            #expect(data.status == 0 && data.stdout == content, "\(data)")
        }
    }

    /// Issue 10's attack: an archive to a real recipient whose header names
    /// the host's signer key, made by someone holding only public keys. A
    /// required signer refuses it with nothing on the pipe.
    @Test func aForgedHeaderWritesNothingToThePipe() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        let host = try sandbox.makeSigningKey("host")
        let forger = try sandbox.makeSigningKey("forger")
        try sandbox.write("dump", randomBytes(5 << 20))
        expectCompleted(try sandbox.run(["seal", "-r", recipient, "--sign-key", "forger", "-o", "forged.sarc", "dump"]))
        var bytes = try sandbox.read("forged.sarc")
        let forgerKey = try #require(bech32Payload(forger)), hostKey = try #require(bech32Payload(host))
        let at = try #require(bytes.firstRange(of: forgerKey))
        bytes.replaceSubrange(at, with: hostKey)
        try sandbox.write("forged.sarc", bytes)
        for (archive, stdin) in [("forged.sarc", Input.none), ("-", .file("forged.sarc"))] {
            let result = try sandbox.run(["open", "-i", "id", "--signer", host, archive], stdin: stdin)
            expectError(result, 65, mentioning: ["header signature"])
            #expect(result.stdout.isEmpty, "\(result.stdout.count) bytes reached the pipe")
        }
    }
}
