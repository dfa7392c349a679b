import Foundation
import SystemCalls

/// Options for reading the tar payload of an archive.
public struct RestoreOptions: Sendable {
    /// Restore symbolic links whose target leaves the destination, as stored.
    public var allowEscapingSymlinks = false
    /// Check MANIFEST.sha256 when the archive holds one at its root.
    public var checkManifest = true
    /// Decompression-bomb limit: the content extracted may not exceed
    /// `1 GiB + maxExpansion × (payload bytes read so far)`. 0 disables it.
    public var maxExpansion: UInt64 = 200
    /// The decompression-bomb limit once `inputBytes` of payload were read:
    /// `1 GiB + maxExpansion × inputBytes`, saturating; none when 0.
    func expansionLimit(inputBytes: UInt64) -> UInt64 {
        guard maxExpansion > 0 else { return .max }
        let (scaled, overflow) = maxExpansion.multipliedReportingOverflow(by: inputBytes)
        let (limit, over) = scaled.addingReportingOverflow(1 << 30)
        return overflow || over ? .max : limit
    }

    /// The one refusal of the limit, for the entry that crossed it.
    func expansionRefusal(_ name: String) -> SealedArchiveError {
        SealedArchiveError(.unsafeEntry,
            "refusing entry '\(name)': the contents expand to over \(maxExpansion) times the archive's size (a decompression bomb?); --max-expansion raises the limit")
    }

    /// `--only`: restore (or list) just these paths, each with everything
    /// below it when it is a directory; nil restores everything.
    public var only: [String]?
    public init() {}
}

/// What the tar payload held, and what was checked.
public struct ContentsSummary: Sendable {
    public var files = 0
    public var directories = 0
    public var symlinks = 0
    public var hardlinks = 0
    /// Bytes of file content.
    public var contentBytes: UInt64 = 0
    /// Files whose MANIFEST.sha256 digest was checked; nil when there was
    /// no manifest or checking was turned off (see `manifestSkipped`).
    public var manifestFilesChecked: Int?
    public var manifestSkipped = false
    /// The archive-level result (chunks, digest, signer).
    public var archive: ReadResult?
}

/// One entry, as `--list` shows it.
public struct ListedEntry: Sendable {
    public let path: String
    public let kind: String
    public let size: Int64
    public let permissions: UInt32
    public let modified: Int64
    public let linkTarget: String?
}

/// Reading an archive's tar payload: extracting it safely, checking it
/// without writing, listing it, or writing the decompressed tar stream.
/// Every function takes an ``UnlockedArchiveReader`` and reads it whole, so
/// every archive check of Spec/FORMAT.md is made too.
public enum Restore {
    /// Extracts into `destination`, which must not exist or be an empty
    /// directory. Everything goes into a staging directory beside it that is
    /// renamed to `destination` only after the last chunk authenticated,
    /// every entry was written and the manifest matched; on any failure the
    /// staging directory is removed and nothing appears at `destination`.
    ///
    /// `cancellation` is checked between blocks; once cancelled, extraction
    /// stops with ``Cancellation/interrupted`` and leaves nothing, unless the
    /// tree was already moved into place (then it returns normally).
    public static func extract(_ reader: UnlockedArchiveReader, to destination: String, options: RestoreOptions,
                               cancellation: Cancellation = Cancellation()) throws -> ContentsSummary {
        try extract(reader, to: destination, options: options, cancellation: cancellation, flush: flushFileSystem)
    }

    /// ``extract(_:to:options:cancellation:)`` with the flush of the staged
    /// tree as a parameter (tests observe it).
    package static func extract(_ reader: UnlockedArchiveReader, to destination: String, options: RestoreOptions,
                                cancellation: Cancellation, flush: (String) throws -> Void) throws -> ContentsSummary {
        try requireTar(reader)
        return try staged(to: destination, cancellation: cancellation, flush: flush) { staging in
            try walk(reader, options: options, staging: Array(staging.utf8), list: nil, cancellation: cancellation)
        }
    }

    /// Runs `extract` into a staging directory beside `destination` and
    /// moves the tree there only once it returned and the tree is flushed;
    /// on any failure the staging directory is removed and nothing appears
    /// at `destination`.
    static func staged(to destination: String, cancellation: Cancellation, flush: (String) throws -> Void,
                       _ extract: (_ staging: String) throws -> ContentsSummary) throws -> ContentsSummary {
        let target = try ExtractionTarget(destination)
        let (staging, registration) = try TemporaryFiles.makeDirectory(
            PathName.join(target.parent, ".\(PathName.shortenedName(target.name, limit: 200)).staging.XXXXXX"),
            what: "a staging directory in '\(shownPath(target.parent))'")
        defer { TemporaryFiles.unregister(registration) }
        do {
            let summary = try extract(staging)
            // Flush everything extracted before it appears under its name
            // (libarchive does not fsync the files it writes).
            try flush(staging)
            // The commit point: cancellation (or a termination signal, which
            // closes the registry) either comes before it (nothing appears
            // at the destination) or after it (the tree is complete there),
            // never in between.
            try cancellation.commit {
                try TemporaryFiles.commit {
                    if target.existedEmpty { try? System.removeDirectory(target.path) }
                    try POSIX.attempt("cannot move the extracted tree to '\(shownPath(destination))'") { () throws(SystemError) in
                        try System.rename(staging, target.path)
                    }
                }
            }
            AtomicFileSink.syncDirectory(target.parent)
            return summary
        } catch {
            removeTree(staging)
            throw error
        }
    }

    /// Flushes the filesystem that holds `staging` to stable storage.
    ///
    /// Why `syncfs` and not an fsync per file: libarchive's disk writer
    /// creates and closes the files itself and never hands out their
    /// descriptors, so per-file fsync would mean reopening every file and
    /// directory of the tree afterwards (one open, fsync and close each;
    /// slow for many small files). `syncfs` flushes the one filesystem the
    /// tree is on in a single call, letting the kernel write it out in
    /// order, and, unlike `sync()`, leaves every other filesystem alone.
    /// The staging directory and the destination share that filesystem
    /// (the tree is moved in by rename), so it covers the commit too.
    static func flushFileSystem(_ staging: String) throws {
        try POSIX.attempt("cannot flush the extracted files in '\(shownPath(staging))' to disk") { () throws(SystemError) in
            let fd = try System.open(staging, flags: O_RDONLY | O_DIRECTORY)
            defer { try? System.close(fd) }
            try System.syncFileSystem(fd)
        }
    }

    /// Removes a staging tree, first making its directories writable: an
    /// archive may hold read-only directories, which would otherwise keep
    /// their contents from being removed.
    static func removeTree(_ path: String) {
        if let walker = FileManager.default.enumerator(atPath: path) {
            try? System.setMode(path, 0o700)
            while let relative = walker.nextObject() as? String {
                let full = path + "/" + relative
                if let info = try? System.linkStatus(full), info.st_mode & S_IFMT == S_IFDIR { try? System.setMode(full, 0o700) }
            }
        }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Reads every entry and its content, applying the same checks as
    /// extraction (entry safety, size limit, manifest), writing nothing.
    /// `list` is called for each entry.
    public static func check(_ reader: UnlockedArchiveReader, options: RestoreOptions, cancellation: Cancellation = Cancellation(),
                             list: ((ListedEntry) throws -> Void)? = nil) throws -> ContentsSummary {
        try requireTar(reader)
        return try walk(reader, options: options, staging: nil, list: list, cancellation: cancellation)
    }

    /// Writes the payload decompressed (for a tar payload: the plain tar
    /// stream) to `sink`.
    public static func writeDecompressed(_ reader: UnlockedArchiveReader, into sink: ByteSink) throws -> ReadResult {
        guard reader.header.compression != .none else { return try reader.decrypt(into: sink) }
        let plaintext = try reader.plaintext()
        if reader.header.version == .v2 {
            // Format 2: the frames' tar goes to the sink as it is parsed, so
            // the stored index is checked against it like any whole read.
            let framed = try FramedPayloadReader(source: plaintext)
            let index = try EntryIndexHasher()
            try TarIndexing.forEachEntry(in: TeeSource(framed, copyingTo: sink)) { try index.append($0) }
            try checkIndex(of: framed, against: index)
            return try drain(plaintext)
        }
        let raw = try TarStreamReader(source: plaintext, raw: true)
        guard try raw.next() != nil else { throw SealedArchiveError(.payload, "the archive's payload is empty") }
        while let block = try raw.nextBlock() { try sink.write(block.bytes) }
        try raw.close()
        return try drain(plaintext)
    }

    /// A format 2 tar with more than zeros after its end-of-archive marker
    /// [`damaged`]: what follows would be carried but never restored.
    static let dataAfterEnd = SealedArchiveError(.damaged,
        "payload: the archive holds data after the end of its tar, which no reader would restore: it is damaged, or was not made by sealed-archive")

    /// Format 2, once the tar was read: the rest of the payload (the tar's
    /// unread end, the index frame, the seek frame) and the checks of
    /// Spec/FORMAT-v2.md 8.1 for a reader of the whole payload: the stored
    /// index is exactly what the tar makes, the seek table describes the
    /// frames, and nothing but zeros follows the end-of-archive marker
    /// [`damaged`].
    private static func checkIndex(of framed: FramedPayloadReader, against index: EntryIndexHasher) throws {
        let stored = try framed.finish()
        guard stored.unreadTarIsZero else {
            throw dataAfterEnd
        }
        let derived = index.finalize()
        guard stored.storedIndex.matches(derived) else {
            throw SealedArchiveError(.damaged,
                "payload: the entry index does not describe the tar stored with it (\(stored.storedIndex.count) entries stored, \(derived.count) in the tar, or an entry differs)")
        }
    }

    private static func requireTar(_ reader: UnlockedArchiveReader) throws {
        guard reader.header.payloadKind == .tar else {
            throw SealedArchiveError(.invalidArgument, "the archive holds a byte stream, not a directory: open it with -o FILE instead")
        }
    }

    /// Reads what libarchive left unread after the end of the tar stream
    /// (block padding), so the trailer is checked; returns the result.
    private static func drain(_ plaintext: PlaintextSource) throws -> ReadResult {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { scratch.deallocate() }
        while try plaintext.read(into: scratch) > 0 {}
        return plaintext.result!
    }

    /// `open --only FILE -o OUT`: the content of the one regular file
    /// `options.only` names, written to `sink` as it is read (holes as
    /// zeros), with every check of a whole read: each chunk, the digest and
    /// signature, the entry's place in the tar, and MANIFEST.sha256 when it
    /// lists the file (checked at the end: on a stream, a non-zero exit
    /// means the bytes written must not be trusted). Anything but one
    /// regular file is refused [`invalidArgument`].
    public static func writeEntry(_ reader: UnlockedArchiveReader, into sink: ByteSink, options: RestoreOptions,
                                  cancellation: Cancellation = Cancellation()) throws -> ContentsSummary {
        try requireTar(reader)
        try requireOneEntry(options)
        return try walk(reader, options: options, staging: nil, list: nil, contentSink: sink, cancellation: cancellation)
    }

    /// `--only` with `-o` names exactly one entry.
    static func requireOneEntry(_ options: RestoreOptions) throws {
        guard options.only?.count == 1 else {
            throw SealedArchiveError(.invalidArgument, "-o writes one file's content: give exactly one --only FILE (several, or a directory, go to -C DEST)")
        }
    }

    private static func walk(_ reader: UnlockedArchiveReader, options: RestoreOptions, staging: [UInt8]?,
                             list: ((ListedEntry) throws -> Void)?, contentSink: ByteSink? = nil,
                             cancellation: Cancellation) throws -> ContentsSummary {
        try UTF8Locale.run {
            try walkInUTF8(reader, options: options, staging: staging, list: list, contentSink: contentSink, cancellation: cancellation)
        }
    }

    private static func walkInUTF8(_ reader: UnlockedArchiveReader, options: RestoreOptions, staging: [UInt8]?,
                                   list: ((ListedEntry) throws -> Void)?, contentSink: ByteSink?,
                                   cancellation: Cancellation) throws -> ContentsSummary {
        let plaintext = try reader.plaintext()
        // Format 2: the frames are decompressed on every core, and the
        // stored index is checked against the tar as it is read.
        let framed = reader.header.version == .v2 ? try FramedPayloadReader(source: plaintext) : nil
        let index = framed == nil ? nil : try EntryIndexHasher()
        let tar = try TarStreamReader(source: framed ?? plaintext, decompressing: framed == nil)
        // The size limit scales with the payload read: format 2's frames
        // as far as their output was handed out (not its read-ahead).
        var walk = TarWalk(options: options, cancellation: cancellation,
                           inputBytes: { framed?.compressedBytesDelivered ?? plaintext.bytesRead })
        walk.staging = staging
        walk.list = list
        walk.contentSink = contentSink
        walk.selection = try options.only.map { try OnlySelection($0) }
        if let index { walk.observe = { entry, sha256 in try index.append(IndexEntry(entry, sha256: sha256)) } }
        return try walk.run(tar) {
            if let framed, let index {
                try tar.requireOnlyZerosAfterEnd(of: framed, orThrow: dataAfterEnd)
                try checkIndex(of: framed, against: index)
            }
            return try drain(plaintext)
        }
    }

    static func kindName(_ kind: TarEntry.Kind) -> String {
        switch kind {
        case .file: return "file"
        case .directory: return "directory"
        case .symlink: return "symlink"
        case .hardlink: return "hardlink"
        case .other(let what): return what
        }
    }
}
