import Foundation
import SealedArchive

/// What ``Keyring/prune(inventory:now:dryRun:)`` destroyed, or with
/// `dryRun` would destroy, and what it kept and why (Spec/KEYRING.md
/// section 7).
public struct PrunePlan: Sendable, Codable {
    public static let schema = 1

    public let at: Date
    /// True when nothing was changed.
    public let dryRun: Bool
    /// The keys destroyed (or that would be), as they were before.
    public let destroy: [KeyRecord]
    /// The retired and expired keys kept, each with why and until when.
    public let keep: [ReviewAction]
    public let inventory: InventorySummary?
    /// Without an inventory: what was assumed about the archives.
    public let assumption: String?

    init(at: Date, dryRun: Bool, destroy: [KeyRecord], keep: [ReviewAction], inventory: InventorySummary?, assumption: String?) {
        self.at = at
        self.dryRun = dryRun
        self.destroy = destroy
        self.keep = keep
        self.inventory = inventory
        self.assumption = assumption
    }

    /// The JSON form, one line, keys sorted.
    public func json() throws -> String {
        try KeyringJSON.line(self)
    }

    /// The plan as a person reads it.
    public var text: String {
        var lines = ["Keyring prune at \(KeyringTime.format(at))\(dryRun ? " (dry run: nothing is changed)" : "")"]
        if let inventory {
            lines.append("Inventory: \(inventory.archives) archive\(inventory.archives == 1 ? "" : "s") from \(inventory.source), \(inventory.insideRetention) inside retention")
        }
        if let assumption { lines.append("Assumption: \(assumption)") }
        if destroy.isEmpty {
            lines.append("No key is due for destruction.")
        }
        for record in destroy {
            let retainUntil = record.retainUntil.map { ", retain-until \(KeyringTime.format($0))" } ?? ""
            lines.append("\(dryRun ? "would destroy" : "destroyed")  \(record.purpose) key \(record.keyID)\(retainUntil)")
        }
        for action in keep {
            lines.append("kept  \(action.message)")
        }
        return lines.joined(separator: "\n")
    }

    enum CodingKeys: String, CodingKey {
        case schema, kind, at, dryRun = "dry_run", destroy, keep, inventory, assumption
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.schema, forKey: .schema)
        try container.encode("keyring-prune", forKey: .kind)
        try container.encodeTime(at, forKey: .at)
        try container.encode(dryRun, forKey: .dryRun)
        try container.encode(destroy, forKey: .destroy)
        try container.encode(keep, forKey: .keep)
        try container.encodeIfPresent(inventory, forKey: .inventory)
        try container.encodeIfPresent(assumption, forKey: .assumption)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let schema = try container.decode(Int.self, forKey: .schema)
        guard schema == Self.schema else {
            throw DecodingError.dataCorruptedError(forKey: .schema, in: container, debugDescription: "prune schema \(schema) is not supported")
        }
        self.init(at: try container.decodeTime(forKey: .at),
                  dryRun: try container.decode(Bool.self, forKey: .dryRun),
                  destroy: try container.decode([KeyRecord].self, forKey: .destroy),
                  keep: try container.decode([ReviewAction].self, forKey: .keep),
                  inventory: try container.decodeIfPresent(InventorySummary.self, forKey: .inventory),
                  assumption: try container.decodeIfPresent(String.self, forKey: .assumption))
    }
}
