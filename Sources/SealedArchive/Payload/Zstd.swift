internal import CZstd

/// The one place SealedArchive calls libzstd (the version 2 tar payload,
/// Spec/FORMAT-v2.md section 8). Every size_t result goes through
/// `ZSTD_isError`; a failure on archive bytes is `damaged`, a failure to
/// compress bytes in memory is `resources` (libzstd fails there only when
/// memory runs out). Only the stable API is used: the frame header rules
/// are checked by ``ZstdFrameHeader`` on the bytes, not by libzstd.
enum Zstd {
    /// The magic number of a zstd frame (RFC 8878 section 3.1.1), as a u32.
    static let frameMagic: UInt32 = 0xFD2F_B528
    /// The magic numbers of skippable frames: 0x184D2A50 to 0x184D2A5F.
    static let skippableMagicMask: UInt32 = 0xFFFF_FFF0
    static let skippableMagicBase: UInt32 = 0x184D_2A50

    /// The highest compression level libzstd offers.
    static var maxLevel: Int { Int(ZSTD_maxCLevel()) }

    /// The worst-case compressed size of `count` bytes.
    static func compressBound(_ count: Int) -> Int { Int(ZSTD_compressBound(count)) }

    /// Compresses `input` into exactly one frame at `level`, with
    /// `Frame_Content_Size` written (the size is pledged by the one-shot
    /// call), no dictionary and no content checksum.
    ///
    /// No checksum: the payload is authenticated chunk by chunk, so XXH64
    /// would only cost time; readers still check one when present.
    static func compressFrame(_ input: UnsafeRawBufferPointer, level: Int) throws -> [UInt8] {
        guard let context = ZSTD_createCCtx() else {
            throw SealedArchiveError(.resources, "out of memory: could not allocate a zstd compression context")
        }
        defer { ZSTD_freeCCtx(context) }
        guard let level32 = Int32(exactly: level) else {
            throw SealedArchiveError(.invalidArgument, "zstd level \(level) is out of range")
        }
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level32), "setting the zstd level", code: .invalidArgument)
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1), "asking zstd for the content size", code: .resources)
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 0), "turning off the zstd checksum", code: .resources)
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_dictIDFlag, 0), "turning off the zstd dictionary ID", code: .resources)
        let capacity = compressBound(input.count)
        var output = [UInt8](repeating: 0, count: capacity)
        let written = try output.withUnsafeMutableBytes { out in
            try check(ZSTD_compress2(context, out.baseAddress, out.count, input.baseAddress, input.count),
                      "zstd compression", code: .resources)
        }
        output.removeSubrange(written...)
        return output
    }

    /// What `ZSTD_findFrameCompressedSize` says of the bytes at the start
    /// of a buffer.
    enum FrameLength: Equatable {
        /// A whole frame of this many bytes.
        case complete(Int)
        /// The frame does not end inside the buffer: read more.
        case incomplete
        /// Not a frame.
        case invalid(String)
    }

    static func findFrameLength(_ bytes: UnsafeRawBufferPointer) -> FrameLength {
        let result = ZSTD_findFrameCompressedSize(bytes.baseAddress, bytes.count)
        if ZSTD_isError(result) != 0 {
            if ZSTD_getErrorCode(result) == ZSTD_error_srcSize_wrong { return .incomplete }
            return .invalid(errorName(result))
        }
        return .complete(Int(result))
    }

    /// Decompresses the one frame `frame` (whole, nothing after it) into
    /// `output`, whose size is the frame's content size; returns the count
    /// written. libzstd checks the content checksum when there is one.
    static func decompressFrame(_ frame: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let context = ZSTD_createDCtx() else {
            throw SealedArchiveError(.resources, "out of memory: could not allocate a zstd decompression context")
        }
        defer { ZSTD_freeDCtx(context) }
        return try check(ZSTD_decompressDCtx(context, output.baseAddress, output.count, frame.baseAddress, frame.count),
                         "a zstd frame of the payload does not decompress", code: .damaged)
    }

    @discardableResult
    private static func check(_ result: Int, _ what: String, code: SealedArchiveError.Code) throws -> Int {
        if ZSTD_isError(result) != 0 {
            throw SealedArchiveError(code, "\(what): \(errorName(result))")
        }
        return result
    }

    fileprivate static func errorName(_ result: Int) -> String {
        guard let name = ZSTD_getErrorName(result) else { return "libzstd reported no detail" }
        return String(cString: name)
    }
}

extension Zstd {
    /// Decompresses one frame fed in pieces (the entry index as a reader of
    /// the whole payload meets it, never held whole).
    final class StreamDecoder {
        private let context: OpaquePointer
        private let out: UnsafeMutableRawBufferPointer
        /// Bytes produced so far.
        private(set) var produced: UInt64 = 0
        /// Whether the frame has ended.
        private(set) var isComplete = false

        init(windowLogMax: Int32) throws {
            guard let context = ZSTD_createDCtx() else {
                throw SealedArchiveError(.resources, "out of memory: could not allocate a zstd decompression context")
            }
            self.context = context
            out = .allocate(byteCount: Int(ZSTD_DStreamOutSize()), alignment: 16)
            let result = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, windowLogMax)
            if ZSTD_isError(result) != 0 {
                ZSTD_freeDCtx(context); out.deallocate()
                throw SealedArchiveError(.resources, "limiting the zstd window: \(Zstd.errorName(result))")
            }
        }

        deinit {
            ZSTD_freeDCtx(context)
            out.deallocate()
        }

        /// Feeds `input`, handing output to `body`; `damaged` when the frame
        /// is corrupt or the input goes on after the frame ended.
        func feed(_ input: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
            var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
            while true {
                if isComplete {
                    guard source.pos == source.size else { throw SealedArchiveError(.damaged, "bytes follow a zstd frame of the payload") }
                    return
                }
                var output = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                let hint = ZSTD_decompressStream(context, &output, &source)
                if ZSTD_isError(hint) != 0 {
                    throw SealedArchiveError(.damaged, "a zstd frame of the payload does not decompress: \(Zstd.errorName(hint))")
                }
                if output.pos > 0 {
                    produced += UInt64(output.pos)
                    try body(UnsafeRawBufferPointer(rebasing: out[0..<output.pos]))
                }
                if hint == 0 { isComplete = true; continue }
                // All input taken and the output not full: nothing is pending.
                if source.pos == source.size && output.pos < out.count { return }
            }
        }
    }
}
