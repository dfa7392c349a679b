import Foundation

/// Reads an archive from a stream, in the order and with the outcomes of
/// Spec/FORMAT.md section 8, through the format core: creating a reader
/// reads the header and makes an ``ArchiveDecoder`` (checks 1–8);
/// ``verify()`` feeds every record and the trailer through the keyless core
/// (12–17 without opening chunks); ``unlock(with:)`` makes the
/// ``UnlockedArchiveReader`` (9–11), the only type that decrypts.
///
/// The call order is the types': nothing here decrypts, so "decrypt before
/// unlock" cannot be written. What the types cannot say is that the stream
/// is read once (classes cannot be noncopyable, and a reader shared with
/// its unlocked form must hand the stream to exactly one pass): a second
/// pass, through this reader or any ``UnlockedArchiveReader`` made from it,
/// throws `invalid-argument` instead of reading nothing.
///
/// Memory holds one batch of records plus the trailer's length, whatever the
/// archive's size; nothing seeks, so the source can be a pipe. The records of
/// a batch are checked on all cores; a failure names the first bad record in
/// archive order, as a sequential reader would.
public final class ArchiveReader {
    public let header: ArchiveHeader
    /// The keyless checks over this archive's header.
    public let decoder: ArchiveDecoder
    /// The input, until a pass over the records takes it.
    private var source: ByteSource?

    /// Reads and checks the header.
    ///
    /// Reads and checks the header; when `requiredSigners` is not nil the
    /// archive must be signed by one of these keys, at any time.
    public convenience init(source: ByteSource, requiredSigners: [SignerKey]?) throws {
        try self.init(source: source, trustedSigners: requiredSigners?.map { TrustedSigner($0) })
    }

    /// Reads and checks the header.
    ///
    /// - Parameter trustedSigners: when not nil, the archive must be signed
    ///   by one of these keys, inside that key's window (check 8). A
    ///   version 2 header's own signature is verified here, before any
    ///   record is read (FORMAT-v2.md check 9); the trailer's signature
    ///   over the whole archive is verified after the last record.
    public init(source: ByteSource, trustedSigners: [TrustedSigner]? = nil) throws {
        self.source = source
        // A signed version 2 header is followed by its signature, which the
        // decoder checks before anything else is read (FORMAT-v2.md check 9).
        let (bytes, _) = try ArchiveLead.read { count in
            var piece = [UInt8](repeating: 0, count: count)
            let read = try piece.withUnsafeMutableBytes { try source.readFully(into: $0) }
            piece.removeLast(count - read)
            return piece
        }
        decoder = try ArchiveDecoder(parsing: bytes, trustedSigners: trustedSigners)
        header = decoder.header
    }

    /// Opens the file key with the first identity that has a stanza, and
    /// authenticates the header under it. The result is the only way to
    /// decrypt; it names the key that opened the archive
    /// (``UnlockedArchiveReader/keyID``), so a report can name it without
    /// guessing from the identities given. Reads nothing past the header.
    public func unlock(with identities: [Identity]) throws -> UnlockedArchiveReader {
        UnlockedArchiveReader(reader: self, unlocked: try decoder.unlock(with: identities))
    }

    /// Checks every record and the trailer without decrypting (checks
    /// 12–17 without opening chunks).
    public func verify() throws -> ReadResult {
        let records = try RecordStream(source: takeSource(), opener: .keyless(decoder))
        return try records.drain()
    }

    /// The records are read once, from a stream: a second pass (by this
    /// reader or an ``UnlockedArchiveReader`` made from it) is a caller's
    /// mistake, reported as such rather than reading nothing.
    func takeSource() throws -> ByteSource {
        guard let source else {
            throw SealedArchiveError(.invalidArgument, "an archive reader reads its records once: make a new reader for another pass")
        }
        self.source = nil
        return source
    }
}

/// Checks 12–17 of Spec/FORMAT.md section 8 (13–17 of FORMAT-v2.md) as an
/// iterator over a stream, through the format core: each call to ``next()``
/// reads one batch of records, checks (and, decrypting, opens) them on all
/// cores with the core's ``ArchiveDecoder`` or ``UnlockedArchive``, adds
/// them in order to a ``RecordAccumulator`` (in version 2 with the segment
/// that closes each group) and returns the batch's plaintext; the call after
/// the last record checks the last segment, the group table and the trailer
/// and returns nil.
///
/// A record is taken as not-last only once more bytes follow it than a last
/// record and everything after one can fill (FORMAT.md check 13, FORMAT-v2.md
/// check 14). The window holds one batch of records (and their segments)
/// plus that look-ahead, whatever the archive's size; in version 2 the
/// look-ahead includes the group table, 32 bytes per GiB of chunks, so the
/// window grows by that much as the archive goes on. Nothing seeks.
final class RecordStream {
    /// What opens the records: only an unlocked archive decrypts.
    enum Opener {
        case keyless(ArchiveDecoder)
        case decrypting(UnlockedArchive)
    }

    private let decoder: ArchiveDecoder
    private let unlocked: UnlockedArchive?
    private let source: ByteSource
    private let accumulator: RecordAccumulator
    private let layout: RecordLayout
    private var window: UnsafeMutableRawBufferPointer
    private let plaintext: UnsafeMutableRawBufferPointer
    private let chunkSize: Int
    private let recordLength: Int
    private let trailerLength: Int
    private var filled = 0
    private var index: UInt64 = 0
    private var sourceEnded = false
    private var ended = false
    private(set) var result: ReadResult?
    /// Called with each record and its check, in order, once checked; in
    /// version 2, with the bytes that follow the record (its group's
    /// segment when it closes the group, else empty).
    var observer: ((_ record: UnsafeRawBufferPointer, _ checked: CheckedRecord, _ segment: UnsafeRawBufferPointer) throws -> Void)?

    init(source: ByteSource, opener: Opener) throws {
        switch opener {
        case .keyless(let decoder): (self.decoder, unlocked) = (decoder, nil)
        case .decrypting(let unlocked): (self.decoder, self.unlocked) = (unlocked.decoder, unlocked)
        }
        self.source = source
        accumulator = try decoder.makeAccumulator()
        layout = decoder.layout
        chunkSize = decoder.header.chunkSize
        recordLength = layout.recordLength
        trailerLength = layout.trailerLength
        window = .allocate(byteCount: 1, alignment: 64)
        // Keyless checks decrypt nothing: no plaintext buffer to commit.
        plaintext = .allocate(byteCount: unlocked == nil ? 1 : Parallel.batchSize * chunkSize, alignment: 64)
    }

    deinit {
        // Only what held plaintext is wiped (touching the rest would commit
        // pages that were never used).
        secureZero(UnsafeMutableRawBufferPointer(rebasing: plaintext[..<plaintextUsed]))
        plaintext.deallocate()
        window.deallocate()
    }

    /// The largest prefix of `plaintext` ever written.
    private var plaintextUsed = 0

    /// Reads to the end, discarding plaintext; the result.
    func drain() throws -> ReadResult {
        while try next() != nil {}
        return try finalResult()
    }

    /// The result once ``next()`` returned nil.
    func finalResult() throws -> ReadResult {
        guard let result else { throw SealedArchiveError(.invalidArgument, "the archive was not read to its end") }
        return result
    }

    /// The bytes that must follow the start of record `i` for it to be
    /// known not to be the last: a full record, the hashes a last record
    /// would be followed by, the trailer.
    private func lookAhead(record i: UInt64) -> Int {
        recordLength + Int(clamping: layout.tailHashesLength(recordsBefore: i)) + trailerLength
    }

    /// The window a batch starting at record `index` needs: its records and
    /// segments, and the last one's look-ahead plus one byte.
    private func windowCapacity() -> Int {
        let last = index + UInt64(Parallel.batchSize - 1)
        let span = Int(clamping: layout.offset(ofRecord: last) &- layout.offset(ofRecord: index))
        return span + lookAhead(record: last) + 1
    }

    /// The plaintext of the next batch (valid until the next call; empty for
    /// an empty archive), or nil once the trailer has been checked.
    func next() throws -> UnsafeRawBufferPointer? {
        guard !ended else { return nil }
        let capacity = windowCapacity()
        if window.count < capacity {
            // The look-ahead grows by a hash with each record of a group:
            // grown once with room for a whole segment more, not per batch
            // (a new window each batch cost a third of a keyless read).
            let slack = layout.version == .v2 ? FormatV2.hashLength * (layout.groupSize + 1) : 0
            let grown = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity + slack, alignment: 64)
            grown.copyMemory(from: UnsafeRawBufferPointer(rebasing: window[..<filled]))
            window.deallocate()
            window = grown
        }
        if !sourceEnded {
            let want = window.count - filled
            let got = try source.readFully(into: UnsafeMutableRawBufferPointer(rebasing: window[filled...]))
            filled += got
            sourceEnded = got < want
        }
        // Records known not to be last, each with the segment that follows
        // it when it closes a group.
        var spans: [(record: Int, segment: Int)] = []
        var offset = 0
        var i = index
        while spans.count < Parallel.batchSize, filled - offset > lookAhead(record: i) {
            let segment = layout.version == .v2 && (i + 1) % UInt64(layout.groupSize) == 0 ? layout.groupSize * FormatV2.hashLength : 0
            spans.append((offset, segment))
            offset += recordLength + segment
            i += 1
        }
        if spans.isEmpty {
            // The window holds a batch's look-ahead, so only the input's
            // end leaves no record that is known not to be last.
            ended = true
            return try finish()
        }
        let produced = try process(spans: spans, final: false, lastLength: recordLength)
        UnsafeMutableRawBufferPointer(rebasing: window[..<(filled - offset)])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: window[offset..<filled]))
        filled -= offset
        return UnsafeRawBufferPointer(rebasing: plaintext[..<produced])
    }

    /// Checks 13–17 (FORMAT-v2.md 14–17) on the tail: the last record, in
    /// version 2 its segment and the group table, and the trailer. Returns
    /// the last chunk's plaintext, or nil when it is empty.
    private func finish() throws -> UnsafeRawBufferPointer? {
        let tail = UnsafeRawBufferPointer(rebasing: window[..<filled])
        let lastLength = try decoder.lastRecordLength(inTail: tail, recordsBefore: index)
        let segment = layout.lastSegmentLength(recordsBefore: index)
        let produced = try process(spans: [(0, segment)], final: true, lastLength: lastLength)
        result = try accumulator.finish(trailer: UnsafeRawBufferPointer(rebasing: tail[(lastLength + segment)...]))
        return produced > 0 ? UnsafeRawBufferPointer(rebasing: plaintext[..<produced]) : nil
    }

    /// Checks (and opens) the records at `spans` in the window, the last of
    /// them flagged `final` and `lastLength` bytes long, on all cores; then
    /// adds them, and the segments that follow them, to the digest in
    /// order. Returns the plaintext byte count.
    private func process(spans: [(record: Int, segment: Int)], final: Bool, lastLength: Int) throws -> Int {
        let firstIndex = index
        let count = spans.count
        let (window, plaintext, recordLength, chunkSize, decoder, unlocked) =
            (self.window, self.plaintext, self.recordLength, self.chunkSize, self.decoder, self.unlocked)
        var checked = [CheckedRecord?](repeating: nil, count: count)
        try checked.withUnsafeMutableBufferPointer { slots in
            try Parallel.forEach(count, bytes: count * recordLength) { j in
                let recordIndex = firstIndex + UInt64(j)
                let last = final && j == count - 1
                let start = spans[j].record
                let record = UnsafeRawBufferPointer(rebasing: window[start..<start + (last ? lastLength : recordLength)])
                if let unlocked {
                    let output = UnsafeMutableRawBufferPointer(rebasing: plaintext[j * chunkSize..<(j + 1) * chunkSize])
                    slots[j] = try unlocked.open(record: record, index: recordIndex, isLast: last, into: output)
                } else {
                    slots[j] = try decoder.check(record: record, index: recordIndex, isLast: last)
                }
            }
        }
        var produced = 0
        for (j, slot) in checked.enumerated() {
            guard let record = slot else { continue }
            let start = spans[j].record
            let segmentStart = start + record.storedLength
            let segment = UnsafeRawBufferPointer(rebasing: window[segmentStart..<segmentStart + spans[j].segment])
            try accumulator.add(record)
            if !segment.isEmpty { try accumulator.add(segment: segment) }
            try observer?(UnsafeRawBufferPointer(rebasing: window[start..<segmentStart]), record, segment)
            produced += record.plaintextLength
        }
        index += UInt64(count)
        if unlocked != nil { plaintextUsed = max(plaintextUsed, produced) }
        return unlocked == nil ? 0 : produced
    }
}
