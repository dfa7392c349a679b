import Foundation
import Testing
import KeyRotation
import SealedArchive

/// The acceptance run: a keyring driven through two years with a
/// simulated clock. An archive is sealed every day at 02:00; at 09:00 the
/// operator reviews against the offsite inventory (archives inside the 90-day
/// retention), rotates what review says to rotate and prunes what it says to
/// destroy. Every 15th archive is sealed for real and opened after each
/// prune with identities from the keyring.
///
/// The keyring starts classical (X25519), as every keyring made before
/// post-quantum keys did: review says to migrate from the first day, and
/// the operator does so at the first quarterly rotation (`rotate --pq`).
/// Later rotations stay post-quantum, the classical archives are named
/// until they leave retention, and every archive in retention, of either
/// kind, keeps opening.
@Suite struct TwoYearSimulationTests {
    @Test func twoYearsOfQuarterlyRotationsWithDailyArchives() throws {
        let dir = try TemporaryDirectory()
        let keyringPath = dir.file("keyring")
        let offsite = dir.file("offsite"), deletedOffsite = dir.file("deleted")
        for path in [offsite, deletedOffsite] { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false) }
        let keyring = try Keyring.create(at: keyringPath, policy: try standardPolicy(), now: days(0))
        let retention = keyring.policy.retention
        let keyRetention = keyring.policy.keyRetention

        var archives: [ArchiveInventory.Entry] = []
        var realArchives: [(name: String, created: Date, plaintext: [UInt8])] = []
        var retiredAt: [KeyID: Date] = [:]
        var rotationDays: [KeyPurpose: [Int]] = [.encryption: [], .signing: [], ]
        var prunes = 0
        var predictedRotation: (day: Int, purposes: Set<KeyPurpose>)?

        for d in 0..<730 {
            let sealTime = days(Double(d), hours: 2)
            let reviewTime = days(Double(d), hours: 9)

            archives.append(sealedNow(keyring, name: "daily-\(d).sealed", at: sealTime))
            if d % 15 == 0 {
                let plaintext = Array("backup of day \(d)".utf8)
                try sealArchive(keyring, plaintext: plaintext, at: sealTime, to: offsite + "/real-\(d).sealed")
                realArchives.append(("real-\(d).sealed", sealTime, plaintext))
            }
            // The offsite store deletes archives that have left retention.
            for real in realArchives where !isInside(real.created, retention, reviewTime)
                && FileManager.default.fileExists(atPath: offsite + "/" + real.name) {
                try FileManager.default.moveItem(atPath: offsite + "/" + real.name, toPath: deletedOffsite + "/" + real.name)
            }
            let retained = archives.filter { $0.isInsideRetention(retention, at: reviewTime) }
            let inventory = ArchiveInventory(entries: retained, source: "offsite listing")

            // What review must say, from this test's own bookkeeping.
            let report = keyring.review(inventory: inventory, at: reviewTime)
            var expectRotate = Set<KeyPurpose>()
            for purpose in KeyPurpose.allCases where reviewTime >= keyring.activeKey(purpose).activated.addingTimeInterval(90 * day) {
                expectRotate.insert(purpose)
            }
            let expectDestroy = Set(keyring.keys.filter { $0.isHeld && retiredAt[$0.keyID].map { reviewTime >= $0.addingTimeInterval(keyRetention) } == true }.map(\.keyID))
            let expectKeep = Set(keyring.keys.filter { $0.isHeld && retiredAt[$0.keyID].map { reviewTime < $0.addingTimeInterval(keyRetention) } == true }.map(\.keyID))
            #expect(Set(report.actions(.rotate).compactMap(\.purpose)) == expectRotate, "day \(d)")
            #expect(Set(report.actions(.destroy).compactMap(\.keyID)) == expectDestroy, "day \(d)")
            #expect(Set(report.actions(.keep).compactMap(\.keyID)) == expectKeep, "day \(d)")
            for keep in report.actions(.keep) {
                #expect(keep.until == keep.keyID.flatMap { retiredAt[$0] }?.addingTimeInterval(keyRetention), "day \(d)")
            }
            #expect(report.actions(.unrecoverable).isEmpty, "day \(d)")
            #expect(report.actions(.signedOutsideWindow).isEmpty, "day \(d)")
            let expectMigrate = keyring.activeKey(.encryption).recipient?.isPostQuantum != true
            #expect(report.actions(.migrateToPostQuantum).map(\.keyID) == (expectMigrate ? [keyring.activeKey(.encryption).keyID] : []), "day \(d)")
            let classical = retained.filter(\.hasClassicalStanza).map(\.name)
            #expect(report.actions(.classicallyWrapped).flatMap(\.archives) == classical, "day \(d)")
            #expect(report.outcome == (expectRotate.isEmpty && expectDestroy.isEmpty && !expectMigrate ? .ok : .actionDue), "day \(d)")
            if let predicted = predictedRotation, predicted.day == d {
                #expect(Set(report.actions(.rotate).compactMap(\.purpose)) == predicted.purposes, "predicted for day \(d)")
            }
            try keyring.appendReviewLog(report, now: reviewTime)

            // The operator follows the review, migrating to post-quantum at
            // the first quarterly rotation.
            for action in report.actions(.rotate) {
                guard let purpose = action.purpose else { continue }
                retiredAt[keyring.activeKey(purpose).keyID] = reviewTime
                let migrate = purpose == .encryption && !report.actions(.migrateToPostQuantum).isEmpty
                try keyring.rotate(purpose, now: reviewTime, comment: "quarterly rotation, day \(d)", postQuantum: migrate)
                rotationDays[purpose, default: []].append(d)
            }
            if !report.actions(.destroy).isEmpty {
                // A dry run from the headers of the real archives agrees.
                let fromHeaders = try keyring.prune(inventory: try ArchiveInventory(directory: offsite), now: reviewTime, dryRun: true)
                #expect(Set(fromHeaders.destroy.map(\.keyID)) == expectDestroy, "day \(d)")
                let plan = try keyring.prune(inventory: inventory, now: reviewTime, dryRun: false)
                #expect(Set(plan.destroy.map(\.keyID)) == expectDestroy, "day \(d)")
                prunes += 1
                // Every retained real archive still opens.
                for real in realArchives where isInside(real.created, retention, reviewTime) {
                    #expect(try openArchive(keyring, path: offsite + "/" + real.name) == real.plaintext, "\(real.name) on day \(d)")
                }
            }
            // `review --at` 30 days ahead, checked when the day comes (if no
            // rotation happens in between to change the answer).
            if d % 45 == 0 {
                let ahead = keyring.review(inventory: nil, at: days(Double(d + 30), hours: 9))
                predictedRotation = (d + 30, Set(ahead.actions(.rotate).compactMap(\.purpose)))
            }

            // Invariants after every day's operations.
            for purpose in KeyPurpose.allCases {
                #expect(keyring.keys.filter { $0.purpose == purpose && $0.isActive }.count == 1)
            }
            let held = Set(keyring.keys.filter { $0.purpose == .encryption && $0.isHeld }.map(\.keyID))
            let needed = Set(retained.flatMap(\.recipients)).union([keyring.activeKey(.encryption).keyID])
            #expect(needed.isSubset(of: held), "day \(d): a retained archive lost its key")
            // Anything held beyond what retained archives need is only kept
            // for its retain-until (the grace), never longer.
            for extra in held.subtracting(needed) {
                #expect(keyring.key(extra)?.status(at: reviewTime) == .retired, "day \(d): \(extra) is kept past its retain-until")
            }
        }

        // Migrated on day 90: every encryption key since is post-quantum,
        // and the classical archives left retention 90 days later.
        #expect(keyring.keys.filter { $0.purpose == .encryption && $0.activated >= days(90) }.allSatisfy { $0.recipient?.isPostQuantum == true })
        #expect(keyring.keys.filter { $0.purpose == .encryption && $0.activated < days(90) }.allSatisfy { $0.recipient?.isPostQuantum == false })
        #expect(realArchives.contains { $0.created < days(90) } && realArchives.contains { $0.created > days(90) })
        // Quarterly: every 90 days, both purposes.
        #expect(rotationDays[.encryption] == [90, 180, 270, 360, 450, 540, 630, 720])
        #expect(rotationDays[.signing] == [90, 180, 270, 360, 450, 540, 630, 720])
        // Each retired key is destroyed 120 days (retention + grace) after
        // its retirement: days 210, 300, …, 660; the next would be day 750.
        #expect(prunes == 6)
        // 9 keys per purpose: the active one, those retired on days 630 and
        // 720 (inside retention + grace), and 6 tombstones.
        #expect(keyring.keys.count == 18)
        #expect(keyring.keys.filter(\.isHeld).count == 6)
        #expect(keyring.keys.filter { !$0.isHeld }.compactMap(\.retired).map { Int($0.timeIntervalSince(epoch) / day) } == [90, 180, 270, 360, 450, 540, 90, 180, 270, 360, 450, 540])

        // At the end every retained real archive opens; the ones the offsite
        // store deleted whose keys were destroyed no longer do.
        let end = days(729, hours: 9)
        for real in realArchives where isInside(real.created, retention, end) {
            #expect(try openArchive(keyring, path: offsite + "/" + real.name) == real.plaintext)
        }
        var unopenable = 0
        for real in realArchives where !isInside(real.created, retention, end) {
            let header = try ArchiveReader(source: FileSource(path: deletedOffsite + "/" + real.name)).header
            let keyHeld = keyring.key(header.stanzas[0].keyID)?.isHeld ?? false
            if !keyHeld {
                unopenable += 1
                #expect(errorCode { _ = try openArchive(keyring, path: deletedOffsite + "/" + real.name) } == .noIdentity)
            }
        }
        #expect(unopenable > 30)

        // The review log has one entry per day, and the keyring reads back
        // from disk exactly as it is in memory.
        #expect(try keyring.reviewLog().count == 730)
        #expect(try Keyring(opening: keyringPath).keys == keyring.keys)
        // Looking ahead past the last rotation's retain-until: both
        // purposes due for rotation, both retired keys of each due to go.
        let future = keyring.review(inventory: nil, at: days(729 + 200))
        #expect(future.actions(.rotate).count == 2)
        #expect(future.actions(.destroy).count == 4)
    }

    private func isInside(_ created: Date, _ retention: TimeInterval, _ at: Date) -> Bool {
        created.addingTimeInterval(retention) > at
    }
}
