internal import CArchive
import Foundation

/// One entry of a tar stream, as read: the path and link targets as raw
/// bytes (names need not be UTF-8), and the metadata extraction needs.
struct TarEntry {
    enum Kind: Equatable {
        case file, directory, symlink, hardlink
        case other(String)
    }
    let path: [UInt8]
    let kind: Kind
    let size: Int64
    let permissions: UInt32
    let modified: Int64
    let symlinkTarget: [UInt8]?
    let hardlinkTarget: [UInt8]?
    /// libarchive's entry: valid until the next header is read; nil for
    /// an entry described by the index, not read from a tar.
    let handle: OpaquePointer?
    /// The offset, in the (decompressed) tar stream, of the first header
    /// block libarchive read for this entry (a pax or GNU long-name header
    /// when there is one).
    var headerOffset: Int64 = 0

    var shownPath: String { shownName(path) }
}

extension TarEntry {
    /// What libarchive's `entry` says, read the one way both the reader and
    /// the packer (for the index of what it wrote) read it.
    init(libarchiveEntry entry: OpaquePointer, headerOffset: Int64) {
        let path = archive_entry_pathname(entry).map { Array(UnsafeRawBufferPointer(start: $0, count: strlen($0))) } ?? []
        let hardlink = archive_entry_hardlink(entry).map { Array(UnsafeRawBufferPointer(start: $0, count: strlen($0))) }
        let symlink = archive_entry_symlink(entry).map { Array(UnsafeRawBufferPointer(start: $0, count: strlen($0))) }
        let type = UInt32(archive_entry_filetype(entry))
        let kind: TarEntry.Kind
        if hardlink != nil {
            kind = .hardlink
        } else {
            switch type {
            case CARCHIVE_AE_IFREG: kind = .file
            case CARCHIVE_AE_IFDIR: kind = .directory
            case CARCHIVE_AE_IFLNK: kind = .symlink
            case UInt32(Glibc.S_IFCHR): kind = .other("a character device")
            case UInt32(Glibc.S_IFBLK): kind = .other("a block device")
            case UInt32(Glibc.S_IFIFO): kind = .other("a FIFO")
            case UInt32(Glibc.S_IFSOCK): kind = .other("a socket")
            default: kind = .other("of unknown type \(type)")
            }
        }
        self.init(path: path, kind: kind, size: archive_entry_size(entry),
                  permissions: UInt32(archive_entry_perm(entry)), modified: Int64(archive_entry_mtime(entry)),
                  symlinkTarget: symlink, hardlinkTarget: hardlink, handle: entry, headerOffset: headerOffset)
    }
}

/// Reads a tar stream (compressed with zstd or not, detected) through
/// libarchive from a ``ByteSource``. With `raw`, reads instead the
/// decompressed bytes of any stream, whatever they hold.
final class TarStreamReader {
    private let handle: OpaquePointer
    private let context: CallbackContext
    private let retained: Unmanaged<CallbackContext>
    private var closed = false

    /// The corresponding C functions are `archive_read_new`,
    /// `archive_read_support_filter_zstd`, `archive_read_support_format_tar`
    /// and `archive_read_open`.
    /// How errors name the stream: the archive's (reading a payload) or
    /// the input's (sealing a tar).
    private let subject: String

    /// - Parameter subject: how errors name the stream, "the archive's" by
    ///   default.
    /// - Parameter decompressing: whether the stream may be zstd-compressed
    ///   (a format 1 payload, an input to seal); false for a tar already
    ///   decompressed (format 2's frames), which must then be read as the
    ///   tar it is: with the filter on, libarchive would take a skippable
    ///   frame's magic in a header for zstd and read a tar hidden inside.
    init(source: ByteSource, raw: Bool = false, subject: String = "the archive's", decompressing: Bool = true) throws {
        self.subject = subject
        guard let handle = archive_read_new() else { throw SealedArchiveError(.resources, "out of memory: libarchive could not allocate a reader") }
        self.handle = handle
        context = CallbackContext(source: source, bufferSize: 1 << 20)
        retained = Unmanaged.passRetained(context)
        if decompressing {
            try LibArchive.check(archive_read_support_filter_zstd(handle), handle, "cannot enable zstd")
        }
        if raw {
            try LibArchive.check(archive_read_support_format_raw(handle), handle, "cannot enable raw reading")
        } else {
            try LibArchive.check(archive_read_support_format_tar(handle), handle, "cannot enable tar")
        }
        let opened = archive_read_open(handle, retained.toOpaque(), nil, CallbackContext.read, nil)
        try context.rethrowRecorded()
        try LibArchive.check(opened, handle, "\(subject) contents are not a tar stream", code: .payload)
    }

    deinit {
        if !closed { archive_read_close(handle) }
        archive_read_free(handle)
        retained.release()
    }

    /// Whether libarchive found the stream zstd-compressed (the filter
    /// next to the format is zstd).
    ///
    /// The corresponding C function is `archive_filter_code`.
    var isZstdCompressed: Bool { archive_filter_code(handle, 0) == ARCHIVE_FILTER_ZSTD }

    /// The next entry, or nil at the end of the tar stream.
    ///
    /// The corresponding C function is `archive_read_next_header`.
    func next() throws -> TarEntry? {
        var entry: OpaquePointer?
        let result = archive_read_next_header(handle, &entry)
        try context.rethrowRecorded()
        if result == CARCHIVE_EOF {
            // Now, before a close could reset libarchive's counts.
            consumedAtEnd = archive_filter_bytes(handle, 0)
            return nil
        }
        try LibArchive.check(result, handle, "\(subject) tar stream is malformed", code: .payload)
        guard let entry else { throw SealedArchiveError(.payload, "\(subject) tar stream is malformed") }
        return TarEntry(libarchiveEntry: entry, headerOffset: archive_read_header_position(handle))
    }

    /// The next block of the current entry's data and its offset in the
    /// entry, or nil at the entry's end.
    ///
    /// The corresponding C function is `archive_read_data_block`.
    func nextBlock() throws -> (bytes: UnsafeRawBufferPointer, offset: Int64)? {
        var buffer: UnsafeRawPointer?
        var size = 0
        var offset: Int64 = 0
        let result = archive_read_data_block(handle, &buffer, &size, &offset)
        try context.rethrowRecorded()
        if result == CARCHIVE_EOF { return nil }
        try LibArchive.check(result, handle, "\(subject) tar stream is malformed", code: .payload)
        return (UnsafeRawBufferPointer(start: buffer, count: size), offset)
    }

    /// Once ``next()`` returned nil, for a stream read without decompressing:
    /// the count of bytes libarchive consumed, up to the end of the
    /// end-of-archive marker it stopped at, and whether every byte it was
    /// handed beyond them is zero. libarchive reads ahead of what it
    /// parses; bytes it was handed after the marker are not looked at by
    /// it, and are not the source's to check any more.
    ///
    /// The corresponding C function is `archive_filter_bytes` (called when
    /// the end is met).
    func endOfArchive() throws -> (consumed: Int64, restIsZero: Bool) {
        guard let consumed = consumedAtEnd else {
            throw SealedArchiveError(.invalidArgument, "the tar stream's end was asked for before it was reached")
        }
        return (consumed, context.handedBytesAreZero(from: consumed))
    }

    /// What libarchive had consumed when ``next()`` met the end.
    private var consumedAtEnd: Int64?

    /// Once ``next()`` returned nil: requires that nothing but zero bytes
    /// follows the end-of-archive marker, in what libarchive was handed
    /// (``endOfArchive()``) and in what `source` still holds, read to its
    /// end here. A tar stream ends with its marker followed only by zeros
    /// (Spec/FORMAT-v2.md section 8): anything else, such as a second tar
    /// appended to the first, would be carried in an archive but never
    /// restored. `refusal` is thrown otherwise.
    func requireOnlyZerosAfterEnd(of source: ByteSource, orThrow refusal: SealedArchiveError) throws {
        guard try endOfArchive().restIsZero else { throw refusal }
        try source.readToEnd { guard $0.isAllZero else { throw refusal } }
    }

    /// Finishes reading.
    ///
    /// The corresponding C function is `archive_read_close`.
    func close() throws {
        closed = true
        let result = archive_read_close(handle)
        try context.rethrowRecorded()
        try LibArchive.check(result, handle, "cannot finish reading the tar stream", code: .payload)
    }
}

/// Writes entries to disk through libarchive, refusing to follow symbolic
/// links or `..` in paths, never overwriting, and restoring the permissions
/// of files and links (stripped of setuid, setgid and sticky bits) and
/// modification times. Directories are created 0700, whatever the entry
/// says: libarchive would apply a stored 0000 or 0600 when it closes, and a
/// directory its owner cannot search or write would then keep the caller
/// from giving the directories inside it their modes (as a user other than
/// root). The caller applies directory modes and times itself, deepest
/// first, after ``close()``. Parents that no entry names are created by
/// libarchive writable by their owner too (mode 0777 less the umask, at
/// least 0700 while extracting).
final class DiskWriter {
    private let handle: OpaquePointer
    private var closed = false

    /// The corresponding C functions are `archive_write_disk_new` and
    /// `archive_write_disk_set_options`.
    init() throws {
        guard let handle = archive_write_disk_new() else { throw SealedArchiveError(.resources, "out of memory: libarchive could not allocate a disk writer") }
        self.handle = handle
        let options = CARCHIVE_EXTRACT_SECURE | CARCHIVE_EXTRACT_TIME | CARCHIVE_EXTRACT_PERM | CARCHIVE_EXTRACT_NO_OVERWRITE
        try LibArchive.check(archive_write_disk_set_options(handle, options), handle, "cannot configure extraction")
    }

    deinit {
        if !closed { archive_write_close(handle) }
        archive_write_free(handle)
    }

    /// Creates the entry at `path` (absolute, inside the staging directory).
    func create(_ entry: TarEntry, at path: [UInt8], hardlinkTo target: [UInt8]?) throws {
        guard let handle = entry.handle else {
            throw SealedArchiveError(.invalidArgument, "'\(entry.shownPath)' was not read from a tar stream and cannot be extracted")
        }
        withCString(path) { archive_entry_copy_pathname(handle, $0) }
        if let target { withCString(target) { archive_entry_copy_hardlink(handle, $0) } }
        // Setuid, setgid and sticky bits are never restored; a directory's
        // own mode comes last (see above).
        archive_entry_set_perm(handle, entry.kind == .directory ? 0o700 : mode_t(entry.permissions & 0o777))
        try LibArchive.check(archive_write_header(self.handle, handle), self.handle, "cannot extract '\(entry.shownPath)'")
    }

    func write(_ block: UnsafeRawBufferPointer, at offset: Int64, name: String) throws {
        let written = archive_write_data_block(handle, block.baseAddress, block.count, offset)
        try LibArchive.check(Int32(truncatingIfNeeded: written), handle, "cannot write '\(name)'")
    }

    func finishEntry(name: String) throws {
        try LibArchive.check(archive_write_finish_entry(handle), handle, "cannot finish '\(name)'")
    }

    /// Applies deferred directory permissions and times.
    func close() throws {
        closed = true
        try LibArchive.check(archive_write_close(handle), handle, "cannot finish extraction")
    }
}

func withCString<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
    (bytes + [0]).withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) } }
}
