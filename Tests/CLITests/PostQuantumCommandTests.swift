import Foundation
import SealedArchive
import Testing
import TestSupport

/// Post-quantum recipients as a new user meets them (issue 11): keys made
/// by `keygen --pq` or by `age-keygen -pq`, sealing and opening, the refusal
/// to mix kinds, protected and paper keys, rewrap, and a keyring migrated
/// from X25519.
@Suite struct PostQuantumCommandTests {
    func tree(_ sandbox: Sandbox) throws {
        try FileManager.default.createDirectory(atPath: sandbox.path("data"), withIntermediateDirectories: false)
        try sandbox.write("data/env.backup", Array("SECRET=1\n".utf8))
        try sandbox.write("data/db.sql", randomBytes(70_000))
    }

    @Test func keygenPQMakesAnIdentityThatSealsAndOpensADirectory() throws {
        let sandbox = try Sandbox()
        let made = try sandbox.run(["keygen", "--pq", "-o", "pq.key"])
        #expect(made.status == 0, "\(made)")
        #expect(try sandbox.mode("pq.key") == 0o600)
        let text = String(decoding: try sandbox.read("pq.key"), as: UTF8.self)
        #expect(text.split(separator: "\n").last?.hasPrefix("AGE-SECRET-KEY-PQ-1") == true)
        let recipient = try sandbox.recipient("pq.key")
        #expect(recipient.hasPrefix("age1pq1") && recipient.utf8.count == 1959)
        #expect(made.stderr.contains("Public key: \(recipient)"))

        try tree(sandbox)
        let signer = try sandbox.makeSigningKey("host.key")
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "--sign-key", "host.key", "-o", "a.sarc", "data"]))
        let opened = try sandbox.run(["open", "-i", "pq.key", "--signer", signer, "-C", "out", "a.sarc"])
        #expect(opened.status == 0, "\(opened)")
        #expect(try sandbox.read("out/env.backup") == Array("SECRET=1\n".utf8))
        expectSuccess(try sandbox.run(["verify", "-i", "pq.key", "--signer", signer, "a.sarc"]))

        let summary = try JSONDecoder().decode(ArchiveSummary.self, from: Data(try sandbox.run(["inspect", "--json", "a.sarc"]).stdout))
        #expect(summary.recipient_types == ["post-quantum"])
        #expect(summary.recipients == [try Recipient(parsing: recipient).keyID.description])
        #expect(try sandbox.run(["inspect", "a.sarc"]).stdoutText.contains("post-quantum); post-quantum"))

        // Signing keys stay Ed25519.
        #expect(try sandbox.run(["keygen", "--pq", "--signing", "-o", "x.key"]).status == 64)
        #expect(!sandbox.exists("x.key"))
    }

    /// A key file made by `age-keygen -pq` works unchanged, and `recipient`
    /// prints what `age-keygen -y` prints for it.
    @Test func anAgeKeygenPQFileWorksUnchanged() throws {
        let sandbox = try Sandbox()
        try sandbox.write("age.key", Array(AgeTestKeys.postQuantumKeyFile.utf8), mode: 0o600)
        #expect(try sandbox.recipient("age.key") == AgeTestKeys.postQuantumRecipient)
        try sandbox.write("plain", Array("from age's key".utf8))
        expectSuccess(try sandbox.run(["seal", "-r", AgeTestKeys.postQuantumRecipient, "-o", "a.sarc", "plain"]))
        let opened = try sandbox.run(["open", "-i", "age.key", "a.sarc"])
        expectSuccess(opened)
        #expect(opened.stdoutText == "from age's key")
        // An identity file may hold both kinds.
        let classical = try sandbox.makeIdentity("classical.key")
        let both = try sandbox.read("classical.key") + Array(AgeTestKeys.postQuantumKeyFile.utf8)
        try sandbox.write("both.key", both, mode: 0o600)
        #expect(try sandbox.recipient("both.key") == classical + "\n" + AgeTestKeys.postQuantumRecipient)
        #expect(try sandbox.run(["open", "-i", "both.key", "a.sarc"]).stdoutText == "from age's key")
    }

    @Test func mixingKindsIsRefusedUnlessAllowed() throws {
        let sandbox = try Sandbox()
        #expect(try sandbox.run(["keygen", "--pq", "-o", "pq.key"]).status == 0)
        let pq = try sandbox.recipient("pq.key")
        let classical = try sandbox.makeIdentity("classical.key")
        try sandbox.write("plain", Array("mixed".utf8))

        let refused = try sandbox.run(["seal", "-r", pq, "-r", classical, "-o", "a.sarc", "plain"])
        #expect(refused.status == 64, "\(refused)")
        #expect(refused.stderrLinesWithoutWarnings.count == 1, "\(refused)")
        #expect(refused.stderr.contains("--allow-mixed-recipients") && refused.stderr.contains("quantum"), "\(refused)")
        #expect(!sandbox.exists("a.sarc"))
        // A recipients file mixing them is refused the same way.
        try sandbox.write("recipients", Array("\(pq)\n\(classical)\n".utf8))
        #expect(try sandbox.run(["seal", "-R", "recipients", "-o", "a.sarc", "plain"]).status == 64)

        let allowed = try sandbox.run(["seal", "--allow-mixed-recipients", "-R", "recipients", "-o", "a.sarc", "plain"])
        #expect(allowed.status == 0, "\(allowed)")
        #expect(allowed.stderr.contains("only as safe as X25519"), "\(allowed)")
        #expect(try sandbox.run(["inspect", "a.sarc"]).stdoutText.contains("mixed: only as safe as X25519"))
        for key in ["pq.key", "classical.key"] {
            #expect(try sandbox.run(["open", "-i", key, "a.sarc"]).stdoutText == "mixed")
        }
        // Format 1 holds X25519 stanzas only.
        let v1 = try sandbox.run(["seal", "--format-version", "1", "-r", pq, "-o", "v1.sarc", "plain"])
        #expect(v1.status == 64 && v1.stderr.contains("format version 2"), "\(v1)")
        #expect(!sandbox.exists("v1.sarc"))
    }

    @Test func protectedAndPaperPostQuantumKeysWork() throws {
        let sandbox = try Sandbox()
        try sandbox.write("pass", Array("correct horse\n".utf8))
        let made = try sandbox.shell("exec \"$SA\" keygen --pq -o pq.key --passphrase-fd 3 3<pass")
        #expect(made.status == 0, "\(made)")
        #expect(String(decoding: try sandbox.read("pq.key"), as: UTF8.self).contains("SEALED-PROTECTED-KEY-1"))
        let recipient = try sandbox.shell("exec \"$SA\" recipient --passphrase-fd 3 pq.key 3<pass")
        expectSuccess(recipient)
        #expect(recipient.stdoutText.hasPrefix("age1pq1"))

        // A post-quantum keyring key goes to paper and back.
        try sandbox.initKeyring()
        let list = try sandbox.run(["keys", "list", "--keyring", "ring"])
        let line = try #require(list.stdoutLines.first { $0.contains(" encryption ") })
        #expect(line.contains("age1pq1"))
        let paper = try sandbox.run(["keys", "export-paper", "--keyring", "ring", String(line.prefix(16))])
        #expect(paper.status == 0, "\(paper)")
        try sandbox.write("paper.txt", paper.stdout)
        #expect(try sandbox.run(["keys", "import-paper", "-o", "restored.key", "paper.txt"]).status == 0)
        #expect(line.hasSuffix(try sandbox.recipient("restored.key")))
    }

    @Test func rewrapMovesAClassicalArchiveAndSaysWhatItCannotDo() throws {
        let sandbox = try Sandbox()
        let classical = try sandbox.makeIdentity("classical.key")
        let signer = try sandbox.makeSigningKey("host.key")
        #expect(try sandbox.run(["keygen", "--pq", "-o", "pq.key"]).status == 0)
        let pq = try sandbox.recipient("pq.key")
        try sandbox.write("plain", Array("old backup".utf8))
        expectSuccess(try sandbox.run(["seal", "-r", classical, "--sign-key", "host.key", "-o", "old.sarc", "plain"]))

        let moved = try sandbox.run(["rewrap", "-i", "classical.key", "-r", pq, "--sign-key", "host.key", "--signer", signer, "-o", "new.sarc", "old.sarc"])
        #expect(moved.status == 0, "\(moved)")
        #expect(moved.stderr.contains("only sealing again protects the data"), "\(moved)")
        #expect(try sandbox.run(["open", "-i", "pq.key", "new.sarc"]).stdoutText == "old backup")
        #expect(try sandbox.run(["open", "-i", "classical.key", "new.sarc"]).status == 77)

        let mixed = try sandbox.run(["rewrap", "-i", "classical.key", "-r", pq, "-r", classical, "--sign-key", "host.key",
                                     "--signer", signer, "-o", "mixed.sarc", "old.sarc"])
        #expect(mixed.status == 64, "\(mixed)")
        #expect(!sandbox.exists("mixed.sarc"))
        // A format 1 archive cannot take a post-quantum stanza.
        expectSuccess(try sandbox.run(["seal", "--format-version", "1", "-r", classical, "--sign-key", "host.key", "-o", "v1.sarc", "plain"]))
        let v1 = try sandbox.run(["rewrap", "-i", "classical.key", "-r", pq, "--sign-key", "host.key", "--signer", signer, "-o", "v1pq.sarc", "v1.sarc"])
        #expect(v1.status == 64 && v1.stderr.contains("format version 2"), "\(v1)")
        #expect(!sandbox.exists("v1pq.sarc"))
    }

    /// A classical keyring is told to migrate, `rotate --pq` does it, the
    /// archives sealed before still open, and review names them while they
    /// are inside retention.
    @Test func aClassicalKeyringMigratesAndItsArchivesStillOpen() throws {
        let sandbox = try Sandbox()
        try sandbox.initKeyring(classical: true)
        try sandbox.exportRecipients()
        try FileManager.default.createDirectory(atPath: sandbox.path("store"), withIntermediateDirectories: false)
        try sandbox.write("plain", Array("before".utf8))
        expectSuccess(try sandbox.run(["seal", "-R", "recipients", "-o", "store/before.sarc", "plain"]))

        let due = try sandbox.run(["keys", "review", "--keyring", "ring", "--archives", "store"])
        #expect(due.status == 75, "\(due)")
        #expect(due.stdoutText.contains("MIGRATE TO POST-QUANTUM"), "\(due)")
        #expect(due.stdoutText.contains("CLASSICAL: 1 archive inside retention has a classical (X25519) stanza: before.sarc"), "\(due)")

        #expect(try sandbox.run(["keys", "rotate", "--keyring", "ring", "--pq", "--signing"]).status == 64)
        #expect(try sandbox.run(["keys", "rotate", "--keyring", "ring", "--pq"]).status == 0)
        try sandbox.exportRecipients(force: true)
        #expect(String(decoding: try sandbox.read("recipients"), as: UTF8.self).contains("age1pq1"))
        // A classical escrow key beside it would make a file seal refuses.
        let escrow = try sandbox.makeIdentity("escrow.key")
        let mixed = try sandbox.run(["keys", "export-recipients", "--keyring", "ring", "--extra-recipient", escrow, "-o", "mixed"])
        #expect(mixed.status == 64 && mixed.stderr.contains("--allow-mixed-recipients"), "\(mixed)")
        #expect(!sandbox.exists("mixed"))
        try sandbox.write("plain", Array("after".utf8))
        expectSuccess(try sandbox.run(["seal", "-R", "recipients", "-o", "store/after.sarc", "plain"]))

        let review = try sandbox.run(["keys", "review", "--keyring", "ring", "--archives", "store", "--json"])
        #expect(review.status == 0, "\(review)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(review.stdout)) as? [String: Any])
        let actions = try #require(object["actions"] as? [[String: Any]])
        #expect(!actions.contains { $0["kind"] as? String == "migrate_to_post_quantum" })
        #expect(actions.first { $0["kind"] as? String == "classically_wrapped" }?["archives"] as? [String] == ["before.sarc"])
        for (name, plaintext) in [("before", "before"), ("after", "after")] {
            #expect(try sandbox.run(["open", "--keyring", "ring", "store/\(name).sarc"]).stdoutText == plaintext)
        }
    }
}
