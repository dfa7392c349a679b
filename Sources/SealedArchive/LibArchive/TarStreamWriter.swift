internal import CArchive
import Foundation

/// How a tar stream is compressed (through libarchive's filters).
public enum TarCompression: Sendable, Equatable, CustomStringConvertible {
    case none
    /// zstd at a level from 1 to 19, using every core.
    case zstd(level: Int)

    /// zstd level 3, the level `zstd` itself defaults to: a format 2
    /// payload's independent frames keep memory bounded at it.
    public static let `default` = TarCompression.zstd(level: 3)

    /// Parses `none`, `zstd` or `zstd:LEVEL`.
    public init(parsing text: String) throws {
        if text == "none" { self = .none; return }
        if text == "zstd" { self = .default; return }
        if text.hasPrefix("zstd:"), let level = Int(text.dropFirst(5)), (1...19).contains(level) {
            self = .zstd(level: level); return
        }
        throw SealedArchiveError(.invalidArgument, "compression '\(text)' is not one of none, zstd, zstd:1 … zstd:19")
    }

    public var description: String {
        switch self {
        case .none: return "none"
        case .zstd(let level): return "zstd:\(level)"
        }
    }

    var headerValue: Compression { self == .none ? .none : .zstd }
}

/// A pax tar stream written through libarchive to a ``ByteSink``, compressed
/// as asked. Owns the libarchive handle: ``finish()`` writes the end of the
/// archive; releasing it unfinished marks the archive failed first, so no
/// valid-looking end is ever written after an error.
final class TarStreamWriter {
    private let handle: OpaquePointer
    private let context: CallbackContext
    private let retained: Unmanaged<CallbackContext>
    private var finished = false

    /// The corresponding C functions are `archive_write_new`,
    /// `archive_write_set_format_pax_restricted`, `archive_write_add_filter_zstd`
    /// and `archive_write_open2`.
    /// - Parameter binaryNames: store names as raw bytes (pax
    ///   `hdrcharset=BINARY`, a pax header on every entry). Needed when any
    ///   name or link target is not ASCII: libarchive reads UTF-8 pax names
    ///   back normalised to NFC, which would turn a decomposed "école" into
    ///   another name than was backed up, and cannot store names that are
    ///   not UTF-8 at all. It is set for the whole stream because libarchive
    ///   takes format options only before the first entry.
    /// - Parameter unblocked: hand each piece of tar to the sink as soon as
    ///   libarchive makes it, instead of in 10 KiB blocks, so the sink's
    ///   byte count is the tar offset of what comes next (a member's header
    ///   offset, after ``finishEntry()``).
    init(sink: ByteSink, compression: TarCompression, binaryNames: Bool = false, unblocked: Bool = false) throws {
        guard let handle = archive_write_new() else { throw SealedArchiveError(.resources, "out of memory: libarchive could not allocate a writer") }
        self.handle = handle
        context = CallbackContext(sink: sink)
        retained = Unmanaged.passRetained(context)
        // pax only where ustar cannot say it (long or non-ASCII names, large
        // sizes): plain tar tools read the result.
        try LibArchive.check(archive_write_set_format_pax_restricted(handle), handle, "cannot select the pax tar format")
        if binaryNames {
            try LibArchive.check(archive_write_set_format_option(handle, "pax", "hdrcharset", "BINARY"), handle, "cannot configure pax names")
        }

        switch compression {
        case .none:
            try LibArchive.check(archive_write_add_filter_none(handle), handle, "cannot select no compression")
        case .zstd(let level):
            try LibArchive.check(archive_write_add_filter_zstd(handle), handle, "cannot select zstd compression")
            try LibArchive.check(archive_write_set_filter_option(handle, "zstd", "compression-level", "\(level)"), handle, "cannot set the zstd level")
            try LibArchive.check(archive_write_set_filter_option(handle, "zstd", "threads", "\(ProcessInfoCores.count)"), handle, "cannot set zstd threads")
        }
        if unblocked {
            try LibArchive.check(archive_write_set_bytes_per_block(handle, 0), handle, "cannot configure the tar writer")
        }
        // No padding of the last block: the stream ends where the data does.
        try LibArchive.check(archive_write_set_bytes_in_last_block(handle, 1), handle, "cannot configure the tar writer")
        let opened = archive_write_open2(handle, retained.toOpaque(), nil, CallbackContext.write, nil, nil)
        try context.rethrowRecorded()
        try LibArchive.check(opened, handle, "cannot start the tar stream")
    }

    deinit {
        if !finished {
            archive_write_fail(handle)
            // libarchive 3.6 frees the output block (10 KiB) that
            // archive_write_open2 allocates only in archive_write_close,
            // which archive_write_free skips after archive_write_fail: a
            // leak per failed stream (LeakSanitizer). Close here too, with
            // the callback dropping everything, so the end-of-archive
            // marker close writes never reaches the sink after an error.
            context.discarding = true
            archive_write_close(handle)
        }
        archive_write_free(handle)
        retained.release()
    }

    /// Writes an entry's header.
    ///
    /// The corresponding C function is `archive_write_header`.
    func writeHeader(_ entry: OpaquePointer, name: String) throws {
        let result = archive_write_header(handle, entry)
        try context.rethrowRecorded()
        try LibArchive.check(result, handle, "cannot store '\(name)'")
    }

    /// Writes entry data; all of it or an error.
    ///
    /// The corresponding C function is `archive_write_data`.
    func writeData(_ bytes: UnsafeRawBufferPointer, name: String) throws {
        let written = archive_write_data(handle, bytes.baseAddress, bytes.count)
        try context.rethrowRecorded()
        guard written == bytes.count else { throw LibArchive.error(handle, "cannot store the contents of '\(name)'") }
    }

    /// Ends the current entry: its data's padding to 512 bytes is written,
    /// so the next header starts at the sink's byte count.
    ///
    /// The corresponding C function is `archive_write_finish_entry`.
    func finishEntry(name: String) throws {
        let result = archive_write_finish_entry(handle)
        try context.rethrowRecorded()
        try LibArchive.check(result, handle, "cannot finish storing '\(name)'")
    }

    /// Ends the tar stream and flushes the compressor.
    ///
    /// The corresponding C function is `archive_write_close`.
    func finish() throws {
        let result = archive_write_close(handle)
        try context.rethrowRecorded()
        try LibArchive.check(result, handle, "cannot finish the tar stream")
        finished = true
    }
}
