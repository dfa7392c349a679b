import SealedArchiveFormat

/// Writes a version 2 tar payload (Spec/FORMAT-v2.md section 8) from a tar
/// stream: frames of tar, then the index frame, then the seek frame.
///
/// Frames are cut as the reference encoder of section 10 does: at 1 MiB of
/// tar, and at a member's first header once the frame holds 256 KiB or when
/// the member fills a frame itself, so a seeking reader of one member
/// decompresses little beyond it. Full frames
/// wait in a batch of `parallelFrames` that is compressed on every core
/// (``Parallel``) and written in order by a ``BackgroundStage`` while the
/// caller fills the next batch, so memory is bounded by two batches:
/// about `2 × parallelFrames × (frameSize + compressBound(frameSize))` plus
/// the frame being filled (``peakBufferedBytes`` reports one batch's).
///
/// The seek table (8 bytes a frame) and the serialized index (a member's
/// path and link plus 66 bytes) are kept in memory until ``finish()``
/// (section 10 allows a temporary file instead): the packer keeps at least
/// as much for each member already, and a temporary file would put the
/// names of what is sealed on disk in the clear.
final class FramedPayloadWriter: ByteSink {
    /// Section 10: frames are cut at 1 MiB of tar…
    static let defaultFrameSize = TarPayload.defaultFrameSize
    /// …and at a member's first header once the frame holds 256 KiB.
    static let defaultMemberCut = 256 << 10

    private let sink: ByteSink
    private let compression: PayloadCompression
    private let frameSize: Int
    private let memberCut: Int
    private let parallelFrames: Int
    /// When set, zero frames after the tar make the index frame start at a
    /// multiple of this (the archive's chunk size) once the payload is
    /// large: `open --list` then reads no record of the tar.
    private let indexAlignment: Int?

    private var current: [UInt8] = []
    private var batch: [[UInt8]] = []
    private var batchBytes = 0
    /// What the frames written so far add up to: updated by the stage
    /// that compresses and writes them, read here once it is drained.
    private let written = Written()
    /// Compresses and writes each full batch while the next one is cut.
    private let stage = BackgroundStage()
    private var indexEntries: [UInt8] = []
    private var indexCount: UInt64 = 0
    private var previousHeaderOffset: UInt64?
    private var finished = false

    /// The tar bytes written so far: the tar offset of the next byte.
    private(set) var tarLength: UInt64 = 0
    /// The payload bytes written to the sink (complete after ``finish()``).
    var payloadLength: UInt64 { written.payloadLength }
    /// The most frame bytes (tar waiting, compressed output) held at once,
    /// per batch (two batches are in hand at a time).
    var peakBufferedBytes: Int { written.peakBufferedBytes }

    /// The seek entries and length of what was written.
    private final class Written {
        var seekEntries: [SeekTable.Entry] = []
        var payloadLength: UInt64 = 0
        var peakBufferedBytes = 0
    }

    init(sink: ByteSink, compression: TarCompression = .default,
         frameSize: Int = FramedPayloadWriter.defaultFrameSize, memberCut: Int = FramedPayloadWriter.defaultMemberCut,
         parallelFrames: Int = Parallel.batchSize, indexAlignment: Int? = nil) throws {
        guard (1...PayloadFrame.maxContentSize).contains(frameSize), (0...frameSize).contains(memberCut), parallelFrames >= 1 else {
            throw SealedArchiveError(.invalidArgument, "frames of \(frameSize) bytes cut at members past \(memberCut), \(parallelFrames) at a time, are not possible")
        }
        self.sink = sink
        self.compression = try compression.validated()
        self.frameSize = frameSize
        self.memberCut = memberCut
        self.parallelFrames = parallelFrames
        self.indexAlignment = indexAlignment
        current.reserveCapacity(frameSize)
    }

    /// Appends tar bytes.
    func write(_ tar: UnsafeRawBufferPointer) throws {
        try checkOpen()
        var rest = tar[...]
        while !rest.isEmpty {
            let take = min(frameSize - current.count, rest.count)
            current.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
            tarLength += UInt64(take)
            if current.count == frameSize { try cutFrame() }
        }
    }

    /// Marks that a member's first header starts at the current tar offset
    /// (``tarLength``): the frame is cut here if it holds `memberCut` bytes,
    /// or if the member (of `size` bytes) fills a frame of its own, so that
    /// small members before a large one (a manifest, an env file) lie in
    /// a small frame that a partial restore reads cheaply.
    func memberStarts(size: UInt64 = 0) throws {
        try checkOpen()
        if !current.isEmpty && (current.count >= memberCut || size >= UInt64(frameSize)) { try cutFrame() }
    }

    /// Adds a member's index entry, in tar order, once its content's SHA-256
    /// is known; its header must already be written.
    func append(_ entry: IndexEntry) throws {
        try checkOpen()
        do { try entry.check(after: previousHeaderOffset) } catch let error as SealedArchiveError {
            throw SealedArchiveError(.invalidArgument, "an index entry the writer was given is wrong: \(error.message)")
        }
        guard entry.headerOffset < tarLength else {
            throw SealedArchiveError(.invalidArgument, "an index entry at tar offset \(entry.headerOffset) precedes its header's bytes")
        }
        previousHeaderOffset = entry.headerOffset
        entry.serialize(into: &indexEntries)
        indexCount += 1
    }

    /// Writes the last frames, the index frame and the seek frame.
    func finish() throws {
        try checkOpen()
        finished = true
        if !current.isEmpty { try cutFrame() }
        try compressBatch()
        try stage.drain()
        guard !written.seekEntries.isEmpty else {
            throw SealedArchiveError(.invalidArgument, "a tar payload cannot be empty")
        }
        try alignIndex()
        try SeekTable.checkFrameCount(written.seekEntries.count)
        var index = EntryIndex.magic
        index.reserveCapacity(EntryIndex.headerLength + indexEntries.count)
        index.appendLittleEndian(indexCount)
        index.append(contentsOf: indexEntries)
        indexEntries = []
        let indexFrame = try index.withUnsafeBytes { try IndexFrame.encode($0, compression) }
        try emit(indexFrame)
        let seek = SeekTable(entries: written.seekEntries, indexFrameLength: UInt64(indexFrame.count)).serialize()
        try emit(seek)
    }

    /// Payloads at least this many alignment units long have their index
    /// aligned: the padding, under one unit, then costs under 1/256.
    static let alignmentThreshold = 256

    /// Zero frames (the tar may end with zeros, section 8) so that the
    /// index frame starts at a multiple of `indexAlignment`.
    private func alignIndex() throws {
        guard let unit = indexAlignment, unit > 0, payloadLength >= UInt64(Self.alignmentThreshold * unit) else { return }
        var pad = Int((UInt64(unit) - payloadLength % UInt64(unit)) % UInt64(unit))
        if pad == 0 { return }
        if pad < RawBlockFrame.minimumLength { pad += unit }
        for (frame, content) in RawBlockFrame.zeroFrames(length: pad, maxContent: frameSize) {
            written.seekEntries.append(SeekTable.Entry(compressedSize: UInt32(frame.count), decompressedSize: UInt32(content)))
            tarLength += UInt64(content)
            try Self.emit(frame, to: sink, written)
        }
    }

    private func checkOpen() throws {
        guard !finished else { throw SealedArchiveError(.invalidArgument, "the payload writer is already finished") }
    }

    private func cutFrame() throws {
        batch.append(current)
        batchBytes += current.count
        current = []
        current.reserveCapacity(frameSize)
        if batch.count == parallelFrames { try compressBatch() }
    }

    /// Hands the waiting frames to the stage, which compresses them side by
    /// side and writes them in order while the next batch is cut.
    private func compressBatch() throws {
        guard !batch.isEmpty else { return }
        let (inputs, inputBytes, compression, sink, written, frameSize) = (batch, batchBytes, self.compression, self.sink, self.written, self.frameSize)
        batch = []
        batchBytes = 0
        try stage.submit {
            var outputs = [[UInt8]](repeating: [], count: inputs.count)
            try outputs.withUnsafeMutableBufferPointer { outputs in
                try Parallel.forEach(inputs.count, bytes: inputBytes) { k in
                    outputs[k] = try inputs[k].withUnsafeBytes { try PayloadFrame.encode($0, compression) }
                }
            }
            let held = frameSize + inputBytes + outputs.reduce(0) { $0 + $1.count }
            written.peakBufferedBytes = max(written.peakBufferedBytes, held)
            for (k, frame) in outputs.enumerated() {
                written.seekEntries.append(SeekTable.Entry(compressedSize: UInt32(frame.count), decompressedSize: UInt32(inputs[k].count)))
                try Self.emit(frame, to: sink, written)
            }
        }
    }

    private func emit(_ bytes: [UInt8]) throws {
        try Self.emit(bytes, to: sink, written)
    }

    private static func emit(_ bytes: [UInt8], to sink: ByteSink, _ written: Written) throws {
        try bytes.withUnsafeBytes { try sink.write($0) }
        written.payloadLength += UInt64(bytes.count)
    }
}
