import Foundation
import Testing
import KeyRotation
import SealedArchive

@Suite struct LifecycleTests {
    @Test func createMakesOneActiveKeyPerPurposeWithPrivateFiles() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("keyring")
        let keyring = try Keyring.create(at: path, policy: try standardPolicy(), now: days(0, hours: 10.5))
        #expect(keyring.keys.count == 2)
        for purpose in KeyPurpose.allCases {
            let active = keyring.activeKey(purpose)
            #expect(active.purpose == purpose)
            #expect(active.activated == days(0, hours: 10.5))
            #expect(active.status(at: days(1000)) == .active)
            #expect(mode(path + "/keys/\(active.keyID).key") == 0o600)
        }
        #expect(mode(path) == 0o700)
        #expect(mode(path + "/keys") == 0o700)
        #expect(mode(path + "/policy.json") == 0o600)
        #expect(mode(path + "/keyring.json") == 0o600)
        #expect(mode(path + "/.lock") == 0o600)
        #expect(keyring.activeRecipients.map(\.keyID) == [keyring.activeKey(.encryption).keyID])
        #expect(try keyring.identity(for: keyring.activeKey(.encryption).keyID).recipient == keyring.activeRecipients[0])
        #expect(try keyring.activeSigningKey().signer.keyID == keyring.activeKey(.signing).keyID)

        let reopened = try Keyring(opening: path)
        #expect(reopened.keys == keyring.keys)
        #expect(reopened.policy == keyring.policy)
    }

    @Test func metadataFilesNameEveryField() throws {
        let dir = try TemporaryDirectory()
        let keyring = try Keyring.create(at: dir.file("k"), policy: try standardPolicy(), now: days(0))
        let id = keyring.activeKey(.encryption).keyID
        let data = try Data(contentsOf: URL(fileURLWithPath: dir.file("k/keyring.json")))
        let index = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(index["schema"] as? Int == 1)
        let records = try #require(index["keys"] as? [[String: Any]])
        #expect(records.count == 2)
        let object = try #require(records.first { $0["key_id"] as? String == id.description })
        #expect(Set(object.keys) == ["schema", "key_id", "purpose", "public_key", "created", "activated", "retired", "retain_until", "destroyed", "signs_until", "comment"])
        #expect(object["schema"] as? Int == 1)
        #expect(object["key_id"] as? String == id.description)
        #expect(object["purpose"] as? String == "encryption")
        #expect((object["public_key"] as? String)?.hasPrefix("age1") == true)
        #expect(object["created"] as? String == "2026-01-01T00:00:00Z")
        #expect(object["retired"] is NSNull)
        let policy = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("k/policy.json")))) as? [String: Any])
        #expect(policy["schema"] as? Int == 1)
        #expect(policy["review_interval"] as? String == "90d")
        #expect(policy["retention"] as? String == "90d")
        #expect(policy["grace"] as? String == "30d")
        // The secret file is an identity file of Spec/KEYS.md.
        let secret = try String(contentsOfFile: dir.file("k/keys/\(id).key"), encoding: .utf8)
        #expect(secret.hasPrefix("# created: 2026-01-01T00:00:00Z\n# public key: age1"))
        #expect(try KeyFiles.readIdentities(path: dir.file("k/keys/\(id).key")).first?.recipient.keyID == id)
    }

    @Test func createRefusesANonEmptyDirectoryAndTakesAnEmptyOne() throws {
        let dir = try TemporaryDirectory()
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir.file("something")))
        let error = sealedArchiveError { _ = try Keyring.create(at: dir.path, policy: try standardPolicy(), now: days(0)) }
        #expect(error?.code == .io)
        #expect(error?.message.contains("not empty") == true)
        #expect(FileManager.default.fileExists(atPath: dir.file("something")))
        #expect(!FileManager.default.fileExists(atPath: dir.file("keys")))

        let empty = dir.file("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        try setMode(empty, 0o755)
        _ = try Keyring.create(at: empty, policy: try standardPolicy(), now: days(0))
        #expect(mode(empty) == 0o700)
    }

    @Test func rotationRetiresTheOldKeyWithRetainUntil() throws {
        let dir = try TemporaryDirectory()
        let keyring = try Keyring.create(at: dir.file("k"), policy: try standardPolicy(), now: days(0))
        let oldEncryption = keyring.activeKey(.encryption)
        let oldSigning = keyring.activeKey(.signing)
        let new = try keyring.rotate(.encryption, now: days(10), comment: "quarterly")
        #expect(new.purpose == .encryption && new.activated == days(10) && new.comment == "quarterly")
        #expect(keyring.activeKey(.encryption) == new)
        #expect(keyring.activeKey(.signing) == oldSigning)
        let retired = try #require(keyring.key(oldEncryption.keyID))
        #expect(retired.retired == days(10))
        #expect(retired.retainUntil == days(10 + 90 + 30))
        #expect(retired.status(at: days(50)) == .retired)
        #expect(retired.status(at: days(130) - 1) == .retired)
        #expect(retired.status(at: days(130)) == .expired)
        #expect(keyring.keys.filter(\.isActive).count == 2)
        // A retired key still opens what was sealed to it.
        #expect(try keyring.identity(for: oldEncryption.keyID).recipient.keyID == oldEncryption.keyID)
        #expect(try Keyring(opening: dir.file("k")).keys == keyring.keys)
    }

    @Test func rotationRefusesAClockThatWentBackwards() throws {
        let dir = try TemporaryDirectory()
        let keyring = try Keyring.create(at: dir.file("k"), policy: try standardPolicy(), now: days(10))
        #expect(errorCode { try keyring.rotate(.signing, now: days(9), comment: nil) } == .invalidArgument)
        #expect(errorCode { try keyring.rotate(.signing, now: days(11), comment: "two\nlines") } == .invalidArgument)
        #expect(keyring.keys.count == 2)
        #expect(try Keyring(opening: dir.file("k")).keys.count == 2)
    }

    /// Two rotations at once: the second waited for the lock while the
    /// first activated its key a moment after the second's `now`. The
    /// second then rotates at that activation, not refused as a clock
    /// problem (seen as a rare exit 64 of concurrent `keys rotate`).
    @Test func rotationThatWaitedForTheLockHappensAfterTheOneBeforeIt() throws {
        let dir = try TemporaryDirectory()
        let keyring = try Keyring.create(at: dir.file("k"), policy: try standardPolicy(), now: days(10))
        let first = try keyring.rotate(.encryption, now: days(11))
        let second = try keyring.rotate(.encryption, now: days(11).addingTimeInterval(-1))
        #expect(second.activated == first.activated)
        #expect(keyring.keys.filter { $0.purpose == .encryption && $0.retired == nil }.map(\.keyID) == [second.keyID])
        #expect(keyring.key(first.keyID)?.retired == first.activated)
    }

    @Test func pruneDestroysOnlyExpiredKeysAndLeavesATombstone() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("k")
        let keyring = try Keyring.create(at: path, policy: try standardPolicy(), now: days(0))
        let old = keyring.activeKey(.encryption)
        let oldSigner = keyring.activeKey(.signing)
        try keyring.rotate(.encryption, now: days(90))
        try keyring.rotate(.signing, now: days(90))

        // Before retain-until (day 210) nothing goes.
        #expect(try keyring.prune(inventory: nil, now: days(209), dryRun: false).destroy.isEmpty)
        // A dry run says what it would do and changes nothing.
        let before = keyring.keys
        let dry = try keyring.prune(inventory: nil, now: days(210), dryRun: true)
        #expect(Set(dry.destroy.map(\.keyID)) == [old.keyID, oldSigner.keyID])
        #expect(dry.assumption?.contains("no archive younger than the retention") == true)
        #expect(dry.text.contains("would destroy"))
        #expect(keyring.keys == before)
        #expect(FileManager.default.fileExists(atPath: path + "/keys/\(old.keyID).key"))

        let plan = try keyring.prune(inventory: nil, now: days(210), dryRun: false)
        #expect(Set(plan.destroy.map(\.keyID)) == [old.keyID, oldSigner.keyID])
        #expect(!FileManager.default.fileExists(atPath: path + "/keys/\(old.keyID).key"))
        #expect(try Keyring.check(at: path).isClean)
        let tombstone = try #require(keyring.key(old.keyID))
        #expect(tombstone.destroyed == days(210))
        #expect(tombstone.status(at: days(210)) == .destroyed)
        #expect(errorCode { _ = try keyring.identity(for: old.keyID) } == .noIdentity)
        // The signer's window survives its destruction, for verifiers.
        let window = try #require(keyring.signerWindows.first { $0.keyID == oldSigner.keyID })
        #expect(window.from == days(0) && window.until == days(90))
        #expect(window.contains(days(89)) && !window.contains(days(90)))

        let reopened = try Keyring(opening: path)
        #expect(reopened.keys == keyring.keys)
        #expect(try reopened.prune(inventory: nil, now: days(400), dryRun: false).destroy.isEmpty)
        #expect(reopened.keys.filter(\.isActive).count == 2)
    }

    @Test func pruneKeepsAnExpiredKeyThatARetainedArchiveNeeds() throws {
        let dir = try TemporaryDirectory()
        let keyring = try Keyring.create(at: dir.file("k"), policy: try standardPolicy(), now: days(0))
        let old = keyring.activeKey(.encryption)
        try keyring.rotate(.encryption, now: days(90))
        // A host that missed the rotation sealed to the old key on day 150,
        // past the grace: that archive is inside retention until day 240.
        let late = ArchiveInventory.Entry(name: "late.sealed", created: days(150), recipients: [old.keyID], signer: nil)
        let inventory = ArchiveInventory(entries: [late])

        let plan = try keyring.prune(inventory: inventory, now: days(215), dryRun: false)
        #expect(plan.destroy.isEmpty)
        let keep = try #require(plan.keep.first { $0.keyID == old.keyID })
        #expect(keep.until == days(240))
        #expect(keep.reason?.contains("late.sealed") == true)
        #expect(try keyring.identity(for: old.keyID).recipient.keyID == old.keyID)

        #expect(try keyring.prune(inventory: inventory, now: days(239), dryRun: false).destroy.isEmpty)
        #expect(try keyring.prune(inventory: inventory, now: days(240), dryRun: false).destroy.map(\.keyID) == [old.keyID])
    }

    @Test func pruneWithoutInventoryTrustsTheAssumptionAndReviewThenSaysSoLoudly() throws {
        let dir = try TemporaryDirectory()
        let keyring = try Keyring.create(at: dir.file("k"), policy: try standardPolicy(), now: days(0))
        let old = keyring.activeKey(.encryption)
        try keyring.rotate(.encryption, now: days(90))
        let late = ArchiveInventory.Entry(name: "late.sealed", created: days(150), recipients: [old.keyID], signer: nil)
        // Without the inventory prune cannot know about the late archive.
        #expect(try keyring.prune(inventory: nil, now: days(215), dryRun: false).destroy.map(\.keyID) == [old.keyID])
        let report = keyring.review(inventory: ArchiveInventory(entries: [late]), at: days(216))
        let lost = try #require(report.actions(.unrecoverable).first)
        #expect(lost.archive == "late.sealed" && lost.missingKeyIDs == [old.keyID])
        #expect(lost.message.contains("destroyed 2026-08-04T00:00:00Z"))
        #expect(report.outcome == .archivesAtRisk)
    }

    @Test func twoActiveKeysAreRefusedAndRepaired() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("k")
        let keyring = try Keyring.create(at: path, policy: try standardPolicy(), now: days(0))
        let old = keyring.activeKey(.encryption)
        let new = try keyring.rotate(.encryption, now: days(30))
        // Make the old key active again by hand: the state two unlocked
        // rotations of an older version could leave.
        let index = path + "/keyring.json"
        let text = try String(contentsOfFile: index, encoding: .utf8)
            .replacingOccurrences(of: "\"retain_until\" : \"2026-05-31T00:00:00Z\"", with: "\"retain_until\" : null")
            .replacingOccurrences(of: "\"retired\" : \"2026-01-31T00:00:00Z\"", with: "\"retired\" : null")
        try FileManager.default.removeItem(atPath: index)
        try Data(text.utf8).write(to: URL(fileURLWithPath: index))
        try setMode(index, 0o600)

        let error = sealedArchiveError { _ = try Keyring(opening: path) }
        #expect(error?.code == .invalidKey)
        #expect(error?.message.contains("2 active encryption keys") == true)
        let check = try Keyring.check(at: path)
        #expect(check.problems == [.activeKeys(.encryption, [old.keyID, new.keyID])])
        #expect(check.preventsUse)
        let plan = try Keyring.repair(at: path, now: days(40), dryRun: true)
        #expect(plan.actions == [.retire(old.keyID, .encryption, at: days(30), keeping: new.keyID)])
        #expect(try Keyring.check(at: path).problems.count == 1)
        let done = try Keyring.repair(at: path, now: days(40), dryRun: false)
        #expect(done.isClean)
        let repaired = try Keyring(opening: path)
        #expect(repaired.activeKey(.encryption).keyID == new.keyID)
        #expect(repaired.key(old.keyID)?.retired == days(30))
        #expect(repaired.key(old.keyID)?.retainUntil == days(150))
    }

    @Test func inconsistentMetadataIsRefused() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("k")
        let keyring = try Keyring.create(at: path, policy: try standardPolicy(), now: days(0))
        let encryption = keyring.activeKey(.encryption)
        let signing = keyring.activeKey(.signing)
        // A record whose public key is another key's.
        let wrong = path + "/keyring.json"
        let saved = try Data(contentsOf: URL(fileURLWithPath: wrong))
        try FileManager.default.removeItem(atPath: wrong)
        let swapped = String(decoding: saved, as: UTF8.self).replacingOccurrences(of: encryption.keyID.description, with: signing.keyID.description)
        try Data(swapped.utf8).write(to: URL(fileURLWithPath: wrong))
        try setMode(wrong, 0o600)
        #expect(errorCode { _ = try Keyring(opening: path) } == .invalidKey)
        try FileManager.default.removeItem(atPath: wrong)
        try saved.write(to: URL(fileURLWithPath: wrong))
        try setMode(wrong, 0o600)
        _ = try Keyring(opening: path)
        // A held key whose secret file is gone.
        try FileManager.default.removeItem(atPath: path + "/keys/\(signing.keyID).key")
        let error = sealedArchiveError { _ = try Keyring(opening: path) }
        #expect(error?.code == .invalidKey)
        #expect(error?.message.contains("is missing") == true)
    }

    @Test(arguments: [
        ("90d", 90 * 86_400.0), ("12w", 84 * 86_400.0), ("24h", 86_400.0), ("45m", 2_700.0),
    ])
    func policyDurationsParse(_ text: String, _ seconds: TimeInterval) throws {
        let policy = try KeyringPolicy(retention: text)
        #expect(policy.retention == seconds)
        #expect(policy.reviewInterval == KeyringPolicy.defaultReviewInterval)
        #expect(policy.grace == KeyringPolicy.defaultGrace)
        #expect(policy.keyRetention == seconds + 30 * 86_400)
    }

    @Test(arguments: ["90", "0d", "-1d", "d", "1y", "200000d"])
    func badRetentionsAreRefused(_ text: String) {
        #expect(errorCode { _ = try KeyringPolicy(retention: text) } == .invalidArgument)
    }

    @Test func zeroGraceIsAllowed() throws {
        #expect(try KeyringPolicy(retention: "30d", grace: "0d").keyRetention == 30 * 86_400)
        #expect(errorCode { _ = try KeyringPolicy(retention: "30d", reviewInterval: "0d") } == .invalidArgument)
    }

    @Test func timesParseAsOperatorsTypeThem() throws {
        #expect(try KeyringTime.parse("2026-01-01") == epoch)
        #expect(try KeyringTime.parse("2026-01-01T02:00:00+02:00") == epoch)
        #expect(KeyringTime.format(epoch.addingTimeInterval(0.9)) == "2026-01-01T00:00:00Z")
        #expect(errorCode { _ = try KeyringTime.parse("next tuesday") } == .invalidArgument)
    }
}

/// `keys passwd` asks for the current passphrase before it takes the
/// keyring's lock: a prompt that waits on a person must not stall the
/// keyring's other writers (a nightly rotation) meanwhile.
@Suite struct PassphraseChangeTests {
    static func secret(_ text: String) throws -> SecureBytes {
        try Array(text.utf8).withUnsafeBytes { try SecureBytes(copying: $0) }
    }

    static let first = "first passphrase"

    /// A new keyring whose encryption key is protected with ``first``.
    static func protectedKeyring(in dir: TemporaryDirectory) throws -> (path: String, keyring: Keyring, id: KeyID) {
        let path = dir.file("k")
        let keyring = try Keyring.create(at: path, policy: try standardPolicy(), now: days(0))
        let id = keyring.activeKey(.encryption).keyID
        try keyring.setPassphrase(of: id, current: nil, new: try secret(first), now: days(1))
        return (path, keyring, id)
    }

    @Test func theCurrentPassphraseIsAskedForOutsideTheLock() throws {
        let dir = try TemporaryDirectory()
        let (path, keyring, id) = try Self.protectedKeyring(in: dir)
        let first = try Self.secret(Self.first)
        let second = try Self.secret("second passphrase")

        // While the "person" types, another process rotates the signing
        // key: with the lock held over the prompt it would wait 30 s and
        // fail; it must go through at once.
        var rotated = false
        try keyring.setPassphrase(of: id, current: { _ in
            try Keyring(opening: path).rotate(.signing, now: days(2))
            rotated = true
            return first
        }, new: second, now: days(2))
        #expect(rotated)
        let reopened = try Keyring(opening: path)
        #expect(try reopened.identity(for: id, passphrase: { _ in second }).recipient.keyID == id)
        #expect(sealedArchiveError { _ = try reopened.identity(for: id, passphrase: { _ in first }) } != nil)
    }

    /// A key destroyed while its passphrase was asked for is not written
    /// back: nothing changes, and the error says why.
    @Test func aKeyDestroyedDuringThePromptIsNotWrittenBack() throws {
        let dir = try TemporaryDirectory()
        let (path, keyring, id) = try Self.protectedKeyring(in: dir)
        let first = try Self.secret(Self.first)
        let error = sealedArchiveError {
            try keyring.setPassphrase(of: id, current: { _ in
                let other = try Keyring(opening: path)
                try other.rotate(.encryption, now: days(2))
                _ = try other.prune(inventory: nil, now: days(400), dryRun: false)
                return first
            }, new: try Self.secret("new"), now: days(400))
        }
        #expect(error?.code == .state, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: dir.file("k/keys/\(id).key")), "the destroyed key was written back")
    }
}

/// Times in keyring files are read only in the form the keyring writes
/// (Spec/KEYRING.md section 2): UTC, `Z`, whole seconds.
@Suite struct StoredTimeTests {
    @Test(arguments: ["2026-01-01T02:00:00+02:00", "2026-01-01T00:00:00.5Z", "2026-01-01T00:00:00z", "2026-01-01"])
    func aTimeInAnotherFormIsRefused(_ spelling: String) throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("k")
        _ = try Keyring.create(at: path, policy: try standardPolicy(), now: days(0))
        let index = dir.file("k/keyring.json")
        let text = try String(contentsOfFile: index, encoding: .utf8)
        #expect(text.contains("\"2026-01-01T00:00:00Z\""))
        // Rewritten 0600, as the keyring writes it: a looser mode would be
        // refused for that reason instead.
        func rewrite(_ text: String) throws {
            try text.write(toFile: index, atomically: false, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: index)
        }
        try rewrite(text.replacingOccurrences(of: "\"2026-01-01T00:00:00Z\"", with: "\"\(spelling)\""))
        let error = sealedArchiveError { _ = try Keyring(opening: path) }
        #expect(error?.message.contains(spelling) == true || error?.message.contains("RFC 3339") == true, "\(spelling): \(String(describing: error))")
        // Control: the written form, put back the same way, opens again.
        try rewrite(text)
        #expect(try Keyring(opening: path).activeKey(.encryption).created == days(0))
    }
}
