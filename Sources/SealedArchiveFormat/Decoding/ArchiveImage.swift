/// A whole archive held in memory, read through the core: the records by
/// index in any order, or all of them in archive order with the trailer.
/// For tests, fuzzers and small archives; a stream reader uses
/// ``ArchiveDecoder`` directly on a window of the input.
public struct ArchiveImage: Sendable {
    public let bytes: [UInt8]
    public let decoder: ArchiveDecoder

    /// Checks the header (1–8).
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
        let before = recordsBeforeTail
        for index in 0..<before {
            let start = Int(decoder.layout.offset(ofRecord: index))
            try take(index, start..<start + decoder.layout.recordLength, isLast: false)
        }
        let (range, _) = try recordRange(before)
        try take(before, range, isLast: true)
        return try bytes.withUnsafeBytes {
            try accumulator.finish(trailer: UnsafeRawBufferPointer(rebasing: $0[range.upperBound...]))
        }
    }
}
