import SealedArchiveFormat

/// The skippable frame that holds the entry index (Spec/FORMAT-v2.md
/// section 8): `u32(0x184D2A5A) || u32(index_frame_length − 8)`, then
/// exactly one zstd frame with `Frame_Content_Size` whose output is the
/// index (8.1). Skippable, so `zstd -d` of the whole payload yields only
/// the tar.
enum IndexFrame {
    static let magic: UInt32 = 0x184D_2A5A
    static let headerLength = 8
    /// The window a reader lets the index frame use (libzstd's own default
    /// limit): the index is compressed in one piece and may exceed 4 MiB.
    static let windowLogMax: Int32 = 27

    /// The index frame holding `index` (its serialization).
    static func encode(_ index: UnsafeRawBufferPointer, _ compression: PayloadCompression) throws -> [UInt8] {
        let inner: [UInt8]
        switch compression {
        case .none: inner = RawBlockFrame.encode(index)
        case .zstd(let level): inner = try Zstd.compressFrame(index, level: level)
        }
        guard inner.count <= Int(UInt32.max) - 8 else {
            throw SealedArchiveError(.limit, "the compressed entry index is over 2^32 − 9 bytes")
        }
        var frame: [UInt8] = []
        frame.reserveCapacity(inner.count + headerLength)
        frame.appendLittleEndian(magic)
        frame.appendLittleEndian(UInt32(inner.count))
        frame.append(contentsOf: inner)
        return frame
    }

    /// Checks the skippable header of `header` (the frame's first 8 bytes)
    /// against the seek table's `index_frame_length` [`damaged`].
    static func checkHeader(_ header: UnsafeRawBufferPointer, indexFrameLength: UInt64) throws {
        var reader = ByteReader(header, failure: { damaged("its header is cut short") })
        guard try reader.u32() == magic else { throw damaged("its magic number is wrong") }
        guard UInt64(try reader.u32()) + 8 == indexFrameLength else {
            throw damaged("its length does not match the seek table's \(indexFrameLength)")
        }
    }

    /// Decompresses the whole inner frame (everything after the 8-byte
    /// header) a piece at a time into `body`, with ``Decoder``'s checks.
    static func decode(_ inner: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let decoder = try Decoder(innerLength: UInt64(inner.count),
                                  header: UnsafeRawBufferPointer(rebasing: inner.prefix(Decoder.headerReadLength(innerLength: UInt64(inner.count)))))
        try decoder.feed(inner, body)
        try decoder.finish()
    }

    /// The inner zstd frame fed in pieces, so the index is never held
    /// whole, compressed or not: the frame's header is checked first
    /// (`Frame_Content_Size` present and at most 2^40, no dictionary, the
    /// content size within the caller's limit); output past the content
    /// size is refused as it comes, before any of it is handed on (blocks
    /// of a few bytes can expand a small frame to gigabytes); input past
    /// the frame's end, a frame cut short and a size that differs are
    /// refused [`damaged`]. What a reader of the whole payload and a
    /// seeking reader both use.
    final class Decoder {
        /// The index's length, from the frame header.
        let contentSize: UInt64
        private let zstd: Zstd.StreamDecoder
        private var left: UInt64

        /// The bytes of the inner frame to pass as `header`: its first 18
        /// (a zstd frame header's longest), or all when it is shorter.
        static func headerReadLength(innerLength: UInt64) -> Int { Int(min(innerLength, 18)) }

        /// `header` is the inner frame's first ``headerReadLength(innerLength:)``
        /// bytes; an index longer than `limit` is refused [`limit`] before
        /// anything is decompressed.
        init(innerLength: UInt64, header: UnsafeRawBufferPointer, limit: UInt64 = IndexFrame.maxContentSize) throws {
            let parsed: ZstdFrameHeader
            do { parsed = try ZstdFrameHeader(parsing: header) } catch { throw damaged("it does not hold a zstd frame") }
            guard let contentSize = parsed.contentSize else { throw damaged("its zstd frame has no Frame_Content_Size") }
            guard contentSize <= maxContentSize else { throw damaged("its zstd frame claims \(contentSize) bytes, over 2^40") }
            guard parsed.dictionaryID == 0 else { throw damaged("its zstd frame names a dictionary") }
            guard contentSize <= limit else {
                throw SealedArchiveError(.limit, "the payload's entry index is \(contentSize) bytes, over the \(limit) this reader accepts")
            }
            self.contentSize = contentSize
            left = innerLength
            zstd = try Zstd.StreamDecoder(windowLogMax: windowLogMax)
        }

        /// Feeds the next bytes of the inner frame.
        func feed(_ piece: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
            guard UInt64(piece.count) <= left else { throw damaged("it was fed more than its length") }
            left -= UInt64(piece.count)
            try zstd.feed(piece) { output in
                guard zstd.produced <= contentSize else {
                    throw damaged("it decompresses to more than the \(contentSize) bytes its header says")
                }
                try body(output)
            }
        }

        /// Checks the frame ended exactly with its input, at its content size.
        func finish() throws {
            guard left == 0, zstd.isComplete else { throw damaged("its zstd frame ends early") }
            guard zstd.produced == contentSize else {
                throw damaged("it decompresses to \(zstd.produced) bytes, its header says \(contentSize)")
            }
        }
    }

    /// Section 8: the index's content size is at most 2^40 bytes.
    static let maxContentSize: UInt64 = 1 << 40

    static func damaged(_ why: String) -> SealedArchiveError {
        SealedArchiveError(.damaged, "payload index frame: \(why)")
    }
}
