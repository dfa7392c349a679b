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
    ///   by one of these keys, inside that key's window (check 8); the
    ///   signature itself is verified after the last record.
    public init(source: ByteSource, trustedSigners: [TrustedSigner]? = nil) throws {
        self.source = source
        var prefix = [UInt8](repeating: 0, count: ArchiveDecoder.prefixLength)
        let prefixCount = try prefix.withUnsafeMutableBytes { try source.readFully(into: $0) }
        let length = try prefix.withUnsafeBytes { try ArchiveDecoder.headerLength(fromPrefix: UnsafeRawBufferPointer(rebasing: $0[..<prefixCount])) }
        // The format core reads version 2, but this streaming reader does
        // not split its records and segments yet: refuse it here, cleanly
        // and before any record is opened, rather than release plaintext and
        // then fail on a segment.
        guard prefix[8] == FormatV1.version else {
            throw SealedArchiveError(.version,
                "archive format version \(prefix[8]) is not read by this sealed-archive yet (it reads version 1); use a newer sealed-archive")
        }
        var bytes = prefix + [UInt8](repeating: 0, count: length - prefix.count)
        let restCount = try bytes.withUnsafeMutableBytes { try source.readFully(into: UnsafeMutableRawBufferPointer(rebasing: $0[prefix.count...])) }
        bytes.removeLast(length - prefix.count - restCount)
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

/// Checks 12–17 of Spec/FORMAT.md section 8 as an iterator over a stream,
/// through the format core: each call to ``next()`` reads one batch of
/// records, checks (and, decrypting, opens) them on all cores with the
/// core's ``ArchiveDecoder`` or ``UnlockedArchive``, adds them in order to
/// a ``RecordAccumulator`` and returns the batch's plaintext; the call after
/// the last record checks the trailer and returns nil.
///
/// The window holds one batch of records plus the trailer's length and one
/// byte, whatever the archive's size; nothing seeks.
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
    private let window: UnsafeMutableRawBufferPointer
    private let plaintext: UnsafeMutableRawBufferPointer
    private let chunkSize: Int
    private let recordLength: Int
    private let trailerLength: Int
    private var filled = 0
    private var index: UInt64 = 0
    private var ended = false
    private(set) var result: ReadResult?
    /// Called with each record and its check, in order, once checked.
    var observer: ((UnsafeRawBufferPointer, CheckedRecord) throws -> Void)?

    init(source: ByteSource, opener: Opener) throws {
        switch opener {
        case .keyless(let decoder): (self.decoder, unlocked) = (decoder, nil)
        case .decrypting(let unlocked): (self.decoder, self.unlocked) = (unlocked.decoder, unlocked)
        }
        self.source = source
        accumulator = try decoder.makeAccumulator()
        let layout = decoder.layout
        chunkSize = decoder.header.chunkSize
        recordLength = layout.recordLength
        trailerLength = layout.trailerLength
        window = .allocate(byteCount: Parallel.batchSize * recordLength + trailerLength + 1, alignment: 64)
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

    /// The plaintext of the next batch (valid until the next call; empty for
    /// an empty archive), or nil once the trailer has been checked.
    func next() throws -> UnsafeRawBufferPointer? {
        guard !ended else { return nil }
        filled += try source.readFully(into: UnsafeMutableRawBufferPointer(rebasing: window[filled...]))
        // The window holds more than recordLength + trailerLength bytes until
        // the input ends: only then is what is left the tail.
        if filled > recordLength + trailerLength {
            let count = min(Parallel.batchSize, (filled - trailerLength - 1) / recordLength)
            let produced = try process(count: count, final: false, lastLength: recordLength)
            let used = count * recordLength
            UnsafeMutableRawBufferPointer(rebasing: window[..<(filled - used)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: window[used..<filled]))
            filled -= used
            return UnsafeRawBufferPointer(rebasing: plaintext[..<produced])
        }
        ended = true
        return try finish()
    }

    /// Checks 13–17 on the tail; returns the last chunk's plaintext, or nil
    /// when it is empty.
    private func finish() throws -> UnsafeRawBufferPointer? {
        let tail = UnsafeRawBufferPointer(rebasing: window[..<filled])
        let lastLength = try decoder.lastRecordLength(inTail: tail, recordsBefore: index)
        let produced = try process(count: 1, final: true, lastLength: lastLength)
        result = try accumulator.finish(trailer: UnsafeRawBufferPointer(rebasing: tail[lastLength...]))
        return produced > 0 ? UnsafeRawBufferPointer(rebasing: plaintext[..<produced]) : nil
    }

    /// Checks (and opens) `count` records at the start of the window, the
    /// last of them flagged `final` and `lastLength` bytes long, on all
    /// cores; then adds them to the digest in order. Returns the plaintext
    /// byte count.
    private func process(count: Int, final: Bool, lastLength: Int) throws -> Int {
        let firstIndex = index
        let (window, plaintext, recordLength, chunkSize, decoder, unlocked) =
            (self.window, self.plaintext, self.recordLength, self.chunkSize, self.decoder, self.unlocked)
        var checked = [CheckedRecord?](repeating: nil, count: count)
        try checked.withUnsafeMutableBufferPointer { slots in
            try Parallel.forEach(count, bytes: count * recordLength) { j in
                let recordIndex = firstIndex + UInt64(j)
                let last = final && j == count - 1
                let start = j * recordLength
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
        var start = 0
        for case let record? in checked {
            try accumulator.add(record)
            try observer?(UnsafeRawBufferPointer(rebasing: window[start..<start + record.storedLength]), record)
            start += record.storedLength
            produced += record.plaintextLength
        }
        index += UInt64(count)
        if unlocked != nil { plaintextUsed = max(plaintextUsed, produced) }
        return unlocked == nil ? 0 : produced
    }
}
