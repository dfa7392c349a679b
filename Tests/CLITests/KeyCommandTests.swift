import Foundation
import TestSupport
import SealedArchive
import Testing

/// `keygen`, `recipient`, age interoperability and key-file permissions
/// (Spec/CLI.md, Spec/KEYS.md section 4).
@Suite struct KeyCommandTests {
    @Test func harnessFindsTheBinary() throws {
        let binary = try CLI.binary()
        #expect(FileManager.default.isExecutableFile(atPath: binary.path))
        if ProcessInfo.processInfo.environment["SEALED_ARCHIVE_BIN"] == nil {
            // Found beside the test executable, as `swift test` lays them out.
            let testExecutable = try #require(Bundle.main.executableURL).resolvingSymlinksInPath()
            #expect(binary.lastPathComponent == "sealed-archive")
            #expect(testExecutable.path.hasPrefix(binary.deletingLastPathComponent().path + "/"),
                    "\(binary.path) is not beside \(testExecutable.path)")
        }
        let sandbox = try Sandbox()
        let result = try sandbox.run(["--help"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdoutText.contains("keygen"), "\(result)")
    }

    @Test func keygenWritesAPrivateIdentityFileAndPrintsItsRecipient() throws {
        let sandbox = try Sandbox()
        // Even with a permissive umask the file is 0600.
        let result = try sandbox.shell(#"umask 000; exec "$SA" keygen -o id"#)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.isEmpty, "\(result)")
        #expect(result.stderrLines.count == 1, "\(result)")
        let line = try #require(result.stderrLines.first)
        #expect(line.hasPrefix("Public key: age1"), "\(result)")
        let printed = String(line.dropFirst("Public key: ".count))
        #expect(printed.count == 62)

        #expect(try sandbox.mode("id") == 0o600)
        let text = String(decoding: try sandbox.read("id"), as: UTF8.self)
        let keyLines = RunResult.lines(text).filter { !$0.isEmpty && !$0.hasPrefix("#") }
        #expect(keyLines.count == 1)
        #expect(keyLines.first?.hasPrefix("AGE-SECRET-KEY-1") == true)
        #expect(keyLines.first?.count == 74)
        #expect(text.contains("# public key: \(printed)\n"))
        // The secret never appears on the terminal.
        #expect(!result.stderr.contains(keyLines.first?.dropFirst(16).prefix(20) ?? "?"))

        #expect(try sandbox.recipient("id") == printed)
        #expect(try sandbox.partialFiles(for: "id").isEmpty)
    }

    @Test func keygenRefusesAnExistingFile() throws {
        let sandbox = try Sandbox()
        try sandbox.makeIdentity("id")
        let before = try sandbox.read("id")
        let again = try sandbox.run(["keygen", "-o", "id"])
        expectError(again, 74, mentioning: ["id"])
        #expect(again.stdout.isEmpty)
        #expect(try sandbox.read("id") == before)
        #expect(try sandbox.mode("id") == 0o600)

        // A file that is not a key is not replaced either, by either kind.
        try sandbox.write("notes", Array("keep me\n".utf8))
        expectError(try sandbox.run(["keygen", "-o", "notes"]), 74, mentioning: ["notes"])
        expectError(try sandbox.run(["keygen", "--signing", "-o", "notes"]), 74, mentioning: ["notes"])
        #expect(try sandbox.read("notes") == Array("keep me\n".utf8))
        #expect(try sandbox.mode("notes") == 0o644)
        #expect(try sandbox.listing() == ["id", "notes"])
    }

    @Test func keygenSigningWritesASigningKey() throws {
        let sandbox = try Sandbox()
        let result = try sandbox.shell(#"umask 000; exec "$SA" keygen --signing -o sk"#)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderrLines.count == 1, "\(result)")
        let line = try #require(result.stderrLines.first)
        #expect(line.hasPrefix("Public key: sealsig1"), "\(result)")
        let printed = String(line.dropFirst("Public key: ".count))
        #expect(try sandbox.mode("sk") == 0o600)
        let text = String(decoding: try sandbox.read("sk"), as: UTF8.self)
        let keyLines = RunResult.lines(text).filter { !$0.isEmpty && !$0.hasPrefix("#") }
        #expect(keyLines.count == 1)
        #expect(keyLines.first?.hasPrefix("SEALED-SIGNING-KEY-1") == true)
        #expect(!result.stderr.contains(keyLines.first?.dropFirst(20).prefix(20) ?? "?"))
        #expect(try sandbox.recipient("sk") == printed)
        #expect(try SignerKey(parsing: printed).description == printed)
    }

    @Test func keygenToStandardOutput() throws {
        let sandbox = try Sandbox()
        let result = try sandbox.run(["keygen"])
        #expect(result.status == 0, "\(result)")
        let printed = try #require(result.stderrLines.first.map { String($0.dropFirst("Public key: ".count)) })
        #expect(result.stdoutLines.contains { $0.hasPrefix("AGE-SECRET-KEY-1") }, "\(result)")
        // Standard input has no mode: `recipient -` reads it.
        let recipient = try sandbox.run(["recipient", "-"], stdin: .bytes(result.stdout))
        #expect(recipient.status == 0, "\(recipient)")
        #expect(recipient.stdoutLines == [printed])
    }

    /// KEYS.md section 4: CR before LF is ignored, several identities are
    /// allowed, comments and blank lines are skipped.
    @Test func identityFileVariantsAreRead() throws {
        let sandbox = try Sandbox()
        let first = try sandbox.makeIdentity("one")
        let second = try sandbox.makeIdentity("two")
        let text = String(decoding: try sandbox.read("one") + Array("\n# another\n\n".utf8) + sandbox.read("two"),
                          as: UTF8.self)
        try sandbox.write("both", Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8), mode: 0o600)
        let result = try sandbox.run(["recipient", "both"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdoutLines == [first, second])
        // Either identity in the file opens an archive sealed to the other.
        try sandbox.makeSigningKey("sk")
        let seal = try sandbox.run(["seal", "-r", second, "--sign-key", "sk"], stdin: .bytes(Array("hi".utf8)))
        expectSuccess(seal)
        let open = try sandbox.run(["open", "-i", "both"], stdin: .bytes(seal.stdout))
        expectSuccess(open)
        #expect(open.stdout == Array("hi".utf8))
    }

    /// A key line with surrounding spaces, an empty file, a comments-only
    /// file and a file mixing kinds are malformed key files: 77.
    @Test(arguments: [
        ("spaces", " KEY"),
        ("comments", "# nothing here\n\n"),
        ("mixed", "KEY\nSIGNING"),
    ])
    func malformedKeyFilesAreRefused(name: String, template: String) throws {
        let sandbox = try Sandbox()
        try sandbox.makeIdentity("id")
        try sandbox.makeSigningKey("sk")
        let identity = try #require(RunResult.lines(String(decoding: try sandbox.read("id"), as: UTF8.self)).last)
        let signing = try #require(RunResult.lines(String(decoding: try sandbox.read("sk"), as: UTF8.self)).last)
        let text = template.replacingOccurrences(of: "SIGNING", with: signing).replacingOccurrences(of: "KEY", with: identity)
        try sandbox.write(name, Array(text.utf8), mode: 0o600)
        let result = try sandbox.run(["recipient", name])
        expectError(result, 77, mentioning: [name])
        #expect(result.stdout.isEmpty)
        // The key's data part (after the "…-1" separator) never appears.
        for secret in [identity, signing] {
            let data = String(secret[secret.index(after: try #require(secret.lastIndex(of: "1")))...])
            #expect(!result.stderr.contains(data.prefix(20)), "no secret in messages: \(result)")
        }
    }

    /// An empty (0-byte) identity file is refused with 77, and the message
    /// says it holds no key, as for a comments-only file.
    @Test func emptyKeyFileSaysItHoldsNoKey() throws {
        let sandbox = try Sandbox()
        try sandbox.write("empty", [], mode: 0o600)
        try sandbox.write("comments", Array("# only a comment\n".utf8), mode: 0o600)
        let comments = try sandbox.run(["recipient", "comments"])
        expectError(comments, 77, mentioning: ["comments", "no key"])
        let empty = try sandbox.run(["recipient", "empty"])
        expectError(empty, 77, mentioning: ["empty", "no key"])
    }

    /// Identities made by age's own `age-keygen` work unchanged.
    @Test(.enabled(if: ExternalTool.ageKeygen.enabled, "needs age-keygen (Debian package age)"))
    func ageKeygenIdentitiesAreAccepted() throws {
        let ageKeygen = try ExternalTool.ageKeygen.path()
        let sandbox = try Sandbox()
        let made = try sandbox.execute(ageKeygen, ["-o", "age-id"])
        try #require(made.status == 0, "\(made)")
        let ageRecipient = try sandbox.execute(ageKeygen, ["-y", "age-id"])
        try #require(ageRecipient.status == 0, "\(ageRecipient)")
        let expected = ageRecipient.stdoutText.trimmingCharacters(in: .newlines)
        #expect(expected.hasPrefix("age1"))

        let ours = try sandbox.run(["recipient", "age-id"])
        #expect(ours.status == 0, "\(ours)")
        #expect(ours.stdoutText == ageRecipient.stdoutText)

        try sandbox.makeSigningKey("sk")
        try sandbox.write("plain", randomBytes(10_000))
        expectSuccess(try sandbox.run(["seal", "-r", expected, "--sign-key", "sk", "-o", "archive", "plain"]))
        expectSuccess(try sandbox.run(["open", "-i", "age-id", "-o", "out", "archive"]))
        #expect(try sandbox.read("out") == sandbox.read("plain"))
    }

    /// A secret key file readable by group or others is refused, naming the
    /// file and the fix, whichever command reads it.
    @Test(arguments: TestTier.sample([0o644, 0o640, 0o604, 0o660], fast: 2))
    func looseKeyFilesAreRefused(mode: Int) throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("my-id")
        try sandbox.makeSigningKey("my-sk")
        try sandbox.makeSigningKey("good-sk")
        try sandbox.write("plain", Array("secret".utf8))
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "--sign-key", "good-sk", "-o", "archive", "plain"]))
        try sandbox.setMode("my-id", mode)
        try sandbox.setMode("my-sk", mode)

        for file in ["my-id", "my-sk"] {
            let result = try sandbox.run(["recipient", file])
            expectError(result, 77, mentioning: [file, "chmod 600"])
            #expect(result.stdout.isEmpty, "\(result)")
        }
        let open = try sandbox.run(["open", "-i", "my-id", "-o", "out", "archive"])
        expectError(open, 77, mentioning: ["my-id", "chmod 600"])
        #expect(open.stdout.isEmpty)
        expectNoOutput(sandbox, "out")

        let verify = try sandbox.run(["verify", "-i", "my-id", "archive"])
        #expect(verify.status == 77, "\(verify)")
        expectOneErrorLine(verify, mentioning: ["my-id", "chmod 600"])

        let seal = try sandbox.run(["seal", "-r", recipient, "--sign-key", "my-sk", "-o", "archive2", "plain"])
        expectError(seal, 77, mentioning: ["my-sk", "chmod 600"])
        expectNoOutput(sandbox, "archive2")

        // Fixed as the message says, the same files work.
        try sandbox.setMode("my-id", 0o600)
        expectSuccess(try sandbox.run(["open", "-i", "my-id", "-o", "out", "archive"]))
    }
}
