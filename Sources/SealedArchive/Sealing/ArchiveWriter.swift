/// Seals a byte stream into an archive, streaming: plaintext goes in through
/// ``write(_:)``, records come out to the sink as chunks fill, and
/// ``finish()`` writes the last record and the trailer. Memory holds one
/// batch of chunks whatever the size of the input; the chunks of a batch are
/// encrypted and hashed on all cores.
///
/// Nothing here seeks, so the sink can be a pipe. If sealing fails part way
/// the sink holds an incomplete archive; callers write to an
/// ``AtomicFileSink`` and commit only after `finish()` succeeds.
public final class ArchiveWriter: ByteSink {
    public let header: ArchiveHeader
    private let sink: ByteSink
    private let keys: KeySchedule
    private let signingKey: SigningKey?
    private let digest: ArchiveDigest
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
        var unique: [Recipient] = []
        for recipient in recipients where !unique.contains(recipient) { unique.append(recipient) }
        guard !unique.isEmpty else { throw SealedArchiveError(.invalidArgument, "an archive needs at least one recipient") }
        guard unique.count <= FormatV1.maximumRecipients else {
            throw SealedArchiveError(.invalidArgument, "\(unique.count) recipients given; an archive holds at most \(FormatV1.maximumRecipients)")
        }
        let keys = try KeySchedule.random()
        let stanzas = try unique.map { try Stanza.wrap(keys.fileKey, to: $0) }
        self.keys = keys
        header = try ArchiveHeader(
            chunkSizeLog2: options.chunkSizeLog2, payloadKind: options.payloadKind, compression: options.compression,
            created: UInt64(options.created.timeIntervalSince1970), stanzas: stanzas, signer: signingKey?.signer,
            label: options.label, sequence: options.sequence, previousDigest: options.previousDigest
        ).authenticated(with: keys.headerKey)
        self.sink = sink
        self.signingKey = signingKey
        digest = try ArchiveDigest(header: header.bytes)
        chunkSize = header.chunkSize
        batchChunks = Parallel.batchSize
        plaintext = .allocate(byteCount: batchChunks * chunkSize, alignment: 64)
        records = .allocate(byteCount: batchChunks * header.recordLength, alignment: 64)
        try emit(header.bytes)
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
        let finalDigest = digest.finalize()
        let signature = try signingKey.map { try $0.sign(Trailer.signedMessage(digest: finalDigest)) }
        try emit(Trailer(chunkCount: digest.recordCount, digest: finalDigest, signature: signature).serialize())
        state = .finished
        return SealResult(header: header, chunkCount: digest.recordCount, plaintextLength: plaintextLength,
                          archiveLength: archiveLength, digest: finalDigest)
    }

    /// Encrypts and hashes the buffered chunks in parallel, then writes the
    /// records in order. With `final`, the last buffered chunk (possibly
    /// empty, when the whole input was) is flagged last.
    private func sealBatch(final: Bool) throws {
        let count = final ? max(1, (filled + chunkSize - 1) / chunkSize) : filled / chunkSize
        let recordLength = header.recordLength
        let cipher = keys.cipher
        let firstIndex = nextIndex
        let (plaintext, records, filled, chunkSize) = (self.plaintext, self.records, self.filled, self.chunkSize)
        do {
            try Parallel.forEach(count) { j in
                let index = firstIndex + UInt64(j)
                let last = final && j == count - 1
                let start = j * chunkSize
                let length = min(chunkSize, filled - start)
                let recordStart = j * recordLength
                let ciphertext = UnsafeMutableRawBufferPointer(rebasing: records[recordStart..<recordStart + length + ChunkCipher.tagLength])
                try Records.nonce(index: index, last: last).withUnsafeBytes { nonce in
                    try cipher.seal(UnsafeRawBufferPointer(rebasing: plaintext[start..<start + length]), nonce: nonce, into: ciphertext)
                }
                let hash = try Records.hash(index: index, last: last, ciphertext: UnsafeRawBufferPointer(ciphertext))
                UnsafeMutableRawBufferPointer(rebasing: records[(recordStart + length + ChunkCipher.tagLength)...])
                    .copyBytes(from: hash)
            }
        } catch {
            state = .failed
            throw error
        }
        var written = 0
        for j in 0..<count {
            let length = min(chunkSize, filled - j * chunkSize) + FormatV1.recordOverhead
            digest.add(recordHash: UnsafeRawBufferPointer(rebasing: records[(written + length - FormatV1.recordHashLength)..<(written + length)]))
            written += length
        }
        try emit(UnsafeRawBufferPointer(rebasing: records[..<written]))
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
