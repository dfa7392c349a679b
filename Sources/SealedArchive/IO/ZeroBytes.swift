extension UnsafeRawBufferPointer {
    /// Whether every byte is zero: what follows a tar's end-of-archive
    /// marker can be gigabytes of zeros, all checked.
    var isAllZero: Bool { lengthBeforeTrailingZeros == 0 }

    /// The count of bytes up to and including the last that is not zero: 0
    /// when all are zero. Scans from the end, eight bytes at a time.
    var lengthBeforeTrailingZeros: Int {
        guard let base = baseAddress else { return 0 }
        var end = count
        while end % 8 != 0 {
            if base.load(fromByteOffset: end - 1, as: UInt8.self) != 0 { return end }
            end -= 1
        }
        while end >= 8 {
            if base.loadUnaligned(fromByteOffset: end - 8, as: UInt64.self) != 0 { break }
            end -= 8
        }
        while end > 0 && base.load(fromByteOffset: end - 1, as: UInt8.self) == 0 { end -= 1 }
        return end
    }
}
