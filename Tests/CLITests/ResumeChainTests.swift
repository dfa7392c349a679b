import Foundation
import SealedArchive
import Testing
import TestSupport

/// A rebuilt sealing host resumes its chain from the newest archive in
/// storage (issue 12): the set check stays green across the rebuild, and a
/// real rollback (resuming from an older archive) is still caught.
@Suite struct ResumeChainTests {
    /// Three chained, signed archives in `store`, then the host's state lost.
    func rebuiltHost(_ sandbox: Sandbox) throws -> (recipient: String, signer: String) {
        let recipient = try sandbox.makeIdentity("id")
        let signer = try sandbox.makeSigningKey("host.key")
        try FileManager.default.createDirectory(atPath: sandbox.path("store"), withIntermediateDirectories: false)
        try sandbox.write("plain", Array("backup".utf8))
        for day in 1...3 {
            let sealed = try sandbox.run(["seal", "-r", recipient, "--sign-key", "host.key", "--chain", "chain.json", "-o", "store/day-\(day).sarc", "plain"],
                                         environment: ["SEALED_ARCHIVE_NOW": "2027-01-0\(day)T02:00:00Z"])
            #expect(sealed.status == 0, "\(sealed)")
        }
        try FileManager.default.removeItem(atPath: sandbox.path("chain.json"))
        return (recipient, signer)
    }

    func sealDay4(_ sandbox: Sandbox, _ recipient: String) throws -> RunResult {
        try sandbox.run(["seal", "-r", recipient, "--sign-key", "host.key", "--chain", "chain.json", "-o", "store/day-4.sarc", "plain"],
                        environment: ["SEALED_ARCHIVE_NOW": "2027-01-04T02:00:00Z"])
    }

    @Test func resumingFromTheNewestKeepsTheSetGreen() throws {
        let sandbox = try Sandbox()
        let (recipient, signer) = try rebuiltHost(sandbox)
        let resumed = try sandbox.shell("\"$SA\" resume-chain --chain chain.json --signer \(signer) - < store/day-3.sarc")
        #expect(resumed.status == 0, "\(resumed)")
        #expect(resumed.stderr.contains("resumed at archive 3") && resumed.stderr.contains("the next seal is archive 4"), "\(resumed)")
        #expect(try sealDay4(sandbox, recipient).status == 0)
        let set = try sandbox.run(["verify", "--signer", signer, "store"])
        #expect(set.status == 0, "\(set)")
        #expect(set.stdoutText.contains("chain complete: archives 1–4 follow each other"), "\(set)")
    }

    @Test func withoutResumingTheRebuildForksTheChain() throws {
        let sandbox = try Sandbox()
        let (recipient, signer) = try rebuiltHost(sandbox)
        #expect(try sealDay4(sandbox, recipient).status == 0)
        let set = try sandbox.run(["verify", "--signer", signer, "store"])
        #expect(set.status == 75, "\(set)")
        #expect(set.stdoutText.contains("claim sequence 1"), "\(set)")
    }

    /// Resuming from an older archive is a rollback, and still caught.
    @Test func resumingFromAnOlderArchiveIsStillCaught() throws {
        let sandbox = try Sandbox()
        let (recipient, signer) = try rebuiltHost(sandbox)
        #expect(try sandbox.run(["resume-chain", "--chain", "chain.json", "--signer", signer, "store/day-2.sarc"]).status == 0)
        #expect(try sealDay4(sandbox, recipient).status == 0)
        let set = try sandbox.run(["verify", "--signer", signer, "--json", "store"])
        #expect(set.status == 75, "\(set)")
        let details = try #require(VerifyKit.jsonObjects(set).last?["problem_details"] as? [[String: Any]])
        #expect(details.contains { $0["type"] as? String == "forked" && VerifyKit.int($0["sequence"]) == 3 }, "\(details)")
    }

    @Test func whatCannotBeResumedFromIsRefusedAndWritesNothing() throws {
        let sandbox = try Sandbox()
        let (recipient, signer) = try rebuiltHost(sandbox)
        // No trusted signer given.
        expectError(try sandbox.run(["resume-chain", "--chain", "chain.json", "--allow-unsigned", "store/day-3.sarc"]), 64, mentioning: ["--signer"])
        // Signed by another key.
        let other = try sandbox.makeSigningKey("other.key")
        expectError(try sandbox.run(["resume-chain", "--chain", "chain.json", "--signer", other, "store/day-3.sarc"]), 65)
        // Damaged.
        var bytes = try sandbox.read("store/day-3.sarc")
        bytes[bytes.count - 200] ^= 1
        try sandbox.write("damaged.sarc", bytes)
        expectError(try sandbox.run(["resume-chain", "--chain", "chain.json", "--signer", signer, "damaged.sarc"]), 65)
        // Not chained.
        #expect(try sandbox.run(["seal", "-r", recipient, "--sign-key", "host.key", "-o", "lone.sarc", "plain"]).status == 0)
        expectError(try sandbox.run(["resume-chain", "--chain", "chain.json", "--signer", signer, "lone.sarc"]), 64, mentioning: ["no sequence number"])
        #expect(!sandbox.exists("chain.json"))
        // An existing chain state is never replaced.
        #expect(try sandbox.run(["resume-chain", "--chain", "chain.json", "--signer", signer, "store/day-3.sarc"]).status == 0)
        let before = try sandbox.read("chain.json")
        expectError(try sandbox.run(["resume-chain", "--chain", "chain.json", "--signer", signer, "store/day-2.sarc"]), 74, mentioning: ["exists"])
        #expect(try sandbox.read("chain.json") == before)
    }
}
