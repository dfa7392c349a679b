import Foundation
import TestSupport
import Testing

/// Two processes on one keyring, processes killed mid-write, and keyrings
/// broken by hand: the keyring lock, the single commit point of
/// `keyring.json`, and `keys check` / `keys repair` (Spec/KEYRING.md sections
/// 2.1 and 8).
@Suite struct KeyringConcurrencyTests {
    /// A `sealed-archive` run started and not yet waited for. (A shell's
    /// `wait` cannot be used: the harness's children start with SIGCHLD
    /// blocked, so `sh` would wait forever.)
    private final class Started {
        let process = Process()
        let stderrPath: String
        init(_ sandbox: Sandbox, _ arguments: [String], tag: String) throws {
            stderrPath = sandbox.path(".stderr-\(tag)-\(UUID().uuidString)")
            _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
            process.executableURL = try CLI.binary()
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: sandbox.work, isDirectory: true)
            process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
            process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
            try process.run()
        }
        /// Waits; returns the exit status (128 + signal when killed) and
        /// standard error.
        func finish() -> (status: Int32, stderr: String) {
            process.waitUntilExit()
            let text = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            try? FileManager.default.removeItem(atPath: stderrPath)
            let signaled = process.terminationReason == .uncaughtSignal
            return (signaled ? 128 + process.terminationStatus : process.terminationStatus, text)
        }
    }
    /// The keys `keys list --json` shows, as (key id, purpose, active).
    private func keys(_ sandbox: Sandbox, sourceLocation: SourceLocation = #_sourceLocation) throws -> [(id: String, purpose: String, active: Bool)] {
        let list = try sandbox.run(["keys", "list", "--keyring", "ring", "--json"])
        try #require(list.status == 0, "\(list)", sourceLocation: sourceLocation)
        return try list.stdoutLines.map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], sourceLocation: sourceLocation)
            return (object["key_id"] as? String ?? "", object["purpose"] as? String ?? "", object["retired"] == nil || object["retired"] is NSNull)
        }
    }

    private func expectOneActiveKeyPerPurpose(_ sandbox: Sandbox, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let all = try keys(sandbox, sourceLocation: sourceLocation)
        for purpose in ["encryption", "signing"] {
            #expect(all.filter { $0.purpose == purpose && $0.active }.count == 1, "\(all)", sourceLocation: sourceLocation)
        }
    }

    private func expectCheckClean(_ sandbox: Sandbox, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let check = try sandbox.run(["keys", "check", "--keyring", "ring"])
        #expect(check.status == 0, "\(check)", sourceLocation: sourceLocation)
        #expect(check.stdoutLines == ["keyring 'ring' is consistent"], "\(check)", sourceLocation: sourceLocation)
    }

    @Test func concurrentRotationsTakeTurns() throws {
        let sandbox = try Sandbox()
        try sandbox.initKeyring()
        // Repetition finds lock races: 20 rounds in the full tier, 3 in the fast one.
        let rounds = TestTier.scaled(fast: 3, full: 20)
        for round in 0..<rounds {
            let one = try Started(sandbox, ["keys", "rotate", "--keyring", "ring"], tag: "one")
            let two = try Started(sandbox, ["keys", "rotate", "--keyring", "ring"], tag: "two")
            let results = [one.finish(), two.finish()]
            // Both wait for the lock and succeed in turn, each rotating the
            // key the other just put in service.
            #expect(results.map(\.status) == [0, 0], "round \(round): \(results)")
            try expectOneActiveKeyPerPurpose(sandbox)
        }
        let all = try keys(sandbox)
        #expect(all.filter { $0.purpose == "encryption" }.count == 1 + 2 * rounds, "\(all)")
        try expectCheckClean(sandbox)
    }

    @Test func aRotationKilledAtAnyMomentLeavesARepairableKeyring() throws {
        let sandbox = try Sandbox()
        try sandbox.initKeyring()
        #expect(try sandbox.run(["keys", "export-recipients", "--keyring", "ring", "-o", "recipients"]).status == 0)
        try sandbox.write("plain", Array("kept".utf8))
        #expect(try sandbox.run(["seal", "-R", "recipients", "-o", "a.sarc", "plain"]).status == 0)
        var generator = SystemRandomNumberGenerator()
        var repaired = 0
        // 25 kills at random moments in the full tier, 5 in the fast one.
        for round in 0..<TestTier.scaled(fast: 5, full: 25) {
            let delay = Int.random(in: 0...50, using: &generator)
            let rotation = try Started(sandbox, ["keys", "rotate", "--keyring", "ring"], tag: "killed")
            usleep(useconds_t(delay * 1000))
            kill(rotation.process.processIdentifier, SIGKILL)
            _ = rotation.finish()
            let check = try sandbox.run(["keys", "check", "--keyring", "ring"])
            // Only leftovers are possible: never a keyring that commands refuse.
            #expect(check.status == 0 || check.status == 75, "round \(round), delay \(delay): \(check)")
            if check.status != 0 {
                repaired += 1
                let repair = try sandbox.run(["keys", "repair", "--keyring", "ring"])
                #expect(repair.status == 0, "round \(round): \(repair)")
                try expectCheckClean(sandbox)
            }
            try expectOneActiveKeyPerPurpose(sandbox)
            let opened = try sandbox.run(["open", "--keyring", "ring", "a.sarc"])
            #expect(opened.status == 0 && opened.stdoutText == "kept", "round \(round): \(opened)")
        }
        try expectCheckClean(sandbox)
    }

    @Test func twoActiveKeysAreExplainedRepairedAndBothArchivesOpen() throws {
        let sandbox = try Sandbox()
        try sandbox.initKeyring()
        for (name, text) in [("a", "first"), ("b", "second")] {
            #expect(try sandbox.run(["keys", "export-recipients", "--keyring", "ring", "--force", "-o", "recipients"]).status == 0)
            try sandbox.write("plain", Array(text.utf8))
            #expect(try sandbox.run(["seal", "-R", "recipients", "-o", "\(name).sarc", "plain"]).status == 0)
            if name == "a" { #expect(try sandbox.run(["keys", "rotate", "--keyring", "ring"]).status == 0) }
        }
        // Make the retired identity active again by hand.
        let index = try String(decoding: sandbox.read("ring/keyring.json"), as: UTF8.self)
        let broken = index.replacingOccurrences(of: #""retain_until" : "[^"]*""#, with: #""retain_until" : null"#, options: .regularExpression)
            .replacingOccurrences(of: #""retired" : "[^"]*""#, with: #""retired" : null"#, options: .regularExpression)
        #expect(broken != index)
        try sandbox.write("ring/keyring.json", Array(broken.utf8), mode: 0o600)

        for command in [["keys", "list", "--keyring", "ring"], ["open", "--keyring", "ring", "a.sarc"], ["keys", "rotate", "--keyring", "ring"]] {
            let refused = try sandbox.run(command)
            expectError(refused, 77, mentioning: ["2 active encryption keys", "run 'sealed-archive keys check'"])
        }
        let check = try sandbox.run(["keys", "check", "--keyring", "ring"])
        #expect(check.status == 77, "\(check)")
        #expect(check.stdoutLines.count == 1 && check.stdoutLines[0].hasPrefix("repairable: 2 active encryption keys"), "\(check)")

        let plan = try sandbox.run(["keys", "repair", "--keyring", "ring", "--dry-run"])
        #expect(plan.status == 0, "\(plan)")
        #expect(plan.stdoutLines.count == 1 && plan.stdoutLines[0].hasPrefix("would retire encryption key"), "\(plan)")
        #expect(try sandbox.run(["keys", "check", "--keyring", "ring"]).status == 77)

        let repair = try sandbox.run(["keys", "repair", "--keyring", "ring"])
        #expect(repair.status == 0, "\(repair)")
        try expectCheckClean(sandbox)
        try expectOneActiveKeyPerPurpose(sandbox)
        for (name, text) in [("a", "first"), ("b", "second")] {
            let opened = try sandbox.run(["open", "--keyring", "ring", "\(name).sarc"])
            #expect(opened.status == 0 && opened.stdoutText == text, "\(opened)")
        }
    }

    @Test func reviewsDuringRotationsLoseNoLogLine() throws {
        let sandbox = try Sandbox()
        try sandbox.initKeyring()
        let rounds = TestTier.scaled(fast: 2, full: 10)
        for round in 0..<rounds {
            let runs = [try Started(sandbox, ["keys", "review", "--keyring", "ring"], tag: "a"),
                        try Started(sandbox, ["keys", "rotate", "--keyring", "ring"], tag: "b"),
                        try Started(sandbox, ["keys", "review", "--keyring", "ring"], tag: "c")]
            let results = runs.map { $0.finish() }
            #expect(results.map(\.status) == [0, 0, 0], "round \(round): \(results)")
        }
        let log = try sandbox.read("ring/review.log")
        let lines = RunResult.lines(String(decoding: log, as: UTF8.self))
        #expect(lines.count == 2 * rounds)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["schema"] as? Int == 1, "\(line)")
        }
        try expectCheckClean(sandbox)
    }

    @Test func crlfReviewLogAndInventoryAreReadAndAFIFOIsRefused() throws {
        let sandbox = try Sandbox()
        try sandbox.initKeyring()
        for _ in 0..<2 { #expect(try sandbox.run(["keys", "review", "--keyring", "ring"]).status == 0) }
        // The log as another system may write it back: CRLF, no final newline.
        var log = String(decoding: try sandbox.read("ring/review.log"), as: UTF8.self).replacingOccurrences(of: "\n", with: "\r\n")
        log.removeLast() // "\r\n" is one Character
        #expect(!log.hasSuffix("\n"))
        try sandbox.write("ring/review.log", Array(log.utf8), mode: 0o600)
        try expectCheckClean(sandbox)
        #expect(try sandbox.run(["keys", "review", "--keyring", "ring"]).status == 0)
        let lines = String(decoding: try sandbox.read("ring/review.log"), as: UTF8.self)
        // The new entry starts on a line of its own after the unterminated last line.
        #expect(lines.hasSuffix("}\n") && lines.utf8.split(separator: UInt8(ascii: "\n")).count == 3, "\(lines)")
        try expectCheckClean(sandbox)

        #expect(try sandbox.run(["keys", "export-recipients", "--keyring", "ring", "-o", "recipients"]).status == 0)
        try sandbox.write("plain", Array("x".utf8))
        #expect(try sandbox.run(["seal", "-R", "recipients", "-o", "a.sarc", "plain"]).status == 0)
        #expect(try sandbox.run(["seal", "-R", "recipients", "-o", "b.sarc", "plain"]).status == 0)
        let first = try sandbox.run(["inspect", "--json", "a.sarc"])
        let second = try sandbox.run(["inspect", "--json", "b.sarc"])
        let inventory = first.stdoutText.trimmingCharacters(in: .newlines) + "\r\n" + second.stdoutText.trimmingCharacters(in: .newlines)
        try sandbox.write("inventory.txt", Array(inventory.utf8))
        let review = try sandbox.run(["keys", "review", "--keyring", "ring", "--inventory", "inventory.txt", "--json"])
        #expect(review.status == 0, "\(review)")
        let object = try JSONSerialization.jsonObject(with: Data(review.stdoutText.utf8)) as? [String: Any]
        #expect((object?["inventory"] as? [String: Any])?["archives"] as? Int == 2, "\(review)")

        #expect(mkfifo(sandbox.path("inventory.fifo"), 0o600) == 0)
        let start = Date()
        let fifo = try sandbox.shell(#"exec timeout 10 "$SA" keys review --keyring ring --inventory inventory.fifo"#)
        expectError(fifo, 74, mentioning: ["inventory.fifo", "not a regular file"])
        #expect(Date().timeIntervalSince(start) < 5)
    }
}
