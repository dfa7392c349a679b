import Foundation
import TestSupport
import SealedArchive
import Testing

/// Wrong keys, signer requirements, usage and I/O errors: exit codes and
/// messages of Spec/CLI.md.
@Suite struct ErrorTests {
    /// A sandbox with identities `id` (the recipient) and `stranger`,
    /// signing keys `sk` and `other-sk`, and `archive`, sealed to `id` and
    /// signed by `sk` (`unsigned` too, not signed).
    struct Fixture {
        let sandbox: Sandbox
        let recipient: String
        let signer: String
        let otherSigner: String
    }

    static func makeFixture() throws -> Fixture {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try sandbox.makeIdentity("stranger")
        let signer = try sandbox.makeSigningKey("sk")
        let otherSigner = try sandbox.makeSigningKey("other-sk")
        try sandbox.write("plain", randomBytes(50_000))
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "--sign-key", "sk", "--chunk-size", "4KiB",
                                       "-o", "archive", "plain"]))
        let unsigned = try sandbox.run(["seal", "-r", recipient, "-o", "unsigned", "plain"])
        #expect(unsigned.status == 0, "\(unsigned)")
        #expect(unsigned.stderrLines.filter { $0.hasPrefix("sealed-archive: warning: ") }.count == 1,
                "sealing without --sign-key warns: \(unsigned)")
        return Fixture(sandbox: sandbox, recipient: recipient, signer: signer, otherSigner: otherSigner)
    }

    // MARK: Wrong identity

    @Test func wrongIdentityIsExit77() throws {
        let fixture = try Self.makeFixture()
        let sandbox = fixture.sandbox
        let open = try sandbox.run(["open", "-i", "stranger", "-o", "out", "archive"])
        expectError(open, 77)
        #expect(open.stdout.isEmpty)
        expectNoOutput(sandbox, "out")

        let piped = try sandbox.run(["open", "-i", "stranger"], stdin: .file("archive"))
        expectError(piped, 77)
        #expect(piped.stdout.isEmpty)

        expectVerifyFailure(try sandbox.run(["verify", "-i", "stranger", "archive"]), 77, name: "archive")

        // With several identities, the one that is a recipient is used.
        expectSuccess(try sandbox.run(["open", "-i", "stranger", "-i", "id", "-o", "out", "archive"]))
        #expect(try sandbox.read("out") == sandbox.read("plain"))
    }

    @Test func signingKeyIsNotAnIdentity() throws {
        let fixture = try Self.makeFixture()
        let open = try fixture.sandbox.run(["open", "-i", "sk", "-o", "out", "archive"])
        expectError(open, 77, mentioning: ["sk"])
        expectNoOutput(fixture.sandbox, "out")
    }

    // MARK: Signers

    @Test func verifyWithTheRightSignerPasses() throws {
        let fixture = try Self.makeFixture()
        let result = try fixture.sandbox.run(["verify", "--signer", fixture.signer, "archive"])
        expectVerifyOK(result, name: "archive")
        #expect(result.stdoutText.contains(fixture.signer))
        // Any one of several trusted signers is enough.
        expectVerifyOK(try fixture.sandbox.run(["verify", "--signer", fixture.otherSigner, "--signer", fixture.signer,
                                                "-i", "id", "archive"]), name: "archive")
    }

    /// Without a required signer, verify says the result proves integrity
    /// only, whether the archive is unsigned or carries a signature nobody
    /// asked for; with one, it names the trusted signer and says nothing
    /// of the kind.
    @Test func verifyWithoutARequiredSignerSaysIntegrityOnly() throws {
        let fixture = try Self.makeFixture()
        let integrityOnly = "integrity only, anyone with a recipient's public key could have made this archive"
        for name in ["unsigned", "archive"] {
            let result = try fixture.sandbox.run(["verify", name])
            expectVerifyOK(result, name: name)
            #expect(result.stdoutText.contains(integrityOnly), "\(result)")
        }
        let required = try fixture.sandbox.run(["verify", "--signer", fixture.signer, "archive"])
        expectVerifyOK(required, name: "archive")
        #expect(!required.stdoutText.contains("integrity only"), "\(required)")
    }

    @Test func verifyWithAnotherSignerIsUntrusted() throws {
        let fixture = try Self.makeFixture()
        expectVerifyFailure(try fixture.sandbox.run(["verify", "--signer", fixture.otherSigner, "archive"]),
                            65, name: "archive")
        expectVerifyFailure(try fixture.sandbox.run(["verify", "--signer", fixture.otherSigner, "-i", "id", "archive"]),
                            65, name: "archive")
    }

    @Test func unsignedArchiveWithSignerRequiredIs65() throws {
        let fixture = try Self.makeFixture()
        let sandbox = fixture.sandbox
        expectVerifyFailure(try sandbox.run(["verify", "--signer", fixture.signer, "unsigned"]), 65, name: "unsigned")
        let open = try sandbox.run(["open", "-i", "id", "--signer", fixture.signer, "-o", "out", "unsigned"])
        expectError(open, 65)
        #expect(open.stdout.isEmpty)
        expectNoOutput(sandbox, "out")
        // Without --signer it opens, with a warning that its origin is unknown.
        let plain = try sandbox.run(["open", "-i", "id", "-o", "out", "unsigned"])
        expectSuccess(plain)
        #expect(plain.stderrLines.contains { $0.hasPrefix("sealed-archive: warning: ") }, "\(plain)")
        #expect(try sandbox.read("out") == sandbox.read("plain"))
    }

    @Test func openWithWrongSignerIs65AndWritesNothing() throws {
        let fixture = try Self.makeFixture()
        let sandbox = fixture.sandbox
        let open = try sandbox.run(["open", "-i", "id", "--signer", fixture.otherSigner, "-o", "out", "archive"])
        expectError(open, 65)
        #expect(open.stdout.isEmpty)
        expectNoOutput(sandbox, "out")
        // Checked before anything is decrypted: nothing on a pipe either.
        let piped = try sandbox.run(["open", "-i", "id", "--signer", fixture.otherSigner], stdin: .file("archive"))
        expectError(piped, 65)
        #expect(piped.stdout.isEmpty)
    }

    /// The exit code is the worst result (Spec/CLI.md): a damaged archive
    /// (65) outranks a missing key (77).
    @Test func verifyReportsEveryArchiveAndExitsWithTheWorstFailure() throws {
        let fixture = try Self.makeFixture()
        let sandbox = fixture.sandbox
        try sandbox.write("junk", Array("not an archive at all".utf8))
        let result = try sandbox.run(["verify", "-i", "stranger", "archive", "junk"])
        #expect(result.status == 65, "\(result)")
        #expect(result.stdoutLines.count == 2, "\(result)")
        #expect(result.stdoutLines.first?.hasPrefix("FAILED archive [") == true, "\(result)")
        #expect(result.stdoutLines.last?.hasPrefix("FAILED junk [") == true, "\(result)")
    }

    // MARK: Usage and I/O

    @Test func sealWithoutRecipientIsUsage() throws {
        let sandbox = try Sandbox()
        try sandbox.write("plain", Array("x".utf8))
        let result = try sandbox.run(["seal", "-o", "archive", "plain"])
        #expect(result.status == 64, "\(result)")
        expectNoOutput(sandbox, "archive")
    }

    @Test func openWithoutIdentityIsUsage() throws {
        let fixture = try Self.makeFixture()
        let result = try fixture.sandbox.run(["open", "-o", "out", "archive"])
        #expect(result.status == 64, "\(result)")
        #expect(result.stdout.isEmpty)
        expectNoOutput(fixture.sandbox, "out")
    }

    @Test(arguments: ["3000", "2KiB", "32MiB", "1GiB", "0", "-4096", "4kib", "abc", ""])
    func badChunkSizeIsUsage(size: String) throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try sandbox.write("plain", Array("x".utf8))
        let result = try sandbox.run(["seal", "-r", recipient, "--chunk-size", size, "-o", "archive", "plain"])
        #expect(result.status == 64, "\(result)")
        expectNoOutput(sandbox, "archive")
    }

    @Test(arguments: [("4KiB", 12), ("4096", 12), ("64KiB", 16), ("1MiB", 20), ("16MiB", 24)])
    func goodChunkSizesAreRecorded(size: String, log2: Int) throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try sandbox.makeSigningKey("sk")
        let seal = try sandbox.run(["seal", "-r", recipient, "--sign-key", "sk", "--chunk-size", size],
                                   stdin: .bytes(Array("hello".utf8)))
        expectSuccess(seal)
        #expect(try ArchiveLayout(seal.stdout).chunkSize == 1 << log2)
    }

    @Test(arguments: [
        "age1qqqq",
        "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwk",  // bad checksum
        "AGE1ZVKYG2LQZRAA2LNJVQEJ32NKUU0UES2S82HZRYE869XEEXVN73EQUNUJWJ",  // upper case
        "sealsig1zfnpfp75znyeaqz0zcksh6n2kv9k2vgs55fntlyjknh35asw097srdpkym",  // a signer, not a recipient
        "not-a-key",
    ])
    func malformedRecipientIsNoUsableKey(recipient: String) throws {
        let sandbox = try Sandbox()
        try sandbox.makeSigningKey("sk")
        try sandbox.write("plain", Array("x".utf8))
        let result = try sandbox.run(["seal", "-r", recipient, "--sign-key", "sk", "-o", "archive", "plain"])
        expectError(result, 77)
        expectNoOutput(sandbox, "archive")
    }

    @Test func missingInputIsIOError() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try sandbox.makeSigningKey("sk")
        let seal = try sandbox.run(["seal", "-r", recipient, "--sign-key", "sk", "-o", "archive", "no-such-file"])
        expectError(seal, 74, mentioning: ["no-such-file"])
        expectNoOutput(sandbox, "archive")

        let open = try sandbox.run(["open", "-i", "id", "-o", "out", "no-such-archive"])
        expectError(open, 74, mentioning: ["no-such-archive"])
        expectNoOutput(sandbox, "out")

        let missingKey = try sandbox.run(["open", "-i", "no-such-id", "-o", "out", "no-such-archive"])
        #expect(missingKey.status == 74 || missingKey.status == 77, "\(missingKey)")
        expectOneErrorLine(missingKey, mentioning: ["no-such-id"])

        let verify = try sandbox.run(["verify", "no-such-archive"])
        expectVerifyFailure(verify, 74, name: "no-such-archive")
    }

    @Test func existingSealOutputNeedsForce() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try sandbox.makeSigningKey("sk")
        try sandbox.write("plain", randomBytes(20_000))
        try sandbox.write("archive", Array("precious\n".utf8), mode: 0o600)

        let refused = try sandbox.run(["seal", "-r", recipient, "--sign-key", "sk", "-o", "archive", "plain"])
        expectError(refused, 74, mentioning: ["archive"])
        #expect(try sandbox.read("archive") == Array("precious\n".utf8))
        #expect(try sandbox.mode("archive") == 0o600)
        #expect(try sandbox.partialFiles(for: "archive").isEmpty)

        let forced = try sandbox.run(["seal", "-r", recipient, "--sign-key", "sk", "--force", "-o", "archive", "plain"])
        expectSuccess(forced)
        #expect(try sandbox.mode("archive") == 0o644)
        #expect(try sandbox.partialFiles(for: "archive").isEmpty)
        expectSuccess(try sandbox.run(["open", "-i", "id", "-o", "out", "archive"]))
        #expect(try sandbox.read("out") == sandbox.read("plain"))
    }

    @Test func existingOpenOutputNeedsForce() throws {
        let fixture = try Self.makeFixture()
        let sandbox = fixture.sandbox
        try sandbox.write("out", Array("precious\n".utf8))

        let refused = try sandbox.run(["open", "-i", "id", "-o", "out", "archive"])
        expectError(refused, 74, mentioning: ["out"])
        #expect(refused.stdout.isEmpty)
        #expect(try sandbox.read("out") == Array("precious\n".utf8))
        #expect(try sandbox.partialFiles(for: "out").isEmpty)

        let forced = try sandbox.run(["open", "-i", "id", "--force", "-o", "out", "archive"])
        expectSuccess(forced)
        #expect(try sandbox.read("out") == sandbox.read("plain"))
        #expect(try sandbox.mode("out") == 0o600)
        #expect(try sandbox.partialFiles(for: "out").isEmpty)
    }

    /// `-R` files and `-r` are merged, duplicates once: 64 distinct
    /// recipients are allowed.
    @Test func recipientsFilesAndDuplicatesAreMerged() throws {
        let sandbox = try Sandbox()
        let mine = try sandbox.makeIdentity("id")
        try sandbox.makeSigningKey("sk")
        let others = try (0..<63).map { _ in try Identity.generate().recipient.description }
        let listing = "# team\n\n" + others.map { "  \($0)  \n" }.joined() + "\(mine)\n"
        try sandbox.write("team", Array(listing.utf8))
        try sandbox.write("plain", randomBytes(5000))
        let seal = try sandbox.run(["seal", "-R", "team", "-r", mine, "-r", others[0], "-R", "team",
                                    "--sign-key", "sk", "-o", "archive", "plain"])
        expectSuccess(seal)
        let layout = try ArchiveLayout(sandbox.read("archive"))
        #expect(layout.recipientCount == 64)
        let ids = Set((0..<layout.recipientCount).map { layout.stanzaKeyID($0) })
        let expected = Set(try (others + [mine]).map { try Recipient(parsing: $0).keyID.description })
        #expect(ids == expected)
        expectSuccess(try sandbox.run(["open", "-i", "id", "-o", "out", "archive"]))
        #expect(try sandbox.read("out") == sandbox.read("plain"))
    }

    /// Spec/CLI.md `seal`: 1 to 64 recipients in all; more is an option out
    /// of range, a usage error (64), not a damaged archive (65).
    @Test func moreThan64RecipientsIsUsage() throws {
        let sandbox = try Sandbox()
        try sandbox.makeSigningKey("sk")
        let recipients = try (0..<65).map { _ in try Identity.generate().recipient.description }
        try sandbox.write("many", Array(recipients.map { $0 + "\n" }.joined().utf8))
        try sandbox.write("plain", Array("x".utf8))
        let seal = try sandbox.run(["seal", "-R", "many", "--sign-key", "sk", "-o", "archive", "plain"])
        expectError(seal, 64)
        expectNoOutput(sandbox, "archive")
    }

    @Test func missingRecipientsFileIsIOError() throws {
        let sandbox = try Sandbox()
        try sandbox.makeSigningKey("sk")
        try sandbox.write("plain", Array("x".utf8))
        let seal = try sandbox.run(["seal", "-R", "no-such-list", "--sign-key", "sk", "-o", "archive", "plain"])
        expectError(seal, 74, mentioning: ["no-such-list"])
        expectNoOutput(sandbox, "archive")
    }

    @Test(arguments: ["", "tab\there", "bell\u{07}", "del\u{7F}", "c1\u{85}", "rlo\u{202E}x", "alm\u{061C}x", "iss\u{206A}x",
                      String(repeating: "a", count: 256)])
    func badLabelIsUsage(label: String) throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try sandbox.makeSigningKey("sk")
        try sandbox.write("plain", Array("x".utf8))
        let seal = try sandbox.run(["seal", "-r", recipient, "--sign-key", "sk", "--label", label, "-o", "archive", "plain"])
        expectError(seal, 64)
        expectNoOutput(sandbox, "archive")
    }

    /// `seal` refuses (64) to write an archive to a terminal.
    @Test(.enabled(if: ExternalTool.script.enabled, "needs script(1) (Debian package bsdutils)"))
    func sealRefusesATerminal() throws {
        let script = try ExternalTool.script.path()
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try sandbox.makeSigningKey("sk")
        // script(1) runs the command with a pseudo-terminal as its standard
        // output and, with -e, exits with its status.
        let binary = try CLI.binary().path
        let result = try sandbox.execute(script, ["-qec", "'\(binary)' seal -r \(recipient) --sign-key sk", "/dev/null"])
        #expect(result.status == 64, "\(result)")
        #expect(result.stdoutText.contains("sealed-archive: error: "), "\(result)")
        #expect(!result.stdout.starts(with: Array("SEALARC".utf8)) && !result.stdoutText.contains("SEALARC"), "\(result)")
    }

    /// Standard output that cannot be written (a full disk: /dev/full) is
    /// an I/O error, 74, for every command that writes there; success would
    /// leave a script with an empty file it believes complete.
    @Test(arguments: [
        ["open", "-i", "id", "archive"],
        ["seal", "-r", "RECIPIENT", "--sign-key", "sk", "plain"],
        ["keygen"],
        ["recipient", "id"],
        ["inspect", "archive"],
        ["inspect", "--json", "archive"],
        ["verify", "archive"],
    ])
    func fullStandardOutputIsIOError(arguments: [String]) throws {
        try #require(FileManager.default.fileExists(atPath: "/dev/full"), "/dev/full is needed")
        let fixture = try Self.makeFixture()
        let command = arguments.map { $0 == "RECIPIENT" ? fixture.recipient : $0 }
            .map { "'\($0)'" }.joined(separator: " ")
        let result = try fixture.sandbox.shell("\"$SA\" \(command) > /dev/full")
        expectError(result, 74)
    }

    /// Spec/CLI.md: "Every error is one line on standard error,
    /// `sealed-archive: error: …`" — usage errors included.
    @Test(arguments: [
        ["seal", "-o", "archive", "plain"],
        ["open", "-o", "out", "archive"],
        ["seal", "-r", "RECIPIENT", "--chunk-size", "3000", "-o", "archive", "plain"],
        ["verify"],
        ["seal", "-r", "RECIPIENT", "--no-such-option", "plain"],
    ])
    func usageErrorsAreOneLine(arguments: [String]) throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try sandbox.write("plain", Array("x".utf8))
        let result = try sandbox.run(arguments.map { $0 == "RECIPIENT" ? recipient : $0 })
        expectError(result, 64)
        #expect(result.stdout.isEmpty, "\(result)")
    }
}
