/// A sink that forwards bytes and computes their SHA-256 on the way: the
/// checksum of an archive as it is written, without reading it again.
public final class HashingSink: ByteSink {
    private let next: ByteSink
    private let hasher: SHA256
    public private(set) var byteCount: UInt64 = 0

    public init(forwardingTo next: ByteSink) throws {
        self.next = next
        hasher = try SHA256()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try next.write(bytes)
        hasher.update(bytes)
        byteCount += UInt64(bytes.count)
    }

    /// The SHA-256 of everything written, as lowercase hex.
    public func finalizeHex() -> String { hasher.finalizeHex() }
}

/// A source that computes the SHA-256 of what is read through it.
public final class HashingSource: ByteSource {
    private let source: ByteSource
    private let hasher: SHA256

    public init(reading source: ByteSource) throws {
        self.source = source
        hasher = try SHA256()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try source.read(into: buffer)
        hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        return n
    }

    public func finalizeHex() -> String { hasher.finalizeHex() }
}
