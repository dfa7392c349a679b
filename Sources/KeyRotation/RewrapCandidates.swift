import Foundation
import SealedArchive

/// A retired identity that could be destroyed before its retain-until if
/// the archives that still need it were re-wrapped (`sealed-archive
/// rewrap`) onto the key in service.
public struct RewrapCandidate: Sendable {
    public let keyID: KeyID
    /// The retained archives sealed to this key and to no key in service.
    public let archives: [String]
}

extension Keyring {
    /// For each retired identity the keyring still holds, the archives of
    /// `inventory` inside retention at `date` that only it (of the held
    /// keys not retired) can open: re-wrapping those lets it go early.
    public func rewrapCandidates(inventory: ArchiveInventory, at date: Date) -> [RewrapCandidate] {
        let active = Set(keys.filter { $0.purpose == .encryption && $0.isActive }.map(\.keyID))
        let retained = inventory.insideRetention(policy.retention, at: date)
        return keys.filter { $0.purpose == .encryption && $0.isHeld && !$0.isActive }.compactMap { record in
            let archives = retained.filter { $0.recipients.contains(record.keyID) && active.isDisjoint(with: $0.recipients) }.map(\.name)
            return archives.isEmpty ? nil : RewrapCandidate(keyID: record.keyID, archives: archives)
        }
    }
}
