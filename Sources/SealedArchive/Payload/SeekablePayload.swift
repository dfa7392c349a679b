import SealedArchiveFormat

/// Random access to a version 2 tar payload (Spec/FORMAT-v2.md section 8):
/// the footer located and checked, the seek table kept, the entry index
/// checked whole and then read again as often as needed, and any frame
/// decompressed alone. What `open --only` and `--list` use on a seekable
/// archive.
///
/// Memory does not grow with the index: it is streamed from the archive
/// each time it is read, never held. The seek table is kept (8 bytes a
/// frame, the bytes the archive stores) with the frames' starting offsets
/// only at every ``checkpointInterval``-th frame.
final class SeekablePayload {
    let footer: PayloadFooter
    /// The tar stream's length: Σ decompressed_size_k.
    let tarLength: UInt64
    /// The number of entries in the index.
    let indexCount: UInt64
    private let read: (UInt64, Int) throws -> [UInt8]
    private let maxIndexLength: UInt64
    /// `frameCheckpoints[j]`: where frame `j·checkpointInterval` starts in
    /// the payload.
    private let frameCheckpoints: [UInt64]
    /// `tarCheckpoints[j]`: the tar offset that frame's output starts at.
    private let tarCheckpoints: [UInt64]

    /// Frames between two kept starting offsets: a lookup adds up at most
    /// this many seek entries, and the offsets cost 16 bytes per this many
    /// frames.
    static let checkpointInterval = 64

    /// The default bound on the entry index: 1 GiB decompressed.
    static let defaultMaxIndexLength: UInt64 = 1 << 30

    /// `read(offset, count)` returns exactly `count` bytes at `offset` of the
    /// payload, whose length is `length`. The index is read through once
    /// here and every rule of 8.1 checked (and that no entry starts past the
    /// tar), so a later pass meets no damage.
    init(payloadLength length: UInt64, maxIndexLength: UInt64 = SeekablePayload.defaultMaxIndexLength,
         read: @escaping (UInt64, Int) throws -> [UInt8]) throws {
        footer = try PayloadFooter(payloadLength: length, read: read)
        var frameCheckpoints: [UInt64] = []
        var tarCheckpoints: [UInt64] = []
        var frameStart: UInt64 = 0
        var tarStart: UInt64 = 0
        for (k, entry) in footer.seekTable.entries.enumerated() {
            if k % Self.checkpointInterval == 0 {
                frameCheckpoints.append(frameStart)
                tarCheckpoints.append(tarStart)
            }
            frameStart += UInt64(entry.compressedSize)
            tarStart += UInt64(entry.decompressedSize)
        }
        self.frameCheckpoints = frameCheckpoints
        self.tarCheckpoints = tarCheckpoints
        tarLength = tarStart
        self.read = read
        self.maxIndexLength = maxIndexLength
        var last: UInt64?
        indexCount = try footer.forEachIndexEntry(maxIndexLength: maxIndexLength, read: read) { last = $0.headerOffset }
        if let last, last >= tarStart {
            throw SealedArchiveError(.damaged, "entry index: an entry starts at \(last), past the tar's \(tarStart) bytes")
        }
    }

    /// Reads the index again, handing each entry to `body` in order.
    func forEachIndexEntry(_ body: (IndexEntry) throws -> Void) throws {
        let count = try footer.forEachIndexEntry(maxIndexLength: maxIndexLength, read: read, body)
        guard count == indexCount else {
            throw SealedArchiveError(.damaged, "entry index: it read differently the second time (did the archive file change while it was read?)")
        }
    }

    var frameCount: Int { footer.seekTable.entries.count }

    /// Frame `k`'s tar bytes, the frame rules checked and its size checked
    /// against its seek entry [`damaged`].
    func frame(_ k: Int) throws -> [UInt8] {
        guard (0..<frameCount).contains(k) else {
            throw SealedArchiveError(.invalidArgument, "frame \(k) is not one of the payload's \(frameCount)")
        }
        let entries = footer.seekTable.entries
        let first = k - k % Self.checkpointInterval
        let start = entries[first..<k].reduce(frameCheckpoints[k / Self.checkpointInterval]) { $0 + UInt64($1.compressedSize) }
        let entry = entries[k]
        let bytes = try read(start, Int(entry.compressedSize))
        let tar = try bytes.withUnsafeBytes { try PayloadFrame.decode($0) }
        guard tar.count == Int(entry.decompressedSize) else {
            throw SealedArchiveError(.damaged, "payload frame \(k): it holds \(tar.count) bytes, its seek entry says \(entry.decompressedSize)")
        }
        return tar
    }

    /// The frame holding tar offset `offset`, and the offset within it; nil
    /// at or past the tar's end.
    func locate(tarOffset offset: UInt64) -> (frame: Int, offset: Int)? {
        guard offset < tarLength else { return nil }
        // The last checkpoint at or before the offset…
        var low = 0, high = tarCheckpoints.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if tarCheckpoints[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        // …then the frames after it, one by one.
        let entries = footer.seekTable.entries
        var k = low * Self.checkpointInterval
        var start = tarCheckpoints[low]
        while offset - start >= UInt64(entries[k].decompressedSize) {
            start += UInt64(entries[k].decompressedSize)
            k += 1
        }
        return (k, Int(offset - start))
    }

}
