import SealedArchiveFormat

/// Where a version 2 tar payload's parts are, found from its last bytes
/// (Spec/FORMAT-v2.md section 8), with the structure checked before the
/// seek table is used, in the order the section writes it: the seek frame
/// at `L − 8·f − 24`, the index frame `index_frame_length` bytes before it,
/// `Σ compressed_size_k = L − 8·f − 24 − index_frame_length`, `f ≥ 1`, and
/// the index frame a skippable frame around exactly one zstd frame with
/// `Frame_Content_Size`. Every failure is `damaged`.
struct PayloadFooter: Equatable, Sendable {
    let seekTable: SeekTable
    /// The payload's length `L`.
    let payloadLength: UInt64
    /// Where the index frame starts: `Σ compressed_size_k`.
    let indexFrameOffset: UInt64
    /// Where the seek frame starts: `L − 8·f − 24`.
    let seekFrameOffset: UInt64

    /// Reads the footer of a payload of `length` bytes; `read(offset,
    /// count)` returns exactly `count` bytes at `offset` of the payload.
    init(payloadLength length: UInt64, read: (UInt64, Int) throws -> [UInt8]) throws {
        func damaged(_ why: String) -> SealedArchiveError { SealedArchiveError(.damaged, "payload: \(why)") }
        guard length >= UInt64(SeekTable.frameLength(frameCount: 1)) else {
            throw damaged("\(length) bytes is too short to end in a seek table")
        }
        let tail = try read(length - 16, 16)
        let (frameCount, magic) = try tail.withUnsafeBytes { bytes -> (UInt64, [UInt8]) in
            var reader = ByteReader(bytes, offset: 8, failure: { damaged("its footer is cut short") })
            return (UInt64(try reader.u32()), try reader.bytes(4))
        }
        guard magic == SeekTable.footerMagic else { throw damaged("it does not end in \"SEEK\"") }
        // The count is checked before the table is read: a forged count
        // would otherwise have the whole claimed table read into memory.
        try SeekTable.checkFrameCount(Int(frameCount))
        let seekLength = 8 * frameCount + 24
        guard seekLength <= length else { throw damaged("its seek table of \(frameCount) frames is longer than it") }
        let seekOffset = length - seekLength
        let seekTable = try read(seekOffset, Int(seekLength)).withUnsafeBytes { try SeekTable(parsing: $0) }
        let indexFrameLength = seekTable.indexFrameLength
        guard indexFrameLength <= seekOffset else { throw damaged("its index frame would start before it") }
        let indexOffset = seekOffset - indexFrameLength
        let framesLength = seekTable.entries.reduce(UInt64(0)) { $0 + UInt64($1.compressedSize) }
        guard framesLength == indexOffset else {
            throw damaged("its frames' lengths add up to \(framesLength), not the \(indexOffset) bytes before the index")
        }
        try SeekTable.checkFrameCount(seekTable.entries.count)
        self.seekTable = seekTable
        self.payloadLength = length
        self.indexFrameOffset = indexOffset
        self.seekFrameOffset = seekOffset
    }

    /// Reads the index frame a piece at a time, checks it and hands each
    /// entry of the index to `body` as it is parsed (``EntryIndexParser``):
    /// neither the frame nor the index is held whole. `maxIndexLength`
    /// bounds the decompressed index it accepts [`limit` beyond]. Returns
    /// the entry count.
    @discardableResult
    func forEachIndexEntry(maxIndexLength: UInt64, read: (UInt64, Int) throws -> [UInt8],
                           _ body: (IndexEntry) throws -> Void) throws -> UInt64 {
        let frameLength = seekTable.indexFrameLength
        let innerLength = frameLength - UInt64(IndexFrame.headerLength)
        let innerOffset = indexFrameOffset + UInt64(IndexFrame.headerLength)
        try read(indexFrameOffset, IndexFrame.headerLength).withUnsafeBytes {
            try IndexFrame.checkHeader($0, indexFrameLength: frameLength)
        }
        let decoder = try read(innerOffset, IndexFrame.Decoder.headerReadLength(innerLength: innerLength)).withUnsafeBytes {
            try IndexFrame.Decoder(innerLength: innerLength, header: $0, limit: maxIndexLength)
        }
        var parser = EntryIndexParser(length: decoder.contentSize)
        var done: UInt64 = 0
        while done < innerLength {
            let count = Int(min(innerLength - done, UInt64(Self.indexReadSize)))
            try read(innerOffset + done, count).withUnsafeBytes { piece in
                try decoder.feed(piece) { try parser.feed($0, body) }
            }
            done += UInt64(count)
        }
        try decoder.finish()
        try parser.finish()
        return parser.parsed
    }

    /// How much of the compressed index is read at a time.
    static let indexReadSize = 1 << 20
}
