import Foundation
import SealedArchive

/// One line of the keyring's append-only `review.log` (Spec/KEYRING.md
/// section 5.3): when a review was recorded, what time it reviewed, each
/// key's status, the key actions, and how many archives were at risk.
/// Archive names are not logged, so an entry stays one short line.
public struct ReviewLogEntry: Sendable, Equatable, Codable {
    public static let schema = 1

    /// A key's status at the review time.
    public struct KeyLine: Sendable, Equatable, Codable {
        public let keyID: KeyID
        public let purpose: KeyPurpose
        public let status: KeyStatus

        enum CodingKeys: String, CodingKey { case keyID = "key_id", purpose, status }

        public init(keyID: KeyID, purpose: KeyPurpose, status: KeyStatus) {
            self.keyID = keyID
            self.purpose = purpose
            self.status = status
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(keyID.description, forKey: .keyID)
            try container.encode(purpose, forKey: .purpose)
            try container.encode(status, forKey: .status)
        }

        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(keyID: try container.decodeKeyID(forKey: .keyID),
                      purpose: try container.decode(KeyPurpose.self, forKey: .purpose),
                      status: try container.decode(KeyStatus.self, forKey: .status))
        }
    }

    /// When the entry was appended.
    public let logged: Date
    /// The time the review was for (later than `logged` for `--at`).
    public let at: Date
    public let actionDue: Bool
    /// What the review found. Lines written before the outcome was named
    /// carry a process exit status instead (`exit_status`); they are read,
    /// and their outcome is derived from the entry's own counts.
    public let outcome: ReviewOutcome
    public let keys: [KeyLine]
    /// The key actions: rotate, migrate to post-quantum, destroy, keep.
    public let actions: [ReviewAction]
    public let unrecoverableArchives: Int
    public let signedOutsideWindow: Int
    /// Archives in the inventory; nil when none was given.
    public let inventoryArchives: Int?

    /// The entry for `report`, logged at `now`.
    public init(_ report: ReviewReport, logged now: Date) {
        logged = KeyringTime.wholeSeconds(now)
        at = report.at
        actionDue = report.actionDue
        outcome = report.outcome
        keys = report.keys.map { KeyLine(keyID: $0.keyID, purpose: $0.purpose, status: $0.status) }
        actions = report.actions.filter { [.rotate, .migrateToPostQuantum, .recipientsFile, .clockBehind, .destroy, .keep].contains($0.kind) }
        unrecoverableArchives = report.actions(.unrecoverable).count
        signedOutsideWindow = report.actions(.signedOutsideWindow).count
        inventoryArchives = report.inventory?.archives
    }

    enum CodingKeys: String, CodingKey {
        case schema, logged, at, actionDue = "action_due", outcome, legacyExitStatus = "exit_status", keys, actions,
             unrecoverableArchives = "unrecoverable_archives", signedOutsideWindow = "signed_outside_window",
             inventoryArchives = "inventory_archives"
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.schema, forKey: .schema)
        try container.encodeTime(logged, forKey: .logged)
        try container.encodeTime(at, forKey: .at)
        try container.encode(actionDue, forKey: .actionDue)
        try container.encode(outcome, forKey: .outcome)
        try container.encode(keys, forKey: .keys)
        try container.encode(actions, forKey: .actions)
        try container.encode(unrecoverableArchives, forKey: .unrecoverableArchives)
        try container.encode(signedOutsideWindow, forKey: .signedOutsideWindow)
        try container.encodeIfPresent(inventoryArchives, forKey: .inventoryArchives)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let schema = try container.decode(Int.self, forKey: .schema)
        guard schema == Self.schema else {
            throw DecodingError.dataCorruptedError(forKey: .schema, in: container, debugDescription: "review log schema \(schema) is not supported")
        }
        logged = try container.decodeTime(forKey: .logged)
        at = try container.decodeTime(forKey: .at)
        actionDue = try container.decode(Bool.self, forKey: .actionDue)
        keys = try container.decode([KeyLine].self, forKey: .keys)
        actions = try container.decode([ReviewAction].self, forKey: .actions)
        unrecoverableArchives = try container.decode(Int.self, forKey: .unrecoverableArchives)
        signedOutsideWindow = try container.decode(Int.self, forKey: .signedOutsideWindow)
        if container.contains(.outcome) {
            outcome = try container.decode(ReviewOutcome.self, forKey: .outcome)
        } else {
            // An older line: it held the exit status of the program that
            // wrote it (a number this library does not interpret) and is
            // still an entry; its outcome follows from its own findings.
            _ = try container.decode(Int32.self, forKey: .legacyExitStatus)
            outcome = ReviewOutcome(actionDue: actionDue, archivesAtRisk: unrecoverableArchives + signedOutsideWindow)
        }
        inventoryArchives = try container.decodeIfPresent(Int.self, forKey: .inventoryArchives)
    }
}
