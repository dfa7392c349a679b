import Foundation
import Testing
import KeyRotation
import SealedArchive

/// `Keyring.check` and `Keyring.repair` on the leftovers each interruption
/// can leave (Spec/KEYRING.md section 8).
@Suite struct RepairTests {
    @Test func leftoversAreReportedIgnoredByReadersAndRepaired() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("k")
        let keyring = try Keyring.create(at: path, policy: try standardPolicy(), now: days(0))
        #expect(try Keyring.check(at: path).isClean)
        // A rotation killed before its commit: a secret file with no record.
        let orphan = try Identity.generate()
        let orphanPath = path + "/keys/\(orphan.recipient.keyID).key"
        try KeyFiles.write(orphan, to: orphanPath, created: days(1))
        // A damaged one, which cannot be adopted.
        let damagedPath = path + "/keys/0000000000000000.key"
        try Data("not a key\n".utf8).write(to: URL(fileURLWithPath: damagedPath))
        try setMode(damagedPath, 0o600)
        // A temporary file and a review-log line cut short.
        let temporary = path + "/.keyring.json.abcdef.partial"
        try Data("{".utf8).write(to: URL(fileURLWithPath: temporary))
        try setMode(temporary, 0o600)
        try keyring.appendReviewLog(keyring.review(inventory: nil, at: days(1)), now: days(1))
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: path + "/review.log"))
        try log.seekToEnd()
        try log.write(contentsOf: Data("{\"schema\":1,\"log".utf8))
        try log.close()
        // The next entry starts on its own line, so only the torn one is lost.
        try keyring.appendReviewLog(keyring.review(inventory: nil, at: days(2)), now: days(2))

        let check = try Keyring.check(at: path)
        #expect(check.problems == [
            .orphanSecretFile(path: damagedPath), .orphanSecretFile(path: orphanPath),
            .temporaryFile(path: temporary), .reviewLogLines(path: path + "/review.log", lines: [2]),
        ])
        #expect(!check.preventsUse)
        // Readers are not disturbed by leftovers.
        #expect(try Keyring(opening: path).keys == keyring.keys)

        let repair = try Keyring.repair(at: path, now: days(3), dryRun: false)
        #expect(repair.isClean, "\(repair.remaining)")
        #expect(repair.actions.contains(.adopt(orphan.recipient.keyID, .encryption, path: orphanPath, retainUntil: days(123))))
        #expect(!FileManager.default.fileExists(atPath: damagedPath))
        #expect(try FileManager.default.contentsOfDirectory(atPath: path + "/keys").contains { $0.hasSuffix(".set-aside") })
        #expect(!FileManager.default.fileExists(atPath: temporary))
        #expect(try String(contentsOfFile: path + "/review.log.rejected", encoding: .utf8) == "{\"schema\":1,\"log\n")
        let repaired = try Keyring(opening: path)
        #expect(try repaired.reviewLog().count == 2)
        let adopted = try #require(repaired.key(orphan.recipient.keyID))
        #expect(adopted.status(at: days(3)) == .retired && adopted.retired == days(3))
        #expect(try repaired.identity(for: orphan.recipient.keyID).recipient == orphan.recipient)
        #expect(try Keyring.check(at: path).isClean)
    }

    @Test func aPruneInterruptedAfterItsCommitIsFinishedAndAMissingKeyIsLeftToTheOperator() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("k")
        let keyring = try Keyring.create(at: path, policy: try standardPolicy(), now: days(0))
        let old = keyring.activeKey(.encryption)
        try keyring.rotate(.encryption, now: days(10))
        let saved = try Data(contentsOf: URL(fileURLWithPath: path + "/keys/\(old.keyID).key"))
        try keyring.prune(inventory: nil, now: days(200), dryRun: false)
        // Put the destroyed key's secret file back: a prune killed after its commit.
        let secret = path + "/keys/\(old.keyID).key"
        try saved.write(to: URL(fileURLWithPath: secret))
        try setMode(secret, 0o600)
        #expect(try Keyring.check(at: path).problems == [.destroyedSecretFile(old.keyID, path: secret)])
        #expect(try Keyring.repair(at: path, now: days(201), dryRun: false).isClean)
        #expect(!FileManager.default.fileExists(atPath: secret))

        // A held key's missing secret file needs a copy: repair changes nothing.
        let active = keyring.activeKey(.signing)
        try FileManager.default.removeItem(atPath: path + "/keys/\(active.keyID).key")
        let temporary = path + "/keys/.x.key.123.partial"
        try Data().write(to: URL(fileURLWithPath: temporary))
        try setMode(temporary, 0o600)
        let report = try Keyring.repair(at: path, now: days(202), dryRun: false)
        #expect(report.actions.isEmpty)
        #expect(report.remaining.contains(.missingSecretFile(active.keyID, path: path + "/keys/\(active.keyID).key")))
        #expect(FileManager.default.fileExists(atPath: temporary))
        let error = sealedArchiveError { _ = try Keyring(opening: path) }
        #expect(error?.message.contains("is missing") == true)
    }

    @Test func aSecondWriterWaitsForTheLock() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("k")
        let keyring = try Keyring.create(at: path, policy: try standardPolicy(), now: days(0))
        let holder = try #require(try FileLock.acquire(path + "/.lock", exclusive: true, create: false, timeout: 1, what: "test"))
        // Released from another thread after 300 ms: the rotation waits for it.
        let start = Date()
        nonisolated(unsafe) let held = holder
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { held.release() }
        try keyring.rotate(.encryption, now: days(1))
        #expect(Date().timeIntervalSince(start) >= 0.25)
        // A reader does not wait for a writer.
        let again = try #require(try FileLock.acquire(path + "/.lock", exclusive: true, create: false, timeout: 1, what: "test"))
        defer { again.release() }
        #expect(try Keyring(opening: path).activeKey(.encryption).activated == days(1))
        // A lock that is never released is a one-line error, not a hang.
        let error = sealedArchiveError { _ = try FileLock.acquire(path + "/.lock", exclusive: true, create: true, timeout: 0.2, what: "the keyring") }
        #expect(error?.code == .io)
        #expect(error?.message.contains("still in use by another process") == true)
    }
}
