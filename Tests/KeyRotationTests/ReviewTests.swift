import Foundation
import Testing
import KeyRotation
import SealedArchive

@Suite final class ReviewTests {
    let dir: TemporaryDirectory
    let keyring: Keyring

    init() throws {
        dir = try TemporaryDirectory()
        // Post-quantum: a classical keyring always has a migration due
        // (aClassicalKeyringIsToldToMigrate…).
        keyring = try Keyring.create(at: dir.file("k"), policy: try standardPolicy(), now: days(0), postQuantum: true)
    }

    /// The sealing host's recipients file must list the identity in
    /// service and no retired one (issue 12).
    @Test func aRecipientsFileOutOfStepWithTheKeyringIsDue() throws {
        let first = try #require(keyring.activeKey(.encryption).recipient)
        let escrow = try Identity.generate(.postQuantum).recipient
        #expect(keyring.review(inventory: nil, at: days(1), sealingRecipients: [first, escrow]).actions(.recipientsFile).isEmpty)
        try keyring.rotate(.encryption, now: days(2))
        let current = try #require(keyring.activeKey(.encryption).recipient)
        // The host was not given the new file: it lacks the key in service
        // and lists the retired one.
        let stale = keyring.review(inventory: nil, at: days(3), sealingRecipients: [first, escrow])
        #expect(Set(stale.actions(.recipientsFile).compactMap(\.keyID)) == [first.keyID, current.keyID])
        #expect(stale.outcome == .actionDue)
        #expect(stale.text.contains("RECIPIENTS FILE: the sealing host's recipients file does not list the encryption key in service, \(current.keyID)"))
        #expect(keyring.review(inventory: nil, at: days(3), sealingRecipients: [current, escrow]).actions(.recipientsFile).isEmpty)
    }

    /// A review at a time before the keyring's newest event: the clock is
    /// behind, and the review must not say "nothing is due".
    /// A signing key rotated with an overlap keeps vouching for archives
    /// it signs during the overlap (a host that switched late), and no
    /// longer after it; the review and the exported windows say so.
    @Test func aSigningOverlapCoversAHostThatSwitchesLate() throws {
        let old = keyring.activeKey(.signing)
        try keyring.rotate(.signing, now: days(90), overlap: 14 * day)
        let retired = try #require(keyring.key(old.keyID))
        #expect(retired.signsUntil == days(104))
        #expect(keyring.signerWindows.first { $0.keyID == old.keyID }?.until == days(104))
        let late = ArchiveInventory.Entry(name: "late", created: days(100), recipients: [keyring.activeKey(.encryption).keyID], signer: old.keyID,
                                          hasClassicalStanza: false)
        let tooLate = ArchiveInventory.Entry(name: "too-late", created: days(105), recipients: [keyring.activeKey(.encryption).keyID], signer: old.keyID,
                                             hasClassicalStanza: false)
        let report = keyring.review(inventory: ArchiveInventory(entries: [late, tooLate]), at: days(106))
        #expect(report.actions(.signedOutsideWindow).compactMap(\.archive) == ["too-late"])
        #expect(report.text.contains("still trusted to sign until 2026-04-15T00:00:00Z (overlap)"))
        #expect(errorCode { try keyring.rotate(.encryption, now: days(91), overlap: day) } == .invalidArgument)
        #expect(errorCode { try keyring.rotate(.signing, now: days(91), overlap: 1000 * day) } == .invalidArgument)
        // The record survives a reload from disk.
        #expect(try Keyring(opening: keyring.path).key(old.keyID)?.signsUntil == days(104))
    }

    @Test func aClockBehindTheKeyringIsDue() throws {
        try keyring.rotate(.signing, now: days(30))
        let behind = keyring.review(inventory: nil, at: days(10))
        #expect(behind.actions(.clockBehind).count == 1)
        #expect(behind.outcome == .actionDue)
        #expect(behind.text.contains("!! CLOCK BEHIND"))
        #expect(keyring.review(inventory: nil, at: days(30)).actions(.clockBehind).isEmpty)
    }

    @Test func aClassicalKeyringIsToldToMigrateAndNamesItsClassicalArchives() throws {
        let classical = try Keyring.create(at: dir.file("classical"), policy: try standardPolicy(), now: days(0))
        let old = classical.activeKey(.encryption)
        #expect(old.recipient?.isPostQuantum == false)
        let entries = (0..<3).map { sealedNow(classical, name: "c\($0)", at: days(Double($0))) }
        let report = classical.review(inventory: ArchiveInventory(entries: entries), at: days(3))
        #expect(report.actions(.migrateToPostQuantum).map(\.keyID) == [old.keyID])
        #expect(report.outcome == .actionDue)
        #expect(report.text.contains("MIGRATE TO POST-QUANTUM: migrate the encryption key \(old.keyID)"))
        #expect(report.actions(.classicallyWrapped).flatMap(\.archives) == ["c0", "c1", "c2"])
        #expect(report.actions(.classicallyWrapped).allSatisfy { !$0.due })
        #expect(report.text.contains("CLASSICAL: 3 archives inside retention have a classical (X25519) stanza: c0, c1, c2"))

        // rotate --pq migrates; later rotations stay post-quantum.
        let migrated = try classical.rotate(.encryption, now: days(3), postQuantum: true)
        #expect(migrated.recipient?.isPostQuantum == true)
        #expect(try classical.rotate(.encryption, now: days(4)).recipient?.isPostQuantum == true)
        let after = classical.review(inventory: ArchiveInventory(entries: entries + [sealedNow(classical, name: "pq", at: days(4))]), at: days(5))
        #expect(after.actions(.migrateToPostQuantum).isEmpty)
        // Still named: re-wrapping does not reach copies already taken.
        #expect(after.actions(.classicallyWrapped).flatMap(\.archives) == ["c0", "c1", "c2"])
        #expect(classical.review(inventory: ArchiveInventory(entries: entries), at: days(93)).actions(.classicallyWrapped).isEmpty)
        #expect(errorCode { try classical.rotate(.signing, now: days(5), postQuantum: true) } == .invalidArgument)
    }

    @Test func aFreshKeyringHasNothingDue() throws {
        let report = keyring.review(inventory: nil, at: days(1))
        #expect(!report.actionDue)
        #expect(report.outcome == .ok)
        #expect(report.actions.isEmpty)
        #expect(report.assumption?.contains("no archive inventory was given") == true)
        #expect(report.keys.map(\.status) == [.active, .active])
        #expect(report.keys.allSatisfy { $0.nextReview == days(90) && $0.age == day })
        #expect(report.text.contains("Nothing is due."))
        #expect(report.text.contains("next review 2026-04-01T00:00:00Z"))
    }

    @Test func rotationFallsDueAtTheReviewInterval() throws {
        #expect(!keyring.review(inventory: nil, at: days(90) - 1).actionDue)
        let report = keyring.review(inventory: nil, at: days(90))
        #expect(report.actions(.rotate).compactMap(\.purpose) == [.encryption, .signing])
        #expect(report.outcome == .actionDue)
        #expect(report.text.contains("ROTATE: rotate the encryption key"))
        // `--at`: a review of a future date shows what will be due then,
        // from a keyring that has not changed.
        #expect(keyring.review(inventory: nil, at: days(200)).actions(.rotate).count == 2)
    }

    @Test func retiredKeysAreKeptWithWhyAndUntilWhenThenDestroyed() throws {
        let old = keyring.activeKey(.encryption)
        try keyring.rotate(.encryption, now: days(90))
        try keyring.rotate(.signing, now: days(90))
        let report = keyring.review(inventory: nil, at: days(100))
        #expect(!report.actionDue)
        let keep = try #require(report.actions(.keep).first { $0.keyID == old.keyID })
        #expect(keep.until == days(210))
        #expect(keep.reason?.contains("retired 2026-04-01T00:00:00Z") == true)
        #expect(report.key(old.keyID)?.status == .retired)
        #expect(report.key(old.keyID)?.record.retainUntil == days(210))
        #expect(report.text.contains("KEEP: keep the encryption key \(old.keyID) until 2026-07-30T00:00:00Z"))

        let later = keyring.review(inventory: nil, at: days(210))
        #expect(Set(later.actions(.destroy).compactMap(\.keyID)).count == 2)
        #expect(later.key(old.keyID)?.status == .expired)
        #expect(later.outcome == .actionDue)
        #expect(later.text.contains("DESTROY: destroy the encryption key \(old.keyID)"))
    }

    @Test func keysNeededByRetainedArchivesAreCounted() throws {
        let active = keyring.activeKey(.encryption).keyID
        let entries = (0..<5).map { sealedNow(keyring, name: "a\($0)", at: days(Double($0))) }
        let report = keyring.review(inventory: ArchiveInventory(entries: entries), at: days(92))
        // Archives of days 0–2 have left retention by day 92.
        #expect(report.inventory?.insideRetention == 2)
        #expect(report.key(active)?.neededBy == 2)
        #expect(report.key(active)?.neededUntil == days(94))
        #expect(report.key(keyring.activeKey(.signing).keyID)?.neededBy == nil)
        #expect(report.assumption == nil)
        #expect(report.text.contains("needed by 2 retained archives until 2026-04-05T00:00:00Z"))
    }

    @Test func archivesSealedToKeysTheKeyringDoesNotHaveAreUnrecoverable() throws {
        let stranger = try Identity.generate().recipient.keyID
        let held = keyring.activeKey(.encryption).keyID
        let entries = [
            ArchiveInventory.Entry(name: "lost.sealed", created: days(5), recipients: [stranger], signer: nil),
            ArchiveInventory.Entry(name: "fine.sealed", created: days(5), recipients: [stranger, held], signer: nil),
            ArchiveInventory.Entry(name: "old.sealed", created: days(-200), recipients: [stranger], signer: nil),
        ]
        let report = keyring.review(inventory: ArchiveInventory(entries: entries), at: days(6))
        let lost = report.actions(.unrecoverable)
        #expect(lost.map(\.archive) == ["lost.sealed"])
        #expect(lost.first?.missingKeyIDs == [stranger])
        #expect(lost.first?.message.contains("not in this keyring") == true)
        #expect(report.outcome == .archivesAtRisk)
        #expect(report.text.contains("!! UNRECOVERABLE"))
        #expect(report.text.contains("1 archive is at risk"))
    }

    @Test func archivesSignedOutsideTheirSignersWindowAreFlagged() throws {
        let firstSigner = keyring.activeKey(.signing).keyID
        let encryption = keyring.activeKey(.encryption).keyID
        try keyring.rotate(.signing, now: days(30))
        let secondSigner = keyring.activeKey(.signing).keyID
        let stranger = try SigningKey.generate().signer.keyID
        let entries = [
            ArchiveInventory.Entry(name: "in-window", created: days(29), recipients: [encryption], signer: firstSigner),
            ArchiveInventory.Entry(name: "after-retirement", created: days(31), recipients: [encryption], signer: firstSigner),
            ArchiveInventory.Entry(name: "new-signer", created: days(31), recipients: [encryption], signer: secondSigner),
            ArchiveInventory.Entry(name: "before-activation", created: days(29), recipients: [encryption], signer: secondSigner),
            ArchiveInventory.Entry(name: "stranger", created: days(31), recipients: [encryption], signer: stranger),
            ArchiveInventory.Entry(name: "encryption-key-as-signer", created: days(31), recipients: [encryption], signer: encryption),
            ArchiveInventory.Entry(name: "unsigned", created: days(31), recipients: [encryption], signer: nil),
        ]
        let report = keyring.review(inventory: ArchiveInventory(entries: entries), at: days(32))
        let flagged = report.actions(.signedOutsideWindow)
        #expect(Set(flagged.compactMap(\.archive)) == ["after-retirement", "before-activation", "stranger", "encryption-key-as-signer"])
        #expect(flagged.first { $0.archive == "stranger" }?.message.contains("not a signing key of this keyring") == true)
        #expect(flagged.first { $0.archive == "after-retirement" }?.message.contains("outside its window 2026-01-01T00:00:00Z to 2026-01-31T00:00:00Z") == true)
        #expect(report.outcome == .archivesAtRisk)
    }

    @Test func theJSONFormNamesItsFieldsAndRoundTrips() throws {
        try keyring.rotate(.encryption, now: days(90))
        let entries = [ArchiveInventory.Entry(name: "x", created: days(91), recipients: [try Identity.generate().recipient.keyID], signer: nil)]
        let report = keyring.review(inventory: ArchiveInventory(entries: entries, source: "test"), at: days(95))
        let json = try report.json()
        #expect(!json.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["schema"] as? Int == 1)
        #expect(object["kind"] as? String == "keyring-review")
        #expect(object["at"] as? String == "2026-04-06T00:00:00Z")
        #expect(object["action_due"] as? Bool == true)
        #expect(object["outcome"] as? String == "archives-at-risk")
        // The library has no exit codes: `exit_status` appears only when the
        // caller (the CLI) gives its own.
        #expect(object["exit_status"] == nil)
        let withStatus = try #require(try JSONSerialization.jsonObject(with: Data(try report.json(exitStatus: 65).utf8)) as? [String: Any])
        #expect(withStatus["exit_status"] as? Int == 65)
        let keys = try #require(object["keys"] as? [[String: Any]])
        #expect(keys.count == 3)
        #expect(keys.allSatisfy { $0["status"] is String && $0["age_seconds"] is Int && $0["key_id"] is String })
        let actions = try #require(object["actions"] as? [[String: Any]])
        // The stranger's archive is taken to be classical (its stanza types
        // are not known).
        #expect(Set(actions.compactMap { $0["kind"] as? String }) == ["unrecoverable", "rotate", "keep", "classically_wrapped"])
        #expect(actions.first { $0["kind"] as? String == "classically_wrapped" }?["archives"] as? [String] == ["x"])
        #expect(actions.allSatisfy { $0["message"] is String && $0["due"] is Bool })
        let inventory = try #require(object["inventory"] as? [String: Any])
        #expect(inventory["inside_retention"] as? Int == 1)

        let decoded = try JSONDecoder().decode(ReviewReport.self, from: Data(json.utf8))
        #expect(decoded.actions == report.actions)
        #expect(decoded.keys == report.keys)
        #expect(decoded.outcome == report.outcome)
        #expect(decoded.at == report.at)
    }

    @Test func eachReviewAppendsADatedEntryToTheLog() throws {
        try keyring.appendReviewLog(keyring.review(inventory: nil, at: days(1)), now: days(1))
        let logPath = dir.file("k/review.log")
        let first = try Data(contentsOf: URL(fileURLWithPath: logPath))
        #expect(mode(logPath) == 0o600)
        try keyring.appendReviewLog(keyring.review(inventory: nil, at: days(120)), now: days(2))
        let both = try Data(contentsOf: URL(fileURLWithPath: logPath))
        #expect(both.starts(with: first))
        let entries = try keyring.reviewLog()
        #expect(entries.map(\.logged) == [days(1), days(2)])
        #expect(entries.map(\.at) == [days(1), days(120)])
        #expect(entries.map(\.actionDue) == [false, true])
        #expect(entries[1].actions.map(\.kind) == [.rotate, .rotate])
        #expect(entries[1].keys.count == 2)
        #expect(String(decoding: both, as: UTF8.self).split(separator: "\n").count == 2)
        // The log is kept across reopening, and reopening checks its mode.
        #expect(try Keyring(opening: dir.file("k")).reviewLog().count == 2)
    }

    /// Spec/KEYRING.md section 5.4: a log line records the review's outcome
    /// by name, never a process exit code; lines written before that (with
    /// `exit_status`) are still entries, for readers and for repair.
    @Test func theLogRecordsANamedOutcomeAndStillReadsOldLinesWithAnExitStatus() throws {
        try keyring.appendReviewLog(keyring.review(inventory: nil, at: days(120)), now: days(1))
        let logPath = dir.file("k/review.log")
        let written = try String(contentsOfFile: logPath, encoding: .utf8)
        #expect(written.contains("\"outcome\":\"action-due\""))
        #expect(!written.contains("exit_status"))

        // Two lines as an older version wrote them: numbers, no outcome.
        let old = { (status: Int, due: Bool, unrecoverable: Int) in
            "{\"action_due\":\(due),\"actions\":[],\"at\":\"2026-01-02T00:00:00Z\",\"exit_status\":\(status),\"keys\":[],"
                + "\"logged\":\"2026-01-02T00:00:00Z\",\"schema\":1,\"signed_outside_window\":0,\"unrecoverable_archives\":\(unrecoverable)}\n"
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((old(65, true, 1) + old(0, false, 0)).utf8))
        try handle.close()
        let entries = try keyring.reviewLog()
        #expect(entries.map(\.outcome) == [.actionDue, .archivesAtRisk, .ok])
        #expect(try Keyring.check(at: dir.file("k")).isClean)

        // A line that is no entry is damaged local state, not a key problem.
        try Data((written + "{\"schema\":1,\"lo\n").utf8).write(to: URL(fileURLWithPath: logPath))
        #expect(errorCode { _ = try keyring.reviewLog() } == .state)
    }

    @Test func pruneJSONAndTextSayWhatHappened() throws {
        try keyring.rotate(.encryption, now: days(90))
        let plan = try keyring.prune(inventory: ArchiveInventory(entries: []), now: days(300), dryRun: true)
        #expect(plan.destroy.count == 1 && plan.dryRun)
        #expect(plan.assumption == nil)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(plan.json().utf8)) as? [String: Any])
        #expect(object["kind"] as? String == "keyring-prune")
        #expect(object["dry_run"] as? Bool == true)
        #expect((object["destroy"] as? [[String: Any]])?.first?["key_id"] as? String == plan.destroy.first?.keyID.description)
        #expect(plan.text.contains("dry run"))
    }
}
