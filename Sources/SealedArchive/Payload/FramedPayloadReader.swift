import SealedArchiveFormat

/// Reads a version 2 tar payload (Spec/FORMAT-v2.md section 8) as a stream
/// and yields its tar stream: the reader of the whole payload (`verify -i`,
/// `open -C`, and any payload on a pipe).
///
/// Frames are split off the buffered input with `ZSTD_findFrameCompressedSize`,
/// gathered in batches of `parallelFrames`, decompressed side by side
/// (``Parallel``) and handed out in order; memory is bounded by one batch of
/// frames and their output (``peakBufferedBytes``). `read(into:)` ends at the
/// index frame. ``finish()`` then reads what the caller left of the tar, the
/// index frame (decompressed a piece at a time into a digest, never held)
/// and the seek frame, whose entries it compares with the frames it saw
/// through a running SHA-256 (no memory per frame) [`damaged`]. Comparing
/// the stored index with the tar is the caller's: it parses the tar, feeds
/// an ``EntryIndexHasher`` and compares with ``Summary/storedIndex``.
final class FramedPayloadReader: ByteSource {
    /// What ``finish()`` found.
    struct Summary: Equatable {
        var frameCount: Int
        var tarLength: UInt64
        var payloadLength: UInt64
        /// The stored index's digest, to compare with what the tar makes.
        var storedIndex: EntryIndexDigest
        /// Whether the tar bytes the caller did not read (after the tar's
        /// end-of-archive marker, when it stops there) were all zero.
        var unreadTarIsZero: Bool
    }

    private let source: ByteSource
    private let parallelFrames: Int
    private var input: [UInt8] = []
    private var scratch: [UInt8] = []
    private var inputStart = 0
    private var sourceEnded = false
    private var consumed: UInt64 = 0
    private var outputs: [[UInt8]] = []
    private var outputIndex = 0
    private var outputOffset = 0
    private var atIndexFrame = false
    private var finished = false
    private let seenFrames: SeekEntryHasher

    private(set) var frameCount = 0
    private(set) var tarLength: UInt64 = 0
    /// The compressed bytes of the frames whose output has been handed out
    /// (in part or whole): the input a decompression-bomb limit scales
    /// with, not counting what is read ahead.
    private(set) var compressedBytesDelivered: UInt64 = 0
    /// The compressed size of each frame of the current batch.
    private var outputSizes: [Int] = []
    /// The most bytes (input buffered, a batch's frames and output) held at once.
    private(set) var peakBufferedBytes = 0

    /// How much is read from the source at a time.
    static let readSize = 1 << 20

    init(source: ByteSource, parallelFrames: Int = Parallel.batchSize) throws {
        guard parallelFrames >= 1 else { throw SealedArchiveError(.invalidArgument, "at least one frame at a time") }
        self.source = source
        self.parallelFrames = parallelFrames
        seenFrames = try SeekEntryHasher()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !finished else { return 0 }
        var filled = 0
        while filled < buffer.count {
            if outputIndex == outputs.count {
                guard try nextBatch() else { break }
            }
            let frame = outputs[outputIndex]
            if outputOffset == 0 { compressedBytesDelivered += UInt64(outputSizes[outputIndex]) }
            let take = min(buffer.count - filled, frame.count - outputOffset)
            frame.withUnsafeBytes { frame in
                UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<filled + take])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: frame[outputOffset..<outputOffset + take]))
            }
            filled += take
            outputOffset += take
            if outputOffset == frame.count {
                outputIndex += 1
                outputOffset = 0
            }
        }
        return filled
    }

    /// Reads the rest of the payload and checks its end (see the type).
    func finish() throws -> Summary {
        guard !finished else { throw SealedArchiveError(.invalidArgument, "the payload reader is already finished") }
        var unreadTarIsZero = true
        var scratch = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = try scratch.withUnsafeMutableBytes { try read(into: $0) }
            if n == 0 { break }
            if unreadTarIsZero && !scratch.withUnsafeBytes({ UnsafeRawBufferPointer(rebasing: $0[0..<n]).isAllZero }) { unreadTarIsZero = false }
        }
        finished = true
        outputs = []
        try SeekTable.checkFrameCount(frameCount)
        let indexStart = consumed
        let storedIndex = try readIndexFrame()
        let indexFrameLength = consumed - indexStart
        try readSeekFrame(indexFrameLength: indexFrameLength)
        guard try !fill(1) else { throw damaged("bytes follow its seek table") }
        return Summary(frameCount: frameCount, tarLength: tarLength, payloadLength: consumed,
                       storedIndex: storedIndex, unreadTarIsZero: unreadTarIsZero)
    }

    // MARK: Frames

    /// Splits and decompresses the next batch; false at the index frame.
    /// A batch is the next frame and whichever of the following ones are
    /// already buffered (up to `parallelFrames`): decompression goes on
    /// all cores when the input is ahead, and a slow pipe is not waited on
    /// for more than one frame.
    private func nextBatch() throws -> Bool {
        // The consumed batch's buffers decode the next one.
        var results = outputs
        outputs = []
        outputIndex = 0
        outputOffset = 0
        // Frames are decoded where they lie in the input: only the first
        // may read more (moving the buffer), the others are taken only when
        // already buffered, so the ranges stay valid.
        var frames: [Range<Int>] = []
        var bytes = 0
        while frames.count < parallelFrames, let frame = try nextFrame(mayRead: frames.isEmpty) {
            bytes += frame.count
            frames.append(frame)
        }
        guard !frames.isEmpty else { return false }
        if results.count > frames.count { results.removeLast(results.count - frames.count) }
        while results.count < frames.count { results.append([]) }
        try input.withUnsafeBytes { input in
            try results.withUnsafeMutableBufferPointer { results in
                try Parallel.forEach(frames.count, bytes: bytes) { k in
                    try PayloadFrame.decode(UnsafeRawBufferPointer(rebasing: input[frames[k]]), into: &results[k])
                }
            }
        }
        let held = (input.count - inputStart) + bytes + results.reduce(0) { $0 + $1.count }
        peakBufferedBytes = max(peakBufferedBytes, held)
        for (k, result) in results.enumerated() {
            seenFrames.append(SeekTable.Entry(compressedSize: UInt32(frames[k].count), decompressedSize: UInt32(result.count)))
            tarLength += UInt64(result.count)
        }
        frameCount += frames.count
        guard frameCount <= SeekTable.maxFrames else { throw damaged("it has more than 2^29 − 3 frames") }
        outputs = results
        outputSizes = frames.map(\.count)
        return true
    }

    /// Where the next tar frame lies in the input buffer (it is then
    /// consumed), or nil at the index frame. Without `mayRead`, nil too when
    /// the frame is not wholly buffered, and the buffer is not touched.
    private func nextFrame(mayRead: Bool) throws -> Range<Int>? {
        if atIndexFrame { return nil }
        if !mayRead && input.count - inputStart < 4 { return nil }
        guard try fill(4) else { throw damaged("it ends before its index frame") }
        if peekU32(at: 0) == IndexFrame.magic {
            atIndexFrame = true
            return nil
        }
        while true {
            let length = input.withUnsafeBytes { Zstd.findFrameLength(UnsafeRawBufferPointer(rebasing: $0[inputStart...])) }
            switch length {
            case .complete(let count):
                guard count <= PayloadFrame.maxLength else { throw damaged("a frame of \(count) bytes is longer than any frame of 4 MiB") }
                let range = inputStart..<inputStart + count
                inputStart += count
                consumed += UInt64(count)
                return range
            case .invalid(let why):
                throw damaged("frame \(frameCount) is not a zstd frame (\(why))")
            case .incomplete:
                guard mayRead else { return nil }
                let buffered = input.count - inputStart
                guard buffered <= PayloadFrame.maxLength else { throw damaged("a frame is longer than any frame of 4 MiB") }
                guard try fill(buffered + 1) else { throw damaged("it ends inside frame \(frameCount)") }
            }
        }
    }

    // MARK: Index and seek frames

    private func readIndexFrame() throws -> EntryIndexDigest {
        guard try fill(IndexFrame.headerLength) else { throw IndexFrame.damaged("the payload ends inside its header") }
        guard peekU32(at: 0) == IndexFrame.magic else { throw IndexFrame.damaged("its magic number is wrong") }
        let innerLength = UInt64(peekU32(at: 4))
        _ = take(IndexFrame.headerLength)
        let headerBytes = IndexFrame.Decoder.headerReadLength(innerLength: innerLength)
        guard try fill(headerBytes) else { throw IndexFrame.damaged("the payload ends inside it") }
        let decoder = try input.withUnsafeBytes {
            try IndexFrame.Decoder(innerLength: innerLength, header: UnsafeRawBufferPointer(rebasing: $0[inputStart..<inputStart + headerBytes]))
        }
        let hasher = try StoredIndexHasher()
        var left = innerLength
        while left > 0 {
            guard try fill(1) else { throw IndexFrame.damaged("the payload ends inside it") }
            let count = Int(min(left, UInt64(input.count - inputStart)))
            let piece = take(count)
            left -= UInt64(count)
            try piece.withUnsafeBytes { try decoder.feed($0) { hasher.update($0) } }
        }
        try decoder.finish()
        return try hasher.finalize()
    }

    /// Reads the seek frame a piece at a time, hashing its entries to
    /// compare with the frames seen.
    private func readSeekFrame(indexFrameLength: UInt64) throws {
        guard try fill(8) else { throw SeekTable.damaged("the payload ends before it") }
        guard peekU32(at: 0) == SeekTable.magic else { throw SeekTable.damaged("its magic number is wrong (or another frame is there)") }
        guard UInt64(peekU32(at: 4)) == UInt64(8 * frameCount + 16) else {
            throw SeekTable.damaged("its length does not fit the \(frameCount) frames of the payload")
        }
        _ = take(8)
        let stored = try SeekEntryHasher()
        var left = 8 * frameCount
        while left > 0 {
            guard try fill(8) else { throw SeekTable.damaged("the payload ends inside it") }
            let count = min(left, (input.count - inputStart) / 8 * 8)
            take(count).withUnsafeBytes { stored.appendSerialized($0) }
            left -= count
        }
        guard try fill(SeekTable.footerLength) else { throw SeekTable.damaged("the payload ends inside it") }
        let footer = take(SeekTable.footerLength)
        try footer.withUnsafeBytes { footer in
            var reader = ByteReader(footer, failure: { SeekTable.damaged("it is cut short") })
            guard try reader.u64() == indexFrameLength else { throw SeekTable.damaged("its index frame length is not the index frame's") }
            guard try reader.u32() == UInt32(frameCount) else { throw SeekTable.damaged("its frame count is not the payload's") }
            guard try reader.bytes(4) == SeekTable.footerMagic else { throw SeekTable.damaged("it does not end in \"SEEK\"") }
        }
        guard constantTimeEquals(stored.finalize(), seenFrames.finalize()) else {
            throw SeekTable.damaged("its entries are not the frames of the payload")
        }
    }

    // MARK: Input buffer

    /// Buffers at least `count` bytes; false when the source ends first.
    private func fill(_ count: Int) throws -> Bool {
        while input.count - inputStart < count {
            if sourceEnded { return false }
            if inputStart > 0 && inputStart >= input.count / 2 {
                input.removeSubrange(0..<inputStart)
                inputStart = 0
            }
            // Read into one scratch buffer and append what came: growing
            // `input` by a zero-filled megabyte per read, then trimming it,
            // cost more than the decompression for short payloads.
            let want = max(Self.readSize, count - (input.count - inputStart))
            if scratch.count < want { scratch = [UInt8](repeating: 0, count: want) }
            let n = try scratch.withUnsafeMutableBytes { try source.readFully(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<want])) }
            input.append(contentsOf: scratch[..<n])
            if n < want { sourceEnded = true }
        }
        return true
    }

    private func take(_ count: Int) -> [UInt8] {
        let bytes = Array(input[inputStart..<inputStart + count])
        inputStart += count
        consumed += UInt64(count)
        return bytes
    }

    private func peekU32(at offset: Int) -> UInt32 {
        var value: UInt32 = 0
        for index in 0..<4 { value |= UInt32(input[inputStart + offset + index]) << (8 * index) }
        return value
    }

    private func damaged(_ why: String) -> SealedArchiveError { SealedArchiveError(.damaged, "payload: \(why)") }
}
