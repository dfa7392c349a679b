/// Little-endian field reading over a buffer, for strict parsers: every read
/// is bounds-checked and a short buffer throws the caller's error.
package struct ByteReader {
    private let bytes: UnsafeRawBufferPointer
    package private(set) var offset: Int
    private let failure: () -> SealedArchiveError

    package init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0, failure: @escaping () -> SealedArchiveError) {
        self.bytes = bytes
        self.offset = offset
        self.failure = failure
    }

    package var remaining: Int { bytes.count - offset }

    package mutating func bytes(_ count: Int) throws -> [UInt8] {
        guard count >= 0, remaining >= count else { throw failure() }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    package mutating func u8() throws -> UInt8 { try integer(UInt8.self) }
    package mutating func u16() throws -> UInt16 { try integer(UInt16.self) }
    package mutating func u32() throws -> UInt32 { try integer(UInt32.self) }
    package mutating func u64() throws -> UInt64 { try integer(UInt64.self) }

    private mutating func integer<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw failure() }
        var value: T = 0
        for index in 0..<size { value |= T(bytes[offset + index]) << (8 * index) }
        offset += size
        return value
    }
}

extension Array where Element == UInt8 {
    /// Appends `value` little-endian.
    package mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        for index in 0..<MemoryLayout<T>.size { append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }
}
