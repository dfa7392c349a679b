import Foundation
import Testing
import KeyRotation
import SealedArchive
import TestSupport

/// Random histories of clock jumps, seals, rotations, reviews, prunes and
/// reopenings (seeded, so a failure names its seed). After every step:
/// exactly one active key per purpose, and every archive inside retention
/// still has a key the keyring holds and can read.
///
/// Half the histories have "lagging" hosts that keep sealing to retired
/// keys long after a rotation; those prune only with an inventory. The
/// other half seal to a retired key only within the grace, which is what
/// prune without an inventory assumes, and prune both ways.
@Suite struct PropertyTests {
    /// 64 seeded histories in the full tier, 2 in the fast one (each is a
    /// hundred keyring writes, every one flushed to disk: several seconds
    /// on a loaded laptop). Seeds 1 and 2 are one well-behaved and one
    /// lagging history.
    @Test(arguments: Array(UInt64(1)...TestTier.scaled(fast: 2, full: 64)))
    func noArchiveInsideRetentionEverBecomesUnopenable(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let lagging = seed % 2 == 0
        let policy = try KeyringPolicy(
            retention: TimeInterval(Int.random(in: 3_600...(120 * 86_400), using: &rng)),
            reviewInterval: TimeInterval(Int.random(in: 86_400...(120 * 86_400), using: &rng)),
            grace: Int.random(in: 0..<4, using: &rng) == 0 ? 0 : TimeInterval(Int.random(in: 0...(40 * 86_400), using: &rng)))
        let dir = try TemporaryDirectory()
        let path = dir.file("keyring")
        var now = epoch.addingTimeInterval(TimeInterval(Int.random(in: 0...(365 * 86_400), using: &rng)))
        var keyring = try Keyring.create(at: path, policy: policy, now: now)
        var archives: [ArchiveInventory.Entry] = []
        let context = "seed \(seed) (lagging \(lagging), policy \(policy))"

        for step in 0..<100 {
            let inventory = ArchiveInventory(entries: archives)
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<30: // The clock moves on, often exactly to a boundary.
                let categories: [[Date]] = [
                    keyring.keys.compactMap(\.retainUntil),
                    keyring.keys.filter(\.isActive).map { $0.activated.addingTimeInterval(policy.reviewInterval) },
                    // The end of each retired key's grace: the last moment a
                    // well-behaved host may still seal to it.
                    keyring.keys.compactMap(\.retired).map { $0.addingTimeInterval(policy.grace) },
                    archives.map { $0.created.addingTimeInterval(policy.retention) },
                ].map { $0.filter { $0 > now } }.filter { !$0.isEmpty }
                if Int.random(in: 0..<3, using: &rng) > 0, let category = categories.randomElement(using: &rng),
                   let target = category.randomElement(using: &rng) {
                    now = target.addingTimeInterval(TimeInterval(Int.random(in: -1...1, using: &rng)))
                } else {
                    now = now.addingTimeInterval(TimeInterval(Int.random(in: 1...(40 * 86_400), using: &rng)))
                }
                now = max(now, keyring.keys.map(\.activated).max() ?? now)
            case 30..<45: // An archive is sealed now with the active keys.
                archives.append(ArchiveInventory.Entry(name: "a\(archives.count)", created: now,
                                                       recipients: [keyring.activeKey(.encryption).keyID],
                                                       signer: keyring.activeKey(.signing).keyID))
            case 45..<55: // A host that missed a rotation sealed to the retired
                // key, and its archive shows up in the inventory only now.
                // Well-behaved hosts did so within the grace; lagging ones
                // at any time while the key was still held.
                let retired = keyring.keys.filter { $0.purpose == .encryption && $0.retired != nil && (lagging ? $0.isHeld : true) }
                guard let stale = retired.randomElement(using: &rng), let retiredAt = stale.retired else { break }
                let latest = lagging ? now : min(now, retiredAt.addingTimeInterval(policy.grace))
                guard latest >= retiredAt else { break }
                let created = Bool.random(using: &rng) ? latest
                    : retiredAt.addingTimeInterval(TimeInterval(Int.random(in: 0...Int(latest.timeIntervalSince(retiredAt)), using: &rng)))
                let recipients = Bool.random(using: &rng) ? [stale.keyID] : [stale.keyID, keyring.activeKey(.encryption).keyID]
                archives.append(ArchiveInventory.Entry(name: "late\(archives.count)", created: created, recipients: recipients,
                                                       signer: keyring.activeKey(.signing).keyID))
            case 55..<65: // An unscheduled rotation.
                try keyring.rotate(Bool.random(using: &rng) ? .encryption : .signing, now: now, comment: "step \(step)")
            case 65..<75: // A review, followed.
                let report = keyring.review(inventory: inventory, at: now)
                for action in report.actions(.rotate) {
                    try keyring.rotate(try #require(action.purpose), now: now, comment: nil)
                }
            case 75..<92: // A prune, with or without an inventory, maybe dry.
                let withInventory = lagging || Int.random(in: 0..<4, using: &rng) == 0
                let dryRun = Int.random(in: 0..<4, using: &rng) == 0
                let before = keyring.keys
                let plan = try keyring.prune(inventory: withInventory ? inventory : nil, now: now, dryRun: dryRun)
                if dryRun {
                    #expect(keyring.keys == before, "\(context): a dry run changed the keyring")
                    #expect(try Keyring(opening: path).keys == before, "\(context): a dry run changed the files")
                } else {
                    // Prune is idempotent.
                    #expect(try keyring.prune(inventory: withInventory ? inventory : nil, now: now, dryRun: false).destroy.isEmpty)
                }
                for record in plan.destroy {
                    #expect(!record.isActive, "\(context): prune planned to destroy an active key")
                    #expect(now >= record.retainUntil ?? .distantFuture, "\(context): prune planned to destroy a key before its retain-until")
                }
            default: // Another process opens the keyring.
                let reopened = try Keyring(opening: path)
                #expect(reopened.keys == keyring.keys, "\(context): the keyring on disk differs from memory")
                keyring = reopened
            }

            // Exactly one active key per purpose, in memory and on disk.
            for purpose in KeyPurpose.allCases {
                #expect(keyring.keys.filter { $0.purpose == purpose && $0.isActive }.count == 1, "\(context), step \(step)")
            }
            // Every archive inside retention has a held key that reads back.
            let inside = archives.filter { $0.isInsideRetention(policy.retention, at: now) }
            var checked = Set<KeyID>()
            for archive in inside {
                let held = archive.recipients.filter { keyring.key($0)?.isHeld == true }
                #expect(!held.isEmpty, "\(context), step \(step): \(archive.name) (created \(archive.created)) became unopenable at \(now)")
                for id in held where checked.insert(id).inserted {
                    #expect(try keyring.identity(for: id).recipient.keyID == id)
                }
            }
            #expect(keyring.review(inventory: ArchiveInventory(entries: archives), at: now).actions(.unrecoverable).isEmpty,
                    "\(context), step \(step)")
        }
        #expect(try Keyring(opening: path).keys == keyring.keys, "\(context)")
    }
}
