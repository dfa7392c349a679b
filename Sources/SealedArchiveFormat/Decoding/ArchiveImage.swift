/// A whole archive held in memory, read through the core: the records by
/// index in any order, or all of them in archive order with the trailer.
/// For tests, fuzzers and small archives; a stream reader uses
/// ``ArchiveDecoder`` directly on a window of the input.
public struct ArchiveImage: Sendable {
    public let bytes: [UInt8]
    public let decoder: ArchiveDecoder

    /// Checks the header (1–8; version 2: 1–9, the header signature).
    public init(_ bytes: [UInt8], trustedSigners: [TrustedSigner]? = nil) throws {
        self.bytes = bytes
        decoder = try ArchiveDecoder(parsing: bytes, trustedSigners: trustedSigners)
    }

    public var header: ArchiveHeader { decoder.header }

    /// Records known to be full and not last, before the tail.
    public var recordsBeforeTail: UInt64 { decoder.layout.recordsBeforeTail(archiveLength: UInt64(bytes.count)) }

    /// The records (check 13 on the tail): throws `truncated` or `trailer`
    /// when the tail does not end with a trailer.
    public func recordCount() throws -> UInt64 {
        _ = try lastRecordLength()
        return recordsBeforeTail + 1
    }

    private func lastRecordLength() throws -> Int {
        let before = recordsBeforeTail
        let start = Int(decoder.layout.offset(ofRecord: before))
        return try bytes.withUnsafeBytes {
            try decoder.lastRecordLength(inTail: UnsafeRawBufferPointer(rebasing: $0[start...]), recordsBefore: before)
        }
    }

    /// Version 2: the archive's tail (last record, last segment, group
    /// table, trailer) checked as section 7.1 steps 1–3 do.
    public func verifyGroupTable() throws -> VerifiedGroupTable {
        let before = recordsBeforeTail
        let start = Int(min(decoder.layout.offset(ofRecord: before), UInt64(bytes.count)))
        return try bytes.withUnsafeBytes {
            try decoder.verifyGroupTable(archiveLength: UInt64(bytes.count), tail: UnsafeRawBufferPointer(rebasing: $0[start...]))
        }
    }

    /// Version 2, section 7.1: authenticates record `index` by the group
    /// table and its segment alone (reading no other record) and, with
    /// `unlocked`, decrypts it into `plaintext`.
    public func readPartially(record index: UInt64, table: VerifiedGroupTable, with unlocked: UnlockedArchive? = nil,
                              into plaintext: UnsafeMutableRawBufferPointer = UnsafeMutableRawBufferPointer(start: nil, count: 0)) throws -> CheckedRecord {
        let group = index / UInt64(header.groupSize)
        let segmentRange = try table.segmentRange(group)
        let (range, isLast) = try table.recordRange(index)
        return try bytes.withUnsafeBytes { raw in
            let hashes = try table.checkSegment(UnsafeRawBufferPointer(rebasing: raw[Int(segmentRange.lowerBound)..<Int(segmentRange.upperBound)]), group: group)
            let record = UnsafeRawBufferPointer(rebasing: raw[Int(range.lowerBound)..<Int(range.upperBound)])
            // The hash first: a record that is not the one sealed is never
            // decrypted.
            let checked = try decoder.check(record: record, index: index, isLast: isLast)
            try table.authenticate(checked, segmentHashes: hashes)
            guard let unlocked else { return checked }
            return try unlocked.open(record: record, index: index, isLast: isLast, into: plaintext)
        }
    }

    /// Where record `index` lies, and whether it is the last.
    public func recordRange(_ index: UInt64) throws -> (range: Range<Int>, isLast: Bool) {
        let before = recordsBeforeTail
        let start = Int(decoder.layout.offset(ofRecord: min(index, before)))
        if index < before { return (start..<start + decoder.layout.recordLength, false) }
        let last = try lastRecordLength()
        guard index == before else {
            throw SealedArchiveError(.invalidArgument, "the archive has \(before + 1) records; there is no record \(index)")
        }
        return (start..<start + last, true)
    }

    /// Checks record `index` without a key.
    public func check(record index: UInt64) throws -> CheckedRecord {
        let (range, isLast) = try recordRange(index)
        return try bytes.withUnsafeBytes {
            try decoder.check(record: UnsafeRawBufferPointer(rebasing: $0[range]), index: index, isLast: isLast)
        }
    }

    /// Checks and decrypts record `index` into `plaintext`.
    public func open(record index: UInt64, with unlocked: UnlockedArchive,
                     into plaintext: UnsafeMutableRawBufferPointer) throws -> CheckedRecord {
        let (range, isLast) = try recordRange(index)
        return try bytes.withUnsafeBytes {
            try unlocked.open(record: UnsafeRawBufferPointer(rebasing: $0[range]), index: index, isLast: isLast, into: plaintext)
        }
    }

    /// Reads every record in archive order and checks the trailer, with the
    /// outcome and error precedence of a streaming reader: the first bad
    /// full record, then the tail (truncated or extended), then the last
    /// record, count, digest and signature. Keyless when `unlocked` is nil;
    /// otherwise each chunk's plaintext goes to `plaintext` as it opens
    /// (genuine only if this returns).
    public func read(with unlocked: UnlockedArchive? = nil,
                     plaintext: (UnsafeRawBufferPointer) throws -> Void = { _ in }) throws -> ReadResult {
        let accumulator = try decoder.makeAccumulator()
        // No chunk holds more plaintext than the archive has bytes: a small
        // archive with a large chunk size needs no chunk-sized buffer.
        let chunk = UnsafeMutableRawBufferPointer.allocate(
            byteCount: unlocked == nil ? 1 : max(1, min(header.chunkSize, bytes.count)), alignment: 64)
        defer {
            secureZero(chunk)
            chunk.deallocate()
        }
        func take(_ index: UInt64, _ range: Range<Int>, isLast: Bool) throws {
            try bytes.withUnsafeBytes { raw in
                let record = UnsafeRawBufferPointer(rebasing: raw[range])
                if let unlocked {
                    let checked = try unlocked.open(record: record, index: index, isLast: isLast, into: chunk)
                    try accumulator.add(checked)
                    try plaintext(UnsafeRawBufferPointer(rebasing: chunk[..<checked.plaintextLength]))
                } else {
                    try accumulator.add(try decoder.check(record: record, index: index, isLast: isLast))
                }
            }
        }
        let layout = decoder.layout
        let groupSize = UInt64(layout.groupSize)
        let before = recordsBeforeTail
        for index in 0..<before {
            let start = Int(layout.offset(ofRecord: index))
            let end = start + layout.recordLength
            try take(index, start..<end, isLast: false)
            // Version 2: a full group's segment follows its last record
            // (FORMAT-v2.md check 13).
            if header.version == .v2, index % groupSize == groupSize - 1 {
                try bytes.withUnsafeBytes {
                    try accumulator.add(segment: UnsafeRawBufferPointer(rebasing: $0[end..<(end + FormatV2.hashLength * layout.groupSize)]))
                }
            }
        }
        let (range, _) = try recordRange(before)
        try take(before, range, isLast: true)
        let segmentEnd = range.upperBound + layout.lastSegmentLength(recordsBefore: before)
        if header.version == .v2 {
            try bytes.withUnsafeBytes { try accumulator.add(segment: UnsafeRawBufferPointer(rebasing: $0[range.upperBound..<segmentEnd])) }
        }
        return try bytes.withUnsafeBytes {
            try accumulator.finish(trailer: UnsafeRawBufferPointer(rebasing: $0[segmentEnd...]))
        }
    }
}
