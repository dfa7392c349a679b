import SealedArchiveFormat

/// The seek frame that ends a version 2 tar payload (Spec/FORMAT-v2.md
/// section 8): a skippable frame `u32(0x184D2A5B) || u32(8·f + 16)`, then
/// each frame's `u32(compressed_size) || u32(decompressed_size)`, then
/// `u64(index_frame_length) || u32(f) || "SEEK"`. It is what lets a reader
/// find any frame (and the index before it) from the payload's end.
struct SeekTable: Equatable, Sendable {
    struct Entry: Equatable, Sendable {
        /// The frame's exact length (`ZSTD_findFrameCompressedSize`).
        var compressedSize: UInt32
        /// Its `Frame_Content_Size`: 1 byte to 4 MiB.
        var decompressedSize: UInt32
    }

    static let magic: UInt32 = 0x184D_2A5B
    /// "SEEK", the last four bytes of every tar payload.
    static let footerMagic: [UInt8] = Array("SEEK".utf8)
    /// The most frames a payload has (section 10).
    /// The most frames whose seek frame length, `8·f + 16`, fits its u32
    /// field (Spec/FORMAT-v2.md section 10: `2^29 − 3`).
    static let maxFrames = (1 << 29) - 3
    /// The bytes after the entries: index_frame_length, f, "SEEK".
    static let footerLength = 16

    var entries: [Entry]
    var indexFrameLength: UInt64

    /// The seek frame's length for `frameCount` frames: 8·f + 24.
    static func frameLength(frameCount: Int) -> Int { 8 * frameCount + 24 }

    /// The whole seek frame.
    func serialize() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.frameLength(frameCount: entries.count))
        bytes.appendLittleEndian(Self.magic)
        bytes.appendLittleEndian(UInt32(8 * entries.count + 16))
        for entry in entries { entry.serialize(into: &bytes) }
        bytes.appendLittleEndian(indexFrameLength)
        bytes.appendLittleEndian(UInt32(entries.count))
        bytes.append(contentsOf: Self.footerMagic)
        return bytes
    }

    /// Parses exactly one seek frame, rejecting anything `serialize` would
    /// not make and any entry the frame rules forbid [`damaged`].
    init(parsing frame: UnsafeRawBufferPointer) throws {
        var reader = ByteReader(frame, failure: { Self.damaged("it is cut short") })
        guard try reader.u32() == Self.magic else { throw Self.damaged("its magic number is wrong") }
        let bodyLength = Int(try reader.u32())
        guard frame.count >= 24, (frame.count - 24) % 8 == 0, bodyLength == frame.count - 8 else {
            throw Self.damaged("its length field does not match its \(frame.count) bytes")
        }
        let count = (frame.count - 24) / 8
        var entries: [Entry] = []
        entries.reserveCapacity(min(count, Self.maxFrames))
        for _ in 0..<count { entries.append(Entry(compressedSize: try reader.u32(), decompressedSize: try reader.u32())) }
        let indexFrameLength = try reader.u64()
        let frameCount = try reader.u32()
        guard try reader.bytes(4) == Self.footerMagic else { throw Self.damaged("it does not end in \"SEEK\"") }
        guard Int(frameCount) == count else { throw Self.damaged("its frame count \(frameCount) does not match its length") }
        try Self.checkFrameCount(count)
        try Self.checkIndexFrameLength(indexFrameLength)
        for (k, entry) in entries.enumerated() { try entry.check(frame: k) }
        self.entries = entries
        self.indexFrameLength = indexFrameLength
    }

    init(entries: [Entry], indexFrameLength: UInt64) {
        self.entries = entries
        self.indexFrameLength = indexFrameLength
    }

    /// `f ≥ 1` (the tar is never empty) and at most 2^29.
    static func checkFrameCount(_ count: Int) throws {
        guard (1...maxFrames).contains(count) else { throw damaged("it lists \(count) frames, not 1 to 2^29 − 3") }
    }

    /// The index frame is a skippable header (8 bytes) around one zstd
    /// frame (at least 6 bytes), and its length field is a u32.
    static func checkIndexFrameLength(_ length: UInt64) throws {
        guard length >= 8 + 6, length - 8 <= UInt64(UInt32.max) else {
            throw damaged("its index frame length \(length) is impossible")
        }
    }

    static func damaged(_ why: String) -> SealedArchiveError {
        SealedArchiveError(.damaged, "payload seek table: \(why)")
    }
}

extension SeekTable.Entry {
    func serialize(into bytes: inout [UInt8]) {
        bytes.appendLittleEndian(compressedSize)
        bytes.appendLittleEndian(decompressedSize)
    }

    /// The frame rules an entry can break on its own: a frame is never
    /// empty and holds 1 byte to 4 MiB.
    func check(frame k: Int) throws {
        guard compressedSize > 0, compressedSize <= UInt32(PayloadFrame.maxLength) else {
            throw SeekTable.damaged("frame \(k) has an impossible length \(compressedSize)")
        }
        guard (1...UInt32(PayloadFrame.maxContentSize)).contains(decompressedSize) else {
            throw SeekTable.damaged("frame \(k) has a content size \(decompressedSize) outside 1 byte to 4 MiB")
        }
    }
}

/// A running SHA-256 of seek entries, so a reader of the whole payload can
/// compare the frames it decompressed with the stored seek table without
/// keeping an entry per frame (Spec/FORMAT-v2.md section 8: "checks every
/// frame against its seek entry").
final class SeekEntryHasher {
    private let hash: SHA256
    private(set) var count = 0

    init() throws { hash = try SHA256() }

    func append(_ entry: SeekTable.Entry) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8)
        entry.serialize(into: &bytes)
        bytes.withUnsafeBytes { hash.update($0) }
        count += 1
    }

    /// Hashes serialized entries as they are (the stored table's bytes).
    func appendSerialized(_ bytes: UnsafeRawBufferPointer) { hash.update(bytes) }

    func finalize() -> [UInt8] { hash.finalize() }
}
