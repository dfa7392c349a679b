internal import CArchive
import Foundation
import SystemCalls

/// What packing stored.
public struct PackSummary: Sendable {
    public var files = 0
    public var directories = 0
    public var symlinks = 0
    public var hardlinks = 0
    /// Bytes of file content stored (before compression).
    public var contentBytes: UInt64 = 0
    /// When asked for: the SHA-256 (lowercase hex) of each regular file's
    /// content and each hard link's target, by path in the archive, and
    /// the text of a root `MANIFEST.sha256` as packed: what ``Manifest``
    /// checks, from the bytes that went into the archive.
    var contentDigests: [[UInt8]: String] = [:]
    var manifestText: [UInt8]?
}

/// Packs a directory into a pax tar stream through libarchive.
///
/// Entries come in a stable order (each directory's names sorted by their
/// bytes), with paths relative to the directory, so the same tree always
/// gives the same tar stream. Stored: regular files, directories (empty
/// ones too), symbolic links (never followed), hard links, mode, mtime,
/// owner and group names and ids; not stored: access and change times,
/// extended attributes, ACLs and file flags. A file whose size or mtime
/// changes while it is read is an error, never a silently short archive.
/// FIFOs, sockets and device nodes are refused.
public enum DirectoryPacker {
    /// Packs `directory` as a tar stream into `sink`: plain with
    /// `compression` none, else as the zstd frames, entry index and seek
    /// table of a format 2 payload (Spec/FORMAT-v2.md section 8), which is
    /// one valid zstd stream of the tar for any zstd reader, and exactly
    /// what `seal DIRECTORY` encrypts.
    public static func pack(directory: String, into sink: ByteSink, compression: TarCompression) throws -> PackSummary {
        try pack(directory: directory, into: sink, compression: compression, collectingDigests: false)
    }

    /// As above; with `collectingDigests`, the summary holds every file's
    /// content digest and the manifest's text (``PackSummary``).
    /// With `progress`, the contents' sizes are expected once the tree is
    /// listed and each file's bytes counted as they are read.
    static func pack(directory: String, into sink: ByteSink, compression: TarCompression, collectingDigests: Bool,
                     progress: ProgressCounter? = nil) throws -> PackSummary {
        guard compression != .none else {
            return try UTF8Locale.run {
                try packInUTF8(directory: directory, into: sink, compression: .none, framed: nil, collectingDigests: collectingDigests,
                               progress: progress)
            }
        }
        let payload = try FramedPayloadWriter(sink: sink, compression: compression)
        let summary = try pack(directory: directory, into: payload, collectingDigests: collectingDigests, progress: progress)
        try payload.finish()
        return summary
    }

    /// Packs into a format 2 tar payload (Spec/FORMAT-v2.md section 8): the
    /// uncompressed tar goes to `payload`, which frames and compresses it,
    /// each member's first header is marked there, and each member's index
    /// entry (with its content's SHA-256) is added once it is written. The
    /// caller finishes `payload`.
    static func pack(directory: String, into payload: FramedPayloadWriter, collectingDigests: Bool = false,
                     progress: ProgressCounter? = nil) throws -> PackSummary {
        try UTF8Locale.run {
            try packInUTF8(directory: directory, into: payload, compression: .none, framed: payload, collectingDigests: collectingDigests,
                           progress: progress)
        }
    }

    private static func packInUTF8(directory: String, into sink: ByteSink, compression: TarCompression,
                                   framed: FramedPayloadWriter?, collectingDigests: Bool, progress: ProgressCounter?) throws -> PackSummary {
        let rootInfo = try POSIX.attempt("cannot read directory '\(directory)'") { () throws(SystemError) in try System.status(directory) }
        guard rootInfo.st_mode & S_IFMT == S_IFDIR else {
            throw SealedArchiveError(.invalidArgument, "'\(directory)' is not a directory")
        }
        var root = Array(directory.utf8)
        while root.count > 1 && root.last == UInt8(ascii: "/") { root.removeLast() }
        // First the names (cheap: directory listings and link targets), to
        // know whether any needs to be stored as raw bytes; then the entries.
        let (paths, contentBytes) = try Packer.listing(root: root)
        progress?.expect(contentBytes)
        let packer = try Packer(sink: sink, compression: compression, binaryNames: paths.contains(where: \.needsBinaryNames),
                                framed: framed)
        packer.collectingDigests = collectingDigests
        packer.progress = progress
        for entry in paths {
            try packer.store(full: root + [UInt8(ascii: "/")] + entry.path, relative: entry.path)
        }
        try packer.tar.finish()
        return packer.summary
    }

    /// Holds the libarchive handles for one packing run.
    private final class Packer {
        let tar: TarStreamWriter
        let disk: OpaquePointer
        let resolver: OpaquePointer
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        var summary = PackSummary()
        /// Where a format 2 payload goes, which also takes the index.
        let framed: FramedPayloadWriter?
        /// Keep each file's digest and the manifest's text in `summary`.
        var collectingDigests = false
        /// Counts the contents' bytes as they are read.
        var progress: ProgressCounter?

        init(sink: ByteSink, compression: TarCompression, binaryNames: Bool, framed: FramedPayloadWriter?) throws {
            self.framed = framed
            guard let disk = archive_read_disk_new() else { throw SealedArchiveError(.resources, "out of memory: libarchive could not allocate a disk reader") }
            self.disk = disk
            guard let resolver = archive_entry_linkresolver_new() else {
                archive_read_free(disk)
                throw SealedArchiveError(.resources, "out of memory: libarchive could not allocate a link resolver")
            }
            self.resolver = resolver
            archive_entry_linkresolver_set_strategy(resolver, CARCHIVE_FORMAT_TAR_PAX_RESTRICTED)
            tar = try TarStreamWriter(sink: sink, compression: compression, binaryNames: binaryNames, unblocked: framed != nil)
            try LibArchive.check(archive_read_disk_set_standard_lookup(disk), disk, "cannot set up owner name lookup")
            try LibArchive.check(
                archive_read_disk_set_behavior(disk, CARCHIVE_READDISK_NO_XATTR | CARCHIVE_READDISK_NO_ACL | CARCHIVE_READDISK_NO_FFLAGS),
                disk, "cannot configure the disk reader")
        }

        deinit {
            secureZero(buffer)
            buffer.deallocate()
            archive_entry_linkresolver_free(resolver)
            archive_read_free(disk)
        }

        /// A name found by ``listing(root:)``.
        struct ListedPath {
            let path: [UInt8]
            /// Whether the name or the link target is not ASCII.
            let needsBinaryNames: Bool
        }

        /// Every path below `root`, each directory's names sorted by their
        /// bytes, each directory before its contents; and the bytes of
        /// content they hold (each hard-linked file once), what packing
        /// will read if nothing changes meanwhile.
        static func listing(root: [UInt8]) throws -> (paths: [ListedPath], contentBytes: UInt64) {
            var paths: [ListedPath] = []
            var contentBytes: UInt64 = 0
            var linkedFiles = Set<[UInt64]>()
            func visit(_ relative: [UInt8]) throws {
                let directory = relative.isEmpty ? root : root + [UInt8(ascii: "/")] + relative
                for name in try sortedNames(directory) {
                    let path = relative.isEmpty ? name : relative + [UInt8(ascii: "/")] + name
                    let full = root + [UInt8(ascii: "/")] + path
                    let info = try POSIX.attempt("cannot read '\(String(decoding: full, as: UTF8.self))'") { () throws(SystemError) in
                        try System.linkStatus(bytes: full)
                    }
                    var target: [UInt8] = []
                    if info.st_mode & S_IFMT == S_IFREG,
                       info.st_nlink < 2 || linkedFiles.insert([UInt64(info.st_dev), UInt64(info.st_ino)]).inserted {
                        contentBytes += UInt64(max(0, info.st_size))
                    }
                    if info.st_mode & S_IFMT == S_IFLNK {
                        target = (try? System.linkTarget(bytes: full)) ?? []
                    }
                    paths.append(ListedPath(path: path, needsBinaryNames: path.contains { $0 >= 0x80 } || target.contains { $0 >= 0x80 }))
                    if info.st_mode & S_IFMT == S_IFDIR { try visit(path) }
                }
            }
            try visit([])
            return (paths, contentBytes)
        }

        /// Stores one entry.
        func store(full: [UInt8], relative: [UInt8]) throws {
            let shown = String(decoding: full, as: UTF8.self)
            // Extraction refuses such a path (EntryPolicy): packing it
            // would make a backup that cannot be restored, found out only
            // at restore time.
            guard relative.count <= EntryPolicy.maximumPathLength else {
                throw SealedArchiveError(.invalidArgument,
                    "'\(shown)' cannot be packed: its path in the archive is \(relative.count) bytes long, over the \(EntryPolicy.maximumPathLength) bytes extraction creates, so it could never be restored")
            }
            var info = try POSIX.attempt("cannot read '\(shown)'") { () throws(SystemError) in try System.linkStatus(bytes: full) }
            var fd: Int32 = -1
            defer { if fd >= 0 { POSIX.close(fd) } }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                summary.directories += 1
            case S_IFLNK:
                summary.symlinks += 1
            case S_IFREG:
                fd = try POSIX.attempt("cannot read '\(shown)'") { () throws(SystemError) in
                    try System.open(bytes: full, flags: O_RDONLY | O_NOFOLLOW)
                }
                info = try POSIX.status(fd, what: "'\(shown)'")
            default:
                throw SealedArchiveError(.invalidArgument,
                    "'\(shown)' is a FIFO, socket or device: only files, directories and symbolic links are packed")
            }

            guard let entry = archive_entry_new2(disk) else { throw SealedArchiveError(.resources, "out of memory: libarchive could not allocate an entry") }
            defer { archive_entry_free(entry) }
            withCString(full) { archive_entry_copy_sourcepath(entry, $0) }
            withCString(relative) { archive_entry_copy_pathname(entry, $0) }
            try LibArchive.check(archive_read_disk_entry_from_file(disk, entry, fd, &info), disk, "cannot read the metadata of '\(shown)'")
            // Times that change on every read would make each tar stream
            // of the same tree different.
            // Whole seconds only (Spec/CLI.md): libarchive writes fractional
            // times before 1970 in a form other tar readers misread.
            archive_entry_set_mtime(entry, archive_entry_mtime(entry), 0)
            archive_entry_unset_atime(entry)
            archive_entry_unset_ctime(entry)
            archive_entry_unset_birthtime(entry)

            var spare: OpaquePointer?
            var linked: OpaquePointer? = entry
            // For tar formats linkify marks repeated inodes as hard links in
            // place and returns the same entry.
            archive_entry_linkify(resolver, &linked, &spare)
            let isHardlink = archive_entry_hardlink(entry) != nil
            if isHardlink { summary.hardlinks += 1 } else if fd >= 0 { summary.files += 1 }

            if collectingDigests, isHardlink, let target = archive_entry_hardlink(entry) {
                let targetPath = Array(String(cString: target).utf8)
                summary.contentDigests[relative] = summary.contentDigests[targetPath]
            }
            let isManifest = collectingDigests && relative == Manifest.name
            guard let framed else {
                try tar.writeHeader(entry, name: shown)
                if fd >= 0 && !isHardlink {
                    let sha256 = try copyContents(fd: fd, expected: info, name: shown, hashing: collectingDigests, keepingText: isManifest)
                    if let sha256 { summary.contentDigests[relative] = HexCoding.encode(sha256) }
                }
                return
            }
            // The previous member's padding first: then the tar's length is
            // this member's header offset.
            try tar.finishEntry(name: shown)
            let headerOffset = framed.tarLength
            try framed.memberStarts(size: info.st_mode & S_IFMT == S_IFREG && !isHardlink ? UInt64(max(0, info.st_size)) : 0)
            try tar.writeHeader(entry, name: shown)
            let sha256 = fd >= 0 && !isHardlink ? try copyContents(fd: fd, expected: info, name: shown, hashing: true, keepingText: isManifest) : nil
            if collectingDigests, let sha256 { summary.contentDigests[relative] = HexCoding.encode(sha256) }
            try framed.append(IndexEntry(TarEntry(libarchiveEntry: entry, headerOffset: Int64(headerOffset)),
                                         headerOffset: headerOffset, sha256: sha256))
        }

        /// Copies a regular file's contents, failing if it is not exactly the
        /// size it had when its header was written, or changed meanwhile.
        /// With `hashing`, returns the content's SHA-256 (for the index);
        /// with `keepingText`, keeps the content in `summary.manifestText`.
        private func copyContents(fd: Int32, expected: stat, name: String, hashing: Bool, keepingText: Bool = false) throws -> [UInt8]? {
            let size = UInt64(expected.st_size)
            if keepingText {
                guard size <= UInt64(Manifest.maximumSize) else {
                    throw SealedArchiveError(.manifest, "MANIFEST.sha256 is larger than \(Manifest.maximumSize >> 20) MiB")
                }
                summary.manifestText = []
            }
            var total: UInt64 = 0
            let hasher = hashing ? try SHA256() : nil
            while true {
                let n = try POSIX.read(fd, into: buffer, what: "'\(name)'")
                if n == 0 { break }
                total += UInt64(n)
                guard total <= size else {
                    throw SealedArchiveError(.io, "'\(name)' grew while it was being read: pack it again when nothing writes to it")
                }
                let piece = UnsafeRawBufferPointer(rebasing: buffer[..<n])
                hasher?.update(piece)
                progress?.add(n)
                if keepingText { summary.manifestText?.append(contentsOf: piece) }
                try tar.writeData(piece, name: name)
            }
            let after = try POSIX.status(fd, what: "'\(name)'")
            guard total == size, after.st_size == expected.st_size,
                  after.st_mtim.tv_sec == expected.st_mtim.tv_sec, after.st_mtim.tv_nsec == expected.st_mtim.tv_nsec else {
                throw SealedArchiveError(.io, "'\(name)' changed while it was being read: pack it again when nothing writes to it")
            }
            summary.contentBytes += total
            return hasher?.finalize()
        }

        /// The names in a directory, byte-wise sorted, without `.` and `..`.
        static func sortedNames(_ directory: [UInt8]) throws -> [[UInt8]] {
            try POSIX.attempt("cannot list '\(String(decoding: directory, as: UTF8.self))'") { () throws(SystemError) in
                try System.directoryNames(bytes: directory)
            }.sorted { $0.lexicographicallyPrecedes($1) }
        }
    }
}
