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

    /// The length of the frame ``encode(_:)`` makes of `count` bytes.
    static func frameLength(contentLength count: Int) -> Int {
        let fieldSize = count >= 256 && count <= 65_791 ? 2 : (UInt64(count) <= UInt64(UInt32.max) ? 4 : 8)
        return 4 + 1 + 1 + fieldSize + 3 * max(1, (count + blockSize - 1) / blockSize) + count
    }

    /// Frames of zero bytes (what may follow a tar's end-of-archive marker)
    /// that together take exactly `length` bytes (at least
    /// ``minimumLength``), each holding at most `maxContent` bytes. Some
    /// frame lengths cannot be made (the content size field and the block
    /// headers grow in steps); the frames around them are made shorter.
    static func zeroFrames(length: Int, maxContent: Int) -> [(frame: [UInt8], contentLength: Int)] {
        precondition(length >= minimumLength, "zero frames shorter than one frame")
        let minimum = minimumLength
        var frames: [(frame: [UInt8], contentLength: Int)] = []
        var remaining = length
        while remaining > 0 {
            // The longest frame that leaves nothing, or room for one more.
            var target = min(remaining, frameLength(contentLength: maxContent))
            if remaining != target && remaining - target < minimum { target = remaining - minimum }
            while contentLength(forFrameLength: target) == nil {
                target -= 1
                if remaining - target < minimum { target = remaining - minimum }
            }
            let count = contentLength(forFrameLength: target)!
            let zeros = [UInt8](repeating: 0, count: count)
            frames.append((zeros.withUnsafeBytes { encode($0) }, count))
            remaining -= target
        }
        return frames
    }

    /// The content length whose frame is exactly `length` bytes, if any.
    static func contentLength(forFrameLength length: Int) -> Int? {
        guard length >= minimumLength else { return nil }
        let low = max(1, length - 14 - 3 * (length / blockSize + 1))
        return (low...length).first { frameLength(contentLength: $0) == length }
    }

    /// The shortest payload frame: one byte of content (a frame of the
    /// payload holds 1 byte to 4 MiB, FORMAT-v2.md section 8).
    static var minimumLength: Int { frameLength(contentLength: 1) }
}
