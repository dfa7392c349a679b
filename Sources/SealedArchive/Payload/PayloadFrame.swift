import SealedArchiveFormat

/// One frame of tar of the version 2 tar payload (Spec/FORMAT-v2.md
/// section 8): an independent zstd frame, not skippable, `Dictionary_ID`
/// 0, `Frame_Content_Size` present and 1 byte to 4 MiB, a window of at
/// most 4 MiB. Independence is what lets frames compress and decompress in
/// parallel, and a seeking reader decompress any one alone.
enum PayloadFrame {
    /// The most tar bytes one frame holds, and its largest window.
    static let maxContentSize = 4 << 20

    /// The longest frame a reader accepts. The format bounds a frame's
    /// length only by its u32 seek entry; a reader buffers a whole frame,
    /// so this bounds its memory instead: twice the largest content, far
    /// above what libzstd (`ZSTD_compressBound(4 MiB)`, 4 MiB + 16 KiB) or
    /// the raw-block writer (4 MiB + 114 bytes) make.
    static let maxLength = 2 * maxContentSize

    /// Compresses `tar` (1 byte to 4 MiB) into one frame: zstd at `level`,
    /// or, for ``PayloadCompression/none``, raw blocks.
    static func encode(_ tar: UnsafeRawBufferPointer, _ compression: PayloadCompression) throws -> [UInt8] {
        guard (1...maxContentSize).contains(tar.count) else {
            throw SealedArchiveError(.invalidArgument, "a payload frame holds 1 byte to 4 MiB of tar, not \(tar.count)")
        }
        let frame: [UInt8]
        switch compression {
        case .none: frame = RawBlockFrame.encode(tar)
        case .zstd(let level): frame = try Zstd.compressFrame(tar, level: level)
        }
        // The rules a reader applies, applied to what is written: libzstd
        // picks the window from the level and the size, and a frame a reader
        // would refuse must never reach an archive.
        do { _ = try frame.withUnsafeBytes { try check($0) } } catch let error as SealedArchiveError {
            throw SealedArchiveError(.invalidArgument, "\(compression) makes frames the format does not allow: \(error.message)")
        }
        return frame
    }

    /// Checks the frame rules on `frame`, exactly one frame and nothing
    /// after it, and decompresses it [`damaged` otherwise].
    static func decode(_ frame: UnsafeRawBufferPointer) throws -> [UInt8] {
        var output: [UInt8] = []
        try decode(frame, into: &output)
        return output
    }

    /// The same into `output`, whose storage is reused when it has the
    /// frame's size (a streaming reader decodes frame after frame into the
    /// same few buffers instead of allocating a megabyte each time).
    static func decode(_ frame: UnsafeRawBufferPointer, into output: inout [UInt8]) throws {
        let contentSize = try check(frame)
        // Frames are mostly full: a buffer of another size is made anew.
        if output.count != contentSize { output = [UInt8](repeating: 0, count: contentSize) }
        let written = try output.withUnsafeMutableBytes { try Zstd.decompressFrame(frame, into: $0) }
        guard written == contentSize else {
            throw SealedArchiveError(.damaged, "payload frame: it decompresses to \(written) bytes, its header says \(contentSize)")
        }
    }

    /// The frame rules of section 8 on a whole frame, before any
    /// decompression; returns the content size.
    static func check(_ frame: UnsafeRawBufferPointer) throws -> Int {
        let header = try ZstdFrameHeader(parsing: frame)
        guard let contentSize = header.contentSize else {
            throw SealedArchiveError(.damaged, "payload frame: it has no Frame_Content_Size")
        }
        guard (1...UInt64(maxContentSize)).contains(contentSize) else {
            throw SealedArchiveError(.damaged, "payload frame: its content size \(contentSize) is not 1 byte to 4 MiB")
        }
        guard header.dictionaryID == 0 else {
            throw SealedArchiveError(.damaged, "payload frame: it names dictionary \(header.dictionaryID)")
        }
        guard header.windowSize <= UInt64(maxContentSize) else {
            throw SealedArchiveError(.damaged, "payload frame: its window of \(header.windowSize) bytes is over 4 MiB")
        }
        guard frame.count <= maxLength else {
            throw SealedArchiveError(.damaged, "payload frame: \(frame.count) bytes is longer than any frame of 4 MiB")
        }
        guard case .complete(let length) = Zstd.findFrameLength(frame), length == frame.count else {
            throw SealedArchiveError(.damaged, "payload frame: its length is not the \(frame.count) bytes it was given")
        }
        return Int(contentSize)
    }
}

/// How the tar of a version 2 payload is compressed (Spec/FORMAT-v2.md
/// section 10): zstd at a level, or `none`, frames of raw blocks.
/// How a version 2 payload's frames are made: zstd at a level, or raw
/// blocks (`none`). The same choice as a packed tar's compression, so one
/// type serves both.
typealias PayloadCompression = TarCompression

extension TarCompression {
    /// Checks the level is one libzstd offers (1 to its maximum).
    func validated() throws -> TarCompression {
        if case .zstd(let level) = self, !(1...Zstd.maxLevel).contains(level) {
            throw SealedArchiveError(.invalidArgument, "zstd level \(level) is not 1 to \(Zstd.maxLevel)")
        }
        return self
    }
}
