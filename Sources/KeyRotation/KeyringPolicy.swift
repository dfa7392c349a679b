import Foundation
import SealedArchive

/// How long keys live and how long the archives sealed to them are kept
/// (Spec/KEYRING.md section 2, `policy.json`).
///
/// A retired key is kept until `retired + retention + grace`: an archive
/// sealed just before the rotation stays inside retention until
/// `retired + retention`, and the grace covers hosts that seal to the old
/// key for a while after the rotation and clocks that disagree.
public struct KeyringPolicy: Sendable, Equatable, Codable {
    public static let schema = 1
    public static let defaultReviewInterval: TimeInterval = 90 * 86_400
    public static let defaultGrace: TimeInterval = 30 * 86_400
    /// Durations above this are refused: they are typing mistakes, and dates
    /// this far out lose precision.
    static let maximumDuration: TimeInterval = 100 * 366 * 86_400

    /// How old an active key may get before review says to rotate it.
    public let reviewInterval: TimeInterval
    /// How long archives are kept offsite. No default: it must match what the
    /// offsite store actually keeps.
    public let retention: TimeInterval
    /// Extra time a retired key is kept beyond the retention.
    public let grace: TimeInterval

    /// A policy with durations in seconds (whole seconds; fractions are
    /// dropped). Refuses a retention or review interval that is not
    /// positive, a negative grace, and durations over 100 years.
    public init(retention: TimeInterval, reviewInterval: TimeInterval = defaultReviewInterval,
                grace: TimeInterval = defaultGrace) throws {
        self.retention = try Self.checked(retention, "retention", allowZero: false)
        self.reviewInterval = try Self.checked(reviewInterval, "review interval", allowZero: false)
        self.grace = try Self.checked(grace, "grace period", allowZero: true)
    }

    /// A policy with durations as operators write them (`90d`, `12w`,
    /// `24h`); nil takes the default.
    public init(retention: String, reviewInterval: String? = nil, grace: String? = nil) throws {
        try self.init(
            retention: try SealedArchive.Duration.parse(retention),
            reviewInterval: try reviewInterval.map(SealedArchive.Duration.parse) ?? Self.defaultReviewInterval,
            grace: try grace.map(SealedArchive.Duration.parse) ?? Self.defaultGrace)
    }

    /// How long a key is kept after it is retired: retention plus grace.
    public var keyRetention: TimeInterval { retention + grace }

    private static func checked(_ value: TimeInterval, _ what: String, allowZero: Bool) throws -> TimeInterval {
        guard value.isFinite, allowZero ? value >= 0 : value >= 1, value <= maximumDuration else {
            throw SealedArchiveError(.invalidArgument,
                "the \(what) must be \(allowZero ? "zero or more" : "at least one second") and at most 100 years (as 90d, 12w or 24h)")
        }
        return value.rounded(.down)
    }

    // MARK: Codable: `{"schema":1,"review_interval":"90d","retention":"90d","grace":"30d"}`

    enum CodingKeys: String, CodingKey {
        case schema, reviewInterval = "review_interval", retention, grace
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.schema, forKey: .schema)
        try container.encode(Self.format(reviewInterval), forKey: .reviewInterval)
        try container.encode(Self.format(retention), forKey: .retention)
        try container.encode(Self.format(grace), forKey: .grace)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let schema = try container.decode(Int.self, forKey: .schema)
        guard schema == Self.schema else {
            throw DecodingError.dataCorruptedError(forKey: .schema, in: container,
                debugDescription: "policy schema \(schema) is not supported (this version reads schema \(Self.schema))")
        }
        func duration(_ key: CodingKeys) throws -> TimeInterval {
            let text = try container.decode(String.self, forKey: key)
            guard let value = try? SealedArchive.Duration.parse(text) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "'\(text)' is not a duration such as 90d")
            }
            return value
        }
        do {
            try self.init(retention: try duration(.retention), reviewInterval: try duration(.reviewInterval), grace: try duration(.grace))
        } catch let error as SealedArchiveError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    /// A whole number of seconds in the largest unit that divides it exactly:
    /// `90d`, `36h`, `90m`, `45s` (`Duration.parse` reads it back).
    static func format(_ seconds: TimeInterval) -> String {
        let value = Int64(seconds)
        for (unit, scale) in [("d", Int64(86_400)), ("h", 3_600), ("m", 60)] where value != 0 && value % scale == 0 {
            return "\(value / scale)\(unit)"
        }
        return "\(value)s"
    }
}
