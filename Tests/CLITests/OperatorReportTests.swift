import Foundation
import TestSupport
import Testing

/// The operator-visible bugs of issue 9, each as the operator met it: what
/// a result line, an exit code or a help text said that it should not have.
@Suite struct OperatorReportTests {
    /// A damaged archive in the middle of a chain is reported once, as
    /// damaged (65), not also as "archive 3 missing" in the set check; nor
    /// is a damaged newest archive reported as missing against --chain.
    @Test func aDamagedChainedArchiveIsNotAlsoAGap() throws {
        let chain = try VerificationTests.Chain.make()
        let bench = chain.bench
        for damaged in ["c3.sarc", "c5.sarc"] {
            let original = try bench.sandbox.read(damaged)
            try bench.flip(damaged, at: try bench.geometry(damaged).record(0).lowerBound + 5)
            let (result, output) = try chain.verify(["c1.sarc", "c2.sarc", "c3.sarc", "c4.sarc", "c5.sarc"], ["--chain", "state.json"])
            #expect(result.status == 65, "\(result)")
            #expect(output.archives.filter { !$0.ok }.map(\.name) == [damaged], "\(result)")
            let set = try #require(output.set, "\(result)")
            #expect(set.ok, "only the damage is a problem: \(result)")
            #expect(!set.detail.contains("missing"), "\(result)")
            try bench.sandbox.write(damaged, original)
        }
        // A real gap beside a damaged archive is still reported.
        try bench.flip("c3.sarc", at: try bench.geometry("c3.sarc").record(0).lowerBound + 5)
        let (gap, gapOutput) = try chain.verify(["c1.sarc", "c3.sarc", "c4.sarc", "c5.sarc"])
        #expect(gap.status == 65, "\(gap)")
        #expect(gapOutput.set?.detail.contains("archive 2 missing") == true, "\(gap)")
        #expect(gapOutput.set?.detail.contains("archive 3 missing") == false, "\(gap)")
    }

    /// README's pipe form with the file `seal --checksum` wrote: standard
    /// input is checked against the one archive the file lists; a file
    /// listing several needs --stdin-name (64 without it).
    @Test func standardInputIsCheckedAgainstTheChecksumFile() throws {
        let bench = try VerifyBench()
        try bench.randomFile("plain", bytes: 10_000)
        try bench.seal("plain", to: "a.sarc", ["--checksum"])
        try bench.seal("plain", to: "b.sarc", ["--checksum"])
        let piped = try bench.sh(#"cat a.sarc | "$SA" verify --checksum-file a.sarc.sha256 -"#)
        expectVerifyOK(piped, name: "standard input")
        #expect(piped.stdoutText.contains("SHA-256 matches"), "\(piped)")
        let wrong = try bench.sh(#"cat b.sarc | "$SA" verify --checksum-file a.sarc.sha256 -"#)
        expectVerifyFailure(wrong, 65, name: "standard input")

        try bench.sandbox.write("both.sha256", try bench.sandbox.read("a.sarc.sha256") + bench.sandbox.read("b.sarc.sha256"))
        let ambiguous = try bench.sh(#"cat b.sarc | "$SA" verify --checksum-file both.sha256 -"#)
        expectError(ambiguous, 64, mentioning: ["--stdin-name"])
        #expect(ambiguous.stdout.isEmpty, "\(ambiguous)")
        let named = try bench.sh(#"cat b.sarc | "$SA" verify --checksum-file both.sha256 --stdin-name b.sarc -"#)
        expectVerifyOK(named, name: "standard input")
        let misnamed = try bench.sh(#"cat b.sarc | "$SA" verify --checksum-file both.sha256 --stdin-name a.sarc -"#)
        expectVerifyFailure(misnamed, 65, name: "standard input")
    }

    /// `drill` names the key that opened the archive, in text and JSON,
    /// with -i and with --keyring (where no identity is given to guess from).
    @Test func drillNamesTheKeyThatOpenedTheArchive() throws {
        let bench = try VerifyBench()
        // Classical, like the -i identity: the two are sealed to together.
        try bench.sandbox.initKeyring(classical: true, environment: bench.isolation)
        try bench.sandbox.exportRecipients(environment: bench.isolation)
        try bench.randomFile("plain", bytes: 5000)
        let sealed = try bench.sa(["seal", "-R", "recipients", "-r", bench.recipient, "-o", "a.sarc", "plain"])
        try #require(sealed.status == 0, "\(sealed)")
        let inspect = VerifyKit.jsonObjects(try bench.sa(["inspect", "--json", "a.sarc"]))
        let ringKey = try #require((inspect.first?["recipients"] as? [String])?.first { $0 != bench.recipientKeyID })

        for (flags, key) in [(["--keyring", "ring"], ringKey), (["-i", "id"], bench.recipientKeyID)] {
            let text = try bench.sa(["drill"] + flags + ["a.sarc"])
            #expect(text.status == 0, "\(text)")
            #expect(text.stdoutText.contains("opened with \(key)"), "\(flags): \(text)")
            let json = try bench.sa(["drill", "--json"] + flags + ["a.sarc"])
            #expect(json.status == 0, "\(json)")
            #expect(VerifyKit.jsonObjects(json).first?["opened_with_key_id"] as? String == key, "\(flags): \(json)")
        }
    }

    /// `verify DIR` checks the archives in it, chosen as `drill DIR` and
    /// `keys review --archives DIR` choose them: regular files, not hidden,
    /// not `*.sha256`. A directory with none fails (65).
    @Test func verifyTakesADirectoryOfArchives() throws {
        let bench = try VerifyBench()
        try FileManager.default.createDirectory(atPath: bench.sandbox.path("store/sub"), withIntermediateDirectories: true)
        try bench.randomFile("plain", bytes: 3000)
        try bench.seal("plain", to: "store/b.sarc", ["--checksum"])
        try bench.seal("plain", to: "store/a.sarc")
        try bench.sandbox.write("store/.c.sarc.partial", Array("half an upload".utf8))
        try bench.seal("plain", to: "store/sub/d.sarc")

        let result = try bench.sa(["verify", "store"])
        #expect(result.status == 0, "\(result)")
        #expect(VerifyOutput(result).archives.map(\.name) == ["store/a.sarc", "store/b.sarc"], "\(result)")
        #expect(VerifyOutput(result).archives.allSatisfy { $0.ok }, "\(result)")
        let drill = try bench.sa(["drill", "-i", "id", "store"])
        #expect(drill.status == 0, "\(drill)")

        try FileManager.default.createDirectory(atPath: bench.sandbox.path("empty"), withIntermediateDirectories: false)
        expectError(try bench.sa(["verify", "empty"]), 65, mentioning: ["no archive"])
    }

    /// A cut archive has one error code, `truncated`, wherever it is cut,
    /// and the message says where it ends; bytes after the trailer stay
    /// `trailer`.
    @Test func cutArchivesHaveOneErrorCode() throws {
        let bench = try VerifyBench()
        try bench.randomFile("plain", bytes: 20_000)
        try bench.seal("plain", to: "archive", ["--chunk-size", "4KiB"])
        let g = try bench.geometry("archive")
        let bytes = try bench.sandbox.read("archive")
        for cut in [100, g.headerLength - 1, g.headerLength, g.record(1).lowerBound + 7, g.trailerStart, g.size - 1] {
            try bench.sandbox.write("cut", Array(bytes.prefix(cut)))
            let result = try bench.sa(["verify", "--json", "cut"])
            #expect(result.status == 65, "\(result)")
            let error = VerifyKit.jsonObjects(result).first?["error"] as? [String: Any]
            #expect(error?["code"] as? String == "truncated", "cut at \(cut): \(result)")
            #expect((error?["message"] as? String)?.contains("ends at byte \(cut)") == true, "cut at \(cut): \(result)")
        }
        try bench.sandbox.write("extended", bytes + Array("garbage".utf8))
        let extended = try bench.sa(["verify", "--json", "extended"])
        let error = VerifyKit.jsonObjects(extended).first?["error"] as? [String: Any]
        #expect(error?["code"] as? String == "trailer", "\(extended)")
        #expect((error?["message"] as? String)?.contains("7 bytes follow the trailer") == true, "\(extended)")
    }

    /// `keys passwd --help` wraps its text like every other help: no run of
    /// spaces left inside a sentence by the source's indentation.
    @Test func passwdHelpIsWrappedCleanly() throws {
        let sandbox = try Sandbox()
        let help = try sandbox.run(["keys", "passwd", "--help"])
        #expect(help.status == 0, "\(help)")
        let prose = help.stdoutText.components(separatedBy: "USAGE:").first ?? ""
        #expect(prose.contains("--new-passphrase-fd"), "\(help)")
        #expect(prose.split(separator: "\n").allSatisfy { !$0.contains("   ") }, "\(help)")
    }

    /// A count of one is singular in every result line: "1 chunk", "1 file".
    @Test func countsOfOneAreSingular() throws {
        let bench = try VerifyBench()
        try bench.randomFile("plain", bytes: 1)
        try bench.seal("plain", to: "one.sarc")
        let keyless = try bench.sa(["verify", "one.sarc"])
        #expect(keyless.stdoutText.contains("1 chunk and digest intact"), "\(keyless)")
        let deep = try bench.sa(["verify", "-i", "id", "one.sarc"])
        #expect(deep.stdoutText.contains("decrypted and authenticated 1 byte"), "\(deep)")
        let drill = try bench.sa(["drill", "-i", "id", "one.sarc"])
        #expect(drill.stdoutText.contains("1 chunk,"), "\(drill)")
        #expect(drill.stdoutText.contains("1 file, 1 byte in"), "\(drill)")
        for result in [keyless, deep, drill] {
            #expect(result.stdoutText.firstMatch(of: /\b1 (chunks|bytes|files|directories|links|recipients)\b/) == nil, "\(result)")
        }
    }

    /// Standard output closed while verify prints (`verify … | head -1`):
    /// exit 74 (I/O), with no error line.
    @Test func aClosedStandardOutputEndsQuietly() throws {
        let bench = try VerifyBench()
        try bench.randomFile("plain", bytes: 1000)
        try bench.seal("plain", to: "a.sarc")
        // The reader is gone before verify writes: `true` exits at once.
        let result = try bench.sh(#"{ sleep 1; "$SA" verify a.sarc a.sarc 2>err; echo $? > rc; } | true"#)
        #expect(result.status == 0, "\(result)")
        #expect(try bench.sandbox.read("rc") == Array("74\n".utf8), "\(result)")
        let errors = String(decoding: try bench.sandbox.read("err"), as: UTF8.self)
        #expect(errors.isEmpty, "\(errors)")
    }

    /// `keys review`'s exit code ranks as Spec/CLI.md says (65 > 77 > 74 >
    /// 75): an unrecoverable archive (65) and a failed --prove (77) is 65.
    @Test func keysReviewRanksItsExitCodes() throws {
        let sandbox = try Sandbox()
        try sandbox.initKeyring()
        try FileManager.default.createDirectory(atPath: sandbox.path("store"), withIntermediateDirectories: false)
        let stranger = try sandbox.makeIdentity("stranger")
        try sandbox.write("plain", Array("x".utf8))
        #expect(try sandbox.run(["seal", "-r", stranger, "-o", "store/lost.sarc", "plain"]).status == 0)
        let atRisk = try sandbox.run(["keys", "review", "--keyring", "ring", "--archives", "store"])
        #expect(atRisk.status == 65, "\(atRisk)")

        // Break a held key so that its proof fails.
        try sandbox.damageAHeldKey()
        let both = try sandbox.run(["keys", "review", "--keyring", "ring", "--archives", "store", "--prove"])
        #expect(both.stdoutLines.contains { $0.hasPrefix("FAILED ") }, "\(both)")
        #expect(both.status == 65, "\(both)")
    }

    /// A byte payload recorded as zstd-compressed is refused at the header
    /// (FORMAT.md check 6, class `header`), by verify and open alike,
    /// rather than opened to still-compressed bytes.
    @Test func aCompressedBytePayloadIsAHeaderError() throws {
        let bench = try VerifyBench()
        try bench.randomFile("plain", bytes: 2000)
        try bench.seal("plain", to: "a.sarc")
        try bench.flip("a.sarc", at: 15)  // compression 00 → 01
        let verify = try bench.sa(["verify", "--json", "a.sarc"])
        #expect(verify.status == 65, "\(verify)")
        let error = VerifyKit.jsonObjects(verify).first?["error"] as? [String: Any]
        #expect(error?["code"] as? String == "header", "\(verify)")
        let open = try bench.sa(["open", "-i", "id", "-o", "out", "a.sarc"])
        expectError(open, 65, mentioning: ["compress"])
        expectNoOutput(bench.sandbox, "out")
    }
}
