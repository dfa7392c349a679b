import Foundation
import SealedArchive

/// The result of a keyring review at a given time (Spec/KEYRING.md
/// section 5): every key with its status, and the actions due. Its JSON form
/// (``json()``, schema 1) is for monitoring; ``text`` is for a person.
public struct ReviewReport: Sendable, Codable {
    public static let schema = 1

    /// The time reviewed: now, or a future date to see what will be due.
    public let at: Date
    public let policy: KeyringPolicy
    public let keys: [KeyReview]
    /// Archive problems first, then rotations, destructions, and kept keys.
    public let actions: [ReviewAction]
    /// The inventory given, if any.
    public let inventory: InventorySummary?
    /// Without an inventory: what was assumed about the archives.
    public let assumption: String?
    /// The drill history given (`--drills`), if any.
    public let drills: DrillsSummary?

    /// Whether anything is due (anything but `keep`).
    public var actionDue: Bool { actions.contains(where: \.due) }

    /// What the review found, as a typed outcome: archives at risk
    /// outrank actions due. The CLI turns it into an exit status.
    public var outcome: ReviewOutcome {
        ReviewOutcome(actionDue: actionDue, archivesAtRisk: actions(.unrecoverable).count + actions(.signedOutsideWindow).count)
    }

    /// The actions of one kind.
    public func actions(_ kind: ReviewAction.Kind) -> [ReviewAction] {
        actions.filter { $0.kind == kind }
    }

    /// The review of one key.
    public func key(_ id: KeyID) -> KeyReview? {
        keys.first { $0.keyID == id }
    }

    /// The JSON form, one line, keys sorted. `exitStatus` is the caller's
    /// process exit status for this outcome, printed as `exit_status`
    /// (Spec/KEYRING.md section 5.1) when given: the exit-code table belongs
    /// to the program, not to this library.
    public func json(exitStatus: Int32? = nil) throws -> String {
        try KeyringJSON.line(Encoded(report: self, exitStatus: exitStatus))
    }

    /// The report with the caller's exit status beside it, for ``json(exitStatus:)``.
    private struct Encoded: Encodable {
        let report: ReviewReport
        let exitStatus: Int32?

        func encode(to encoder: Encoder) throws {
            try report.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encodeIfPresent(exitStatus, forKey: .exitStatus)
        }
    }

    init(at: Date, policy: KeyringPolicy, keys: [KeyReview], actions: [ReviewAction], inventory: InventorySummary?, assumption: String?,
         drills: DrillsSummary? = nil) {
        self.drills = drills
        self.at = at
        self.policy = policy
        self.keys = keys
        self.actions = actions
        self.inventory = inventory
        self.assumption = assumption
    }

    // MARK: Codable

    enum CodingKeys: String, CodingKey {
        case schema, kind, at, policy, keys, actions, inventory, assumption, drills, actionDue = "action_due", outcome, exitStatus = "exit_status"
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.schema, forKey: .schema)
        try container.encode("keyring-review", forKey: .kind)
        try container.encodeTime(at, forKey: .at)
        try container.encode(policy, forKey: .policy)
        try container.encode(keys, forKey: .keys)
        try container.encode(actions, forKey: .actions)
        try container.encodeIfPresent(inventory, forKey: .inventory)
        try container.encodeIfPresent(assumption, forKey: .assumption)
        try container.encodeIfPresent(drills, forKey: .drills)
        try container.encode(actionDue, forKey: .actionDue)
        try container.encode(outcome, forKey: .outcome)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let schema = try container.decode(Int.self, forKey: .schema)
        guard schema == Self.schema else {
            throw DecodingError.dataCorruptedError(forKey: .schema, in: container, debugDescription: "review schema \(schema) is not supported")
        }
        self.init(
            at: try container.decodeTime(forKey: .at),
            policy: try container.decode(KeyringPolicy.self, forKey: .policy),
            keys: try container.decode([KeyReview].self, forKey: .keys),
            actions: try container.decode([ReviewAction].self, forKey: .actions),
            inventory: try container.decodeIfPresent(InventorySummary.self, forKey: .inventory),
            assumption: try container.decodeIfPresent(String.self, forKey: .assumption),
            drills: try container.decodeIfPresent(DrillsSummary.self, forKey: .drills))
    }
}

/// JSON as the keyring writes it: sorted keys, no escaped slashes.
enum KeyringJSON {
    /// One line, for reports and the review log.
    static func line(_ value: some Encodable) throws -> String {
        String(decoding: try encode(value, pretty: false), as: UTF8.self)
    }

    static func encode(_ value: some Encodable, pretty: Bool) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
        do {
            return try encoder.encode(value)
        } catch {
            throw SealedArchiveError(.invalidArgument, "cannot encode JSON: \(error)")
        }
    }
}
