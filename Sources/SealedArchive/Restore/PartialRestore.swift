import Foundation
import SealedArchiveFormat

/// Listing and restoring part of a format 2 archive held in a file, by its
/// entry index (Spec/FORMAT-v2.md section 8.1), reading only the records
/// that hold what is needed: the header, the group table and trailer, the
/// payload's footer, and the frames of the entries restored. Each record
/// read is authenticated by its segment (``UnlockedSeekableArchive``)
/// before it is decrypted.
extension Restore {
    /// The tar payload of `archive`, opened for random access: its footer,
    /// seek table and index read and checked.
    static func seekablePayload(_ archive: UnlockedSeekableArchive) throws -> SeekablePayload {
        guard archive.header.payloadKind == .tar else {
            throw SealedArchiveError(.invalidArgument, "the archive holds a byte stream, not a directory: there are no entries to list or restore")
        }
        return try SeekablePayload(payloadLength: archive.plaintextLength) { offset, count in
            try archive.read(plaintextAt: offset, count: count)
        }
    }

    /// `open --list` of a format 2 archive in a file: the entry index, the
    /// sealer's claim about the tar, with extraction's name rules applied
    /// (an entry extraction would refuse is refused here too). With
    /// `options.only`, just those entries. Reads no record of the tar's
    /// own data; returns the number of entries listed.
    public static func listIndex(_ archive: UnlockedSeekableArchive, options: RestoreOptions,
                                 list: (ListedEntry) throws -> Void) throws -> Int {
        let payload = try seekablePayload(archive)
        var policy = EntryPolicy(allowEscapingSymlinks: options.allowEscapingSymlinks)
        var selection = try options.only.map { try OnlySelection($0) }
        var listed = 0
        // What extraction would refuse without reading content is refused
        // here too: a hard link to no earlier file, and contents claimed
        // larger than the size limit allows for this archive.
        var files = Set<[UInt8]>()
        var claimed: UInt64 = 0
        let limit = options.expansionLimit(inputBytes: archive.reader.file.size)
        try payload.forEachIndexEntry { indexed in
            let entry = TarEntry(indexEntry: indexed)
            guard let path = try policy.admit(entry) else { return }
            if entry.kind == .file {
                files.insert(path)
                claimed = claimed.addingReportingOverflow(indexed.size).overflow ? .max : claimed + indexed.size
                guard claimed <= limit else { throw options.expansionRefusal(shownName(path)) }
            }
            if entry.kind == .hardlink {
                let target = try entry.hardlinkTarget.flatMap { try EntryPolicy.normalize($0) }
                guard let target, files.contains(target) else {
                    throw EntryPolicy.refuse(path, "it is a hard link to '\(shownName(entry.hardlinkTarget ?? []))', which is not a file before it in the archive")
                }
                files.insert(path)
            }
            guard selection?.select(path) ?? true else { return }
            try list(ListedEntry(path: shownName(path), kind: kindName(entry.kind), size: entry.size, permissions: entry.permissions & 0o777,
                                 modified: entry.modified, linkTarget: (entry.symlinkTarget ?? entry.hardlinkTarget).map(shownName)))
            listed += 1
        }
        try selection?.requireAllMatched()
        return listed
    }

    /// `open --only PATH… -C DEST` of a format 2 archive in a file: the
    /// entries `options.only` names (a directory with everything below it)
    /// are found in the index and their tar bytes read from their frames
    /// alone, then extracted with every rule of a full extraction (staging,
    /// refusals, the size limit, directory modes last). Each entry read
    /// must be what the index says: the same path, type, size and link, its
    /// header at the index's offset, its content's SHA-256, and nothing
    /// between it and the next entry's header [`damaged`]. Restored files
    /// that MANIFEST.sha256 lists must match it (read by the index too).
    public static func extract(_ archive: UnlockedSeekableArchive, to destination: String, options: RestoreOptions,
                               cancellation: Cancellation = Cancellation()) throws -> ContentsSummary {
        try extract(archive, to: destination, options: options, cancellation: cancellation, flush: flushFileSystem)
    }

    package static func extract(_ archive: UnlockedSeekableArchive, to destination: String, options: RestoreOptions,
                                cancellation: Cancellation, flush: (String) throws -> Void) throws -> ContentsSummary {
        let payload = try seekablePayload(archive)
        return try staged(to: destination, cancellation: cancellation, flush: flush) { staging in
            try readEntries(of: payload, options: options, staging: Array(staging.utf8), cancellation: cancellation,
                            inputBytes: { archive.reader.bytesRead })
        }
    }

    /// `open --only FILE -o OUT` of a format 2 archive in a file: the one
    /// regular file `options.only` names, read by the index (only its
    /// records), checked as ``extract(_:to:options:cancellation:)`` checks
    /// it, its content written to `sink` as it is read.
    public static func writeEntry(_ archive: UnlockedSeekableArchive, into sink: ByteSink, options: RestoreOptions,
                                  cancellation: Cancellation = Cancellation()) throws -> ContentsSummary {
        try requireOneEntry(options)
        let payload = try seekablePayload(archive)
        return try readEntries(of: payload, options: options, staging: nil, contentSink: sink, cancellation: cancellation,
                               inputBytes: { archive.reader.bytesRead })
    }

    /// The entries `options.only` names, read from `payload` by its index
    /// and checked against it, with every rule of extraction; written into
    /// `staging` when given (else only checked). What `extract` does in its
    /// staging directory, and what the payload fuzzer drives.
    static func readEntries(of payload: SeekablePayload, options: RestoreOptions, staging: [UInt8]?, contentSink: ByteSink? = nil,
                            cancellation: Cancellation, inputBytes: @escaping () -> UInt64) throws -> ContentsSummary {
        guard let only = options.only else {
            throw SealedArchiveError(.invalidArgument, "a restore by the index restores the entries named with --only; without it, read the whole archive")
        }
        let (chosen, manifest) = try choose(only, checkManifest: options.checkManifest, in: payload)
        // What -o can write is known from the index, before any record is read.
        if contentSink != nil {
            for entry in chosen { try TarWalk.requireFile(TarEntry(indexEntry: entry.indexed), path: entry.indexed.path) }
        }
        var manifestText: [UInt8]?
        if let manifest {
            manifestText = try indexMustDescribeTar { try memberContent(manifest.indexed, range: manifest.range, payload: payload) }
        }
        return try UTF8Locale.run {
            let source = TarRangeSource(payload: payload, ranges: chosen.map(\.range))
            let tar = try indexMustDescribeTar { try TarStreamReader(source: source, decompressing: false) }
            var walk = TarWalk(options: options, cancellation: cancellation, inputBytes: inputBytes)
            walk.staging = staging
            walk.contentSink = contentSink
            walk.selection = try OnlySelection(only)
            walk.manifestText = manifestText
            var seen = 0
            walk.inspect = { entry in
                guard seen < chosen.count else {
                    throw SealedArchiveError(.damaged, "payload: '\(entry.shownPath)' lies inside another entry's range of the tar: the index does not describe the tar")
                }
                try checkHeader(entry, against: chosen[seen].indexed, at: source.syntheticStart(ofRange: seen))
            }
            // `inspect` saw this entry first and refused one past the last.
            walk.observe = { entry, sha256 in
                try check(entry, sha256: sha256, against: chosen[seen].indexed, at: source.syntheticStart(ofRange: seen))
                seen += 1
            }
            return try indexMustDescribeTar {
                try walk.run(tar) {
                    guard seen == chosen.count else {
                        throw SealedArchiveError(.damaged, "payload: \(chosen.count - seen) of the entries the index places in the tar are not there")
                    }
                    try requireRangesReadWhole(tar, source, runsToTarEnd: chosen.last?.range.upperBound == payload.tarLength)
                    return nil
                }
            }
        }
    }

    /// Once libarchive reached an end-of-archive marker in the ranges read:
    /// it read them whole (8.1: an entry ends at the next one's header, the
    /// last at the marker). A range that ends before the tar's end holds no
    /// marker (zero blocks there would end the tar for every reader), so
    /// libarchive must have consumed every range and the marker yielded
    /// after them; a range that runs to the tar's end holds the real marker,
    /// and what libarchive was handed after it must be zeros. Nothing
    /// further is read: the zeros that may pad a tar are a whole reader's to
    /// check [`damaged`].
    private static func requireRangesReadWhole(_ tar: TarStreamReader, _ source: TarRangeSource, runsToTarEnd: Bool) throws {
        let (consumed, restIsZero) = try tar.endOfArchive()
        if runsToTarEnd {
            guard restIsZero else { throw dataAfterEnd }
        } else {
            guard consumed == Int64(source.rangesLength) + Int64(TarRangeSource.markerLength) else {
                throw SealedArchiveError(.damaged, "payload: the tar ends before an entry the index places in it: the index does not describe the tar (the archive is damaged, or was not made by sealed-archive)")
            }
        }
    }

    /// Runs `body`, reading tar where the index points: a tar libarchive
    /// cannot read there means the index does not describe the tar
    /// [`damaged`].
    private static func indexMustDescribeTar<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as SealedArchiveError where error.code == .payload {
            throw SealedArchiveError(.damaged, "payload: the index does not describe the tar: \(error.message)", cause: error)
        }
    }

    /// An index entry and its bytes in the tar: from its first header to
    /// the next entry's (a pax `g` or GNU `V` header before that belongs to
    /// it), or for the last entry to the tar's end (its end-of-archive
    /// marker).
    struct ChosenEntry {
        let indexed: IndexEntry
        let range: Range<UInt64>
    }

    /// One pass over the index: the entries `only` selects, and
    /// MANIFEST.sha256's entry when `checkManifest` (the first regular file
    /// of that name), each with its range. Only these are kept, so the
    /// index's size costs no memory.
    private static func choose(_ only: [String], checkManifest: Bool,
                               in payload: SeekablePayload) throws -> (chosen: [ChosenEntry], manifest: ChosenEntry?) {
        var selection = try OnlySelection(only)
        var chosen: [ChosenEntry] = []
        var manifest: ChosenEntry?
        // The previous entry, waiting for the next one's offset to end its
        // range, with what it was taken for.
        var previous: (indexed: IndexEntry, isChosen: Bool, isManifest: Bool)?
        func close(at end: UInt64) {
            guard let (indexed, isChosen, isManifest) = previous else { return }
            let entry = ChosenEntry(indexed: indexed, range: indexed.headerOffset..<end)
            if isChosen { chosen.append(entry) }
            if isManifest { manifest = entry }
        }
        try payload.forEachIndexEntry { indexed in
            close(at: indexed.headerOffset)
            let path = try? EntryPolicy.normalize(indexed.path)
            let isChosen = path.map { selection.select($0) } ?? false
            let isManifest = checkManifest && manifest == nil && indexed.kind == .regular && path == Manifest.name
            previous = isChosen || isManifest ? (indexed, isChosen, isManifest) : nil
        }
        close(at: payload.tarLength)
        try selection.requireAllMatched()
        return (chosen, manifest)
    }

    /// An entry read from the tar matches its index entry: path, type,
    /// size, link and content; its header is where the index puts it
    /// (`start`, in the stream of chosen ranges) [`damaged`]. Mode and
    /// times come from the tar, never the index.
    private static func check(_ entry: TarEntry, sha256: [UInt8]?, against indexed: IndexEntry, at start: UInt64) throws {
        try checkHeader(entry, against: indexed, at: start)
        let read = try IndexEntry(entry, headerOffset: start, sha256: sha256)
        guard constantTimeEquals(read.sha256, indexed.sha256) else {
            throw SealedArchiveError(.damaged, "payload: the content of '\(shownName(indexed.path))' does not match its SHA-256 in the index")
        }
    }

    /// The header half of ``check(_:sha256:against:at:)``, made as soon as
    /// libarchive read the header, before anything is written or hashed.
    private static func checkHeader(_ entry: TarEntry, against indexed: IndexEntry, at start: UInt64) throws {
        let read = try IndexEntry(entry, headerOffset: start, sha256: nil)
        guard read.kind == indexed.kind, read.path == indexed.path, read.size == indexed.size, read.link == indexed.link,
              UInt64(exactly: entry.headerOffset) == start else {
            throw SealedArchiveError(.damaged, "payload: the tar at offset \(indexed.headerOffset) is not the entry '\(shownName(indexed.path))' the index places there")
        }
    }

    /// A regular file's content read by the index (MANIFEST.sha256, at most
    /// ``Manifest/maximumSize``), checked as a restored entry is.
    private static func memberContent(_ indexed: IndexEntry, range: Range<UInt64>, payload: SeekablePayload) throws -> [UInt8] {
        guard indexed.size <= UInt64(Manifest.maximumSize) else {
            throw SealedArchiveError(.manifest, "MANIFEST.sha256 is larger than \(Manifest.maximumSize >> 20) MiB")
        }
        return try UTF8Locale.run {
            let source = TarRangeSource(payload: payload, ranges: [range])
            let tar = try TarStreamReader(source: source, decompressing: false)
            guard let entry = try tar.next() else {
                throw SealedArchiveError(.damaged, "payload: no entry where the index places '\(shownName(indexed.path))'")
            }
            // Before any content: the tar's header must be the index's (its
            // size, at most the manifest's limit, bounds the hashing).
            try checkHeader(entry, against: indexed, at: 0)
            let content = try ContentHasher(size: entry.size, path: entry.path)
            var text: [UInt8] = []
            while let block = try tar.nextBlock() {
                try content.add(block.bytes, at: block.offset)
                guard text.count + block.bytes.count <= Manifest.maximumSize else {
                    throw SealedArchiveError(.manifest, "MANIFEST.sha256 is larger than \(Manifest.maximumSize >> 20) MiB")
                }
                text += Array(block.bytes)
            }
            try check(entry, sha256: try content.finish(), against: indexed, at: 0)
            guard try tar.next() == nil else {
                throw SealedArchiveError(.damaged, "payload: '\(shownName(indexed.path))' is followed by another entry before the next one the index names")
            }
            try requireRangesReadWhole(tar, source, runsToTarEnd: range.upperBound == payload.tarLength)
            try tar.close()
            return text
        }
    }
}

extension TarEntry {
    /// What the index says of an entry, for the name rules of listing; it
    /// has no libarchive entry and cannot be extracted.
    init(indexEntry entry: IndexEntry) {
        let kind: Kind
        switch entry.kind {
        case .regular: kind = .file
        case .directory: kind = .directory
        case .symbolicLink: kind = .symlink
        case .hardLink: kind = .hardlink
        // The index does not say which kind of special file.
        case .other: kind = .other("a special file (a device, FIFO or socket)")
        }
        self.init(path: entry.path, kind: kind, size: Int64(clamping: entry.size), permissions: entry.mode, modified: entry.mtime,
                  symlinkTarget: kind == .symlink ? entry.link : nil, hardlinkTarget: kind == .hardlink ? entry.link : nil,
                  handle: nil, headerOffset: Int64(clamping: entry.headerOffset))
    }
}

/// The tar bytes of some ranges of a format 2 payload, one after another,
/// then an end-of-archive marker: what libarchive reads for a partial
/// restore. Frames are decompressed one at a time as the ranges reach
/// them (a frame shared by two ranges is decompressed once).
final class TarRangeSource: ByteSource {
    private let payload: SeekablePayload
    private let ranges: [Range<UInt64>]
    private var rangeIndex = 0
    private var position: UInt64
    private var frame: (index: Int, bytes: [UInt8])?
    /// The end-of-archive marker yielded after the ranges.
    static let markerLength = 1024
    private var trailerLeft = TarRangeSource.markerLength
    /// Where each range starts in the stream this source yields.
    private let starts: [UInt64]
    /// The ranges' length in all: where the marker starts.
    let rangesLength: UInt64

    init(payload: SeekablePayload, ranges: [Range<UInt64>]) {
        self.payload = payload
        self.ranges = ranges
        position = ranges.first?.lowerBound ?? 0
        var starts: [UInt64] = []
        var total: UInt64 = 0
        for range in ranges {
            starts.append(total)
            total += UInt64(range.count)
        }
        self.starts = starts
        rangesLength = total
    }

    /// Where range `k` starts in the yielded stream.
    func syntheticStart(ofRange k: Int) -> UInt64 { starts[k] }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !buffer.isEmpty else { return 0 }
        while rangeIndex < ranges.count {
            let range = ranges[rangeIndex]
            guard position < range.upperBound else {
                rangeIndex += 1
                if rangeIndex < ranges.count { position = ranges[rangeIndex].lowerBound }
                continue
            }
            guard let (k, offset) = payload.locate(tarOffset: position) else {
                throw SealedArchiveError(.damaged, "payload: the index places tar bytes at \(position), past the tar's \(payload.tarLength)")
            }
            if frame?.index != k { frame = (k, try payload.frame(k)) }
            let bytes = frame!.bytes
            let n = min(buffer.count, bytes.count - offset, Int(range.upperBound - position))
            bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + n])) }
            position += UInt64(n)
            return n
        }
        let n = min(buffer.count, trailerLeft)
        buffer.baseAddress!.initializeMemory(as: UInt8.self, repeating: 0, count: n)
        trailerLeft -= n
        return n
    }
}
