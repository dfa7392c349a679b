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
}
