import Foundation
import Testing
import TestSupport
@testable import SealedArchive
@testable import SealedArchiveFormat

/// The version 2 tar payload (Spec/FORMAT-v2.md section 8) end to end: the
/// writer's frames, index and seek table, the streaming and seeking
/// readers, `zstd -d`, and every structural corruption as `damaged`.
@Suite struct FramedPayloadTests {
    /// A fake tar: members of `sizes` bytes, each starting on a 512 boundary.
    struct Tar {
        var bytes: [UInt8] = []
        var starts: [Int] = []
        var entries: [IndexEntry] = []
    }

    static func tar(memberSizes: [Int], seed: UInt64 = 7) -> Tar {
        var tar = Tar()
        let body = PayloadFrameTests.compressible(memberSizes.reduce(0, +) + 1, seed: seed)
        var used = 0
        for (k, size) in memberSizes.enumerated() {
            tar.starts.append(tar.bytes.count)
            tar.entries.append(EntryIndexTests.entry(.regular, "f\(k)", at: UInt64(tar.bytes.count), size: UInt64(size)))
            tar.bytes += Array(repeating: 0x30, count: 512) + body[used..<used + size]
            used += size
            tar.bytes += Array(repeating: 0, count: (512 - tar.bytes.count % 512) % 512)
        }
        tar.bytes += Array(repeating: 0, count: 1024)
        return tar
    }

    static func write(_ tar: Tar, _ compression: PayloadCompression = .default, frameSize: Int = FramedPayloadWriter.defaultFrameSize,
                      memberCut: Int = FramedPayloadWriter.defaultMemberCut, parallelFrames: Int = 4) throws -> (payload: [UInt8], writer: FramedPayloadWriter) {
        let sink = MemorySink()
        let writer = try FramedPayloadWriter(sink: sink, compression: compression, frameSize: frameSize, memberCut: memberCut, parallelFrames: parallelFrames)
        var offset = 0
        for (k, start) in tar.starts.enumerated() {
            try tar.bytes[offset..<start].withUnsafeBytes { try writer.write($0) }
            try writer.memberStarts()
            offset = start
            if k > 0 { try writer.append(tar.entries[k - 1]) }
        }
        try tar.bytes[offset...].withUnsafeBytes { try writer.write($0) }
        if let last = tar.entries.last { try writer.append(last) }
        try writer.finish()
        #expect(writer.payloadLength == UInt64(sink.bytes.count))
        return (sink.bytes, writer)
    }

    static func readStreaming(_ payload: [UInt8], parallelFrames: Int = 4, stopAfter: Int? = nil) throws -> (tar: [UInt8], summary: FramedPayloadReader.Summary) {
        let reader = try FramedPayloadReader(source: MemorySource(payload), parallelFrames: parallelFrames)
        var tar: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 100_000)
        while stopAfter.map({ tar.count < $0 }) ?? true {
            let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
            if n == 0 { break }
            tar += buffer[0..<n]
        }
        return (tar, try reader.finish())
    }

    static func seekable(_ payload: [UInt8]) throws -> SeekablePayload {
        try SeekablePayload(payloadLength: UInt64(payload.count)) { offset, count in
            guard offset <= UInt64(payload.count), count <= payload.count - Int(offset) else { throw SealedArchiveError(.io, "read past the end") }
            return Array(payload[Int(offset)..<Int(offset) + count])
        }
    }

    static func indexDigest(_ tar: Tar) throws -> EntryIndexDigest {
        let hasher = try EntryIndexHasher()
        for entry in tar.entries { try hasher.append(entry) }
        return hasher.finalize()
    }

    /// A seeking reader reads the index frame a piece at a time (never the
    /// whole frame, never the whole index) and hands on every entry.
    @Test func aSeekingReaderStreamsTheIndexInBoundedReads() throws {
        let tar = Self.tar(memberSizes: Array(repeating: 0, count: 25_000))
        let (payload, _) = try Self.write(tar, .none)
        var largestRead = 0
        let seekable = try SeekablePayload(payloadLength: UInt64(payload.count)) { offset, count in
            largestRead = max(largestRead, count)
            return Array(payload[Int(offset)..<Int(offset) + count])
        }
        #expect(seekable.footer.seekTable.indexFrameLength > UInt64(PayloadFooter.indexReadSize), "the index frame takes more than one read")
        #expect(seekable.indexCount == UInt64(tar.entries.count))
        #expect(largestRead <= PayloadFooter.indexReadSize)
        var count = 0
        try seekable.forEachIndexEntry { entry in
            #expect(entry == tar.entries[count])
            count += 1
        }
        #expect(count == tar.entries.count)
        #expect(largestRead <= PayloadFooter.indexReadSize)
    }

    /// Frame starts are kept only at every 64th frame: every frame is still
    /// found and read, on both sides of each checkpoint.
    @Test func framesAreFoundAcrossCheckpoints() throws {
        let tar = Self.tar(memberSizes: Array(repeating: 1000, count: 600))
        let (payload, _) = try Self.write(tar, frameSize: 4096, memberCut: 4096)
        let seekable = try Self.seekable(payload)
        #expect(seekable.frameCount > 3 * SeekablePayload.checkpointInterval)
        var start = 0
        for k in 0..<seekable.frameCount {
            let frame = try seekable.frame(k)
            #expect(Array(tar.bytes[start..<start + frame.count]) == frame, "frame \(k)")
            #expect(seekable.locate(tarOffset: UInt64(start))! == (k, 0), "the start of frame \(k)")
            #expect(seekable.locate(tarOffset: UInt64(start + frame.count - 1))! == (k, frame.count - 1), "the end of frame \(k)")
            start += frame.count
        }
        #expect(start == tar.bytes.count)
        #expect(seekable.locate(tarOffset: UInt64(start)) == nil)
    }

    @Test(arguments: [TarCompression.default, .none])
    func roundTrips(compression: PayloadCompression) throws {
        let cases: [(Tar, Int)] = [
            (Tar(bytes: Array(repeating: 0, count: 1024)), FramedPayloadWriter.defaultFrameSize),  // empty-ish tar
            (Self.tar(memberSizes: [3, 0, 700]), FramedPayloadWriter.defaultFrameSize),             // small
            (Self.tar(memberSizes: Array(repeating: 5000, count: 40)), 4096),                        // many frames
            (Self.tar(memberSizes: [3 << 20, 100, 600_000]), FramedPayloadWriter.defaultFrameSize),
        ]
        for (tar, frameSize) in cases {
            let (payload, _) = try Self.write(tar, compression, frameSize: frameSize, memberCut: min(frameSize, FramedPayloadWriter.defaultMemberCut))
            let (read, summary) = try Self.readStreaming(payload)
            #expect(read == tar.bytes)
            #expect(summary.tarLength == UInt64(tar.bytes.count))
            #expect(summary.payloadLength == UInt64(payload.count))
            #expect(summary.storedIndex.matches(try Self.indexDigest(tar)))
            let seekable = try Self.seekable(payload)
            let stored = try seekable.indexEntries()
            #expect(stored == tar.entries)
            #expect(seekable.tarLength == UInt64(tar.bytes.count))
            #expect(summary.frameCount == seekable.frameCount)
            var joined: [UInt8] = []
            for k in 0..<seekable.frameCount { joined += try seekable.frame(k) }
            #expect(joined == tar.bytes)
            for offset in [0, tar.bytes.count / 3, tar.bytes.count - 1] {
                let (frame, inFrame) = try #require(seekable.locate(tarOffset: UInt64(offset)))
                #expect(try seekable.frame(frame)[inFrame] == tar.bytes[offset])
            }
            #expect(seekable.locate(tarOffset: UInt64(tar.bytes.count)) == nil)
        }
    }

    @Test func framesAreCutAtOneMiBAndAtMembersPast256KiB() throws {
        // Members of 100 KiB: a frame takes members until it holds 256 KiB,
        // then is cut at the next member's header; a 1.5 MiB member is cut at 1 MiB.
        let tar = Self.tar(memberSizes: [100 << 10, 100 << 10, 100 << 10, 100 << 10, 1536 << 10, 10])
        let payload = try Self.write(tar).payload
        let sizes = try Self.seekable(payload).footer.seekTable.entries.map { Int($0.decompressedSize) }
        // Cuts: before member 3 (3 members ≥ 256 KiB), at 1 MiB, then before member 5.
        let expected0 = tar.starts[3]
        #expect(sizes[0] == expected0)
        #expect(sizes[1] == 1 << 20)
        #expect(expected0 + sizes[1] + sizes[2] == tar.starts[5])
        #expect(sizes.reduce(0, +) == tar.bytes.count)
        #expect(sizes.count == 4)
    }

    @Test(.enabled(if: ExternalTool.zstd.enabled, "needs zstd"), arguments: [TarCompression.default, .none])
    func zstdDecompressesThePayloadToTheTar(compression: PayloadCompression) throws {
        let tar = Self.tar(memberSizes: [2 << 20, 5, 300_000])
        let payload = try Self.write(tar, compression).payload
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("payload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("p.zst"), output = directory.appendingPathComponent("p.tar")
        try Data(payload).write(to: input)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try ExternalTool.zstd.path())
        process.arguments = ["-q", "-d", input.path, "-o", output.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(try [UInt8](Data(contentsOf: output)) == tar.bytes)
    }

    @Test func parallelOutputIsIdenticalToSequential() throws {
        let tar = Self.tar(memberSizes: Array(repeating: 70_000, count: 30))
        let sequential = try Self.write(tar, frameSize: 64 << 10, memberCut: 16 << 10, parallelFrames: 1).payload
        let parallel = try Self.write(tar, frameSize: 64 << 10, memberCut: 16 << 10, parallelFrames: 8).payload
        #expect(sequential == parallel)
        #expect(try Self.readStreaming(parallel, parallelFrames: 1).tar == Self.readStreaming(parallel, parallelFrames: 8).tar)
    }

    @Test func aReaderThatStopsEarlyStillChecksTheRest() throws {
        let tar = Self.tar(memberSizes: [10, 2 << 20])
        let payload = try Self.write(tar).payload
        let (read, summary) = try Self.readStreaming(payload, stopAfter: 1000)
        #expect(read.count < tar.bytes.count)
        #expect(!summary.unreadTarIsZero)
        #expect(summary.tarLength == UInt64(tar.bytes.count))
        let zeros = try Self.readStreaming(payload, stopAfter: tar.bytes.count - 1024)
        #expect(zeros.summary.unreadTarIsZero)
    }

    // MARK: Corruptions

    /// Every structural rule of section 8 broken once: the seeking reader
    /// (footer, index, then every frame) and the streaming reader both say
    /// `damaged`.
    @Test func structuralCorruptionsAreDamaged() throws {
        let tar = Self.tar(memberSizes: [300_000, 500_000, 10])
        let payload = try Self.write(tar, frameSize: 256 << 10, memberCut: 64 << 10).payload
        let good = try Self.seekable(payload)
        let table = good.footer.seekTable
        let f = table.entries.count
        let seekStart = payload.count - (8 * f + 24)
        let indexStart = Int(good.footer.indexFrameOffset)
        #expect(f >= 3)

        func seekFrame(_ change: (inout SeekTable) -> Void) -> [UInt8] {
            var table = table
            change(&table)
            return table.serialize()
        }
        func rewriteSeek(_ payload: [UInt8], _ change: (inout SeekTable) -> Void) -> [UInt8] {
            Array(payload[..<seekStart]) + seekFrame(change)
        }
        let framesAndIndex = Array(payload[..<seekStart])
        let frames = Array(payload[..<indexStart]), indexFrame = Array(payload[indexStart..<seekStart])
        var skippable: [UInt8] = []
        skippable.appendLittleEndian(UInt32(0x184D_2A50)); skippable.appendLittleEndian(UInt32(1)); skippable.append(0)
        let cases: [(String, [UInt8])] = [
            ("cut by a byte", Array(payload.dropLast())),
            ("a byte appended", payload + [0]),
            ("not SEEK", { var p = payload; p[p.count - 1] = 0x4C; return p }()),
            ("f one too many", { var p = payload; p[p.count - 8] += 1; return p }()),
            ("f zero", rewriteSeek(payload) { $0.entries = [] }),
            ("seek magic", { var p = payload; p[seekStart] ^= 1; return p }()),
            ("seek length field", { var p = payload; p[seekStart + 4] ^= 8; return p }()),
            ("index frame length +1", rewriteSeek(payload) { $0.indexFrameLength += 1 }),
            ("frame sizes not the frames' sum", rewriteSeek(payload) { $0.entries[0].compressedSize += 1 }),
            ("sizes moved between frames", rewriteSeek(payload) { $0.entries[0].compressedSize += 1; $0.entries[1].compressedSize -= 1 }),
            ("a content size wrong", rewriteSeek(payload) { $0.entries[1].decompressedSize -= 1 }),
            ("index magic", { var p = payload; p[indexStart] ^= 1; return p }()),
            ("index length field", { var p = payload; p[indexStart + 4] ^= 1; return p }()),
            ("a byte before the index", Array(payload[..<indexStart]) + [0] + Array(payload[indexStart...])),
            // Accounted for in the last frame's length, or as a frame of its own.
            ("a skippable frame among the frames",
             frames + skippable + indexFrame + seekFrame { $0.entries[f - 1].compressedSize += 9 }),
            ("a skippable frame listed as a frame",
             frames + skippable + indexFrame + seekFrame { $0.entries.append(.init(compressedSize: 9, decompressedSize: 1)) }),
            ("a skippable frame before the seek frame",
             framesAndIndex + skippable + seekFrame { $0.indexFrameLength += 9 }),
            ("a frame corrupted", { var p = payload; p[Int(table.entries[0].compressedSize) / 2] ^= 0x55; return p }()),
            ("the index corrupted", { var p = payload; p[seekStart - 3] ^= 0x55; return p }()),
        ]
        for (name, corrupt) in cases {
            #expect(corrupt != payload, "\(name)")
            let seeking = Result { () -> Void in
                let seekable = try Self.seekable(corrupt)
                for k in 0..<seekable.frameCount { _ = try seekable.frame(k) }
            }
            let streaming = Result { _ = try Self.readStreaming(corrupt) }
            #expect(Self.isDamaged(seeking), "seeking: \(name)")
            #expect(Self.isDamaged(streaming), "streaming: \(name)")
        }
    }

    static func isDamaged(_ result: Result<Void, any Error>) -> Bool {
        if case .failure(let error) = result, let error = error as? SealedArchiveError { return error.code == .damaged }
        return false
    }

    @Test func seekTableParsingIsStrict() throws {
        let table = SeekTable(entries: [.init(compressedSize: 10, decompressedSize: 20), .init(compressedSize: 30, decompressedSize: 4 << 20)],
                              indexFrameLength: 40)
        let bytes = table.serialize()
        #expect(bytes.count == SeekTable.frameLength(frameCount: 2))
        #expect(Array(bytes.suffix(4)) == Array("SEEK".utf8))
        #expect(try bytes.withUnsafeBytes { try SeekTable(parsing: $0) } == table)
        func damaged(_ bytes: [UInt8], _ comment: Comment) {
            #expect(throws: SealedArchiveError(.damaged, ""), comment) { try bytes.withUnsafeBytes { try SeekTable(parsing: $0) } }
        }
        damaged(bytes + [0], "a byte more")
        damaged(Array(bytes.dropFirst(0).dropLast()), "a byte less")
        damaged(SeekTable(entries: [], indexFrameLength: 40).serialize(), "no frames")
        damaged(SeekTable(entries: [.init(compressedSize: 10, decompressedSize: 0)], indexFrameLength: 40).serialize(), "an empty frame")
        damaged(SeekTable(entries: [.init(compressedSize: 10, decompressedSize: (4 << 20) + 1)], indexFrameLength: 40).serialize(), "over 4 MiB")
        damaged(SeekTable(entries: [.init(compressedSize: 0, decompressedSize: 1)], indexFrameLength: 40).serialize(), "a frame of no bytes")
        damaged(SeekTable(entries: [.init(compressedSize: 10, decompressedSize: 1)], indexFrameLength: 13).serialize(), "an impossible index frame")
        var count = bytes; count[count.count - 8] = 3
        damaged(count, "a count not the entries'")
    }

    // MARK: Memory

    /// 64 MiB (16 MiB in the fast tier) of pseudo-random and compressible
    /// tar through the writer and the streaming reader: what each holds
    /// stays within its batch bound, whatever the input's length.
    @Test func memoryStaysBoundedOnALargeInput() throws {
        let total = TestTier.scaled(fast: 16 << 20, full: 64 << 20)
        let parallelFrames = 4
        let sink = FileBackedSink()
        let writer = try FramedPayloadWriter(sink: sink, compression: .zstd(level: 1), parallelFrames: parallelFrames)
        var generator = SeededGenerator(seed: 64)
        let digest = try SHA256()
        var written = 0
        var piece = 0
        while written < total {
            let count = min(total - written, 3 << 19)
            let bytes = piece % 2 == 0 ? generator.bytes(count) : PayloadFrameTests.compressible(count, seed: UInt64(piece))
            if written % (2 << 20) == 0 { try writer.memberStarts() }
            try bytes.withUnsafeBytes { try writer.write($0); digest.update($0) }
            written += count
            piece += 1
        }
        try writer.finish()
        let frameSize = FramedPayloadWriter.defaultFrameSize
        let bound = parallelFrames * (frameSize + Zstd.compressBound(frameSize)) + frameSize
        #expect(writer.peakBufferedBytes > 0 && writer.peakBufferedBytes <= bound)

        let reader = try FramedPayloadReader(source: MemorySource(sink.bytes), parallelFrames: parallelFrames)
        let check = try SHA256()
        var buffer = [UInt8](repeating: 0, count: 256 << 10)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
            if n == 0 { break }
            buffer[0..<n].withUnsafeBytes { check.update($0) }
        }
        let summary = try reader.finish()
        #expect(summary.tarLength == UInt64(total))
        #expect(check.finalize() == digest.finalize())
        let readBound = parallelFrames * (PayloadFrame.maxLength + PayloadFrame.maxContentSize) + PayloadFrame.maxLength + FramedPayloadReader.readSize
        #expect(reader.peakBufferedBytes > 0 && reader.peakBufferedBytes <= readBound)
    }

    /// A sink that keeps bytes (the test reads them back), outside the bound measured.
    final class FileBackedSink: ByteSink {
        var bytes: [UInt8] = []
        func write(_ bytes: UnsafeRawBufferPointer) throws { self.bytes.append(contentsOf: bytes) }
    }
}
