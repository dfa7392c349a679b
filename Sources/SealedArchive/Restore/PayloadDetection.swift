/// Recognises a tar stream (plain or zstd-compressed) at the start of an
/// input, so that sealing the output of `pack` or of `tar` records a tar
/// payload, which `open -C` can then extract.
public enum PayloadDetection {
    /// How much is read ahead to decide.
    static let peekLength = 256 * 1024

    /// Reads the start of `source` and returns what it holds, with a source
    /// that yields the whole input again (peeked bytes first).
    public static func detect(_ source: ByteSource) throws -> (kind: PayloadKind, compression: Compression, source: ByteSource) {
        var peeked = [UInt8](repeating: 0, count: peekLength)
        let count = try peeked.withUnsafeMutableBytes { try source.readFully(into: $0) }
        peeked.removeLast(peekLength - count)
        let replay = PrefixedSource(prefix: peeked, rest: source)
        if isTarHeader(peeked) { return (.tar, .none, replay) }
        if peeked.starts(with: [0x28, 0xB5, 0x2F, 0xFD]), let start = decompressedPrefix(peeked), isTarHeader(start) {
            return (.tar, .zstd, replay)
        }
        return (.bytes, .none, replay)
    }

    /// A ustar header: "ustar" at offset 257 (POSIX and GNU variants).
    static func isTarHeader(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 512 && Array(bytes[257..<262]) == Array("ustar".utf8)
    }

    /// The first decompressed bytes of a zstd stream prefix (the prefix may
    /// end mid-frame: whatever decompressed before that is enough).
    private static func decompressedPrefix(_ compressed: [UInt8]) -> [UInt8]? {
        guard let reader = try? TarStreamReader(source: MemorySource(compressed), raw: true),
              (try? reader.next()) != nil else { return nil }
        var out: [UInt8] = []
        while out.count < 512, let block = try? reader.nextBlock() { out += block.bytes }
        return out
    }
}

/// Bytes already read, then the rest of a source.
final class PrefixedSource: ByteSource {
    private let prefix: [UInt8]
    private var offset = 0
    private let rest: ByteSource

    init(prefix: [UInt8], rest: ByteSource) {
        self.prefix = prefix
        self.rest = rest
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard offset < prefix.count else { return try rest.read(into: buffer) }
        let n = min(buffer.count, prefix.count - offset)
        prefix.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + n])) }
        offset += n
        return n
    }
}
