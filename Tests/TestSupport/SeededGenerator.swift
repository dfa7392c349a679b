/// SplitMix64: small, fast and fully determined by its seed, so a failing
/// property test or random tree can be rebuilt from the seed in the test's
/// arguments. Test data only, never keys.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` pseudo-random bytes (xorshift64* seeded from this generator:
    /// fast enough for tens of megabytes in a debug build).
    public mutating func bytes(_ count: Int) -> [UInt8] {
        var x = next() | 1
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            var offset = 0
            while offset + 8 <= count {
                x ^= x >> 12; x ^= x << 25; x ^= x >> 27
                raw.storeBytes(of: x &* 0x2545_F491_4F6C_DD1D, toByteOffset: offset, as: UInt64.self)
                offset += 8
            }
            while offset < count {
                x ^= x >> 12; x ^= x << 25; x ^= x >> 27
                raw[offset] = UInt8(truncatingIfNeeded: x &* 0x2545_F491_4F6C_DD1D)
                offset += 1
            }
            initialized = count
        }
    }

    /// One of `values`, which must not be empty.
    public mutating func pick<T>(_ values: [T]) -> T { values[Int.random(in: 0..<values.count, using: &self)] }
}

/// `count` random bytes for test data (plaintexts, files to seal): seeded
/// from the system generator, so each call differs, but made with
/// `SeededGenerator.bytes`, which is much faster than drawing byte by byte
/// in a debug build.
public func randomBytes(_ count: Int) -> [UInt8] {
    var system = SystemRandomNumberGenerator()
    var generator = SeededGenerator(seed: system.next())
    return generator.bytes(count)
}
