/// A zstd frame made only of Raw_Blocks (RFC 8878 section 3.1.1.2), written
/// by hand: what `--compression none` stores (Spec/FORMAT-v2.md section
/// 10), so the payload keeps one structure and stays readable by `zstd -d`
/// while its tar is stored as it is.
///
/// The header is not single-segment: its window descriptor says 128 KiB
/// (the largest block), so a decoder never sizes a window to the content,
/// which lets the same writer make an entry index frame larger than the
/// 4 MiB window of tar frames. `Frame_Content_Size` is present, in the
/// smallest field that holds it; no dictionary, no checksum.
enum RawBlockFrame {
    /// Block_Maximum_Size: min(window, 128 KiB).
    static let blockSize = 128 << 10
    /// Window_Descriptor for 128 KiB: exponent 7 (2^17), mantissa 0.
    static let windowDescriptor: UInt8 = 7 << 3

    /// The frame holding `content`; an empty content is one empty last block.
    static func encode(_ content: UnsafeRawBufferPointer) -> [UInt8] {
        let size = UInt64(content.count)
        let blocks = max(1, (content.count + blockSize - 1) / blockSize)
        var frame: [UInt8] = []
        frame.reserveCapacity(content.count + 3 * blocks + 14)
        frame.appendLittleEndian(Zstd.frameMagic)
        // Frame_Header_Descriptor: FCS_Field_Size flag in bits 7-6 (fields of
        // 2, 4 or 8 bytes; 1 byte exists only for single-segment frames).
        let contentSizeFlag: UInt8 = size >= 256 && size <= 65_791 ? 1 : (size <= UInt64(UInt32.max) ? 2 : 3)
        frame.append(contentSizeFlag << 6)
        frame.append(windowDescriptor)
        switch contentSizeFlag {
        case 1: frame.appendLittleEndian(UInt16(size - 256))
        case 2: frame.appendLittleEndian(UInt32(size))
        default: frame.appendLittleEndian(size)
        }
        for block in 0..<blocks {
            let start = block * blockSize
            let end = min(content.count, start + blockSize)
            let last: UInt32 = block == blocks - 1 ? 1 : 0
            // Block_Header: Last_Block bit 0, Block_Type 0 (Raw) in bits
            // 1-2, Block_Size in bits 3-23; 3 bytes little-endian.
            let header = last | UInt32(end - start) << 3
            frame.append(UInt8(truncatingIfNeeded: header))
            frame.append(UInt8(truncatingIfNeeded: header >> 8))
            frame.append(UInt8(truncatingIfNeeded: header >> 16))
            if end > start { frame.append(contentsOf: content[start..<end]) }
        }
        return frame
    }
}
