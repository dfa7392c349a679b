import SealedArchiveFormat

/// The entry index of a version 2 tar payload (Spec/FORMAT-v2.md 8.1):
///
///     index = "SAIDX\0\0\0" || u64(count) || entry (count times)
///
/// the sealer's claim about the tar, which lets `--list` and `--only` work
/// without reading the tar from the start.
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

    /// Parses an index, rejecting a wrong magic, a count that does not match
    /// the entries, trailing bytes and any entry 8.1 forbids [`damaged`].
    init(parsing bytes: UnsafeRawBufferPointer) throws {
        func damaged(_ why: String) -> SealedArchiveError { SealedArchiveError(.damaged, "entry index: \(why)") }
        var reader = ByteReader(bytes, failure: { damaged("it is cut short") })
        guard try reader.bytes(8) == Self.magic else { throw damaged("its magic is wrong") }
        let count = try reader.u64()
        // Each entry takes at least `minLength` bytes: a count beyond that
        // is a lie, refused before it sizes an allocation.
        guard count <= UInt64(reader.remaining / IndexEntry.minLength) else {
            throw damaged("it claims \(count) entries in \(reader.remaining) bytes")
        }
        var entries: [IndexEntry] = []
        entries.reserveCapacity(Int(count))
        var previous: UInt64?
        for _ in 0..<count {
            guard let kind = IndexEntry.Kind(rawValue: try reader.u8()) else { throw damaged("an entry has an unknown type") }
            let path = try reader.bytes(Int(try reader.u16()))
            let size = try reader.u64()
            let mode = try reader.u32()
            let mtime = Int64(bitPattern: try reader.u64())
            let link = try reader.bytes(Int(try reader.u16()))
            let headerOffset = try reader.u64()
            let sha256 = try reader.bytes(SHA256.length)
            let entry = IndexEntry(kind: kind, path: path, size: size, mode: mode, mtime: mtime, link: link,
                                   headerOffset: headerOffset, sha256: sha256)
            try entry.check(after: previous)
            previous = headerOffset
            entries.append(entry)
        }
        guard reader.remaining == 0 else { throw damaged("bytes follow its last entry") }
        self.entries = entries
    }
}
