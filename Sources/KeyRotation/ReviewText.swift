import Foundation
import SealedArchive

extension ReviewReport {
    /// The review as a person at a terminal reads it: the policy, each key's
    /// status, age, next review and retain-until, then what is due now
    /// (archives at risk first, loudly), what is kept and why, and a verdict.
    public var text: String { text(exitStatus: nil) }

    /// The text form with the caller's process exit status named in the
    /// verdict line when given (the library has no exit codes of its own).
    public func text(exitStatus: Int32?) -> String {
        let status = exitStatus.map { " (exit status \($0))" } ?? ""
        var lines: [String] = []
        lines.append("Keyring review at \(KeyringTime.format(at))")
        lines.append("Policy: rotate every \(KeyringPolicy.format(policy.reviewInterval)); archives are kept offsite \(KeyringPolicy.format(policy.retention)); "
            + "grace \(KeyringPolicy.format(policy.grace)) (a retired key is kept \(KeyringPolicy.format(policy.keyRetention)))")
        if let inventory {
            var line = "Inventory: \(inventory.archives) archive\(inventory.archives == 1 ? "" : "s") from \(inventory.source), \(inventory.insideRetention) inside retention"
            if inventory.skipped > 0 { line += " (\(inventory.skipped) other file\(inventory.skipped == 1 ? "" : "s") skipped)" }
            lines.append(line)
        }
        if let assumption { lines.append("Assumption: \(assumption)") }
        if let drills { lines.append(drillsLine(drills)) }

        lines.append("")
        lines.append("Keys:")
        for key in keys {
            var facts = ["\(key.status)", "age \(KeyringTime.describe(max(0, key.age)))"]
            if let nextReview = key.nextReview { facts.append("next review \(KeyringTime.format(nextReview))") }
            if let retired = key.record.retired { facts.append("retired \(KeyringTime.format(retired))") }
            if let signsUntil = key.record.signsUntil { facts.append("still trusted to sign until \(KeyringTime.format(signsUntil)) (overlap)") }
            if let retainUntil = key.record.retainUntil { facts.append("retain until \(KeyringTime.format(retainUntil))") }
            if let destroyed = key.record.destroyed { facts.append("destroyed \(KeyringTime.format(destroyed))") }
            if let neededBy = key.neededBy, neededBy > 0 {
                facts.append("needed by \(neededBy) retained archive\(neededBy == 1 ? "" : "s")\(key.neededUntil.map { " until \(KeyringTime.format($0))" } ?? "")")
            }
            if let comment = key.record.comment { facts.append("\"\(comment)\"") }
            lines.append("  \(key.purpose.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(key.keyID)  " + facts.joined(separator: ", "))
        }

        let due = actions.filter(\.due)
        lines.append("")
        if due.isEmpty {
            lines.append("Due now: nothing.")
        } else {
            lines.append("Due now:")
            for action in due {
                let tag: String
                switch action.kind {
                case .unrecoverable: tag = "!! UNRECOVERABLE"
                case .signedOutsideWindow: tag = "!! SIGNED OUTSIDE WINDOW"
                case .rotate: tag = "ROTATE"
                case .destroy: tag = "DESTROY"
                case .keep: tag = "KEEP"
                case .migrateToPostQuantum: tag = "MIGRATE TO POST-QUANTUM"
                case .clockBehind: tag = "!! CLOCK BEHIND"
                case .recipientsFile: tag = "RECIPIENTS FILE"
                case .drillFailed: tag = "!! DRILL FAILED"
                case .drillOverdue: tag = "DRILL OVERDUE"
                case .classicallyWrapped: tag = "CLASSICAL"
                }
                lines.append("  \(tag): \(action.message)")
            }
        }
        for action in actions(.classicallyWrapped) {
            lines.append("")
            lines.append("Not post-quantum:")
            lines.append("  CLASSICAL: \(action.message)")
        }
        let kept = actions(.keep)
        if !kept.isEmpty {
            lines.append("")
            lines.append("Kept:")
            for action in kept { lines.append("  KEEP: \(action.message)") }
        }
        lines.append("")
        let atRisk = actions(.unrecoverable).count + actions(.signedOutsideWindow).count
        if atRisk > 0 {
            lines.append("\(atRisk) archive\(atRisk == 1 ? " is" : "s are") at risk; \(due.count) action\(due.count == 1 ? "" : "s") due\(status).")
        } else if due.isEmpty {
            lines.append("Nothing is due.")
        } else {
            lines.append("\(due.count) action\(due.count == 1 ? "" : "s") due\(status).")
        }
        return lines.joined(separator: "\n")
    }

    /// "Drills: 7 recorded; newest 2026-11-28T03:00:00Z of a.sarc passed,
    /// restore 12.3 s (RTO 4h); slowest restore 14.1 s".
    private func drillsLine(_ drills: DrillsSummary) -> String {
        guard let at = drills.newestAt else { return "Drills: none recorded" }
        var line = "Drills: \(drills.count) recorded; newest \(KeyringTime.format(at))\(drills.newestArchive.map { " of \($0)" } ?? "") "
            + (drills.newestPassed == true ? "passed" : "FAILED")
        if let seconds = drills.newestRestoreSeconds {
            line += ", restore \(String(format: "%.1f", seconds)) s"
            if let rto = drills.newestRTOSeconds { line += " (RTO \(KeyringPolicy.format(TimeInterval(rto))))" }
        }
        if let slowest = drills.slowestRestoreSeconds { line += "; slowest restore \(String(format: "%.1f", slowest)) s" }
        return line
    }
}
