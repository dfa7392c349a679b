internal import CSodium

/// A fixed-size buffer of secret bytes in `sodium_malloc` memory: guarded
/// pages, locked where the system allows, and wiped when released.
///
/// Secret keys never live in Swift arrays (which are copied freely and never
/// wiped); they live here, and are reached only through scoped pointers.
/// The contents are never printed: `description` is redacted. The buffer is
/// written only while it is being built (by its initialiser), so sharing a
/// finished one between threads is safe.
public final class SecureBytes: @unchecked Sendable, CustomStringConvertible {
    private let pointer: UnsafeMutableRawPointer
    /// The number of bytes held.
    public let count: Int

    /// Allocates `count` zeroed bytes.
    ///
    /// The corresponding C function is `sodium_malloc`.
    public init(count: Int) throws {
        try Sodium.ensureInitialized()
        precondition(count > 0, "SecureBytes needs a positive size")
        guard let pointer = sodium_malloc(count) else {
            throw SealedArchiveError(.resources, "out of memory: could not allocate \(count) bytes of secure memory")
        }
        sodium_memzero(pointer, count)
        self.pointer = pointer
        self.count = count
    }

    /// Allocates `count` bytes and lets `initialize` fill them.
    public convenience init(count: Int, initialize: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        try self.init(count: count)
        try initialize(UnsafeMutableRawBufferPointer(start: pointer, count: count))
    }

    /// Copies `bytes` into secure memory.
    public convenience init(copying bytes: UnsafeRawBufferPointer) throws {
        try self.init(count: max(bytes.count, 1))
        if let base = bytes.baseAddress { pointer.copyMemory(from: base, byteCount: bytes.count) }
    }

    /// `count` bytes from the system's secure random source.
    ///
    /// The corresponding C function is `randombytes_buf`.
    public static func random(count: Int) throws -> SecureBytes {
        try SecureBytes(count: count) { randombytes_buf($0.baseAddress!, $0.count) }
    }

    deinit {
        // sodium_free wipes the region before unmapping it.
        sodium_free(pointer)
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// Writes into the buffer: only for code that fills a buffer it just made
    /// (reading a key file), before the buffer is shared.
    package func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(start: pointer, count: count))
    }

    /// Constant-time equality of contents.
    ///
    /// The corresponding C function is `sodium_memcmp`.
    public func constantTimeEquals(_ other: SecureBytes) -> Bool {
        count == other.count && sodium_memcmp(pointer, other.pointer, count) == 0
    }

    public var description: String { "SecureBytes(\(count) bytes, redacted)" }
}

/// Constant-time comparison of two public byte strings of equal length (MACs,
/// hashes, digests), so timing does not reveal how many bytes matched.
///
/// The corresponding C function is `sodium_memcmp`.
package func constantTimeEquals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    if a.count == 0 { return true }
    return sodium_memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0
}

package func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in constantTimeEquals(pa, pb) } }
}

/// Wipes a buffer that held secret material.
///
/// The corresponding C function is `sodium_memzero`.
package func secureZero(_ buffer: UnsafeMutableRawBufferPointer) {
    if let base = buffer.baseAddress, buffer.count > 0 { sodium_memzero(base, buffer.count) }
}

/// Fills a buffer with secure random bytes.
///
/// The corresponding C function is `randombytes_buf`.
package func randomBytes(_ buffer: UnsafeMutableRawBufferPointer) throws {
    try Sodium.ensureInitialized()
    if let base = buffer.baseAddress, buffer.count > 0 { randombytes_buf(base, buffer.count) }
}

/// Pointers in the form libsodium's signatures take (non-null `unsigned char *`).
/// An empty buffer may have no address; libsodium reads and writes nothing
/// through a zero-length argument, but Swift still needs a valid pointer.
private nonisolated(unsafe) let emptyCBuffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)

extension UnsafeRawBufferPointer {
    package var cBytes: UnsafePointer<UInt8> {
        baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(emptyCBuffer)
    }
}

extension UnsafeMutableRawBufferPointer {
    package var cBytes: UnsafeMutablePointer<UInt8> {
        baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyCBuffer
    }
}
