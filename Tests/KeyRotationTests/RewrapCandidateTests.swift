import Foundation
import Testing
import KeyRotation
import SealedArchive

@Suite struct RewrapCandidateTests {
    /// After a rotation, archives sealed only to the retired key are the ones
    /// to re-wrap before that key can go early; archives also sealed to the
    /// key in service, or out of retention, are not listed.
    @Test func onlyArchivesThatNeedTheRetiredKeyAreListed() throws {
        let directory = try TemporaryDirectory()
        let ring = try Keyring.create(at: directory.file("ring"), policy: try standardPolicy(), now: days(0))
        let old = sealedNow(ring, name: "old.sarc", at: days(10))
        let ancient = sealedNow(ring, name: "ancient.sarc", at: days(-200))
        let retired = ring.activeKey(.encryption).keyID
        try ring.rotate(.encryption, now: days(20))
        let both = sealedNow(ring, name: "both.sarc", at: days(30), extraRecipients: [retired])
        let new = sealedNow(ring, name: "new.sarc", at: days(31))
        let inventory = ArchiveInventory(entries: [old, ancient, both, new])

        let candidates = ring.rewrapCandidates(inventory: inventory, at: days(40))
        #expect(candidates.map(\.keyID) == [retired])
        #expect(candidates.first?.archives == ["old.sarc"])
        // Once the old archive leaves retention, nothing needs re-wrapping.
        #expect(ring.rewrapCandidates(inventory: inventory, at: days(101)).isEmpty)
    }
}
