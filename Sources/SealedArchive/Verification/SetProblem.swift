import Foundation

/// One thing wrong with a set of archives (``ArchiveSet``): a missed RPO or
/// a break in the chain. Typed, so a caller can act on the numbers (which
/// sequence numbers are missing, how old the newest archive is, in
/// seconds) instead of parsing a sentence; `description` is the sentence
/// the CLI prints. Encodes as one flat JSON object with a `type` and the
/// `message`, the form of `verify --json`'s `problem_details`.
public enum SetProblem: Sendable, Equatable, CustomStringConvertible, Encodable {
    /// `--max-age` was given but no archive verified.
    case noneVerified
    /// The newest archive is older than the RPO allows.
    case stale(archive: String, ageSeconds: TimeInterval, maxAgeSeconds: TimeInterval)
    /// An archive claims a creation time beyond the allowed clock skew
    /// (`ageSeconds` is negative).
    case createdInFuture(archive: String, ageSeconds: TimeInterval)
    /// Two identical archives carry one sequence number (harmless copies).
    case copies(sequence: UInt64, archives: [String])
    /// Two different archives carry one sequence number.
    case forked(sequence: UInt64, archives: [String])
    /// Sequence numbers `first`…`last` are absent between two archives.
    case missing(first: UInt64, last: UInt64, after: String, before: String)
    /// An archive does not name its predecessor's digest: that was replaced.
    case replaced(archive: String, sequence: UInt64, previous: String, previousSequence: UInt64)
    /// An archive was created before its predecessor.
    case rollback(archive: String, sequence: UInt64, previous: String, previousSequence: UInt64)
    /// Two consecutive archives (by creation time) are further apart than
    /// `--max-gap` allows: the history misses its RPO there.
    case gap(after: String, before: String, gapSeconds: TimeInterval, maxGapSeconds: TimeInterval)
    /// The sealing host's chain goes further than the newest archive here.
    case behindHost(hostLast: UInt64, newestHere: UInt64)
    /// The sealing host has a chain but no chained archive here verified.
    case noChainedArchiveVerified(hostLast: UInt64, damagedPresent: Bool)

    /// The kind of problem, as the JSON `type`.
    public var type: String {
        switch self {
        case .noneVerified: return "none_verified"
        case .stale: return "stale"
        case .createdInFuture: return "created_in_future"
        case .copies: return "copies"
        case .forked: return "forked"
        case .missing: return "missing"
        case .replaced: return "replaced"
        case .rollback: return "rollback"
        case .gap: return "gap"
        case .behindHost: return "behind_host"
        case .noChainedArchiveVerified: return "no_chained_archive_verified"
        }
    }

    public var description: String {
        switch self {
        case .noneVerified:
            return "no archive verified, so none is fresh"
        case .stale(let archive, let age, let maxAge):
            return "the newest archive, \(archive), is \(Duration.describe(age)) old: older than the allowed \(Duration.describe(maxAge)) (RPO missed)"
        case .createdInFuture(let archive, let age):
            return "\(archive) claims to be created \(Duration.describe(age)): a wrong clock on the sealing host, or a forged header"
        case .copies(let sequence, let archives):
            return "\(archives.joined(separator: " and ")) are copies of archive \(sequence)"
        case .forked(let sequence, let archives):
            return "two different archives claim sequence \(sequence) (\(archives.joined(separator: ", "))): one replaced the other or the chain forked"
        case .missing(let first, let last, let after, let before):
            return "archive \(first == last ? "\(first)" : "\(first)–\(last)") missing between \(after) and \(before) (deleted, or never synced)"
        case .replaced(let archive, let sequence, let previous, let previousSequence):
            return "\(archive) (sequence \(sequence)) does not follow \(previous): archive \(previousSequence) was replaced"
        case .rollback(let archive, let sequence, let previous, let previousSequence):
            return "\(archive) (sequence \(sequence)) was created before \(previous) (sequence \(previousSequence)): a rollback"
        case .gap(let after, let before, let gap, let maxGap):
            return "\(Duration.describe(gap)) between \(after) and \(before), more than the allowed \(Duration.describe(maxGap)) (a missed backup)"
        case .behindHost(let hostLast, let newest):
            return "the sealing host's chain is at archive \(hostLast) but the newest here is \(newest): later archives are missing or were rolled back"
        case .noChainedArchiveVerified(let hostLast, let damaged):
            return damaged
                ? "the sealing host's chain is at archive \(hostLast) but no chained archive here verified: those present are damaged (above)"
                : "the sealing host's chain is at archive \(hostLast) but no chained archive here verified: archives 1–\(hostLast) are missing"
        }
    }

    private enum CodingKeys: String, CodingKey {
        case type, message, archive, archives, age_seconds, max_age_seconds, sequence, first_missing, last_missing,
             after, before, previous, previous_sequence, host_last, newest_here, damaged_present, gap_seconds, max_gap_seconds
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(description, forKey: .message)
        switch self {
        case .noneVerified:
            break
        case .stale(let archive, let age, let maxAge):
            try container.encode(archive, forKey: .archive)
            try container.encode(Self.wholeSeconds(age), forKey: .age_seconds)
            try container.encode(Self.wholeSeconds(maxAge), forKey: .max_age_seconds)
        case .createdInFuture(let archive, let age):
            try container.encode(archive, forKey: .archive)
            try container.encode(Self.wholeSeconds(age), forKey: .age_seconds)
        case .copies(let sequence, let archives), .forked(let sequence, let archives):
            try container.encode(sequence, forKey: .sequence)
            try container.encode(archives, forKey: .archives)
        case .missing(let first, let last, let after, let before):
            try container.encode(first, forKey: .first_missing)
            try container.encode(last, forKey: .last_missing)
            try container.encode(after, forKey: .after)
            try container.encode(before, forKey: .before)
        case .replaced(let archive, let sequence, let previous, let previousSequence),
             .rollback(let archive, let sequence, let previous, let previousSequence):
            try container.encode(archive, forKey: .archive)
            try container.encode(sequence, forKey: .sequence)
            try container.encode(previous, forKey: .previous)
            try container.encode(previousSequence, forKey: .previous_sequence)
        case .gap(let after, let before, let gap, let maxGap):
            try container.encode(after, forKey: .after)
            try container.encode(before, forKey: .before)
            try container.encode(Self.wholeSeconds(gap), forKey: .gap_seconds)
            try container.encode(Self.wholeSeconds(maxGap), forKey: .max_gap_seconds)
        case .behindHost(let hostLast, let newest):
            try container.encode(hostLast, forKey: .host_last)
            try container.encode(newest, forKey: .newest_here)
        case .noChainedArchiveVerified(let hostLast, let damaged):
            try container.encode(hostLast, forKey: .host_last)
            try container.encode(damaged, forKey: .damaged_present)
        }
    }

    /// Seconds rounded to a whole number, clamped so no conversion traps
    /// (a forged header can claim any time).
    static func wholeSeconds(_ seconds: TimeInterval) -> Int64 {
        guard seconds.isFinite else { return seconds < 0 ? .min : .max }
        let rounded = seconds.rounded()
        if rounded >= 9.2e18 { return .max }
        if rounded <= -9.2e18 { return .min }
        return Int64(rounded)
    }
}

/// What went right across a set, worth saying when nothing went wrong.
public enum SetNote: Sendable, Equatable, CustomStringConvertible {
    /// The newest archive is within the RPO.
    case fresh(archive: String, ageSeconds: TimeInterval, maxAgeSeconds: TimeInterval)
    /// The chain has no gap; `damaged` of its archives failed verification.
    case chainPresentWithDamage(first: UInt64, last: UInt64, damaged: Int)
    /// No two consecutive archives are further apart than `--max-gap`.
    case gapsWithin(largestSeconds: TimeInterval, maxGapSeconds: TimeInterval)
    /// A single chained archive.
    case chainSingle(sequence: UInt64)
    /// Archives `first`…`last` follow each other.
    case chainComplete(first: UInt64, last: UInt64)

    public var description: String {
        switch self {
        case .fresh(let archive, let age, let maxAge):
            return "newest archive \(archive) is \(Duration.describe(age)) old (max \(Duration.describe(maxAge)))"
        case .chainPresentWithDamage(let first, let last, let damaged):
            return "chain has no gap: archives \(first)–\(last) are present, \(damaged) archive\(damaged == 1 ? "" : "s") of them damaged (above)"
        case .gapsWithin(let largest, let maxGap):
            return "no gap over \(Duration.describe(maxGap)) between archives (largest \(Duration.describe(largest)))"
        case .chainSingle(let sequence):
            return "chain: archive \(sequence) only, nothing to compare it with"
        case .chainComplete(let first, let last):
            return "chain complete: archives \(first)–\(last) follow each other"
        }
    }
}

/// The outcome of the checks across a set (``ArchiveSet/check(_:maxAge:maxGap:expectedLast:now:)``).
public struct SetCheck: Sendable, Equatable {
    /// Empty when the set meets its targets.
    public let problems: [SetProblem]
    public let notes: [SetNote]
    /// How many archives were checked, and how many verified.
    public let archives: Int
    public let archivesPassed: Int
    /// The newest archive that verified (by creation time) and its age at
    /// the check, in seconds (negative: created in the future).
    public var newestArchive: String?
    public var newestAgeSeconds: TimeInterval?

    public var passed: Bool { problems.isEmpty }
}
