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

    /// Checks the zstd frame inside (everything after the 8-byte header):
    /// exactly one zstd frame, `Frame_Content_Size` present, no dictionary;
    /// returns the content size.
    static func checkInner(_ inner: UnsafeRawBufferPointer) throws -> UInt64 {
        let header: ZstdFrameHeader
        do { header = try ZstdFrameHeader(parsing: inner) } catch { throw damaged("it does not hold a zstd frame") }
        guard let contentSize = header.contentSize else { throw damaged("its zstd frame has no Frame_Content_Size") }
        guard contentSize <= maxContentSize else { throw damaged("its zstd frame claims \(contentSize) bytes, over 2^40") }
        guard header.dictionaryID == 0 else { throw damaged("its zstd frame names a dictionary") }
        guard case .complete(let length) = Zstd.findFrameLength(inner), length == inner.count else {
            throw damaged("it does not hold exactly one zstd frame")
        }
        return contentSize
    }

    /// Decompresses the inner frame a piece at a time into `body`, checking
    /// the output is exactly the content size.
    static func decode(_ inner: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let contentSize = try checkInner(inner)
        // libzstd checks the content size only at the frame's end: output
        // past it is refused as it comes, before any of it is kept (blocks
        // of a few bytes can expand a small frame to gigabytes).
        var delivered: UInt64 = 0
        let produced = try Zstd.decompressStreaming(inner, windowLogMax: windowLogMax) { piece in
            delivered += UInt64(piece.count)
            guard delivered <= contentSize else {
                throw damaged("it decompresses to more than the \(contentSize) bytes its header says")
            }
            try body(piece)
        }
        guard produced == contentSize else {
            throw damaged("it decompresses to \(produced) bytes, its header says \(contentSize)")
        }
    }

    /// Section 8: the index's content size is at most 2^40 bytes.
    static let maxContentSize: UInt64 = 1 << 40

    static func damaged(_ why: String) -> SealedArchiveError {
        SealedArchiveError(.damaged, "payload index frame: \(why)")
    }
}
