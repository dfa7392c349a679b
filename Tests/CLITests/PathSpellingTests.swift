import Foundation
import TestSupport
import Glibc
import Testing

/// Every option that takes a path, given odd but legitimate spellings and
/// outright bad ones (issue 8, defect 1: `open -C d` trapped in Foundation's
/// path code). Whatever the spelling, the command either works or fails
/// with one `sealed-archive: error:` line and a documented exit code: never
/// a crash, a trap or a hang, and never a raw control character on the
/// terminal.
@Suite struct PathSpellingTests {
    /// Spellings of a name that does not exist yet, each of which must work
    /// as a new file or directory name.
    static let newNames = ["d", "é", "a b", "new\nline", "esc\u{1b}[31m", "\u{9b}c1", "x:y", String(repeating: "n", count: 200)]

    /// Spellings that must be refused, each with the exit codes allowed.
    static let badNames: [(name: String, why: String)] = [
        ("", "empty"),
        (String(repeating: "c", count: 300), "a 300-byte component"),
        (Array(repeating: String(repeating: "p", count: 200), count: 25).joined(separator: "/"), "longer than PATH_MAX"),
        ("missing-dir/x", "a parent that does not exist"),
    ]

    static let documentedCodes: Set<Int32> = [0, 64, 65, 74, 75, 77]

    /// The command ended as Spec/CLI.md allows: a documented exit code,
    /// not a signal; on failure one error line; no raw control character
    /// in anything printed.
    static func expectHandled(_ result: RunResult, _ context: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!result.killedBySignal, "\(context): \(result)", sourceLocation: sourceLocation)
        #expect(documentedCodes.contains(result.status), "\(context): undocumented exit: \(result)", sourceLocation: sourceLocation)
        // verify and drill report a failure as a FAILED result on standard
        // output; every other failure is one error line.
        if result.status != 0 && !result.stdoutText.contains("FAILED") {
            expectOneErrorLine(result, sourceLocation: sourceLocation)
        } else if result.status != 0 {
            #expect(result.stderrLinesWithoutWarnings.isEmpty, "\(context): \(result)", sourceLocation: sourceLocation)
        }
        for (stream, bytes) in [("stdout", result.stdout), ("stderr", result.stderrBytes)] {
            #expect(!containsRawControl(bytes), "\(context): raw control characters on \(stream): \(result)", sourceLocation: sourceLocation)
        }
    }

    /// A sandbox with an identity `id`, a signing key `sig` and a
    /// directory `data` holding `file`; returns it and the recipient.
    static func makeFixture() throws -> (Sandbox, String) {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try sandbox.makeSigningKey("sig")
        try FileManager.default.createDirectory(atPath: sandbox.path("data"), withIntermediateDirectories: false)
        try sandbox.write("data/file", Array("contents\n".utf8))
        return (sandbox, recipient)
    }

    /// The fast tier's names: non-ASCII, a newline and an escape sequence.
    static let fastNewNames = ["é", "new\nline", "esc\u{1b}[31m"]

    @Test(arguments: TestTier.scaled(fast: fastNewNames, full: newNames))
    func newOutputNamesWork(_ name: String) throws {
        let (sandbox, recipient) = try Self.makeFixture()
        defer { makeTreeRemovable(sandbox.root.path) }

        // seal -o NAME, --checksum-file, --chain with the same odd name in
        // a directory of its own.
        try FileManager.default.createDirectory(atPath: sandbox.path("out"), withIntermediateDirectories: false)
        let archive = "out/" + name
        let seal = try sandbox.run(["seal", "-r", recipient, "--sign-key", "sig", "-o", archive,
                                    "--checksum-file", "out/sum-" + name, "--chain", "out/chain-" + name, "data"])
        Self.expectHandled(seal, "seal -o \(name.debugDescription)")
        #expect(seal.status == 0, "\(seal)")
        #expect(sandbox.exists(archive) && sandbox.exists("out/sum-" + name) && sandbox.exists("out/chain-" + name))

        // open -C NAME, -C NAME/ (trailing slash), -o NAME, --list.
        for destination in [name, "slash-" + name + "/"] {
            let open = try sandbox.run(["open", "-i", "id", "-C", destination, archive])
            Self.expectHandled(open, "open -C \(destination.debugDescription)")
            #expect(open.status == 0, "\(open)")
            #expect(try sandbox.read(PathName(destination).trimmed + "/file") == Array("contents\n".utf8))
        }
        let toFile = try sandbox.run(["open", "-i", "id", "-o", "tar-" + name, archive])
        Self.expectHandled(toFile, "open -o \(name.debugDescription)")
        #expect(toFile.status == 0 && sandbox.exists("tar-" + name), "\(toFile)")

        // Keys written and read under the name.
        let keygen = try sandbox.run(["keygen", "-o", "key-" + name])
        Self.expectHandled(keygen, "keygen -o \(name.debugDescription)")
        #expect(keygen.status == 0, "\(keygen)")
        let verify = try sandbox.run(["verify", "-i", "id", "--checksum-file", "out/sum-" + name, "--chain", "out/chain-" + name, archive])
        Self.expectHandled(verify, "verify \(name.debugDescription)")
        #expect(verify.status == 0, "\(verify)")

        // drill --work-dir NAME (an existing directory of that name).
        try FileManager.default.createDirectory(atPath: sandbox.path("work-" + name), withIntermediateDirectories: false)
        let drill = try sandbox.run(["drill", "-i", "id", "--work-dir", "work-" + name, archive])
        Self.expectHandled(drill, "drill --work-dir \(name.debugDescription)")
        #expect(drill.status == 0, "\(drill)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.path("work-" + name)).isEmpty)
    }

    /// Every path-taking option, given each bad spelling: handled, with the
    /// error naming the problem, nothing left behind.
    @Test func badSpellingsOfEveryPathOptionAreRefused() throws {
        let (sandbox, recipient) = try Self.makeFixture()
        defer { makeTreeRemovable(sandbox.root.path) }
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "--sign-key", "sig", "-o", "a.sarc", "data"]))
        let before = try sandbox.listing()

        let commands: [(String, (String) -> [String])] = [
            ("seal -o", { ["seal", "-r", recipient, "-o", $0, "data"] }),
            ("seal INPUT", { ["seal", "-r", recipient, "-o", "x.sarc", $0] }),
            ("seal -R", { ["seal", "-R", $0, "-o", "x.sarc", "data"] }),
            ("seal --sign-key", { ["seal", "-r", recipient, "--sign-key", $0, "-o", "x.sarc", "data"] }),
            ("seal --checksum-file", { ["seal", "-r", recipient, "--checksum-file", $0, "-o", "x.sarc", "data"] }),
            ("seal --chain", { ["seal", "-r", recipient, "--chain", $0, "-o", "x.sarc", "data"] }),
            ("pack -o", { ["pack", "-o", $0, "data"] }),
            ("pack DIRECTORY", { ["pack", "-o", "x.tar", $0] }),
            ("open -i", { ["open", "-i", $0, "-C", "x", "a.sarc"] }),
            ("open -C", { ["open", "-i", "id", "-C", $0, "a.sarc"] }),
            ("open -o", { ["open", "-i", "id", "-o", $0, "a.sarc"] }),
            ("open ARCHIVE", { ["open", "-i", "id", "-C", "x", $0] }),
            ("open --signers", { ["open", "-i", "id", "--signers", $0, "-C", "x", "a.sarc"] }),
            ("open --keyring", { ["open", "--keyring", $0, "-C", "x", "a.sarc"] }),
            ("verify ARCHIVE", { ["verify", $0] }),
            ("verify --checksum-file", { ["verify", "--checksum-file", $0, "a.sarc"] }),
            ("verify --chain", { ["verify", "--chain", $0, "a.sarc"] }),
            ("inspect", { ["inspect", $0] }),
            ("drill --work-dir", { ["drill", "-i", "id", "--work-dir", $0, "a.sarc"] }),
            ("drill ARCHIVE", { ["drill", "-i", "id", $0] }),
            ("rewrap -o", { ["rewrap", "-i", "id", "-r", recipient, "--sign-key", "sig", "--allow-unsigned-source", "-o", $0, "a.sarc"] }),
            ("keygen -o", { ["keygen", "-o", $0] }),
            ("recipient", { ["recipient", $0] }),
            ("keys --keyring", { ["keys", "list", "--keyring", $0] }),
            ("keys review --archives", { ["keys", "review", "--keyring", "no-ring", "--archives", $0] }),
            ("keys import-paper -o", { ["keys", "import-paper", "-o", $0, "a.sarc"] }),
        ]
        for ((label, arguments), (name, why)) in TestTier.pairs(commands, Self.badNames) {
            let result = try sandbox.run(arguments(name))
            Self.expectHandled(result, "\(label) with \(why)")
            #expect(result.status != 0, "\(label) with \(why) should fail: \(result)")
        }
        let left = try sandbox.listing().filter { !before.contains($0) }
        #expect(left.isEmpty, "left behind: \(left)")
    }

    /// Devices and FIFOs: `-o /dev/null` writes to the device (never
    /// replaces it, even with --force), a device as a key, recipients,
    /// signers or checksum file is refused at once.
    @Test func devicesAndFIFOs() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try sandbox.makeSigningKey("sig")
        try sandbox.write("plain", Array("some bytes".utf8))
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "-o", "a.sarc", "plain"]))
        try FileManager.default.createDirectory(atPath: sandbox.path("data"), withIntermediateDirectories: false)
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "-o", "tree.sarc", "data"]))

        // A private null device, so that a regression replaces it rather
        // than the machine's /dev/null (root only; otherwise /dev/null
        // without --force, which a regression cannot replace).
        let null = mknod(sandbox.path("null"), S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0 ? sandbox.path("null") : "/dev/null"
        let force = null == "/dev/null" ? [] : ["--force"]
        let toNull = try sandbox.run(["seal", "-r", recipient, "-o", null, "--checksum-file", null] + force + ["plain"])
        #expect(toNull.status == 0, "\(toNull)")
        var info = stat()
        #expect(stat(null, &info) == 0 && info.st_mode & S_IFMT == S_IFCHR, "\(null) was replaced")
        #expect(try sandbox.partialFiles(for: "null").isEmpty)

        #expect(mkfifo(sandbox.path("fifo"), 0o600) == 0)
        let refusals: [(String, [String], Int32)] = [
            ("-i FIFO", ["open", "-i", "fifo", "-o", "out", "a.sarc"], 77),
            ("-i /dev/zero", ["open", "-i", "/dev/zero", "-o", "out", "a.sarc"], 77),
            ("--sign-key FIFO", ["seal", "-r", recipient, "--sign-key", "fifo", "-o", "x.sarc", "plain"], 77),
            ("-R FIFO", ["seal", "-R", "fifo", "-o", "x.sarc", "plain"], 77),
            ("--signers FIFO", ["verify", "--signers", "fifo", "a.sarc"], 77),
            ("recipient FIFO", ["recipient", "fifo"], 77),
            ("recipient /dev/zero", ["recipient", "/dev/zero"], 77),
            ("--checksum-file FIFO", ["verify", "--checksum-file", "fifo", "a.sarc"], 74),
            ("--chain FIFO", ["verify", "--chain", "fifo", "a.sarc"], 74),
            ("-C /dev/null", ["open", "-i", "id", "-C", "/dev/null", "tree.sarc"], 74),
        ]
        for (label, arguments, status) in refusals {
            let started = Date()
            let result = try sandbox.run(arguments)
            #expect(Date().timeIntervalSince(started) < 10, "\(label) took too long")
            #expect(result.status == status, "\(label): \(result)")
            Self.expectHandled(result, label)
        }
    }
}

/// Whether `bytes` hold a character a terminal would act on: C0 other than
/// newline and tab, DEL, or a C1 control encoded in UTF-8.
func containsRawControl(_ bytes: [UInt8]) -> Bool {
    let text = String(decoding: bytes, as: UTF8.self)
    return text.unicodeScalars.contains { scalar in
        (scalar.value < 0x20 && scalar != "\n" && scalar != "\t") || (0x7F...0x9F).contains(scalar.value)
    }
}

/// A path as the tests spell it.
struct PathName {
    let path: String
    init(_ path: String) { self.path = path }
    /// Without trailing slashes.
    var trimmed: String {
        var result = path
        while result.count > 1 && result.hasSuffix("/") { result.removeLast() }
        return result
    }
}
