extension UnsafeRawBufferPointer {
    /// Whether every byte is zero, eight at a time: what follows a tar's
    /// end-of-archive marker can be gigabytes of zeros, all checked.
    var isAllZero: Bool {
        guard let base = baseAddress else { return true }
        let words = count / 8
        var merged: UInt64 = 0
        for k in 0..<words { merged |= base.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self) }
        for k in (8 * words)..<count { merged |= UInt64(base.load(fromByteOffset: k, as: UInt8.self)) }
        return merged == 0
    }

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
