/// Where the records of an archive lie (Spec/FORMAT.md sections 4–7,
/// Spec/FORMAT-v2.md sections 2 and 5): every record but the last is a full
/// chunk plus its tag (and in version 1 its hash), so record `i` starts at a
/// fixed offset and a reader that can seek finds any record without reading
/// the ones before it. In version 2 the segment of each group of `G`
/// records follows the group, and the group table precedes the trailer.
///
/// Offsets are computed with overflow checks: an index no archive can hold
/// gives `UInt64.max`, never a wrapped offset.
public struct RecordLayout: Sendable, Equatable {
    public let version: FormatVersion
    /// Bytes before record 0: the header, and in version 2 the header
    /// signature when signed (`S`).
    public let headerLength: Int
    /// A full record: chunk and tag, and in version 1 the record hash (`F`).
    public let recordLength: Int
    /// The trailer's length (longer when the archive is signed) (`T`).
    public let trailerLength: Int
    /// Records in a group (`G`); 1 in version 1, which has no groups.
    public let groupSize: Int

    public init(header: ArchiveHeader) {
        version = header.version
        headerLength = header.leadLength
        recordLength = header.recordLength
        trailerLength = header.trailerLength
        groupSize = header.groupSize
    }

    private static let hash = UInt64(FormatV2.hashLength)

    /// `a·b + c` or nil on overflow.
    private static func muladd(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64? {
        let (product, o1) = a.multipliedReportingOverflow(by: b)
        let (sum, o2) = product.addingReportingOverflow(c)
        return o1 || o2 ? nil : sum
    }

    /// Record `index`'s offset, nil on overflow.
    public func checkedOffset(ofRecord index: UInt64) -> UInt64? {
        let start = UInt64(headerLength)
        guard let records = Self.muladd(index, UInt64(recordLength), start) else { return nil }
        if version == .v1 { return records }
        let groups = index / UInt64(groupSize)
        return Self.muladd(groups, Self.hash * UInt64(groupSize), records)
    }

    /// The archive offset of record `index` (`UInt64.max` past any archive).
    public func offset(ofRecord index: UInt64) -> UInt64 { checkedOffset(ofRecord: index) ?? .max }

    /// Version 2: the offset of the segment of a group that is not the last
    /// (its `G` records are full): `S + (j+1)·G·F + j·32·G`. The last
    /// group's segment directly follows the last record.
    public func offset(ofFullGroupSegment group: UInt64) -> UInt64 {
        let g = UInt64(groupSize)
        let (next, overflow) = group.addingReportingOverflow(1)
        guard !overflow, let records = Self.muladd(next, g, 0),
              let start = checkedOffset(ofRecord: records) else { return .max }
        return start >= Self.hash * g ? start - Self.hash * g : .max
    }

    /// The bytes of the tail other than the last record and the trailer
    /// when `recordsBefore` records precede it: in version 2 the last
    /// segment (`32·(p+1)`) and the group table (`32·(j+1)`), with
    /// `p`, `j` the last record's place (FORMAT-v2.md check 14). 0 in
    /// version 1.
    public func tailHashesLength(recordsBefore: UInt64) -> UInt64 {
        guard version == .v2 else { return 0 }
        let g = UInt64(groupSize)
        let p = recordsBefore % g, j = recordsBefore / g
        return Self.hash * (p + 1) + Self.hash * (j + 1)
    }

    /// Version 2: the last segment's length, `32·(p+1)`, when the last
    /// record has index `recordsBefore`; 0 in version 1.
    public func lastSegmentLength(recordsBefore: UInt64) -> Int {
        version == .v2 ? FormatV2.hashLength * Int(recordsBefore % UInt64(groupSize) + 1) : 0
    }

    /// How many records precede the tail of an archive of `archiveLength`
    /// bytes: the records that are known to be full and not last because
    /// more than a record, (in version 2) the hashes that must follow the
    /// last record, and a trailer follow them. The tail holds the last
    /// record, its segment, the group table and the trailer, which
    /// ``ArchiveDecoder/lastRecordLength(inTail:recordsBefore:)`` separates.
    /// A streaming reader draws the same line (checks 12–13 of FORMAT.md,
    /// 13–14 of FORMAT-v2.md): it takes a record as not-last only once more
    /// than that follows it.
    public func recordsBeforeTail(archiveLength: UInt64) -> UInt64 {
        guard archiveLength > UInt64(headerLength) else { return 0 }
        let rest = archiveLength - UInt64(headerLength)
        let f = UInt64(recordLength), t = UInt64(trailerLength)
        if version == .v1 {
            guard rest > t else { return 0 }
            return (rest - t - 1) / f
        }
        // Version 2: record i is not last while rest − pos(i) > F + 32(p+1)
        // + 32(j+1) + T. The left side minus the right strictly decreases
        // with i, so the first i where it fails is found by bisection.
        func isNotLast(_ i: UInt64) -> Bool {
            guard let start = checkedOffset(ofRecord: i) else { return false }
            let pos = start - UInt64(headerLength)
            guard let need = Self.muladd(1, pos, f + t + tailHashesLength(recordsBefore: i)) else { return false }
            return rest > need
        }
        var low: UInt64 = 0, high = rest / f + 1   // isNotLast(high) is false
        while low < high {
            let middle = low + (high - low) / 2
            if isNotLast(middle) { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
