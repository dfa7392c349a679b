import Foundation
import TestSupport
import Glibc
import Testing

/// A size-limited tmpfs, mounted for one test (root only; skipped where
/// mounting is not allowed).
final class Tmpfs {
    let path: String

    /// Whether this process may mount a tmpfs (root in a sandbox that
    /// allows it), checked once.
    static let available: Bool = {
        guard geteuid() == 0 else { return false }
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("tmpfs-probe-\(UUID().uuidString)").path
        guard (try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: false)) != nil else { return false }
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard mount("tmpfs", probe, "tmpfs", 0, "size=64k") == 0 else { return false }
        umount(probe)
        return true
    }()

    /// Mounts a tmpfs of `kilobytes` at `path` (created if needed).
    init(at path: String, kilobytes: Int) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard mount("tmpfs", path, "tmpfs", 0, "size=\(kilobytes)k,mode=0755") == 0 else {
            throw HarnessError("cannot mount a tmpfs at \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Fills the filesystem so that the next data block written fails.
    func fill() {
        let fd = open(path + "/.filler", O_WRONLY | O_CREAT, 0o600)
        guard fd >= 0 else { return }
        let block = [UInt8](repeating: 0, count: 4096)
        while block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        close(fd)
    }

    deinit {
        if umount2(path, Int32(MNT_DETACH)) != 0 { print("cannot unmount \(path)") }
    }
}

/// Every writer on a full filesystem (issue 8, "fault tests"): exit 74 with
/// one error line, nothing under a final name, no temporary left, and
/// state files (the chain) unchanged.
///
/// Full tier only: every writer against a filled tmpfs is slow, and it needs
/// root with permission to mount one, which the full tier then requires.
@Suite(.serialized, .enabled(if: TestTier.full, "full tier: slow, and needs root and permission to mount a tmpfs"))
struct FullDiskTests {
    init() throws {
        try #require(Tmpfs.available, "the full tier needs root and permission to mount a tmpfs (FullDiskTests)")
    }

    /// The names under `directory`, the filler aside.
    static func contents(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0 != ".filler" }.sorted()
    }

    @Test func everyWriterFailsCleanlyOnAFullDisk() throws {
        let sandbox = try Sandbox()
        defer { makeTreeRemovable(sandbox.root.path) }
        let recipient = try sandbox.makeIdentity("id")
        let signer = try sandbox.makeSigningKey("sig")
        try FileManager.default.createDirectory(atPath: sandbox.path("data"), withIntermediateDirectories: false)
        try sandbox.write("data/big", randomBytes(1_500_000))
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "--sign-key", "sig", "-o", "a.sarc", "data"]))
        try sandbox.write("bytes", randomBytes(1_500_000))
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "--sign-key", "sig", "-o", "b.sarc", "bytes"]))

        let small = try Tmpfs(at: sandbox.path("small"), kilobytes: 512)
        let writers: [(String, [String])] = [
            ("seal -o", ["seal", "-r", recipient, "--sign-key", "sig", "-o", "small/out.sarc", "data"]),
            ("pack -o", ["pack", "--compression", "none", "-o", "small/out.tar", "data"]),
            ("open -C", ["open", "-i", "id", "-C", "small/dest", "a.sarc"]),
            ("open -o", ["open", "-i", "id", "-o", "small/out", "b.sarc"]),
            ("rewrap -o", ["rewrap", "-i", "id", "--signer", signer, "-r", recipient, "--sign-key", "sig", "-o", "small/re.sarc", "a.sarc"]),
            ("drill --work-dir", ["drill", "-i", "id", "--work-dir", "small", "a.sarc"]),
        ]
        for (label, arguments) in writers {
            let result = try sandbox.run(arguments)
            if label.hasPrefix("drill") {
                #expect(result.status == 74 && result.stdoutText.contains("FAILED"), "\(label): \(result)")
            } else {
                expectError(result, 74)
            }
            let left = try Self.contents(small.path)
            #expect(left.isEmpty, "\(label) left \(left)")
        }

        // Small files on a filesystem with no block left.
        small.fill()
        let tiny: [(String, [String])] = [
            ("keygen -o", ["keygen", "-o", "small/key"]),
            ("seal --checksum-file", ["seal", "-r", recipient, "-o", "small/x.sarc", "--checksum", "bytes"]),
            ("keys export-recipients -o", ["keys", "export-recipients", "--keyring", "ring", "-o", "small/recipients"]),
        ]
        _ = try sandbox.run(["keys", "init", "--keyring", "ring", "--retention", "90d"])
        for (label, arguments) in tiny {
            let result = try sandbox.run(arguments)
            expectError(result, 74)
            let left = try Self.contents(small.path)
            #expect(left.isEmpty, "\(label) left \(left)")
        }
    }

    /// The keyring on a full filesystem: `keys init` leaves nothing,
    /// `keys rotate` fails (74) with the keyring as it was, consistent.
    @Test func keyringWritersOnAFullDisk() throws {
        let sandbox = try Sandbox()
        let disk = try Tmpfs(at: sandbox.path("disk"), kilobytes: 256)
        let made = try sandbox.run(["keys", "init", "--keyring", "disk/ring", "--retention", "90d"])
        try #require(made.status == 0, "\(made)")
        let before = try sandbox.run(["keys", "list", "--keyring", "disk/ring"])
        disk.fill()
        for arguments in [["keys", "rotate", "--keyring", "disk/ring"], ["keys", "rotate", "--signing", "--keyring", "disk/ring"],
                          ["keys", "init", "--keyring", "disk/other", "--retention", "90d"]] {
            let result = try sandbox.run(arguments)
            expectError(result, 74)
        }
        #expect(try Self.contents(disk.path) == ["ring"], "a failed init left something")
        #expect(try sandbox.run(["keys", "list", "--keyring", "disk/ring"]).stdout == before.stdout)
        let check = try sandbox.run(["keys", "check", "--keyring", "disk/ring"])
        #expect(check.status == 0, "\(check)")
    }

    /// Issue 8, defect 5: the archive fits, its checksum file or the chain
    /// state does not. Nothing of that seal appears, the chain is where it
    /// was, and the next seal takes the same sequence number with no fork.
    @Test func sealOutputsAppearTogetherOrNotAtAll() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try sandbox.makeSigningKey("sig")
        try sandbox.write("bytes", randomBytes(200_000))
        let full = try Tmpfs(at: sandbox.path("full"), kilobytes: 64)
        full.fill()

        expectSuccess(try sandbox.run(["seal", "-r", recipient, "--sign-key", "sig", "--chain", "chain", "-o", "1.sarc", "bytes"]))
        let chainBefore = try sandbox.read("chain")

        // The checksum file cannot be written.
        let checksum = try sandbox.run(["seal", "-r", recipient, "--sign-key", "sig", "--chain", "chain",
                                        "--checksum-file", "full/2.sarc.sha256", "-o", "2.sarc", "bytes"])
        expectError(checksum, 74)
        expectNoOutput(sandbox, "2.sarc")
        #expect(try sandbox.read("chain") == chainBefore)

        // The chain state cannot be written.
        let chainFull = try sandbox.run(["seal", "-r", recipient, "--sign-key", "sig", "--chain", "full/chain", "-o", "3.sarc", "bytes"])
        expectError(chainFull, 74)
        expectNoOutput(sandbox, "3.sarc")

        expectSuccess(try sandbox.run(["seal", "-r", recipient, "--sign-key", "sig", "--chain", "chain", "-o", "2.sarc", "bytes"]))
        let verify = try sandbox.run(["verify", "--chain", "chain", "1.sarc", "2.sarc"])
        #expect(verify.status == 0 && verify.stdoutText.contains("chain complete: archives 1–2"), "\(verify)")
        #expect(try Self.contents(full.path) == ["chain.lock"], "the failed seal left more than the chain's lock file")
    }
}

/// Two writers of one stateful file at once (issue 8, "concurrent writers").
@Suite(.serialized) struct ConcurrentWriterTests {
    /// Races are found by repetition: 10 rounds in the full tier, 2 in the
    /// fast one.
    static let rounds = TestTier.scaled(fast: 2, full: 10)

    /// Two `seal --chain` at once: each waits for the chain's lock, so the
    /// archives get consecutive sequence numbers and the chain has no fork.
    @Test func twoSealsOnOneChain() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try sandbox.makeSigningKey("sig")
        try sandbox.write("bytes", randomBytes(2_000_000))
        var archives: [String] = []
        for round in 0..<Self.rounds {
            let names = ["a\(round).sarc", "b\(round).sarc"]
            let commands = try names.map { try sandbox.startBackground(["seal", "-r", recipient, "--sign-key", "sig", "--chain", "chain", "-o", $0, "bytes"]) }
            for command in commands { expectCompleted(try command.wait()) }
            archives += names
        }
        let verify = try sandbox.run(["verify", "--chain", "chain"] + archives)
        #expect(verify.status == 0, "\(verify)")
        #expect(verify.stdoutText.contains("chain complete: archives 1–\(2 * Self.rounds)"), "\(verify)")
    }

    /// Two runs writing the same output name without --force: one wins,
    /// the other fails with one line; the winner's file is whole.
    @Test func twoWritersOfOneOutputName() throws {
        let sandbox = try Sandbox()
        defer { makeTreeRemovable(sandbox.root.path) }
        let recipient = try sandbox.makeIdentity("id")
        try FileManager.default.createDirectory(atPath: sandbox.path("data"), withIntermediateDirectories: false)
        try sandbox.write("data/file", randomBytes(1_000_000))
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "-o", "a.sarc", "data"]))
        for round in 0..<Self.rounds {
            for arguments in [["seal", "-r", recipient, "-o", "out.sarc", "data"], ["open", "-i", "id", "-C", "dest", "a.sarc"],
                              ["keygen", "-o", "key"]] {
                let commands = try (0..<2).map { _ in try sandbox.startBackground(arguments) }
                let results = try commands.map { try $0.wait() }
                let winners = results.filter { $0.status == 0 }
                #expect(winners.count >= 1, "round \(round) \(arguments[0]): \(results)")
                for loser in results where loser.status != 0 {
                    #expect(loser.status == 74 && !loser.killedBySignal, "round \(round): \(loser)")
                    expectOneErrorLine(loser)
                }
                if arguments[0] == "seal" {
                    expectVerifyOK(try sandbox.run(["verify", "-i", "id", "out.sarc"]), name: "out.sarc")
                    sandbox.removeItem("out.sarc")
                } else if arguments[0] == "open" {
                    #expect(try sandbox.read("dest/file") == sandbox.read("data/file"))
                    sandbox.removeItem("dest")
                } else {
                    #expect(try sandbox.mode("key") == 0o600)
                    sandbox.removeItem("key")
                }
                let leftovers = try sandbox.listing().filter { $0.hasPrefix(".") }
                #expect(leftovers.isEmpty, "round \(round): \(leftovers)")
            }
        }
    }
}
