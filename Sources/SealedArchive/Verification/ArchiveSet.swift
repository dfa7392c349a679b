import Foundation

/// What a verifier learns about one archive that matters across a set.
public struct ArchiveFacts: Sendable {
    public let name: String
    public let created: UInt64
    public let sequence: UInt64?
    public let previousDigest: [UInt8]?
    /// The trailer digest, for archives that verified.
    public let digest: [UInt8]

    public init(name: String, created: UInt64, sequence: UInt64?, previousDigest: [UInt8]?, digest: [UInt8]) {
        self.name = name
        self.created = created
        self.sequence = sequence
        self.previousDigest = previousDigest
        self.digest = digest
    }
}

/// Checks across a set of verified archives: freshness (RPO) and the chain
/// of sequence numbers and previous digests that `seal --chain` stamps.
public enum ArchiveSet {
    /// The newest archive by creation time.
    public static func newest(_ facts: [ArchiveFacts]) -> ArchiveFacts? {
        facts.max { ($0.created, $0.name) < ($1.created, $1.name) }
    }

    /// A problem when the newest archive is older than `maxAge` at `now`.
    public static func freshnessProblem(_ facts: [ArchiveFacts], maxAge: TimeInterval, now: Date) -> String? {
        guard let newest = newest(facts) else { return "no archive verified, so none is fresh" }
        let age = now.timeIntervalSince1970 - TimeInterval(newest.created)
        if let future = futureProblem(name: newest.name, age: age) { return future }
        guard age > maxAge else { return nil }
        return "the newest archive, \(newest.name), is \(Duration.describe(age)) old: older than the allowed \(Duration.describe(maxAge)) (RPO missed)"
    }

    /// Clocks disagree a little; more than this in the future is suspect.
    public static let allowedClockSkew: TimeInterval = 3600

    /// A problem when an archive claims to be created in the future: its
    /// age would otherwise satisfy any RPO.
    public static func futureProblem(name: String, age: TimeInterval) -> String? {
        guard age < -allowedClockSkew else { return nil }
        return "\(name) claims to be created \(Duration.describe(age)): a wrong clock on the sealing host, or a forged header"
    }

    /// Gaps, duplicates, broken links and rollbacks in the chained archives
    /// of the set (those with a sequence number), in sequence order.
    /// `expectedLast` is the sealing host's last sequence number, when known.
    /// `failed` are the sequence numbers that archives which failed
    /// verification claim in their headers: those archives are present and
    /// already reported as damaged, so they are not also reported missing.
    public static func chainProblems(_ facts: [ArchiveFacts], expectedLast: UInt64? = nil, failed: Set<UInt64> = []) -> [String] {
        let chained = facts.filter { $0.sequence != nil }.sorted { ($0.sequence!, $0.name) < ($1.sequence!, $1.name) }
        var problems: [String] = []
        for (previous, current) in zip(chained, chained.dropFirst()) {
            let (p, c) = (previous.sequence!, current.sequence!)
            if p == c {
                problems.append(previous.digest == current.digest
                    ? "\(previous.name) and \(current.name) are copies of archive \(c)"
                    : "two different archives claim sequence \(c) (\(previous.name), \(current.name)): one replaced the other or the chain forked")
                continue
            }
            if c > p + 1 {
                for missing in missingRanges(from: p + 1, to: c - 1, present: failed) {
                    problems.append("archive \(missing) missing between \(previous.name) and \(current.name) (deleted, or never synced)")
                }
            } else if current.previousDigest != previous.digest {
                problems.append("\(current.name) (sequence \(c)) does not follow \(previous.name): archive \(p) was replaced")
            }
            if current.created < previous.created {
                problems.append("\(current.name) (sequence \(c)) was created before \(previous.name) (sequence \(p)): a rollback")
            }
        }
        if let expectedLast, expectedLast > 0 {
            if let verifiedLast = chained.last?.sequence {
                // A damaged newest archive is there: only what is after it is missing.
                let last = max(verifiedLast, failed.max() ?? 0)
                if last < expectedLast {
                    problems.append("the sealing host's chain is at archive \(expectedLast) but the newest here is \(last): later archives are missing or were rolled back")
                }
            } else {
                problems.append(failed.isEmpty
                    ? "the sealing host's chain is at archive \(expectedLast) but no chained archive here verified: archives 1–\(expectedLast) are missing"
                    : "the sealing host's chain is at archive \(expectedLast) but no chained archive here verified: those present are damaged (above)")
            }
        }
        return problems
    }

    /// The numbers from `first` to `last` not in `present`, as ranges
    /// ("3", "5–7"); `present` is small, so the range is never enumerated.
    static func missingRanges(from first: UInt64, to last: UInt64, present: Set<UInt64>) -> [String] {
        var ranges: [String] = []
        var start = first
        for number in present.filter({ (first...last).contains($0) }).sorted() + [last + 1] {
            if number > start { ranges.append(number - 1 == start ? "\(start)" : "\(start)–\(number - 1)") }
            start = number + 1
        }
        return ranges
    }
}

/// Durations as operators write them: `90s`, `45m`, `24h`, `7d`, `2w`.
public enum Duration {
    public static func parse(_ text: String) throws -> TimeInterval {
        let units: [Character: TimeInterval] = ["s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604_800]
        guard let unit = text.last, let scale = units[unit], let value = Double(text.dropLast()), value >= 0, value.isFinite,
              value * scale <= maximum else {
            throw SealedArchiveError(.invalidArgument, "'\(text)' is not a duration such as 90s, 45m, 24h, 7d or 2w (at most 100 years)")
        }
        return value * scale
    }

    /// The most a duration can be (100 years): larger values are refused
    /// when parsed and clamped when shown, so no conversion can trap.
    public static let maximum: TimeInterval = 100 * 365 * 86400

    public static func describe(_ seconds: TimeInterval) -> String {
        guard seconds.isFinite, abs(seconds) <= maximum else { return seconds < 0 ? "more than 100 years in the future" : "over 100 years" }
        if seconds < 0 { return "\(describe(-seconds)) in the future" }
        let s = Int(seconds.rounded())
        if s >= 86400 { return "\(s / 86400)d \((s % 86400) / 3600)h" }
        if s >= 3600 { return "\(s / 3600)h \((s % 3600) / 60)m" }
        if s >= 60 { return "\(s / 60)m \(s % 60)s" }
        return "\(s)s"
    }
}
