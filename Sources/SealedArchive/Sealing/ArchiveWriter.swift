/// Seals a byte stream into an archive, streaming: plaintext goes in through
/// ``write(_:)``, records come out to the sink as chunks fill, and
/// ``finish()`` writes the last record and the trailer; the format itself
/// (header, records, trailer) is the core's ``ArchiveEncoder``. Memory holds one
/// batch of chunks whatever the size of the input; the chunks of a batch are
/// encrypted and hashed on all cores.
///
/// Nothing here seeks, so the sink can be a pipe. If sealing fails part way
/// the sink holds an incomplete archive; callers write to an
/// ``AtomicFileSink`` and commit only after `finish()` succeeds.
public final class ArchiveWriter: ByteSink {
    public let header: ArchiveHeader
    private let sink: ByteSink
    private let encoder: ArchiveEncoder
    private let chunkSize: Int
    private let batchChunks: Int
    private let plaintext: UnsafeMutableRawBufferPointer
    private let records: UnsafeMutableRawBufferPointer
    private var filled = 0
    private var nextIndex: UInt64 = 0
    private var plaintextLength: UInt64 = 0
    private var archiveLength: UInt64 = 0
    private var state = State.open

    private enum State { case open, finished, failed }

    /// Starts an archive to `recipients` (deduplicated; at least one, at most
    /// 64), signed by `signingKey` when given, and writes its header.
    public init(sink: ByteSink, recipients: [Recipient], signingKey: SigningKey?, options: SealOptions) throws {
        try options.validate()
        try RecipientMix.check(recipients, allowed: options.allowMixedRecipients)
        encoder = try ArchiveEncoder(
            recipients: recipients, signingKey: signingKey, chunkSizeLog2: options.chunkSizeLog2,
            payloadKind: options.payloadKind, compression: options.compression,
            created: UInt64(options.created.timeIntervalSince1970),
            label: options.label, sequence: options.sequence, previousDigest: options.previousDigest,
            version: options.formatVersion, groupSizeLog2: options.groupSizeLog2)
        header = encoder.header
        self.sink = sink
        chunkSize = header.chunkSize
        batchChunks = Parallel.batchSize
        plaintext = .allocate(byteCount: batchChunks * chunkSize, alignment: 64)
        records = .allocate(byteCount: batchChunks * header.recordLength, alignment: 64)
        try emit(encoder.headerBytes)
    }

    deinit {
        // The plaintext buffer may hold secrets (an env file): wipe it.
        secureZero(plaintext)
        plaintext.deallocate()
        records.deallocate()
    }

    /// Adds plaintext. Full chunks are sealed once it is known they are not
    /// the last one.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard state == .open else { throw SealedArchiveError(.invalidArgument, "write to an archive writer that is \(state == .finished ? "finished" : "failed")") }
        var offset = 0
        while offset < bytes.count {
            if filled == plaintext.count {
                // More input follows, so every buffered chunk is a non-last one.
                try sealBatch(final: false)
            }
            let n = min(plaintext.count - filled, bytes.count - offset)
            UnsafeMutableRawBufferPointer(rebasing: plaintext[filled..<filled + n])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n]))
            filled += n
            offset += n
        }
        plaintextLength += UInt64(bytes.count)
    }

    /// Adds everything `source` holds, read in chunk-sized pieces.
    public func write(contentsOf source: ByteSource) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 64)
        defer {
            secureZero(buffer)
            buffer.deallocate()
        }
        while true {
            let n = try source.read(into: buffer)
            if n == 0 { return }
            try write(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        }
    }

    /// Seals the last chunk and writes the trailer (signed when a signing
    /// key was given).
    public func finish() throws -> SealResult {
        guard state == .open else { throw SealedArchiveError(.invalidArgument, "finish on an archive writer that is not open") }
        try sealBatch(final: true)
        let (trailer, finalDigest) = try encoder.finish()
        try emit(trailer)
        state = .finished
        return SealResult(header: header, chunkCount: encoder.recordCount, plaintextLength: plaintextLength,
                          archiveLength: archiveLength, digest: finalDigest)
    }

    /// Encrypts and hashes the buffered chunks in parallel, then writes the
    /// records in order. With `final`, the last buffered chunk (possibly
    /// empty, when the whole input was) is flagged last.
    private func sealBatch(final: Bool) throws {
        let count = final ? max(1, (filled + chunkSize - 1) / chunkSize) : filled / chunkSize
        let recordLength = header.recordLength
        let firstIndex = nextIndex
        let (plaintext, records, filled, chunkSize, encoder) = (self.plaintext, self.records, self.filled, self.chunkSize, self.encoder)
        var sealed = [CheckedRecord?](repeating: nil, count: count)
        do {
            try sealed.withUnsafeMutableBufferPointer { slots in
                try Parallel.forEach(count, bytes: filled) { j in
                    let start = j * chunkSize
                    let length = min(chunkSize, filled - start)
                    let recordStart = j * recordLength
                    slots[j] = try encoder.seal(UnsafeRawBufferPointer(rebasing: plaintext[start..<start + length]),
                                                index: firstIndex + UInt64(j), isLast: final && j == count - 1,
                                                into: UnsafeMutableRawBufferPointer(rebasing: records[recordStart..<recordStart + recordLength]))
                }
            }
            // Each record is written, then (version 2) the segment its
            // group closes with.
            var pendingStart = 0, pendingEnd = 0
            for case let record? in sealed {
                pendingEnd += record.storedLength
                let segment = try encoder.append(record)
                if !segment.isEmpty {
                    try emit(UnsafeRawBufferPointer(rebasing: records[pendingStart..<pendingEnd]))
                    try segment.withUnsafeBytes { try emit($0) }
                    pendingStart = pendingEnd
                }
            }
            try emit(UnsafeRawBufferPointer(rebasing: records[pendingStart..<pendingEnd]))
        } catch {
            state = .failed
            throw error
        }
        nextIndex += UInt64(count)
        self.filled = 0
    }

    private func emit(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try emit($0) }
    }

    private func emit(_ bytes: UnsafeRawBufferPointer) throws {
        do {
            try sink.write(bytes)
        } catch {
            state = .failed
            throw error
        }
        archiveLength += UInt64(bytes.count)
    }
}
