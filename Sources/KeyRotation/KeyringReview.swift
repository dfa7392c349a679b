import Foundation
import SealedArchive

/// The review rules of Spec/KEYRING.md section 5, as a pure function of a
/// keyring's records, its policy, an optional archive inventory and a time.
/// ``Keyring/review(inventory:at:)`` and ``Keyring/prune(inventory:now:dryRun:)``
/// both use it, so what review says prune may destroy is exactly what prune
/// destroys.
enum KeyringReview {
    static func review(keys records: [KeyRecord], policy: KeyringPolicy, inventory: ArchiveInventory?, at time: Date,
                       sealingRecipients: [Recipient]? = nil, drills: DrillHistory? = nil,
                       maxDrillAge: TimeInterval = DrillHistory.defaultMaxAge) -> ReviewReport {
        let at = KeyringTime.wholeSeconds(time)
        let byID = Dictionary(records.map { ($0.keyID, $0) }, uniquingKeysWith: { first, _ in first })
        let inside = (inventory?.insideRetention(policy.retention, at: at) ?? []).sorted { ($0.created, $0.name) < ($1.created, $1.name) }

        // Which keys archives inside retention are sealed to: how many, and
        // the newest such archive (it leaves retention last).
        var needs: [KeyID: (count: Int, newest: ArchiveInventory.Entry)] = [:]
        for entry in inside {
            for id in Set(entry.recipients) {
                let count = (needs[id]?.count ?? 0) + 1
                let newest = needs[id].map { $0.newest.created >= entry.created ? $0.newest : entry } ?? entry
                needs[id] = (count, newest)
            }
        }
        func neededUntil(_ id: KeyID) -> Date? {
            needs[id].map { $0.newest.created.addingTimeInterval(policy.retention) }
        }

        let keys = records.map { record in
            let isEncryption = record.purpose == .encryption
            return KeyReview(
                record: record,
                status: record.status(at: at),
                age: at.timeIntervalSince(record.created),
                nextReview: record.isActive ? record.activated.addingTimeInterval(policy.reviewInterval) : nil,
                neededBy: inventory != nil && isEncryption ? needs[record.keyID]?.count ?? 0 : nil,
                neededUntil: isEncryption ? neededUntil(record.keyID) : nil)
        }

        var actions: [ReviewAction] = []
        actions += clockBehind(records, at: at)
        actions += unrecoverable(inside, byID: byID, policy: policy)
        if let sealingRecipients { actions += recipientsFileProblems(sealingRecipients, records: records) }
        // The history as it stood at the time reviewed (DrillHistory.asOf).
        let drills = drills?.asOf(at)
        if let drills { actions += drills.reviewActions(at: at, maxAge: maxDrillAge) }
        actions += signedOutsideWindow(inside, byID: byID)
        for record in records where record.isActive {
            let due = record.activated.addingTimeInterval(policy.reviewInterval)
            guard at >= due else { continue }
            actions.append(ReviewAction(
                kind: .rotate, keyID: record.keyID, purpose: record.purpose, until: due,
                message: "rotate the \(record.purpose) key \(record.keyID): active since \(KeyringTime.format(record.activated)) (\(KeyringTime.describe(at.timeIntervalSince(record.activated)))), "
                    + "past the \(KeyringPolicy.format(policy.reviewInterval)) review interval (due since \(KeyringTime.format(due)))"))
        }
        actions += postQuantum(records, inside: inside, policy: policy)
        var keeps: [ReviewAction] = []
        for record in records where record.isHeld && !record.isActive {
            guard let retired = record.retired, let retainUntil = record.retainUntil else { continue }
            let need = record.purpose == .encryption ? needs[record.keyID] : nil
            let needText = need.map { "; \($0.count) archive\($0.count == 1 ? "" : "s") inside retention \($0.count == 1 ? "is" : "are") sealed to it (newest \($0.newest.name), created \(KeyringTime.format($0.newest.created)))" } ?? ""
            switch record.status(at: at) {
            case .retired:
                let until = max(retainUntil, neededUntil(record.keyID) ?? retainUntil)
                let reason = "retired \(KeyringTime.format(retired)); kept for the retention plus grace (retain-until \(KeyringTime.format(retainUntil)))" + needText
                keeps.append(ReviewAction(kind: .keep, keyID: record.keyID, purpose: record.purpose, until: until, reason: reason,
                                          message: "keep the \(record.purpose) key \(record.keyID) until \(KeyringTime.format(until)): \(reason)"))
            case .expired:
                if need != nil, let until = neededUntil(record.keyID) {
                    let reason = "past its retain-until (\(KeyringTime.format(retainUntil))), but still needed" + needText
                    keeps.append(ReviewAction(kind: .keep, keyID: record.keyID, purpose: record.purpose, until: until, reason: reason,
                                              message: "keep the \(record.purpose) key \(record.keyID) until \(KeyringTime.format(until)): \(reason)"))
                } else {
                    let why: String
                    switch (record.purpose, inventory) {
                    case (.signing, _): why = "a signing key's secret opens nothing, and verifiers keep its public key"
                    case (.encryption, .some): why = "no archive inside retention in the inventory is sealed to it"
                    case (.encryption, .none): why = "no inventory given, see the assumption"
                    }
                    actions.append(ReviewAction(
                        kind: .destroy, keyID: record.keyID, purpose: record.purpose, until: retainUntil,
                        message: "destroy the \(record.purpose) key \(record.keyID): retired \(KeyringTime.format(retired)), past its retain-until \(KeyringTime.format(retainUntil)); \(why)"))
                }
            case .active, .destroyed:
                break
            }
        }
        actions += keeps

        let summary = inventory.map {
            InventorySummary(source: $0.source, archives: $0.entries.count, insideRetention: inside.count, skipped: $0.skipped.count)
        }
        return ReviewReport(at: at, policy: policy, keys: keys, actions: actions, inventory: summary,
                            assumption: inventory == nil ? assumption(policy: policy, at: at) : nil,
                            drills: drills.map { DrillsSummary($0, maxAge: maxDrillAge) })
    }

    /// What review and prune assume without an inventory.
    static func assumption(policy: KeyringPolicy, at: Date) -> String {
        let cutoff = at.addingTimeInterval(-policy.keyRetention)
        return "no archive inventory was given, so this assumes that no archive younger than the retention (\(KeyringPolicy.format(policy.retention))) "
            + "can need a key retired before \(KeyringTime.format(cutoff)) (now minus retention minus grace), "
            + "that is, that every host stopped sealing to a key within the grace (\(KeyringPolicy.format(policy.grace))) after it was retired"
    }

    /// A review at a time before the keyring's newest event: the machine's
    /// clock is behind (or the keyring was written by one ahead), and every
    /// date the review compares would be wrong, most likely saying nothing
    /// is due.
    private static func clockBehind(_ records: [KeyRecord], at: Date) -> [ReviewAction] {
        let events = records.flatMap { [$0.created, $0.activated, $0.retired, $0.destroyed].compactMap { $0 } }
        guard let newest = events.max(), at < newest else { return [] }
        return [ReviewAction(
            kind: .clockBehind, until: newest,
            message: "the time reviewed, \(KeyringTime.format(at)), is before the keyring's newest event, \(KeyringTime.format(newest)): "
                + "this machine's clock is behind (or the keyring's was ahead), so nothing this review says about dates can be trusted; fix the clock")]
    }

    /// The sealing host's recipients file against the keyring: it must
    /// list the identity in service (else new archives cannot be opened
    /// with it, and it is not the key the keyring rotates), and no retired
    /// or destroyed identity of the keyring (the host would still seal to
    /// a key being phased out).
    private static func recipientsFileProblems(_ recipients: [Recipient], records: [KeyRecord]) -> [ReviewAction] {
        var actions: [ReviewAction] = []
        let listed = Set(recipients.map(\.keyID))
        for record in records where record.purpose == .encryption {
            if record.isActive && !listed.contains(record.keyID) {
                actions.append(ReviewAction(
                    kind: .recipientsFile, keyID: record.keyID, purpose: .encryption,
                    message: "the sealing host's recipients file does not list the encryption key in service, \(record.keyID): "
                        + "export it again ('sealed-archive keys export-recipients') and give it to the host"))
            } else if !record.isActive && listed.contains(record.keyID) {
                actions.append(ReviewAction(
                    kind: .recipientsFile, keyID: record.keyID, purpose: .encryption,
                    message: "the sealing host's recipients file lists \(record.isHeld ? "retired" : "destroyed") encryption key \(record.keyID): "
                        + "the host still seals to it; export the recipients again and give them to the host"))
            }
        }
        return actions
    }

    /// A classical encryption key in service is a chore (migrate it); the
    /// archives inside retention it, or any classical key, wraps are named
    /// (Spec/KEYRING.md section 5).
    private static func postQuantum(_ records: [KeyRecord], inside: [ArchiveInventory.Entry], policy: KeyringPolicy) -> [ReviewAction] {
        var actions: [ReviewAction] = []
        for record in records where record.isActive && record.purpose == .encryption && record.recipient?.isPostQuantum != true {
            actions.append(ReviewAction(
                kind: .migrateToPostQuantum, keyID: record.keyID, purpose: .encryption,
                message: "migrate the encryption key \(record.keyID) to post-quantum: it is X25519, and an archive sealed to it and copied now "
                    + "could be opened by a future quantum computer; run 'sealed-archive keys rotate --pq' and export the recipients again"))
        }
        let classical = inside.filter(\.hasClassicalStanza)
        if let newest = classical.last {
            let names = classical.map(\.name)
            let shown = names.count > 5 ? names.prefix(5).joined(separator: ", ") + " and \(names.count - 5) more" : names.joined(separator: ", ")
            actions.append(ReviewAction(
                kind: .classicallyWrapped, archives: names, until: newest.created.addingTimeInterval(policy.retention),
                message: "\(names.count) archive\(names.count == 1 ? "" : "s") inside retention \(names.count == 1 ? "has" : "have") a classical (X25519) stanza: \(shown); "
                    + "the last leaves retention \(KeyringTime.format(newest.created.addingTimeInterval(policy.retention))), but a copy already taken stays open "
                    + "to a future quantum computer for good (re-wrapping does not reach it; only sealing the data again to post-quantum recipients does)"))
        }
        return actions
    }

    /// Archives inside retention with no stanza for a key the keyring holds.
    private static func unrecoverable(_ inside: [ArchiveInventory.Entry], byID: [KeyID: KeyRecord], policy: KeyringPolicy) -> [ReviewAction] {
        inside.compactMap { entry in
            let held = entry.recipients.contains { byID[$0]?.purpose == .encryption && byID[$0]?.isHeld == true }
            guard !held else { return nil }
            let why = entry.recipients.map { id -> String in
                guard let record = byID[id] else { return "\(id) (not in this keyring)" }
                if record.purpose != .encryption { return "\(id) (a signing key of this keyring, not an encryption key)" }
                return "\(id) (destroyed \(record.destroyed.map(KeyringTime.format) ?? "?"))"
            }.joined(separator: ", ")
            return ReviewAction(
                kind: .unrecoverable, archive: entry.name, archiveCreated: entry.created, missingKeyIDs: entry.recipients,
                message: "archive \(entry.name) (created \(KeyringTime.format(entry.created)), inside retention until "
                    + "\(KeyringTime.format(entry.created.addingTimeInterval(policy.retention)))) is sealed only to keys this keyring does not hold: \(why)")
        }
    }

    /// Archives inside retention signed outside their signer's window.
    private static func signedOutsideWindow(_ inside: [ArchiveInventory.Entry], byID: [KeyID: KeyRecord]) -> [ReviewAction] {
        inside.compactMap { entry in
            guard let signer = entry.signer else { return nil }
            let created = KeyringTime.format(entry.created)
            guard let record = byID[signer], record.purpose == .signing else {
                return ReviewAction(
                    kind: .signedOutsideWindow, keyID: signer, purpose: .signing, archive: entry.name, archiveCreated: entry.created,
                    message: "archive \(entry.name) (created \(created)) is signed by key \(signer), which is not a signing key of this keyring")
            }
            let until = record.signsUntil ?? record.retired
            guard !SignerWindow.contains(entry.created, from: record.activated, until: until) else { return nil }
            return ReviewAction(
                kind: .signedOutsideWindow, keyID: signer, purpose: .signing, archive: entry.name, archiveCreated: entry.created,
                message: "archive \(entry.name) (created \(created)) is signed by signing key \(signer) outside its window "
                    + SignerWindow.text(from: record.activated, until: until))
        }
    }
}
