import SealedArchiveFormat

/// Random access to a version 2 tar payload (Spec/FORMAT-v2.md section 8):
/// the footer located and checked, the seek table and entry index parsed,
/// and any frame decompressed alone. What `open --only` and `--list` use on
/// a seekable archive.
///
/// It keeps the frames' starting offsets (16 bytes a frame) and the parsed
/// index: what a seeking reader needs and must hold.
final class SeekablePayload {
    let footer: PayloadFooter
    let index: EntryIndex
    /// The tar stream's length: Σ decompressed_size_k.
    let tarLength: UInt64
    private let read: (UInt64, Int) throws -> [UInt8]
    /// `frameStarts[k]`: where frame k starts in the payload; one more at the end.
    private let frameStarts: [UInt64]
    /// `tarStarts[k]`: the tar offset frame k's output starts at; one more.
    private let tarStarts: [UInt64]

    /// The default bound on the entry index held whole: 1 GiB.
    static let defaultMaxIndexLength: UInt64 = 1 << 30

    /// `read(offset, count)` returns exactly `count` bytes at `offset` of the
    /// payload, whose length is `length`.
    init(payloadLength length: UInt64, maxIndexLength: UInt64 = SeekablePayload.defaultMaxIndexLength,
         read: @escaping (UInt64, Int) throws -> [UInt8]) throws {
        footer = try PayloadFooter(payloadLength: length, read: read)
        var frameStarts: [UInt64] = [0]
        var tarStarts: [UInt64] = [0]
        frameStarts.reserveCapacity(footer.seekTable.entries.count + 1)
        tarStarts.reserveCapacity(footer.seekTable.entries.count + 1)
        for entry in footer.seekTable.entries {
            frameStarts.append(frameStarts.last! + UInt64(entry.compressedSize))
            tarStarts.append(tarStarts.last! + UInt64(entry.decompressedSize))
        }
        self.frameStarts = frameStarts
        self.tarStarts = tarStarts
        tarLength = tarStarts.last!
        index = try footer.readIndex(maxIndexLength: maxIndexLength, read: read)
        if let last = index.entries.last, last.headerOffset >= tarLength {
            throw SealedArchiveError(.damaged, "entry index: an entry starts at \(last.headerOffset), past the tar's \(tarLength) bytes")
        }
        self.read = read
    }

    var frameCount: Int { footer.seekTable.entries.count }

    /// Frame `k`'s tar bytes, the frame rules checked and its size checked
    /// against its seek entry [`damaged`].
    func frame(_ k: Int) throws -> [UInt8] {
        guard (0..<frameCount).contains(k) else {
            throw SealedArchiveError(.invalidArgument, "frame \(k) is not one of the payload's \(frameCount)")
        }
        let entry = footer.seekTable.entries[k]
        let bytes = try read(frameStarts[k], Int(entry.compressedSize))
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
        // The last frame whose start is ≤ offset.
        var low = 0, high = frameCount - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if tarStarts[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        return (low, Int(offset - tarStarts[low]))
    }

    /// Where frame `k`'s output starts in the tar.
    func tarOffset(ofFrame k: Int) -> UInt64 { tarStarts[k] }
}
