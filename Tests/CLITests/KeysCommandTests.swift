import Foundation
import TestSupport
import Testing

/// `sealed-archive keys …` end to end: a keyring made, rotated, exported,
/// reviewed, and used to open archives by key id.
@Suite struct KeysCommandTests {
    @Test func aKeyringSealsAndOpensAcrossARotation() throws {
        let sandbox = try Sandbox()
        let initRun = try sandbox.run(["keys", "init", "--keyring", "ring", "--retention", "90d", "--pq"])
        #expect(initRun.status == 0, "\(initRun)")
        let mode = try FileManager.default.attributesOfItem(atPath: sandbox.path("ring"))[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o700)

        try sandbox.exportRecipients()
        #expect(try sandbox.run(["keys", "export-signers", "--keyring", "ring", "-o", "signers"]).status == 0)
        try sandbox.write("plain", Array("first".utf8))
        #expect(try sandbox.run(["seal", "-R", "recipients", "-o", "first.sarc", "plain"]).status == 0)

        let rotate = try sandbox.run(["keys", "rotate", "--keyring", "ring"])
        #expect(rotate.status == 0, "\(rotate)")
        #expect(try sandbox.run(["keys", "export-recipients", "--keyring", "ring", "--force", "-o", "recipients"]).status == 0)
        try sandbox.write("plain", Array("second".utf8))
        #expect(try sandbox.run(["seal", "-R", "recipients", "-o", "second.sarc", "plain"]).status == 0)

        // Both archives open through the keyring: the retired key is still held.
        for (archive, text) in [("first.sarc", "first"), ("second.sarc", "second")] {
            let opened = try sandbox.run(["open", "--keyring", "ring", archive])
            #expect(opened.status == 0, "\(opened)")
            #expect(opened.stdoutText == text)
        }

        let list = try sandbox.run(["keys", "list", "--keyring", "ring"])
        #expect(list.stdoutLines.filter { $0.contains(" retired ") }.count == 1, "\(list)")
        #expect(list.stdoutLines.filter { $0.contains(" active ") }.count == 2, "\(list)")

        // Nothing is due right after a rotation; planning two years ahead
        // shows rotations (exit 75) and logs nothing.
        let review = try sandbox.run(["keys", "review", "--keyring", "ring", "--archives", "."])
        #expect(review.status == 0, "\(review)")
        let ahead = try sandbox.run(["keys", "review", "--keyring", "ring", "--at", "2030-01-01", "--json"])
        #expect(ahead.status == 75, "\(ahead)")
        let object = try JSONSerialization.jsonObject(with: Data(ahead.stdoutText.utf8)) as? [String: Any]
        #expect(object?["schema"] as? Int == 1)
        // The typed outcome, and the CLI's exit status for it.
        #expect(object?["outcome"] as? String == "action-due")
        #expect(object?["exit_status"] as? Int == 75)
        let logLines = try String(contentsOfFile: sandbox.path("ring/review.log"), encoding: .utf8).split(separator: "\n")
        #expect(logLines.count == 1)
        // The log names the outcome and stores no process exit code.
        #expect(logLines.first?.contains("\"outcome\":\"ok\"") == true, "\(logLines)")
        #expect(logLines.first?.contains("exit_status") == false, "\(logLines)")
    }

    @Test func aLooseKeyringIsRefusedWithTheFix() throws {
        let sandbox = try Sandbox()
        try sandbox.initKeyring(retention: "30d")
        chmod(sandbox.path("ring"), 0o755)
        let list = try sandbox.run(["keys", "list", "--keyring", "ring"])
        #expect(list.status == 77, "\(list)")
        #expect(list.stderrLines.contains { $0.contains("chmod") }, "\(list)")
    }
}

extension KeysCommandTests {
    /// `keys passwd` protects every key; opening through the keyring then
    /// needs the passphrase (from a descriptor here), and a wrong one is 77.
    @Test func protectedKeyringKeysOpenWithThePassphraseOnly() throws {
        let sandbox = try Sandbox()
        try sandbox.initKeyring()
        try sandbox.exportRecipients()
        try sandbox.write("plain", Array("secret data".utf8))
        #expect(try sandbox.run(["seal", "-R", "recipients", "-o", "a.sarc", "plain"]).status == 0)
        try sandbox.write("pass", Array("ring pass\n".utf8))
        try sandbox.write("wrong", Array("not it\n".utf8))

        let passwd = try sandbox.shell("exec \"$SA\" keys passwd --keyring ring --new-passphrase-fd 3 3<pass")
        #expect(passwd.status == 0, "\(passwd)")
        for key in try FileManager.default.contentsOfDirectory(atPath: sandbox.path("ring/keys")) where key.hasSuffix(".key") {
            #expect(try String(contentsOfFile: sandbox.path("ring/keys/\(key)"), encoding: .utf8).contains("SEALED-PROTECTED-KEY-1"))
        }
        let opened = try sandbox.shell("exec \"$SA\" open --keyring ring --passphrase-fd 3 a.sarc 3<pass")
        #expect(opened.status == 0, "\(opened)")
        #expect(opened.stdoutText == "secret data")
        let wrong = try sandbox.shell("exec \"$SA\" open --keyring ring --passphrase-fd 3 a.sarc 3<wrong")
        #expect(wrong.status == 77, "\(wrong)")
        #expect(wrong.stdout.isEmpty)
    }
}

extension KeysCommandTests {
    @Test func reviewProvesEveryHeldKeyAndWarnsAboutASingleRecipient() throws {
        let sandbox = try Sandbox()
        try sandbox.initKeyring()
        #expect(try sandbox.run(["keys", "rotate", "--keyring", "ring"]).status == 0)
        try sandbox.exportRecipients()
        let review = try sandbox.run(["keys", "review", "--keyring", "ring", "--prove", "--recipients", "recipients"])
        #expect(review.status == 0, "\(review)")
        #expect(review.stdoutLines.filter { $0.hasPrefix("proved ") }.count == 3, "\(review)")
        #expect(review.stderrLines.contains { $0.contains("single recipient") }, "\(review)")

        // A damaged secret file fails its proof (77).
        try sandbox.damageAHeldKey()
        let broken = try sandbox.run(["keys", "review", "--keyring", "ring", "--prove"])
        #expect(broken.status == 77, "\(broken)")
        #expect(broken.stdoutLines.contains { $0.hasPrefix("FAILED ") }, "\(broken)")
    }

    /// `keys review --recipients` fails (75) when the host's file lacks the
    /// identity in service (it was not given the new one after a
    /// rotation); a clock behind the keyring's newest event is 75 too.
    @Test func reviewCatchesAnOutdatedRecipientsFileAndAClockBehind() throws {
        let sandbox = try Sandbox()
        let then = ["SEALED_ARCHIVE_NOW": "2027-01-01T00:00:00Z"]
        #expect(try sandbox.run(["keys", "init", "--keyring", "ring", "--retention", "90d", "--pq"], environment: then).status == 0)
        try sandbox.exportRecipients(environment: then)
        #expect(try sandbox.run(["keys", "review", "--keyring", "ring", "--recipients", "recipients"], environment: then).status == 0)
        #expect(try sandbox.run(["keys", "rotate", "--keyring", "ring"], environment: then).status == 0)
        let stale = try sandbox.run(["keys", "review", "--keyring", "ring", "--recipients", "recipients"], environment: then)
        #expect(stale.status == 75, "\(stale)")
        #expect(stale.stdoutText.contains("RECIPIENTS FILE"), "\(stale)")
        let behind = try sandbox.run(["keys", "review", "--keyring", "ring"], environment: ["SEALED_ARCHIVE_NOW": "2026-06-01T00:00:00Z"])
        #expect(behind.status == 75, "\(behind)")
        #expect(behind.stdoutText.contains("CLOCK BEHIND"), "\(behind)")
    }

    @Test func paperKeysRoundTripThroughTheCommandLine() throws {
        let sandbox = try Sandbox()
        try sandbox.initKeyring()
        let list = try sandbox.run(["keys", "list", "--keyring", "ring"])
        let line = try #require(list.stdoutLines.first { $0.contains(" encryption ") })
        let keyID = String(line.prefix(16))
        let paper = try sandbox.run(["keys", "export-paper", "--keyring", "ring", keyID])
        #expect(paper.status == 0, "\(paper)")
        try sandbox.write("paper.txt", paper.stdout)
        let restored = try sandbox.run(["keys", "import-paper", "-o", "restored.key", "paper.txt"])
        #expect(restored.status == 0, "\(restored)")
        let recipient = try sandbox.run(["recipient", "restored.key"])
        #expect(line.hasSuffix(recipient.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)), "\(recipient)")
    }
}

extension KeysCommandTests {
    /// `keys review --drills`: the monthly drills' JSON lines, as the
    /// offsite kit appends them, shown by the review; a failed newest
    /// drill or none recent enough is due (75).
    @Test func reviewShowsTheDrillHistoryAndFlagsAFailedOrOverdueDrill() throws {
        let sandbox = try Sandbox()
        func at(_ time: String) -> [String: String] { ["SEALED_ARCHIVE_NOW": time] }
        try sandbox.initKeyring(environment: at("2027-01-01T00:00:00Z"))
        try sandbox.exportRecipients(environment: at("2027-01-01T00:00:00Z"))
        try sandbox.write("plain", Array("the database\n".utf8))
        #expect(try sandbox.run(["seal", "-R", "recipients", "-o", "a.sarc", "plain"], environment: at("2027-01-01T01:00:00Z")).status == 0)

        var history: [UInt8] = []
        func drill(_ archive: String, _ time: String) throws -> RunResult {
            let result = try sandbox.run(["drill", "--keyring", "ring", "--allow-unsigned", "--rto", "4h", "--json", archive], environment: at(time))
            history += result.stdout
            try sandbox.write("drill-history.jsonl", history)
            return result
        }
        #expect(try drill("a.sarc", "2027-01-02T03:00:00Z").status == 0)
        let review = try sandbox.run(["keys", "review", "--keyring", "ring", "--drills", "drill-history.jsonl"], environment: at("2027-01-20T00:00:00Z"))
        #expect(review.status == 0, "\(review)")
        #expect(review.stdoutText.contains("Drills: 1 recorded; newest 2027-01-02T03:00:00Z of a.sarc passed, restore "), "\(review)")

        let overdue = try sandbox.run(["keys", "review", "--keyring", "ring", "--drills", "drill-history.jsonl", "--json"],
                                      environment: at("2027-02-10T00:00:00Z"))
        #expect(overdue.status == 75, "\(overdue)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(overdue.stdout)) as? [String: Any])
        let actions = try #require(json["actions"] as? [[String: Any]])
        #expect(actions.contains { $0["kind"] as? String == "drill_overdue" && $0["due"] as? Bool == true }, "\(overdue)")
        let drills = try #require(json["drills"] as? [String: Any])
        #expect(drills["count"] as? Int == 1 && drills["newest_passed"] as? Bool == true && drills["max_age_seconds"] as? Int == 35 * 86_400)
        // A tighter window, as given.
        #expect(try sandbox.run(["keys", "review", "--keyring", "ring", "--drills", "drill-history.jsonl", "--max-drill-age", "7d"],
                                environment: at("2027-01-20T00:00:00Z")).status == 75)

        // A damaged archive: the drill fails (65), and so does the next review.
        var damaged = try sandbox.read("a.sarc")
        damaged[damaged.count - 40] ^= 1
        try sandbox.write("damaged.sarc", damaged)
        #expect(try drill("damaged.sarc", "2027-01-25T03:00:00Z").status == 65)
        let failed = try sandbox.run(["keys", "review", "--keyring", "ring", "--drills", "drill-history.jsonl"], environment: at("2027-01-26T00:00:00Z"))
        #expect(failed.status == 75, "\(failed)")
        #expect(failed.stdoutText.contains("!! DRILL FAILED: the newest restore drill, 2027-01-25T03:00:00Z of damaged.sarc, failed: "), "\(failed)")
        #expect(failed.stdoutText.contains("newest 2027-01-25T03:00:00Z of damaged.sarc FAILED"), "\(failed)")

        expectError(try sandbox.run(["keys", "review", "--keyring", "ring", "--max-drill-age", "7d"]), 64, mentioning: ["--drills"])
        try sandbox.write("bad.jsonl", Array("{\"kind\":\"drill\"\n".utf8))
        expectError(try sandbox.run(["keys", "review", "--keyring", "ring", "--drills", "bad.jsonl"]), 64, mentioning: ["line 1 of the drill history"])
    }
}
