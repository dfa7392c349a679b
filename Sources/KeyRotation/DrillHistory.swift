import Foundation
import SealedArchive

/// The restore drills recorded so far: the JSON lines `drill --json`
/// printed, one per drill, as the offsite kit's `drill-offsite.sh` appends
/// them to `drill-history.jsonl`. The quarterly review reads it
/// (`keys review --drills FILE`) to show that restores are still being
/// tried, and still pass in time (Spec/KEYRING.md section 5).
public struct DrillHistory: Sendable, Equatable {
    /// One drill.
    public struct Drill: Sendable, Equatable {
        /// When it ran.
        public let at: Date
        /// The archive drilled, as the drill named it (nil when it could not
        /// choose one).
        public let archive: String?
        public let passed: Bool
        /// The first failure, when it failed.
        public let failure: String?
        /// The restore's wall time, when it got that far.
        public let restoreSeconds: Double?
        /// The RTO the drill was held to (`--rto`), when given.
        public let rtoSeconds: Int64?
    }

    /// Oldest first.
    public let drills: [Drill]

    /// The newest drill, if any.
    public var newest: Drill? { drills.last }

    /// The slowest restore recorded, if any drill restored.
    public var slowestRestoreSeconds: Double? { drills.compactMap(\.restoreSeconds).max() }

    public init(drills: [Drill]) {
        self.drills = drills.sorted { $0.at < $1.at }
    }

    /// Parses the history's text: one `drill --json` object a line (LF or
    /// CRLF, blank lines skipped). A line that is not a drill, or a drill
    /// without `drilled_at` (printed before sealed-archive recorded it),
    /// is refused with its line number: a history that cannot be read
    /// must not look like one without failures.
    public init(parsing bytes: [UInt8], name: String) throws {
        let decoder = JSONDecoder()
        var drills: [Drill] = []
        for line in TextLines.numbered(bytes) where !line.bytes.isEmpty {
            let where_ = "line \(line.number) of the drill history \(name)"
            let summary: DrillSummary
            do {
                summary = try decoder.decode(DrillSummary.self, from: Data(line.bytes))
            } catch {
                throw SealedArchiveError(.invalidArgument, "\(where_) is not a drill's JSON ('sealed-archive drill --json')")
            }
            guard summary.kind == "drill" else {
                throw SealedArchiveError(.invalidArgument, "\(where_) is a '\(summary.kind)' object, not a drill's JSON")
            }
            guard let text = summary.drilled_at else {
                throw SealedArchiveError(.invalidArgument, "\(where_) has no drilled_at time (written before drills recorded when they ran): drill again, and move the old history aside")
            }
            guard let at = KeyringTime.parseStored(text) else {
                throw SealedArchiveError(.invalidArgument, "\(where_) has drilled_at '\(text)', not a time as drill writes it (2027-01-15T08:00:00Z)")
            }
            drills.append(Drill(at: at, archive: summary.archive.archive, passed: summary.ok,
                                failure: summary.failures.first, restoreSeconds: summary.restore_seconds,
                                rtoSeconds: summary.rto_seconds))
        }
        self.init(drills: drills)
    }

    /// Reads the history file (up to 16 MiB: decades of monthly drills).
    public static func read(path: String) throws -> DrillHistory {
        let bytes = try TextFile.read(path, what: "drill history", limit: 16 << 20)
        return try DrillHistory(parsing: bytes, name: "'\(path)'")
    }
}

/// What a review says of the drill history (`drills` in the review's JSON).
public struct DrillsSummary: Sendable, Equatable, Codable {
    /// Drills recorded.
    public let count: Int
    public let newestAt: Date?
    public let newestArchive: String?
    public let newestPassed: Bool?
    /// The newest drill's first failure.
    public let newestFailure: String?
    public let newestRestoreSeconds: Double?
    public let newestRTOSeconds: Int64?
    /// The slowest restore of the history: how close restores have come to
    /// the RTO.
    public let slowestRestoreSeconds: Double?
    /// How old the newest drill may be before one is overdue.
    public let maxAgeSeconds: Int64

    init(_ history: DrillHistory, maxAge: TimeInterval) {
        count = history.drills.count
        newestAt = history.newest?.at
        newestArchive = history.newest?.archive
        newestPassed = history.newest?.passed
        newestFailure = history.newest?.failure
        newestRestoreSeconds = history.newest?.restoreSeconds
        newestRTOSeconds = history.newest?.rtoSeconds
        slowestRestoreSeconds = history.slowestRestoreSeconds
        maxAgeSeconds = Int64(maxAge)
    }

    enum CodingKeys: String, CodingKey {
        case count, newestAt = "newest_at", newestArchive = "newest_archive", newestPassed = "newest_passed",
             newestFailure = "newest_failure", newestRestoreSeconds = "newest_restore_seconds",
             newestRTOSeconds = "newest_rto_seconds", slowestRestoreSeconds = "slowest_restore_seconds",
             maxAgeSeconds = "max_age_seconds"
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(count, forKey: .count)
        try container.encodeTimeIfPresent(newestAt, forKey: .newestAt)
        try container.encodeIfPresent(newestArchive, forKey: .newestArchive)
        try container.encodeIfPresent(newestPassed, forKey: .newestPassed)
        try container.encodeIfPresent(newestFailure, forKey: .newestFailure)
        try container.encodeIfPresent(newestRestoreSeconds, forKey: .newestRestoreSeconds)
        try container.encodeIfPresent(newestRTOSeconds, forKey: .newestRTOSeconds)
        try container.encodeIfPresent(slowestRestoreSeconds, forKey: .slowestRestoreSeconds)
        try container.encode(maxAgeSeconds, forKey: .maxAgeSeconds)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        count = try container.decode(Int.self, forKey: .count)
        newestAt = try container.decodeTimeIfPresent(forKey: .newestAt)
        newestArchive = try container.decodeIfPresent(String.self, forKey: .newestArchive)
        newestPassed = try container.decodeIfPresent(Bool.self, forKey: .newestPassed)
        newestFailure = try container.decodeIfPresent(String.self, forKey: .newestFailure)
        newestRestoreSeconds = try container.decodeIfPresent(Double.self, forKey: .newestRestoreSeconds)
        newestRTOSeconds = try container.decodeIfPresent(Int64.self, forKey: .newestRTOSeconds)
        slowestRestoreSeconds = try container.decodeIfPresent(Double.self, forKey: .slowestRestoreSeconds)
        maxAgeSeconds = try container.decode(Int64.self, forKey: .maxAgeSeconds)
    }
}

extension DrillHistory {
    /// The monthly drill, with a few days' slack for a timer's delay.
    public static let defaultMaxAge: TimeInterval = 35 * 86_400

    /// The history as it stood at `at`: drills dated later are left out (a
    /// review planned for a past date, or a drill machine whose clock runs
    /// ahead, must not let a "future" drill hide an overdue one).
    func asOf(_ at: Date) -> DrillHistory { DrillHistory(drills: drills.filter { $0.at <= at }) }

    /// The review's actions at `at` for this history (already as of `at`):
    /// the newest drill failed, or none is recent enough (or none was ever
    /// recorded).
    func reviewActions(at: Date, maxAge: TimeInterval) -> [ReviewAction] {
        guard let newest else {
            return [ReviewAction(kind: .drillOverdue,
                                 message: "no restore drill is recorded in the drill history: run one now (drill-offsite.sh, or 'sealed-archive drill --json' appended to the history)")]
        }
        var actions: [ReviewAction] = []
        let drilled = "the newest restore drill, \(KeyringTime.format(newest.at))\(newest.archive.map { " of \($0)" } ?? "")"
        if !newest.passed {
            actions.append(ReviewAction(kind: .drillFailed, archive: newest.archive, until: newest.at,
                                        message: "\(drilled), failed: \(newest.failure ?? "no reason recorded"); find why, fix it and drill again"))
        }
        let age = at.timeIntervalSince(newest.at)
        if age > maxAge {
            actions.append(ReviewAction(kind: .drillOverdue, archive: newest.archive, until: newest.at.addingTimeInterval(maxAge),
                                        message: "\(drilled), was \(KeyringTime.describe(age)) ago, more than \(KeyringPolicy.format(maxAge)): a restore drill is overdue; run one (drill-offsite.sh)"))
        }
        return actions
    }
}
