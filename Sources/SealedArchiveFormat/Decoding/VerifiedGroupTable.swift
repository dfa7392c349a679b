/// Version 2's partial read (Spec/FORMAT-v2.md section 7.1): the group
/// table and trailer of an archive checked against the header (the digest,
/// and the trailer signature when signed), so that any record can then be
/// authenticated from its segment alone, without reading the others.
///
/// Made by ``ArchiveDecoder/verifyGroupTable(archiveLength:tail:)``. What it
/// proves is what section 7.1 says: a record that passes
/// ``checkSegment(_:group:)`` and ``authenticate(_:segmentHashes:)`` is
/// exactly record `i` of what the signer sealed (with a required signer) or
/// of an archive whose digest is intact; nothing about records not read.
public struct VerifiedGroupTable: Sendable {
    public let layout: RecordLayout
    /// `n`, as check 13 and 14 split the archive.
    public let recordCount: UInt64
    /// `ℓ`, the last record's stored length.
    public let lastRecordLength: Int
    /// `r_0 … r_{m−1}` as stored, covered by the verified digest.
    public let segmentHashes: [[UInt8]]
    public let digest: [UInt8]

    public var groupCount: UInt64 { UInt64(segmentHashes.count) }

    /// Where record `index` lies, and whether it is the last.
    public func recordRange(_ index: UInt64) throws -> (range: Range<UInt64>, isLast: Bool) {
        guard index < recordCount else {
            throw SealedArchiveError(.invalidArgument, "the archive has \(recordCount) records; there is no record \(index)")
        }
        let start = layout.offset(ofRecord: index)
        let isLast = index == recordCount - 1
        return (start..<start + UInt64(isLast ? lastRecordLength : layout.recordLength), isLast)
    }

    /// Where segment `group` lies: after its group's last record.
    public func segmentRange(_ group: UInt64) throws -> Range<UInt64> {
        guard group < groupCount else {
            throw SealedArchiveError(.invalidArgument, "the archive has \(groupCount) groups; there is no group \(group)")
        }
        let g = UInt64(layout.groupSize)
        let last = min(recordCount - 1, group * g + g - 1)
        let end = try recordRange(last).range.upperBound
        return end..<end + (last - group * g + 1) * UInt64(FormatV2.hashLength)
    }

    /// Checks segment `group` against the group table (7.1 step 4,
    /// [`damaged`]) and returns its record hashes.
    public func checkSegment(_ segment: UnsafeRawBufferPointer, group: UInt64) throws -> [[UInt8]] {
        let expected = try segmentRange(group).count
        guard UInt64(segment.count) == expected else {
            throw SealedArchiveError(.invalidArgument, "segment \(group) given as \(segment.count) bytes")
        }
        let r = try Records.segmentHash(group: group, segment: segment)
        guard constantTimeEquals(r, segmentHashes[Int(group)]) else {
            throw SealedArchiveError(.damaged, "segment \(group) is damaged: it does not match the group table")
        }
        let hashLength = FormatV2.hashLength
        return (0..<(segment.count / hashLength)).map { Array(segment[($0 * hashLength)..<(($0 + 1) * hashLength)]) }
    }

    /// Checks a record (checked or opened by index) against its hash in
    /// its group's verified segment (7.1 step 4, [`damaged`]).
    public func authenticate(_ record: CheckedRecord, segmentHashes hashes: [[UInt8]]) throws {
        let p = Int(record.index % UInt64(layout.groupSize))
        let (_, isLast) = try recordRange(record.index)
        guard record.isLast == isLast, p < hashes.count, constantTimeEquals(record.hash, hashes[p]) else {
            throw SealedArchiveError(.damaged, "chunk \(record.index) is damaged: its hash does not match its segment")
        }
    }
}

extension ArchiveDecoder {
    /// Spec/FORMAT-v2.md section 7.1 steps 1–3, after checks 1–9: splits an
    /// archive of `archiveLength` bytes into `n` and `ℓ` as checks 13 and 14
    /// would (a tail they reject gives their class), checks the trailer's
    /// chunk count [`damaged`], the digest over the stored group table
    /// [`damaged`] and, when signed, the trailer signature [`signature`].
    ///
    /// `tail` is the archive from ``RecordLayout/offset(ofRecord:)`` of
    /// ``RecordLayout/recordsBeforeTail(archiveLength:)`` to its end: the
    /// last record, its segment, the group table and the trailer, at most
    /// `F + 32·G + 32·m + T` bytes.
    public func verifyGroupTable(archiveLength: UInt64, tail: UnsafeRawBufferPointer) throws -> VerifiedGroupTable {
        guard header.version == .v2 else {
            throw SealedArchiveError(.invalidArgument, "a version \(header.version) archive has no group table")
        }
        let layout = self.layout
        let before = layout.recordsBeforeTail(archiveLength: archiveLength)
        guard archiveLength >= UInt64(layout.headerLength),
              UInt64(tail.count) == archiveLength - min(archiveLength, layout.offset(ofRecord: before)) else {
            throw SealedArchiveError(.invalidArgument, "a tail of \(tail.count) bytes for an archive of \(archiveLength)")
        }
        let last = try lastRecordLength(inTail: tail, recordsBefore: before)
        let tableStart = last + layout.lastSegmentLength(recordsBefore: before)
        return try verifyTable(recordsBefore: before, lastRecordLength: last,
                               tableAndTrailer: UnsafeRawBufferPointer(rebasing: tail[tableStart...]))
    }

    /// The bytes at the end of an archive of `archiveLength` bytes that
    /// ``verifyGroupTable(archiveLength:tableAndTrailer:)`` needs: the
    /// group table and the trailer, `32·m + T`, for the record count the
    /// length implies (nil when it implies none).
    public func tableAndTrailerLength(archiveLength: UInt64) -> Int? {
        guard header.version == .v2 else { return nil }
        let layout = self.layout
        let before = layout.recordsBeforeTail(archiveLength: archiveLength)
        let hashes = FormatV2.hashLength
        let groups = before / UInt64(layout.groupSize) + 1
        let (table, overflow) = groups.multipliedReportingOverflow(by: UInt64(hashes))
        guard !overflow, table <= archiveLength else { return nil }
        return Int(table) + header.trailerLength
    }

    /// Section 7.1 steps 1–3 from the group table and trailer alone (the
    /// last `tableAndTrailerLength(archiveLength:)` bytes), without the
    /// last record: `n` and `ℓ` follow from the length. A quick check of
    /// the signature that reads no record. When the length does not split
    /// as a well-formed archive's would, or the trailer is not where it
    /// must be, this throws: read the whole tail
    /// (``verifyGroupTable(archiveLength:tail:)``) to name the problem.
    public func verifyGroupTable(archiveLength: UInt64, tableAndTrailer: UnsafeRawBufferPointer) throws -> VerifiedGroupTable {
        guard let expected = tableAndTrailerLength(archiveLength: archiveLength), tableAndTrailer.count == expected else {
            throw SealedArchiveError(.invalidArgument, "\(tableAndTrailer.count) bytes given for the group table and trailer")
        }
        let layout = self.layout
        let before = layout.recordsBeforeTail(archiveLength: archiveLength)
        let start = layout.offset(ofRecord: before)
        let hashes = layout.tailHashesLength(recordsBefore: before) + UInt64(header.trailerLength)
        let minimum = UInt64(header.version.recordOverhead + (before > 0 ? 1 : 0))
        guard start < archiveLength, archiveLength - start >= hashes + minimum,
              archiveLength - start - hashes <= UInt64(layout.recordLength),
              Trailer.hasMagic(UnsafeRawBufferPointer(rebasing: tableAndTrailer[(tableAndTrailer.count - header.trailerLength)...])) else {
            throw SealedArchiveError(.truncated, "the archive's length or trailer is not that of a complete archive: read its whole tail")
        }
        return try verifyTable(recordsBefore: before, lastRecordLength: Int(archiveLength - start - hashes), tableAndTrailer: tableAndTrailer)
    }

    /// Steps 2–3 once `n` and `ℓ` are known: the trailer's count, the
    /// digest over the stored table, the signature.
    private func verifyTable(recordsBefore before: UInt64, lastRecordLength last: Int,
                             tableAndTrailer: UnsafeRawBufferPointer) throws -> VerifiedGroupTable {
        let layout = self.layout
        let n = before + 1
        let hashLength = FormatV2.hashLength
        let trailerStart = tableAndTrailer.count - header.trailerLength
        let trailer = try Trailer(parsing: UnsafeRawBufferPointer(rebasing: tableAndTrailer[trailerStart...]), signed: header.isSigned)
        guard trailer.chunkCount == n else {
            throw SealedArchiveError(.damaged, "the trailer counts \(trailer.chunkCount) \(trailer.chunkCount == 1 ? "chunk" : "chunks") but the archive holds \(n)")
        }
        let table = UnsafeRawBufferPointer(rebasing: tableAndTrailer[..<trailerStart])
        let digest = try ArchiveDigest(header: header.bytes, version: .v2, headerSignature: header.signature)
        let entries = (0..<(table.count / hashLength)).map { Array(table[($0 * hashLength)..<(($0 + 1) * hashLength)]) }
        for entry in entries { digest.add(segmentHash: entry) }
        let computed = digest.finalize(recordCount: n)
        guard constantTimeEquals(computed, trailer.digest) else {
            throw SealedArchiveError(.damaged, "the archive digest does not match its trailer: the header, the group table or the trailer is damaged")
        }
        if let signer = header.signer, let signature = trailer.signature {
            guard try signer.isValidSignature(signature, of: Trailer.signedMessage(digest: computed, version: .v2)) else {
                throw SealedArchiveError(.signature, "the signature does not verify under the signer key \(signer) named in the header: the archive is forged or damaged")
            }
        }
        return VerifiedGroupTable(layout: layout, recordCount: n, lastRecordLength: last, segmentHashes: entries, digest: computed)
    }
}
