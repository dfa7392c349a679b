import Foundation
import SystemCalls

/// One pass over a tar stream with extraction's rules: every entry admitted
/// by ``EntryPolicy``, its content hashed (holes as zeros), the size limit
/// applied, MANIFEST.sha256 checked, and, given a staging directory, the
/// entries written there and directory modes and times applied last,
/// deepest first. Full extraction, `verify -i`, `--list`, and `--only`
/// (streamed, or over the index's ranges) all walk here, so they apply the
/// same rules.
struct TarWalk {
    let options: RestoreOptions
    let cancellation: Cancellation
    /// The archive bytes read so far: the decompression-bomb limit scales
    /// with them.
    let inputBytes: () -> UInt64
    /// Where to extract; nil to check (and list) without writing.
    var staging: [UInt8]?
    var list: ((ListedEntry) throws -> Void)?
    /// `--only`: the entries to extract and list; the others are read and
    /// checked but not written. nil: every entry.
    var selection: OnlySelection?
    /// Called with every entry as soon as its header is read, before it is
    /// admitted, written or hashed (a partial restore compares it with the
    /// index here, so a lying header costs nothing).
    var inspect: ((TarEntry) throws -> Void)?
    /// Called with every entry, selected or not, in tar order, and its
    /// content's SHA-256 (regular files): the index check.
    var observe: ((TarEntry, [UInt8]?) throws -> Void)?
    /// The manifest's text when it was read elsewhere (a partial read
    /// fetches it by the index); else it is taken from the stream.
    var manifestText: [UInt8]?
    /// `open --only FILE -o OUT`: the selected entries' content goes here
    /// (holes as zeros), and each selected entry must be a regular file.
    var contentSink: ByteSink?

    init(options: RestoreOptions, cancellation: Cancellation, inputBytes: @escaping () -> UInt64) {
        self.options = options
        self.cancellation = cancellation
        self.inputBytes = inputBytes
    }

    /// Walks `tar` to its end; `finishing` runs once the tar is read (to
    /// check what follows it) and before directories get their modes; its
    /// result becomes the summary's `archive`.
    func run(_ tar: TarStreamReader, finishing: () throws -> ReadResult?) throws -> ContentsSummary {
        let disk = try staging.map { _ in try DiskWriter() }
        var policy = EntryPolicy(allowEscapingSymlinks: options.allowEscapingSymlinks)
        var summary = ContentsSummary()
        var digests: [[UInt8]: String] = [:]
        var manifestText = self.manifestText
        var extracted: UInt64 = 0
        /// Regular files written, for `--only`'s hard links.
        var restoredFiles = Set<[UInt8]>()
        var selection = self.selection
        // Every directory is created 0700 (DiskWriter), so that a stored 0000
        // or 0500 cannot keep entries out of it, and libarchive leaves an
        // existing directory's mode and time alone (a directory entry after
        // its contents, as `find -depth` lists them). Stored modes and times
        // are applied here, deepest first, once all is written: a directory
        // is changed only after everything below it, while it and its
        // parents can still be searched.
        var directoryMetadata: [(path: [UInt8], permissions: UInt32, modified: Int64)] = []

        func countTowardsLimit(_ bytes: Int, name: String) throws {
            extracted += UInt64(bytes)
            guard extracted <= options.expansionLimit(inputBytes: inputBytes()) else { throw options.expansionRefusal(name) }
        }

        while let entry = try tar.next() {
            try cancellation.check()
            try inspect?(entry)
            guard let path = try policy.admit(entry) else {
                try observe?(entry, nil)
                continue
            }
            let name = shownName(path)
            let selected = selection?.select(path) ?? true
            let readsManifest = path == Manifest.name && options.checkManifest && self.manifestText == nil
            if selected, contentSink != nil {
                try Self.requireFile(entry, path: path)
            }
            if selected {
                try list?(ListedEntry(path: name, kind: Restore.kindName(entry.kind), size: entry.size, permissions: entry.permissions & 0o777,
                                      modified: entry.modified, linkTarget: (entry.symlinkTarget ?? entry.hardlinkTarget).map(shownName)))
            }
            let target = try entry.hardlinkTarget.flatMap { try EntryPolicy.normalize($0) }
            if case .hardlink = entry.kind, selected, selection != nil, let target, !restoredFiles.contains(target) {
                throw EntryPolicy.refuse(path, "it is a hard link to '\(shownName(target))', which is not restored: name that file in --only too")
            }
            let writer = selected ? disk : nil
            if let writer, let staging {
                // The archive's paths fit EntryPolicy.maximumPathLength; only
                // a destination with a very long path of its own leaves no
                // room for them (not the archive's fault: 74, not 65).
                guard staging.count + 1 + path.count < Int(PATH_MAX) else {
                    throw SealedArchiveError(.io, "cannot extract '\(name)': with the staging directory's path it is longer than PATH_MAX (\(PATH_MAX) bytes): choose a destination with a shorter path")
                }
                try writer.create(entry, at: staging + [UInt8(ascii: "/")] + path,
                                  hardlinkTo: target.map { staging + [UInt8(ascii: "/")] + $0 })
            }
            var fileSHA256: [UInt8]?
            switch entry.kind {
            case .file:
                let output = selected ? contentSink.map(ContentOutput.init) : nil
                let content = try ContentHasher(size: entry.size, path: path)
                let countHole = { (bytes: Int) throws in try countTowardsLimit(bytes, name: name) }
                var text: [UInt8] = []
                while let block = try tar.nextBlock() {
                    try cancellation.check()
                    // Blocks at increasing offsets within the size (a sparse
                    // map jumping over holes, which hash as zeros); refused
                    // otherwise, where `verify -i` sees it too.
                    try content.add(block.bytes, at: block.offset, countZeros: countHole)
                    try countTowardsLimit(block.bytes.count, name: name)
                    if readsManifest {
                        guard text.count + block.bytes.count <= Manifest.maximumSize else {
                            throw SealedArchiveError(.manifest, "MANIFEST.sha256 is larger than \(Manifest.maximumSize >> 20) MiB")
                        }
                        text += Array(block.bytes)
                    }
                    try writer?.write(block.bytes, at: block.offset, name: name)
                    try output?.write(block.bytes, at: block.offset)
                }
                let sha256 = try content.finish(countZeros: countHole)
                try output?.finish(size: entry.size)
                fileSHA256 = sha256
                if readsManifest { manifestText = text }
                if selected {
                    summary.files += 1
                    digests[path] = HexCoding.encode(sha256)
                    summary.contentBytes += UInt64(entry.size)
                    restoredFiles.insert(path)
                }
            case .hardlink where selected:
                summary.hardlinks += 1
                if let target {
                    digests[path] = digests[target]
                    restoredFiles.insert(path)
                }
            case .directory where selected:
                summary.directories += 1
                directoryMetadata.append((path, entry.permissions & 0o777, entry.modified))
            case .symlink where selected:
                summary.symlinks += 1
            default:
                break
            }
            try writer?.finishEntry(name: name)
            try observe?(entry, fileSHA256)
        }
        try tar.close()
        summary.archive = try finishing()
        try disk?.close()
        if let staging {
            // Deepest first; a directory listed twice gets its last entry's mode.
            let ordered = directoryMetadata.enumerated().sorted {
                $0.element.path.count != $1.element.path.count ? $0.element.path.count > $1.element.path.count : $0.offset < $1.offset
            }.map(\.element)
            for directory in ordered {
                let full = staging + [UInt8(ascii: "/")] + directory.path
                try POSIX.attempt("cannot restore the mode of '\(shownName(directory.path))'") { () throws(SystemError) in
                    try System.setMode(full, mode_t(directory.permissions))
                    try System.setTimes(full, seconds: directory.modified)
                }
            }
        }
        try selection?.requireAllMatched()

        if !options.checkManifest {
            summary.manifestSkipped = true
        } else if let manifestText {
            let manifest = try Manifest(parsing: manifestText)
            if selection == nil {
                try manifest.check(against: digests)
                summary.manifestFilesChecked = manifest.digests.count
            } else {
                summary.manifestFilesChecked = try manifest.check(restored: digests)
            }
        }
        return summary
    }
}

extension TarWalk {
    /// What `--only PATH -o OUT` can write: one file's bytes. Checked on
    /// the tar's header when streaming, and on the index's entry (as a
    /// TarEntry) before a read by the index: one refusal either way.
    static func requireFile(_ entry: TarEntry, path: [UInt8]) throws {
        switch entry.kind {
        case .file:
            return
        case .hardlink:
            let target = entry.hardlinkTarget.map(shownName) ?? "?"
            throw SealedArchiveError(.invalidArgument, "'\(shownName(path))' is a hard link to '\(target)': name that file with --only to write its content")
        default:
            throw SealedArchiveError(.invalidArgument, "'\(shownName(path))' is a \(Restore.kindName(entry.kind)), not a file: restore it with -C DEST")
        }
    }
}

/// One file's content written to a sink in order, its holes (a sparse
/// file's map jumps over them) written as zeros.
private final class ContentOutput {
    let sink: ByteSink
    private var written: Int64 = 0

    init(_ sink: ByteSink) { self.sink = sink }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        try zeros(upTo: offset)
        try sink.write(bytes)
        written = offset + Int64(bytes.count)
    }

    func finish(size: Int64) throws { try zeros(upTo: size) }

    private static let zeroBlock = [UInt8](repeating: 0, count: 1 << 16)

    private func zeros(upTo offset: Int64) throws {
        while written < offset {
            let n = Int(min(Int64(Self.zeroBlock.count), offset - written))
            try Self.zeroBlock.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            written += Int64(n)
        }
    }
}

/// The entries `--only PATH…` names: each PATH (normalized as entry paths
/// are) selects the entry of that path and, when it is a directory, the
/// entries below it.
struct OnlySelection {
    let paths: [[UInt8]]
    private var matched: [Bool]

    /// Normalizes each path; refuses (`invalid-argument`) an empty, absolute
    /// or `..` path, which no entry can have.
    init(_ given: [String]) throws {
        var paths: [[UInt8]] = []
        for text in given {
            guard let path = try? EntryPolicy.normalize(Array(text.utf8)) else {
                throw SealedArchiveError(.invalidArgument, "--only '\(shownName(Array(text.utf8)))' is not a relative path inside the archive")
            }
            paths.append(path)
        }
        self.paths = paths
        matched = Array(repeating: false, count: paths.count)
    }

    /// Whether `path` (normalized) is selected; notes which PATH matched.
    mutating func select(_ path: [UInt8]) -> Bool {
        var any = false
        for (k, wanted) in paths.enumerated() where path == wanted || (path.count > wanted.count && path.starts(with: wanted) && path[wanted.count] == UInt8(ascii: "/")) {
            matched[k] = true
            any = true
        }
        return any
    }

    /// Every PATH matched an entry, or `invalid-argument` naming the first
    /// that did not (nothing is then restored).
    func requireAllMatched() throws {
        if let k = matched.firstIndex(of: false) {
            throw SealedArchiveError(.invalidArgument, "--only '\(shownName(paths[k]))' matches no entry in the archive")
        }
    }
}
