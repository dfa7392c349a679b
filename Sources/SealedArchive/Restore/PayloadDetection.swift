/// Recognises a tar stream (plain or zstd-compressed) at the start of an
/// input, so that sealing the output of `pack` or of `tar` records a tar
/// payload, which `open -C` can then extract.
///
/// Two rules. Without `--payload`, detection is conservative: a ustar header
/// (POSIX or GNU magic at offset 257), plain or after zstd decompression,
/// where the zstd stream may start with skippable frames and hold any number
/// of frames (as `pzstd` writes). With `--payload tar` the operator says it
/// is a tar, so whatever libarchive reads as one is accepted (v7 headers
/// without magic, a GNU volume label first, pax, GNU, any zstd framing):
/// libarchive, the same reader `open -C` uses, must read the first header.
public enum PayloadDetection {
    /// How much is read ahead to decide without `--payload tar`.
    static let peekLength = 256 * 1024
    /// How much libarchive may read to find the first header with
    /// `--payload tar` (skippable frames and pax headers come before it).
    static let tarCheckLimit = 16 << 20

    /// Reads the start of `source` and returns what it holds, with a source
    /// that yields the whole input again (peeked bytes first). With
    /// `requireTar` (`--payload tar`), the input must be a tar stream that
    /// libarchive reads; otherwise `invalidArgument` names why it is not.
    public static func detect(_ source: ByteSource, requireTar: Bool = false) throws -> (kind: PayloadKind, compression: Compression, source: ByteSource) {
        if requireTar {
            let (compression, replay) = try readableTar(source)
            return (.tar, compression, replay)
        }
        var peeked = [UInt8](repeating: 0, count: peekLength)
        let count = try peeked.withUnsafeMutableBytes { try source.readFully(into: $0) }
        peeked.removeLast(peekLength - count)
        let replay = PrefixedSource(prefix: peeked, rest: source)
        if isTarHeader(peeked) { return (.tar, .none, replay) }
        if startsLikeZstd(peeked), let start = decompressedPrefix(peeked), isTarHeader(start) {
            return (.tar, .zstd, replay)
        }
        return (.bytes, .none, replay)
    }

    /// A ustar header: "ustar" at offset 257 (POSIX and GNU variants).
    static func isTarHeader(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 512 && Array(bytes[257..<262]) == Array("ustar".utf8)
    }

    /// A zstd frame or a skippable frame (magic 0x184D2A50 to 0x184D2A5F,
    /// little-endian), which may come before the first frame.
    static func startsLikeZstd(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 4 else { return false }
        let magic = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
        return magic == 0xFD2F_B528 || magic & 0xFFFF_FFF0 == 0x184D_2A50
    }

    /// The first decompressed bytes of a zstd stream prefix (the prefix may
    /// end mid-frame: whatever decompressed before that is enough). libarchive
    /// (through libzstd) passes over skippable frames and goes on from one
    /// frame to the next.
    private static func decompressedPrefix(_ compressed: [UInt8]) -> [UInt8]? {
        guard let reader = try? TarStreamReader(source: MemorySource(compressed), raw: true),
              (try? reader.next()) != nil else { return nil }
        var out: [UInt8] = []
        while out.count < 512, let block = try? reader.nextBlock() { out += block.bytes }
        return out
    }

    /// Lets libarchive, set up as for extraction, read the first header of
    /// `source` (an empty tar, only its end, counts too); returns the
    /// compression libarchive found and a source replaying every byte.
    private static func readableTar(_ source: ByteSource) throws -> (Compression, ByteSource) {
        let recording = RecordingSource(source, limit: tarCheckLimit)
        do {
            let compression: Compression = try UTF8Locale.run {
                let reader = try TarStreamReader(source: recording)
                _ = try reader.next()
                return reader.isZstdCompressed ? .zstd : .none
            }
            return (compression, PrefixedSource(prefix: recording.recorded, rest: source))
        } catch let error as SealedArchiveError {
            // The input could not be read: that error, not a verdict on it.
            if let failure = recording.failure { throw failure }
            let why = recording.overLimit
                ? "libarchive found no tar header in its first \(tarCheckLimit >> 20) MiB"
                : (error.cause as? LibArchive.Detail)?.text ?? error.message
            throw SealedArchiveError(.invalidArgument, "not a tar or zstd-compressed tar stream that libarchive reads (\(why))")
        }
    }
}

/// Passes reads through, keeping a copy of what was read, up to a limit
/// (beyond it, reading fails).
private final class RecordingSource: ByteSource {
    private let source: ByteSource
    private let limit: Int
    private(set) var recorded: [UInt8] = []
    private(set) var overLimit = false
    /// What the underlying source threw.
    private(set) var failure: (any Error)?

    init(_ source: ByteSource, limit: Int) {
        self.source = source
        self.limit = limit
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard recorded.count < limit else {
            overLimit = true
            throw SealedArchiveError(.invalidArgument, "no tar header within \(limit) bytes")
        }
        let n: Int
        do {
            n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<min(buffer.count, limit - recorded.count)]))
        } catch {
            failure = error
            throw error
        }
        recorded.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        return n
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
