import SealedArchiveFormat

/// The entry index of a version 2 tar payload (Spec/FORMAT-v2.md 8.1):
///
///     index = "SAIDX\0\0\0" || u64(count) || entry (count times)
///
/// the sealer's claim about the tar, which lets `--list` and `--only` work
/// without reading the tar from the start. Held whole only where it is
/// known to be small (tests, vectors); a reader of an archive streams it
/// through ``EntryIndexParser`` one entry at a time.
struct EntryIndex: Equatable, Sendable {
    static let magic: [UInt8] = Array("SAIDX".utf8) + [0, 0, 0]
    /// Magic and count.
    static let headerLength = 16

    var entries: [IndexEntry]

    init(entries: [IndexEntry]) { self.entries = entries }

    /// The index's one serialization.
    func serialize() -> [UInt8] {
        var bytes = Self.magic
        bytes.appendLittleEndian(UInt64(entries.count))
        for entry in entries { entry.serialize(into: &bytes) }
        return bytes
    }

    /// Parses an index, with every check of ``EntryIndexParser`` [`damaged`].
    init(parsing bytes: UnsafeRawBufferPointer) throws {
        var parser = EntryIndexParser(length: UInt64(bytes.count))
        var entries: [IndexEntry] = []
        try parser.feed(bytes) { entries.append($0) }
        try parser.finish()
        self.entries = entries
    }
}

/// Parses an entry index of a known length fed in pieces, handing on each
/// entry as soon as it is whole and checked: a wrong magic, a count the
/// length cannot hold, an entry 8.1 forbids or out of order, bytes after
/// the last entry and an index cut short are refused [`damaged`]. It holds
/// at most one entry's bytes, so an index of any size costs no memory per
/// entry.
struct EntryIndexParser {
    /// The index's length in bytes (the index frame's content size).
    let length: UInt64
    /// The entry count the index states, once its header was read.
    private(set) var count: UInt64?
    /// The entries handed on so far.
    private(set) var parsed: UInt64 = 0
    /// Fed bytes not yet parsed: less than one entry.
    private var pending: [UInt8] = []
    private var previous: UInt64?

    init(length: UInt64) { self.length = length }

    private static func damaged(_ why: String) -> SealedArchiveError { SealedArchiveError(.damaged, "entry index: \(why)") }

    mutating func feed(_ piece: UnsafeRawBufferPointer, _ body: (IndexEntry) throws -> Void) throws {
        if pending.isEmpty {
            let used = try parse(piece, body)
            pending.append(contentsOf: piece[used...])
        } else {
            pending.append(contentsOf: piece)
            let bytes = pending
            let used = try bytes.withUnsafeBytes { try parse($0, body) }
            pending.removeFirst(used)
        }
    }

    /// Parses what `bytes` holds whole; returns how many bytes that took.
    private mutating func parse(_ bytes: UnsafeRawBufferPointer, _ body: (IndexEntry) throws -> Void) throws -> Int {
        var offset = 0
        if count == nil {
            guard bytes.count >= EntryIndex.headerLength else { return 0 }
            var reader = ByteReader(bytes, failure: { Self.damaged("it is cut short") })
            guard try reader.bytes(8) == EntryIndex.magic else { throw Self.damaged("its magic is wrong") }
            let count = try reader.u64()
            // Each entry takes at least `minLength` bytes: a count beyond
            // that is a lie, refused before anything trusts it.
            let entryBytes = length - min(length, UInt64(EntryIndex.headerLength))
            guard count <= entryBytes / UInt64(IndexEntry.minLength) else {
                throw Self.damaged("it claims \(count) entries in \(entryBytes) bytes")
            }
            self.count = count
            offset = EntryIndex.headerLength
        }
        while offset < bytes.count {
            guard parsed < count! else { throw Self.damaged("bytes follow its last entry") }
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            guard let entryLength = IndexEntry.length(at: rest) else { break }
            let entry = try IndexEntry(parsing: UnsafeRawBufferPointer(rebasing: rest[0..<entryLength]))
            try entry.check(after: previous)
            previous = entry.headerOffset
            parsed += 1
            offset += entryLength
            try body(entry)
        }
        return offset
    }

    /// Checks the index ended with its last entry [`damaged`].
    func finish() throws {
        guard let count, parsed == count, pending.isEmpty else { throw Self.damaged("it is cut short") }
    }
}
