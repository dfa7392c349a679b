import Foundation
import SealedArchive
import Testing
import TestSupport

/// `verify --max-gap` (issue 12): a skipped day stays visible after newer
/// archives arrive, which `--max-age` (the newest alone) cannot show; typed
/// in JSON with both archives and the seconds.
@Suite struct MaxGapTests {
    @Test func aSkippedDayIsAProblemAfterNewerArchivesArrive() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try FileManager.default.createDirectory(atPath: sandbox.path("store"), withIntermediateDirectories: false)
        try sandbox.write("plain", Array("daily".utf8))
        // Days 1, 2, 4, 5: day 3 was skipped.
        for day in [1, 2, 4, 5] {
            let sealed = try sandbox.run(["seal", "-r", recipient, "-o", "store/day-\(day).sarc", "plain"],
                                         environment: ["SEALED_ARCHIVE_NOW": "2027-01-0\(day)T02:00:00Z"])
            #expect(sealed.status == 0, "\(sealed)")
        }
        let now = ["SEALED_ARCHIVE_NOW": "2027-01-05T09:00:00Z"]
        // The newest is fresh: --max-age alone sees nothing.
        let fresh = try sandbox.run(["verify", "--allow-unsigned", "--max-age", "26h", "store"], environment: now)
        #expect(fresh.status == 0, "\(fresh)")

        let text = try sandbox.run(["verify", "--allow-unsigned", "--max-age", "26h", "--max-gap", "26h", "store"], environment: now)
        #expect(text.status == 75, "\(text)")
        #expect(text.stdoutText.contains("FAILED set: 2d 0h between store/day-2.sarc and store/day-4.sarc, more than the allowed 1d 2h"), "\(text)")

        let json = try sandbox.run(["verify", "--allow-unsigned", "--max-gap", "26h", "--json", "store"], environment: now)
        #expect(json.status == 75)
        let set = try #require(VerifyKit.jsonObjects(json).last)
        let details = try #require(set["problem_details"] as? [[String: Any]])
        #expect(details.count == 1, "\(details)")
        #expect(details.first?["type"] as? String == "gap")
        #expect(details.first?["after"] as? String == "store/day-2.sarc" && details.first?["before"] as? String == "store/day-4.sarc")
        #expect(VerifyKit.int(details.first?["gap_seconds"]) == 2 * 86400 && VerifyKit.int(details.first?["max_gap_seconds"]) == 26 * 3600)
        // The newest archive and its age, for monitoring.
        #expect(set["newest_archive"] as? String == "store/day-5.sarc")
        #expect(VerifyKit.int(set["newest_age_seconds"]) == 7 * 3600)

        // A wider allowance passes and says the largest gap.
        let wide = try sandbox.run(["verify", "--allow-unsigned", "--max-gap", "49h", "store"], environment: now)
        #expect(wide.status == 0, "\(wide)")
        #expect(wide.stdoutText.contains("no gap over 2d 1h between archives (largest 2d 0h)"), "\(wide)")
        #expect(try sandbox.run(["verify", "--allow-unsigned", "--max-gap", "soon", "store"]).status == 64)
    }
}
