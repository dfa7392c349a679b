import Foundation
import SealedArchive

/// One key as a review shows it: its dates, status and age at the review
/// time, when it is next due for review, and how many archives inside
/// retention need it.
public struct KeyReview: Sendable, Equatable, Codable {
    public let record: KeyRecord
    public let status: KeyStatus
    /// Seconds from the key's creation to the review time.
    public let age: TimeInterval
    /// Active keys: when rotation falls due (`activated + review interval`).
    public let nextReview: Date?
    /// Encryption keys, when an inventory was given: archives inside
    /// retention sealed to this key. Nil otherwise.
    public let neededBy: Int?
    /// When the last of those archives leaves retention.
    public let neededUntil: Date?

    public var keyID: KeyID { record.keyID }
    public var purpose: KeyPurpose { record.purpose }

    // MARK: Codable: the record's fields flattened, plus the review's.

    enum CodingKeys: String, CodingKey {
        case status, ageSeconds = "age_seconds", nextReview = "next_review", neededBy = "needed_by_archives",
             neededUntil = "needed_until"
    }

    public func encode(to encoder: Encoder) throws {
        try record.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status, forKey: .status)
        try container.encode(Int64(age), forKey: .ageSeconds)
        try container.encodeTimeIfPresent(nextReview, forKey: .nextReview)
        try container.encodeIfPresent(neededBy, forKey: .neededBy)
        try container.encodeTimeIfPresent(neededUntil, forKey: .neededUntil)
    }

    public init(from decoder: Decoder) throws {
        record = try KeyRecord(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        status = try container.decode(KeyStatus.self, forKey: .status)
        age = TimeInterval(try container.decode(Int64.self, forKey: .ageSeconds))
        nextReview = try container.decodeTimeIfPresent(forKey: .nextReview)
        neededBy = try container.decodeIfPresent(Int.self, forKey: .neededBy)
        neededUntil = try container.decodeTimeIfPresent(forKey: .neededUntil)
    }

    init(record: KeyRecord, status: KeyStatus, age: TimeInterval, nextReview: Date?, neededBy: Int?, neededUntil: Date?) {
        self.record = record
        self.status = status
        self.age = age
        self.nextReview = nextReview
        self.neededBy = neededBy
        self.neededUntil = neededUntil
    }
}

/// What inventory a review or prune was given.
public struct InventorySummary: Sendable, Equatable, Codable {
    /// Where it came from (`directory '…'`, `file '…'`).
    public let source: String
    /// Archives in it.
    public let archives: Int
    /// Of those, archives inside retention at the review time.
    public let insideRetention: Int
    /// Files of a scanned directory that were not archives.
    public let skipped: Int

    enum CodingKeys: String, CodingKey {
        case source, archives, insideRetention = "inside_retention", skipped
    }
}
