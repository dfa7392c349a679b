import Foundation
import Testing
import KeyRotation
import SealedArchive

/// The drill history the quarterly review reads (`keys review --drills`,
/// issue 12): `drill --json` lines, strictly parsed, and what the review
/// makes of them: the newest drill failed, or none is recent enough.
@Suite final class DrillHistoryTests {
    let dir: TemporaryDirectory
    let keyring: Keyring

    init() throws {
        dir = try TemporaryDirectory()
        keyring = try Keyring.create(at: dir.file("k"), policy: try standardPolicy(), now: days(0), postQuantum: true)
    }

    /// One `drill --json` line as the CLI prints it.
    func line(at date: Date, ok: Bool, restore: Double?, archive: String = "offsite-a.sarc") throws -> String {
        let error = SealedArchiveError(.damaged, "chunk 3 of \(archive) is damaged")
        var summary = DrillSummary(failedBeforeChoosing: error, at: date)
        summary.archive.archive = archive
        summary.ok = ok
        summary.failures = ok ? [] : ["verification failed: chunk 3 is damaged"]
        summary.error = ok ? nil : summary.error
        summary.restore_seconds = restore
        summary.rto_seconds = 14_400
        return try ArchiveSummary.jsonLine(summary)
    }

    func history(_ lines: [String], separator: String = "\n") throws -> DrillHistory {
        try DrillHistory(parsing: Array((lines.joined(separator: separator) + separator).utf8), name: "'history'")
    }

    @Test func aRecentPassingDrillIsNothingDueAndIsShown() throws {
        let drills = try history([try line(at: days(1), ok: true, restore: 80.5), try line(at: days(31), ok: true, restore: 61.25)],
                                 separator: "\r\n")
        #expect(drills.drills.count == 2)
        let report = keyring.review(inventory: nil, at: days(40), drills: drills)
        #expect(report.actions(.drillFailed).isEmpty && report.actions(.drillOverdue).isEmpty)
        #expect(report.outcome == .ok)
        #expect(report.drills?.count == 2)
        #expect(report.drills?.newestAt == days(31))
        #expect(report.drills?.newestRestoreSeconds == 61.25)
        #expect(report.drills?.slowestRestoreSeconds == 80.5)
        #expect(report.text.contains("Drills: 2 recorded; newest \(KeyringTime.format(days(31))) of offsite-a.sarc passed, restore 61.2 s (RTO 4h); slowest restore 80.5 s"))
        let json = try report.json()
        #expect(json.contains("\"drills\":{\"count\":2,\"max_age_seconds\":3024000,\"newest_archive\":\"offsite-a.sarc\",\"newest_at\":\"\(KeyringTime.format(days(31)))\""))
    }

    /// Out of order in the file (histories merged by hand): the newest by
    /// time counts, not the last line.
    @Test func theNewestDrillDecidesWhateverTheLineOrder() throws {
        let drills = try history([try line(at: days(31), ok: false, restore: nil), try line(at: days(2), ok: true, restore: 10)])
        let report = keyring.review(inventory: nil, at: days(32), drills: drills)
        #expect(report.actions(.drillFailed).count == 1)
        #expect(report.actions(.drillFailed).first?.message.contains("verification failed: chunk 3 is damaged") == true)
        #expect(report.outcome == .actionDue)
        #expect(report.text.contains("!! DRILL FAILED: the newest restore drill, \(KeyringTime.format(days(31))) of offsite-a.sarc, failed"))
    }

    @Test func aDrillOlderThanTheMaximumIsOverdue() throws {
        let drills = try history([try line(at: days(1), ok: true, restore: 10)])
        #expect(keyring.review(inventory: nil, at: days(36), drills: drills).actions(.drillOverdue).isEmpty)
        let late = keyring.review(inventory: nil, at: days(36, hours: 1), drills: drills)
        #expect(late.actions(.drillOverdue).count == 1)
        #expect(late.outcome == .actionDue)
        // A shorter window, as given.
        #expect(keyring.review(inventory: nil, at: days(9), drills: drills, maxDrillAge: 7 * day).actions(.drillOverdue).count == 1)
    }

    /// The history as it stood at the review's time: a drill dated later
    /// (a review planned for a past date, a drill machine's clock ahead)
    /// neither counts as the newest nor hides an overdue drill.
    @Test func aDrillAfterTheReviewTimeIsLeftOut() throws {
        let drills = try history([try line(at: days(1), ok: true, restore: 10), try line(at: days(90), ok: false, restore: nil)])
        let report = keyring.review(inventory: nil, at: days(50), drills: drills)
        #expect(report.actions(.drillFailed).isEmpty)
        #expect(report.actions(.drillOverdue).count == 1)
        #expect(report.drills?.count == 1 && report.drills?.newestAt == days(1))
    }

    /// An empty history is no drill at all: overdue, not "nothing due".
    @Test func anEmptyHistoryIsOverdue() throws {
        let drills = try DrillHistory(parsing: Array("\n\n".utf8), name: "'history'")
        let report = keyring.review(inventory: nil, at: days(1), drills: drills)
        #expect(report.actions(.drillOverdue).count == 1)
        #expect(report.text.contains("Drills: none recorded"))
        #expect(report.text.contains("DRILL OVERDUE: no restore drill is recorded"))
    }

    /// Without --drills the review says nothing about drills.
    @Test func noHistoryNoDrillActions() throws {
        let report = keyring.review(inventory: nil, at: days(100))
        #expect(report.drills == nil)
        #expect(report.actions(.drillOverdue).isEmpty && !report.text.contains("Drills:"))
    }

    /// A line that is not a drill's JSON, another kind's JSON, or a drill
    /// without its time is refused with its line number: a history that
    /// cannot be read must not pass for one without failures.
    @Test(arguments: [
        ("{\"kind\":\"drill\",\"ok\":tru", "line 2"),
        ("{\"failures\":[],\"kind\":\"archive\",\"ok\":true,\"schema\":1}", "'archive' object"),
        ("{\"failures\":[],\"kind\":\"drill\",\"ok\":true,\"schema\":1}", "no drilled_at"),
        ("{\"drilled_at\":\"yesterday\",\"failures\":[],\"kind\":\"drill\",\"ok\":true,\"schema\":1}", "not a time as drill writes it"),
        ("{\"drilled_at\":\"2027-01-15\",\"failures\":[],\"kind\":\"drill\",\"ok\":true,\"schema\":1}", "not a time as drill writes it"),
        ("{\"drilled_at\":\"2027-01-15T08:00:00+01:00\",\"failures\":[],\"kind\":\"drill\",\"ok\":true,\"schema\":1}", "not a time as drill writes it"),
        ("not json at all", "line 2"),
    ])
    func aBadLineIsRefusedWithItsNumber(bad: String, mentioning: String) throws {
        let error = try #require(sealedArchiveError { _ = try self.history([try self.line(at: days(1), ok: true, restore: 1), bad]) })
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("line 2 of the drill history 'history'"), "\(error.message)")
        #expect(error.message.contains(mentioning), "\(error.message)")
    }

    @Test func theFileIsReadFromDisk() throws {
        try Data((try line(at: days(1), ok: true, restore: 5) + "\n").utf8).write(to: URL(fileURLWithPath: dir.file("h.jsonl")))
        #expect(try DrillHistory.read(path: dir.file("h.jsonl")).drills.first?.restoreSeconds == 5)
        #expect(errorCode { _ = try DrillHistory.read(path: self.dir.file("missing")) } == .io)
    }
}
