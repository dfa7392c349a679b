import SealedArchiveFormat

/// The header of a zstd frame (RFC 8878 section 3.1.1.1), read by hand so
/// the frame rules of Spec/FORMAT-v2.md section 8 are checked on the bytes
/// themselves, through no experimental libzstd API.
struct ZstdFrameHeader: Equatable {
    /// `Frame_Content_Size`, nil when the frame does not give it.
    let contentSize: UInt64?
    /// The window a decoder must keep: `Window_Descriptor`'s size, or the
    /// content size for a single-segment frame.
    let windowSize: UInt64
    /// `Dictionary_ID`, 0 when absent.
    let dictionaryID: UInt32
    let hasChecksum: Bool
    /// The header's length in bytes, magic number included.
    let length: Int

    /// Parses the header at the start of `bytes`; `damaged` for anything
    /// but a zstd frame (a skippable frame included) or a header cut short.
    init(parsing bytes: UnsafeRawBufferPointer) throws {
        func damaged(_ why: String) -> SealedArchiveError { SealedArchiveError(.damaged, "payload frame: \(why)") }
        var reader = ByteReader(bytes, failure: { damaged("its header is cut short") })
        let magic = try reader.u32()
        if magic & Zstd.skippableMagicMask == Zstd.skippableMagicBase {
            throw damaged("a skippable frame where a zstd frame must be")
        }
        guard magic == Zstd.frameMagic else { throw damaged("not a zstd frame") }
        let descriptor = try reader.u8()
        let contentSizeFlag = descriptor >> 6
        let singleSegment = descriptor & 0x20 != 0
        guard descriptor & 0x08 == 0 else { throw damaged("the reserved bit of its header is set") }
        hasChecksum = descriptor & 0x04 != 0
        let dictionaryFlag = descriptor & 0x03
        var window: UInt64 = 0
        if !singleSegment {
            let descriptor = try reader.u8()
            let windowLog = 10 + UInt64(descriptor >> 3)
            let base: UInt64 = 1 << windowLog
            window = base + (base / 8) * UInt64(descriptor & 0x07)
        }
        switch dictionaryFlag {
        case 0: dictionaryID = 0
        case 1: dictionaryID = UInt32(try reader.u8())
        case 2: dictionaryID = UInt32(try reader.u16())
        default: dictionaryID = try reader.u32()
        }
        switch (contentSizeFlag, singleSegment) {
        case (0, false): contentSize = nil
        case (0, true): contentSize = UInt64(try reader.u8())
        case (1, _): contentSize = UInt64(try reader.u16()) + 256
        case (2, _): contentSize = UInt64(try reader.u32())
        default: contentSize = try reader.u64()
        }
        windowSize = singleSegment ? (contentSize ?? 0) : window
        length = reader.offset
    }
}
