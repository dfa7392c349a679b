import Foundation
import SealedArchive
import Testing
import TestSupport

/// Every `--json` output carries an integer `schema` (Spec/CLI.md "JSON
/// output"), and archives are described by one `ArchiveSummary` that reads
/// back what inspect, verify and drill print.
@Suite struct JSONSchemaTests {
    @Test func everyJSONOutputCarriesSchema() throws {
        let sandbox = try Sandbox()
        #expect(try sandbox.run(["keys", "init", "--keyring", "ring", "--retention", "90d", "--pq"]).status == 0)
        #expect(try sandbox.run(["keys", "export-recipients", "--keyring", "ring", "-o", "recipients"]).status == 0)
        try sandbox.write("plain", randomBytes(20_000))
        let seal = try sandbox.run(["seal", "-R", "recipients", "--chain", "chain.json", "--json", "-o", "a.sarc", "plain"])
        #expect(seal.status == 0, "\(seal)")

        let runs: [(name: String, arguments: [String], status: Int32)] = [
            ("seal", ["seal", "-R", "recipients", "--chain", "chain.json", "--json", "-o", "b.sarc", "plain"], 0),
            ("inspect", ["inspect", "--json", "a.sarc"], 0),
            ("verify", ["verify", "--json", "--max-age", "1h", "a.sarc", "b.sarc"], 0),
            ("drill", ["drill", "--keyring", "ring", "--json", "b.sarc"], 0),
            ("drill without archive", ["drill", "--keyring", "ring", "--json", "empty-dir"], 65),
            ("keys list", ["keys", "list", "--keyring", "ring", "--json"], 0),
            ("keys review", ["keys", "review", "--keyring", "ring", "--archives", ".", "--json"], 0),
            ("keys prune", ["keys", "prune", "--keyring", "ring", "--dry-run", "--json"], 0),
        ]
        try FileManager.default.createDirectory(atPath: sandbox.path("empty-dir"), withIntermediateDirectories: false)
        for run in runs {
            let result = try sandbox.run(run.arguments)
            #expect(run.status == 0 ? result.status == 0 : result.status != 0, "\(run.name): \(result)")
            let lines = result.stdoutLines
            #expect(!lines.isEmpty, "\(run.name) printed nothing: \(result)")
            for line in lines {
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect((object?["schema"] as? NSNumber)?.intValue == 1, "\(run.name): \(line)")
            }
        }
    }

    @Test func oneSummaryReadsBackInspectVerifyAndDrill() throws {
        let sandbox = try Sandbox()
        let identity = try sandbox.makeIdentity("id")
        try sandbox.write("plain", randomBytes(10_000))
        expectSuccess(try sandbox.run(["seal", "-r", identity, "--label", "weekly", "--chain", "chain.json", "-o", "a.sarc", "plain"]))
        let decoder = JSONDecoder()

        let inspect = try decoder.decode(ArchiveSummary.self, from: Data(try sandbox.run(["inspect", "--json", "a.sarc"]).stdout))
        #expect(inspect.schema == 1 && inspect.kind == nil && inspect.label == "weekly" && inspect.sequence == 1)
        #expect(inspect.recipients == [try Recipient(parsing: identity).keyID.description])

        let verifyLines = try sandbox.run(["verify", "-i", "id", "--json", "a.sarc"]).stdoutLines
        let verify = try decoder.decode(ArchiveSummary.self, from: Data(try #require(verifyLines.first).utf8))
        #expect(verify.kind == "archive" && verify.ok == true && verify.depth == "deep")
        #expect(verify.opened_with_key_id == inspect.recipients?.first)
        // The header keys are those inspect prints.
        #expect(verify.created_unix == inspect.created_unix && verify.label == inspect.label && verify.chunk_size == inspect.chunk_size)
        let set = try JSONSerialization.jsonObject(with: Data(try #require(verifyLines.last).utf8)) as? [String: Any]
        #expect(set?["kind"] as? String == "set" && (set?["problem_details"] as? [Any])?.isEmpty == true, "\(verifyLines)")

        let drill = try decoder.decode(DrillSummary.self, from: Data(try sandbox.run(["drill", "-i", "id", "--json", "a.sarc"]).stdout))
        #expect(drill.ok && drill.kind == "drill" && drill.failures.isEmpty)
        #expect(drill.archive.archive == "a.sarc" && drill.archive.label == "weekly" && drill.archive.opened_with_key_id == inspect.recipients?.first)
    }

    @Test func theSetLineGivesProblemsAsNumbers() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try sandbox.write("plain", randomBytes(1000))
        for name in ["1", "2", "3", "4"] {
            expectSuccess(try sandbox.run(["seal", "-r", recipient, "--chain", "chain.json", "-o", "\(name).sarc", "plain"]))
        }
        let result = try sandbox.run(["verify", "--json", "1.sarc", "4.sarc"])
        #expect(result.status == 75, "\(result)")
        let set = try JSONSerialization.jsonObject(with: Data(try #require(result.stdoutLines.last).utf8)) as? [String: Any]
        let details = try #require(set?["problem_details"] as? [[String: Any]], "\(result)")
        #expect(details.count == 1, "\(result)")
        #expect(details.first?["type"] as? String == "missing")
        #expect((details.first?["first_missing"] as? NSNumber)?.intValue == 2 && (details.first?["last_missing"] as? NSNumber)?.intValue == 3)
        #expect(details.first?["message"] as? String == (set?["problems"] as? [String])?.first)
    }
}
