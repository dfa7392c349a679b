import Foundation
import Testing
import TestSupport
@testable import SealedArchive
@testable import SealedArchiveFormat

/// The frame rules of Spec/FORMAT-v2.md section 8 on one frame: what the
/// writer makes passes them, and each broken rule is `damaged`.
@Suite struct PayloadFrameTests {
    static func compressible(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
        var generator = SeededGenerator(seed: seed)
        let words = (0..<64).map { _ in generator.bytes(8) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 8)
        while bytes.count < count { bytes += generator.pick(words) }
        return Array(bytes.prefix(count))
    }

    /// Levels 19 and 22 (slow on 4 MiB) in the full tier only.
    @Test(arguments: TestTier.scaled(fast: [1, 3], full: [1, 3, 19, 22]))
    func zstdFramesRoundTripWithTheirContentSize(level: Int) throws {
        for size in level == 22 ? [1, 300_000] : [1, 1000, 300_000, PayloadFrame.maxContentSize] {
            let tar = Self.compressible(size)
            let frame = try tar.withUnsafeBytes { try PayloadFrame.encode($0, .zstd(level: level)) }
            let header = try frame.withUnsafeBytes { try ZstdFrameHeader(parsing: $0) }
            #expect(header.contentSize == UInt64(size))
            #expect(header.dictionaryID == 0)
            #expect(header.windowSize <= UInt64(PayloadFrame.maxContentSize))
            #expect(!header.hasChecksum)
            #expect(try frame.withUnsafeBytes { try PayloadFrame.decode($0) } == tar)
        }
    }

    @Test func rawBlockFramesDecodeWithLibzstd() throws {
        for size in [1, 255, 256, 65_791, 65_792, RawBlockFrame.blockSize, RawBlockFrame.blockSize + 1, PayloadFrame.maxContentSize] {
            let tar = Self.compressible(size, seed: UInt64(size))
            let frame = try tar.withUnsafeBytes { try PayloadFrame.encode($0, .none) }
            #expect(frame.count == size + 3 * ((size + RawBlockFrame.blockSize - 1) / RawBlockFrame.blockSize) + (size >= 256 && size <= 65_791 ? 8 : 10))
            #expect(try frame.withUnsafeBytes { try PayloadFrame.decode($0) } == tar)
        }
        // Larger than a tar frame (an index frame): libzstd streams it.
        let big = Self.compressible(5 << 20)
        let frame = big.withUnsafeBytes { RawBlockFrame.encode($0) }
        var out: [UInt8] = []
        try frame.withUnsafeBytes { try IndexFrame.decode($0) { out += $0 } }
        #expect(out == big)
        // And an empty one (an empty content is one empty last block).
        let empty = [UInt8]().withUnsafeBytes { RawBlockFrame.encode($0) }
        var emptyOut = 0
        try empty.withUnsafeBytes { try IndexFrame.decode($0) { emptyOut += $0.count } }
        #expect(emptyOut == 0)
    }

    /// A raw-block frame with a header made by hand, to break one rule.
    static func handFrame(descriptor: UInt8, window: UInt8?, dictionary: [UInt8] = [], contentSize: [UInt8], content: [UInt8]) -> [UInt8] {
        var frame: [UInt8] = []
        frame.appendLittleEndian(Zstd.frameMagic)
        frame.append(descriptor)
        if let window { frame.append(window) }
        frame += dictionary + contentSize
        let header = UInt32(1) | UInt32(content.count) << 3
        frame += [UInt8(header & 0xFF), UInt8(header >> 8 & 0xFF), UInt8(header >> 16)]
        return frame + content
    }

    static func expectDamaged(_ frame: [UInt8], _ comment: Comment) {
        #expect(throws: SealedArchiveError(.damaged, ""), comment) { try frame.withUnsafeBytes { try PayloadFrame.decode($0) } }
    }

    @Test func brokenFrameRulesAreDamaged() throws {
        let content: [UInt8] = Array(repeating: 7, count: 100)
        // The hand-made frame itself is valid.
        let valid = Self.handFrame(descriptor: 2 << 6, window: RawBlockFrame.windowDescriptor, contentSize: [100, 0, 0, 0], content: content)
        #expect(try valid.withUnsafeBytes { try PayloadFrame.decode($0) } == content)

        Self.expectDamaged(Self.handFrame(descriptor: 0, window: RawBlockFrame.windowDescriptor, contentSize: [], content: content),
                           "no Frame_Content_Size")
        Self.expectDamaged(Self.handFrame(descriptor: 2 << 6 | 1, window: RawBlockFrame.windowDescriptor, dictionary: [5],
                                          contentSize: [100, 0, 0, 0], content: content), "a dictionary")
        Self.expectDamaged(Self.handFrame(descriptor: 2 << 6, window: 13 << 3, contentSize: [100, 0, 0, 0], content: content),
                           "a window of 8 MiB")
        Self.expectDamaged(Self.handFrame(descriptor: 2 << 6, window: RawBlockFrame.windowDescriptor, contentSize: [0, 0, 0, 0], content: []),
                           "an empty frame")
        Self.expectDamaged(Self.handFrame(descriptor: 2 << 6, window: RawBlockFrame.windowDescriptor, contentSize: [101, 0, 0, 0], content: content),
                           "a content size that is not the output's")
        let over = [UInt8](repeating: 1, count: PayloadFrame.maxContentSize + 1)
        Self.expectDamaged(over.withUnsafeBytes { RawBlockFrame.encode($0) }, "over 4 MiB")
        var skippable: [UInt8] = []
        skippable.appendLittleEndian(UInt32(0x184D_2A50)); skippable.appendLittleEndian(UInt32(4)); skippable += [1, 2, 3, 4]
        Self.expectDamaged(skippable, "a skippable frame")
        Self.expectDamaged(valid + [0], "a byte after the frame")
        Self.expectDamaged(valid + valid, "two frames")
        Self.expectDamaged(Array(valid.dropLast()), "a frame cut short")
        var reserved = valid; reserved[4] |= 0x08
        Self.expectDamaged(reserved, "the reserved bit")
        var badBlock = valid; badBlock[10] |= 0x06  // Block_Type 3, reserved
        Self.expectDamaged(badBlock, "a reserved block type")
        let compressed = try Self.compressible(200_000).withUnsafeBytes { try PayloadFrame.encode($0, .default) }
        var corrupt = compressed; corrupt[corrupt.count / 2] ^= 0xFF
        #expect(throws: SealedArchiveError(.damaged, "")) { try corrupt.withUnsafeBytes { try PayloadFrame.decode($0) } }
    }

    @Test func levelsOutsideLibzstdsAreRefused() {
        #expect(throws: SealedArchiveError(.invalidArgument, "")) { try PayloadCompression.zstd(level: 0).validated() }
        #expect(throws: SealedArchiveError(.invalidArgument, "")) { try PayloadCompression.zstd(level: Zstd.maxLevel + 1).validated() }
        #expect(throws: SealedArchiveError(.invalidArgument, "")) { try [UInt8]().withUnsafeBytes { try PayloadFrame.encode($0, .none) } }
    }
}

/// The zero frames that align a format 2 payload's index to a chunk.
@Suite struct ZeroFrameTests {
    /// Lengths near where the content size field and the block headers
    /// change size, where some frame lengths cannot be made.
    static let lengths = [14, 15, 100, 267, 268, 269, 270, 65_800, 65_802, 65_803, 65_804, 65_805, 65_806,
                          131_087, 131_088, 131_089, 131_090, 131_091, 131_092, 1_048_600, 1_048_620, 4_000_000]

    @Test(arguments: lengths)
    func zeroFramesFillExactlyTheLengthAsked(_ length: Int) throws {
        let frames = RawBlockFrame.zeroFrames(length: length, maxContent: 1 << 20)
        #expect(frames.reduce(0) { $0 + $1.frame.count } == length)
        for (frame, content) in frames {
            let decoded = try frame.withUnsafeBytes { try PayloadFrame.decode($0) }
            #expect(decoded.count == content && decoded.allSatisfy { $0 == 0 })
        }
    }

    @Test func aLargePayloadsIndexStartsOnAChunk() throws {
        let tar = FramedPayloadTests.tar(memberSizes: [300_000, 5_000, 200_000])
        for unit in [4096, 65_536] {
            let sink = MemorySink()
            let writer = try FramedPayloadWriter(sink: sink, compression: .none, frameSize: 64 << 10, memberCut: 0,
                                                 indexAlignment: unit / 256)
            var offset = 0
            for (k, start) in tar.starts.enumerated() {
                try tar.bytes[offset..<start].withUnsafeBytes { try writer.write($0) }
                offset = start
                if k > 0 { try writer.append(tar.entries[k - 1]) }
            }
            try tar.bytes[offset...].withUnsafeBytes { try writer.write($0) }
            try writer.append(tar.entries.last!)
            try writer.finish()
            let payload = sink.bytes
            let seekable = try FramedPayloadTests.seekable(payload)
            let indexStart = payload.count - 24 - 8 * seekable.frameCount - Int(seekable.footer.seekTable.indexFrameLength)
            #expect(indexStart % (unit / 256) == 0, "index frame at \(indexStart)")
            // The tar comes back, zeros after its end; the index is whole.
            let (read, summary) = try FramedPayloadTests.readStreaming(payload)
            #expect(Array(read.prefix(tar.bytes.count)) == tar.bytes && read.dropFirst(tar.bytes.count).allSatisfy { $0 == 0 })
            #expect(summary.storedIndex.matches(try FramedPayloadTests.indexDigest(tar)))
            let stored = try seekable.indexEntries()
            #expect(stored == tar.entries)
        }
    }
}

/// The entry index frame is decompressed a piece at a time: output past the
/// content size its header states is refused as it comes, before it is
/// kept (a frame of tiny blocks can claim little and expand to gigabytes).
@Suite struct IndexFrameBoundTests {
    @Test func outputPastTheStatedSizeIsRefusedBeforeItIsKept() throws {
        // 300,000 bytes of content in raw blocks, the size field (4 bytes
        // after the two descriptor bytes) patched down to 1,000.
        let content = [UInt8](repeating: 0x41, count: 300_000)
        var inner = content.withUnsafeBytes { RawBlockFrame.encode($0) }
        let claimed: UInt32 = 1_000
        for k in 0..<4 { inner[6 + k] = UInt8(truncatingIfNeeded: claimed >> (8 * k)) }
        var kept = 0
        let outcome = errorCode {
            try inner.withUnsafeBytes { try IndexFrame.decode($0) { kept += $0.count } }
        }
        #expect(outcome == .damaged)
        #expect(kept <= 1_000, "\(kept) bytes were handed on")
    }
}
