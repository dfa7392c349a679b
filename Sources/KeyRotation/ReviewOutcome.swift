/// What a keyring review found, in one word: the typed outcome callers act
/// on. The library does not decide process exit codes; the CLI maps each
/// outcome to its documented status (Spec/CLI.md), and `review.log` records
/// the outcome by name (Spec/KEYRING.md section 5.4), so a log never depends
/// on one program's exit-code table.
public enum ReviewOutcome: String, Sendable, Codable, CaseIterable, Comparable {
    /// Nothing is due.
    case ok = "ok"
    /// A key is due for rotation, destruction or migration to post-quantum,
    /// and no archive is at risk.
    case actionDue = "action-due"
    /// An archive inside retention is unrecoverable or was signed outside
    /// its signer's window. Outranks ``actionDue``.
    case archivesAtRisk = "archives-at-risk"

    private var rank: Int {
        switch self {
        case .ok: 0
        case .actionDue: 1
        case .archivesAtRisk: 2
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }

    /// The outcome of a review with these findings.
    init(actionDue: Bool, archivesAtRisk: Int) {
        self = archivesAtRisk > 0 ? .archivesAtRisk : actionDue ? .actionDue : .ok
    }
}
