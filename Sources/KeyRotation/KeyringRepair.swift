import Foundation
import SystemCalls
import SealedArchive

/// What `Keyring.check` found: every problem, one line each.
public struct KeyringCheckReport: Sendable, Equatable {
    public let path: String
    public let problems: [KeyringProblem]
    public var isClean: Bool { problems.isEmpty }
    /// Whether commands refuse the keyring as it is.
    public var preventsUse: Bool { problems.contains(where: \.preventsUse) }
}

/// One step of a repair (Spec/KEYRING.md section 8), in the order applied.
public enum KeyringRepairAction: Sendable, Equatable, CustomStringConvertible {
    /// An active key retired at the activation of the newer active key kept.
    case retire(KeyID, KeyPurpose, at: Date, keeping: KeyID)
    /// A secret key file with no record given a record as a retired key.
    case adopt(KeyID, KeyPurpose, path: String, retainUntil: Date)
    /// A secret key file with no record that could not be read (protected,
    /// damaged) renamed to a hidden name beside it, kept for the operator.
    case setAside(path: String, to: String)
    /// The secret file of a destroyed key removed (finishing a prune).
    case removeDestroyedSecret(KeyID, path: String)
    /// A temporary file of an unfinished write removed.
    case removeTemporary(path: String)
    /// Lines of the review log that are not entries moved to `to`.
    case moveReviewLogLines([Int], path: String, to: String)

    public var description: String {
        switch self {
        case .retire(let id, let purpose, let at, let kept):
            "retire \(purpose) key \(id) at \(KeyringTime.format(at)), when \(kept) (kept active) was activated"
        case .adopt(let id, let purpose, let path, let until):
            "adopt '\(path)' as retired \(purpose) key \(id), retain-until \(KeyringTime.format(until))"
        case .setAside(let path, let to):
            "set aside '\(path)', which cannot be read without its passphrase or is damaged, as '\(to)'"
        case .removeDestroyedSecret(let id, let path):
            "remove '\(path)', the secret file of destroyed key \(id)"
        case .removeTemporary(let path):
            "remove the temporary file '\(path)'"
        case .moveReviewLogLines(let lines, let path, let to):
            "move \(lines.count) damaged line\(lines.count == 1 ? "" : "s") of '\(path)' to '\(to)'"
        }
    }
}

/// What `Keyring.repair` did (or, in a dry run, would do), and the problems
/// it leaves for the operator.
public struct KeyringRepairReport: Sendable, Equatable {
    public let path: String
    public let dryRun: Bool
    public let actions: [KeyringRepairAction]
    /// Problems repair cannot fix; after a real repair, what a check finds.
    public let remaining: [KeyringProblem]
    public var isClean: Bool { remaining.isEmpty }
}

extension Keyring {
    /// Checks the keyring at `path` and explains every inconsistency found.
    /// Reads only; takes no lock. Throws only when there is no keyring
    /// directory (or no `keys/`) to check.
    public static func check(at path: String) throws -> KeyringCheckReport {
        KeyringCheckReport(path: path, problems: try KeyringInspection(KeyringFiles(root: path), reviewLog: true).problems)
    }

    /// Fixes what ``check(at:)`` reports, under the keyring's lock, in this
    /// order:
    ///
    /// 1. For a purpose with several active keys, the most recently
    ///    activated (ties: the greatest key id) stays active; the others are
    ///    retired at its activation time, retain-until that plus retention
    ///    and grace, as if it had rotated them. A secret file with no record
    ///    that reads as a key is adopted as a key retired at `now`. Both are
    ///    committed in one write of `keyring.json`.
    /// 2. A secret file with no record that cannot be read is renamed to a
    ///    hidden `.<name>.set-aside` beside it: no secret file is ever
    ///    deleted unless its record says it was destroyed.
    /// 3. The secret files of destroyed keys and temporary files are removed.
    /// 4. Review-log lines that are not entries are appended to
    ///    `review.log.rejected` and the log rewritten without them.
    ///
    /// Problems that need the operator (a missing secret file, an
    /// unreadable policy or key list, loose permissions, no active key) are
    /// left and returned; nothing else is changed then. With `dryRun`,
    /// nothing is changed and the plan is returned.
    public static func repair(at path: String, now: Date, dryRun: Bool) throws -> KeyringRepairReport {
        let now = KeyringTime.wholeSeconds(now)
        let files = KeyringFiles(root: path)
        let lock = dryRun ? nil : try files.lock(exclusive: true)
        defer { lock?.release() }
        let inspection = try KeyringInspection(files, reviewLog: true)
        let blockers = inspection.problems.filter { !$0.isRepairable && $0.preventsUse }
        var actions: [KeyringRepairAction] = []
        // Records are rewritten only from a key list that was read whole
        // and a policy (for retain-until); with a problem only the operator
        // can fix, repair does nothing rather than build on a guess.
        guard blockers.isEmpty, let policy = inspection.policy, var records = inspection.records else {
            return KeyringRepairReport(path: path, dryRun: dryRun, actions: [], remaining: inspection.problems)
        }
        var aside: [(String, String)] = []
        var removals: [String] = []
        for problem in inspection.problems {
            switch problem {
            case .activeKeys(let purpose, let ids) where ids.count > 1:
                let active = records.filter { ids.contains($0.keyID) }
                guard let newest = active.max(by: { ($0.activated, $0.keyID) < ($1.activated, $1.keyID) }) else { continue }
                for record in active where record.keyID != newest.keyID {
                    let at = max(newest.activated, record.activated)
                    actions.append(.retire(record.keyID, purpose, at: at, keeping: newest.keyID))
                    records = records.map { candidate in
                        guard candidate.keyID == record.keyID else { return candidate }
                        var retired = candidate
                        retired.retired = at
                        retired.retainUntil = at.addingTimeInterval(policy.keyRetention)
                        return retired
                    }
                }
            case .orphanSecretFile(let secretPath):
                if let record = adoptable(secretPath, known: Set(records.map(\.keyID)), now: now, policy: policy) {
                    actions.append(.adopt(record.keyID, record.purpose, path: secretPath, retainUntil: record.retainUntil ?? now))
                    records.append(record)
                } else {
                    let name = secretPath.split(separator: "/").last.map(String.init) ?? secretPath
                    let target = KeyringFiles.join(files.keys, ".\(name).\(KeyringTime.format(now)).set-aside")
                    actions.append(.setAside(path: secretPath, to: target))
                    aside.append((secretPath, target))
                }
            case .destroyedSecretFile(let id, let secretPath):
                actions.append(.removeDestroyedSecret(id, path: secretPath))
                removals.append(secretPath)
            case .temporaryFile(let temporary):
                actions.append(.removeTemporary(path: temporary))
                removals.append(temporary)
            case .reviewLogLines(let log, let lines):
                actions.append(.moveReviewLogLines(lines, path: log, to: log + ".rejected"))
            default:
                continue
            }
        }
        let unfixed = inspection.problems.filter { !$0.isRepairable }
        guard !dryRun else {
            return KeyringRepairReport(path: path, dryRun: true, actions: actions, remaining: unfixed)
        }
        if records != inspection.records {
            try files.write(KeyringIndex(keys: ordered(records)), path: files.index, replace: true)
        }
        for (from, to) in aside {
            try POSIX.attempt("cannot set '\(from)' aside as '\(to)'") { () throws(SystemError) in try System.rename(from, to) }
        }
        for removal in removals { try files.remove(removal) }
        if actions.contains(where: { if case .moveReviewLogLines = $0 { true } else { false } }) {
            try files.rejectDamagedReviewLogLines()
        }
        KeyringFiles.syncDirectory(files.keys)
        KeyringFiles.syncDirectory(path)
        let after = try KeyringInspection(files, reviewLog: true)
        return KeyringRepairReport(path: path, dryRun: false, actions: actions, remaining: after.problems)
    }

    /// The record of a secret file with no record, retired at `now`, when
    /// it reads (without a passphrase) as one key whose id is in its name.
    private static func adoptable(_ path: String, known: Set<KeyID>, now: Date, policy: KeyringPolicy) -> KeyRecord? {
        let purpose: KeyPurpose
        let keyID: KeyID
        let publicKey: String
        switch try? KeyFiles.readSecretKeys(path: path, passphrase: nil) {
        case .identities(let identities)? where identities.count == 1:
            (purpose, keyID, publicKey) = (.encryption, identities[0].recipient.keyID, identities[0].recipient.description)
        case .signingKey(let key)?:
            (purpose, keyID, publicKey) = (.signing, key.signer.keyID, key.signer.description)
        default:
            return nil
        }
        guard path.hasSuffix("/\(keyID).key"), !known.contains(keyID) else { return nil }
        return KeyRecord(keyID: keyID, purpose: purpose, publicKey: publicKey, created: now, activated: now,
                         retired: now, retainUntil: now.addingTimeInterval(policy.keyRetention),
                         comment: "adopted by keys repair: a secret key file without a record")
    }
}
