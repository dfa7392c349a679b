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
/// The findings are typed (``SetProblem``, ``SetNote``): numbers stay
/// numbers (ages in seconds, sequence numbers), and the sentence each
/// prints is its `description`.
public enum ArchiveSet {
    /// The newest archive by creation time.
    public static func newest(_ facts: [ArchiveFacts]) -> ArchiveFacts? {
        facts.max { ($0.created, $0.name) < ($1.created, $1.name) }
    }

    /// Every check across the set of `outcomes` (in the order given):
    /// freshness against `maxAge` at `now`, when given, the history's gaps
    /// against `maxGap`, when given, and the chain of the chained archives
    /// against `expectedLast`, the sealing host's last sequence number when
    /// known. Nil when no set check applies (no `maxAge`, no `maxGap`, no
    /// chained archive and no chain state).
    public static func check(_ outcomes: [ArchiveVerification], maxAge: TimeInterval?, maxGap: TimeInterval? = nil,
                             expectedLast: UInt64?, now: Date) -> SetCheck? {
        let facts = outcomes.compactMap(\.facts)
        let chained = facts.filter { $0.sequence != nil }
        guard maxAge != nil || maxGap != nil || !chained.isEmpty || expectedLast != nil else { return nil }
        var problems: [SetProblem] = []
        var notes: [SetNote] = []
        if let maxAge {
            if let problem = freshnessProblem(facts, maxAge: maxAge, now: now) {
                problems.append(problem)
            } else if let newest = newest(facts) {
                notes.append(.fresh(archive: newest.name, ageSeconds: now.timeIntervalSince1970 - TimeInterval(newest.created), maxAgeSeconds: maxAge))
            }
        }
        if let maxGap {
            let gaps = gapProblems(facts, maxGap: maxGap)
            problems += gaps
            if gaps.isEmpty, facts.count > 1 {
                notes.append(.gapsWithin(largestSeconds: largestGap(facts), maxGapSeconds: maxGap))
            }
        }
        // Chained archives that failed are reported on their own line, not
        // also as gaps in the chain.
        let failedSequences = Set(outcomes.filter { !$0.passed }.compactMap { $0.header?.sequence })
        if !chained.isEmpty || expectedLast != nil {
            let chainProblems = chainProblems(facts, expectedLast: expectedLast, failed: failedSequences)
            problems += chainProblems
            let sequences = chained.compactMap(\.sequence) + failedSequences
            if chainProblems.isEmpty, let first = sequences.min(), let last = sequences.max() {
                if !failedSequences.isEmpty {
                    notes.append(.chainPresentWithDamage(first: first, last: last, damaged: failedSequences.count))
                } else {
                    notes.append(first == last ? .chainSingle(sequence: first) : .chainComplete(first: first, last: last))
                }
            }
        }
        var check = SetCheck(problems: problems, notes: notes, archives: outcomes.count, archivesPassed: facts.count)
        if let newest = newest(facts) {
            check.newestArchive = newest.name
            check.newestAgeSeconds = now.timeIntervalSince1970 - TimeInterval(newest.created)
        }
        return check
    }

    /// A problem when the newest archive is older than `maxAge` at `now`.
    public static func freshnessProblem(_ facts: [ArchiveFacts], maxAge: TimeInterval, now: Date) -> SetProblem? {
        guard let newest = newest(facts) else { return .noneVerified }
        let age = now.timeIntervalSince1970 - TimeInterval(newest.created)
        if let future = futureProblem(name: newest.name, age: age) { return future }
        guard age > maxAge else { return nil }
        return .stale(archive: newest.name, ageSeconds: age, maxAgeSeconds: maxAge)
    }

    /// Every pair of archives, consecutive by creation time, further apart
    /// than `maxGap`: the history's RPO, which `--max-age` (the newest
    /// alone) cannot see once a newer archive exists. Only archives that
    /// verified count: a damaged one restores nothing, so the gap around
    /// it is real.
    public static func gapProblems(_ facts: [ArchiveFacts], maxGap: TimeInterval) -> [SetProblem] {
        let ordered = facts.sorted { ($0.created, $0.name) < ($1.created, $1.name) }
        return zip(ordered, ordered.dropFirst()).compactMap { previous, next in
            let gap = TimeInterval(next.created - previous.created)
            return gap > maxGap ? .gap(after: previous.name, before: next.name, gapSeconds: gap, maxGapSeconds: maxGap) : nil
        }
    }

    static func largestGap(_ facts: [ArchiveFacts]) -> TimeInterval {
        let created = facts.map(\.created).sorted()
        return zip(created, created.dropFirst()).map { TimeInterval($1 - $0) }.max() ?? 0
    }

    /// Clocks disagree a little; more than this in the future is suspect.
    public static let allowedClockSkew: TimeInterval = 3600

    /// A problem when an archive claims to be created in the future: its
    /// age would otherwise satisfy any RPO.
    public static func futureProblem(name: String, age: TimeInterval) -> SetProblem? {
        guard age < -allowedClockSkew else { return nil }
        return .createdInFuture(archive: name, ageSeconds: age)
    }

    /// Gaps, duplicates, broken links and rollbacks in the chained archives
    /// of the set (those with a sequence number), in sequence order.
    /// `expectedLast` is the sealing host's last sequence number, when known.
    /// `failed` are the sequence numbers that archives which failed
    /// verification claim in their headers: those archives are present and
    /// already reported as damaged, so they are not also reported missing.
    public static func chainProblems(_ facts: [ArchiveFacts], expectedLast: UInt64? = nil, failed: Set<UInt64> = []) -> [SetProblem] {
        let chained = facts.compactMap { fact in fact.sequence.map { (sequence: $0, fact: fact) } }
            .sorted { ($0.sequence, $0.fact.name) < ($1.sequence, $1.fact.name) }
        var problems: [SetProblem] = []
        for (previous, current) in zip(chained, chained.dropFirst()) {
            let (p, c) = (previous.sequence, current.sequence)
            if p == c {
                problems.append(previous.fact.digest == current.fact.digest
                    ? .copies(sequence: c, archives: [previous.fact.name, current.fact.name])
                    : .forked(sequence: c, archives: [previous.fact.name, current.fact.name]))
                continue
            }
            if c > p + 1 {
                for missing in missingRanges(from: p + 1, to: c - 1, present: failed) {
                    problems.append(.missing(first: missing.lowerBound, last: missing.upperBound, after: previous.fact.name, before: current.fact.name))
                }
            } else if current.fact.previousDigest != previous.fact.digest {
                problems.append(.replaced(archive: current.fact.name, sequence: c, previous: previous.fact.name, previousSequence: p))
            }
            if current.fact.created < previous.fact.created {
                problems.append(.rollback(archive: current.fact.name, sequence: c, previous: previous.fact.name, previousSequence: p))
            }
        }
        if let expectedLast, expectedLast > 0 {
            if let verifiedLast = chained.last?.sequence {
                // A damaged newest archive is there: only what is after it is missing.
                let last = max(verifiedLast, failed.max() ?? 0)
                if last < expectedLast {
                    problems.append(.behindHost(hostLast: expectedLast, newestHere: last))
                }
            } else {
                problems.append(.noChainedArchiveVerified(hostLast: expectedLast, damagedPresent: !failed.isEmpty))
            }
        }
        return problems
    }

    /// The numbers from `first` to `last` not in `present`, as ranges;
    /// `present` is small, so the range is never enumerated.
    static func missingRanges(from first: UInt64, to last: UInt64, present: Set<UInt64>) -> [ClosedRange<UInt64>] {
        var ranges: [ClosedRange<UInt64>] = []
        var start = first
        for number in present.filter({ (first...last).contains($0) }).sorted() + [last + 1] {
            if number > start { ranges.append(start...(number - 1)) }
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
