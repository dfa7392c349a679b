import SealedArchiveFormat

/// What a reader of the whole payload compares to check the stored index
/// is exactly what 8.1 makes of the tar it read (Spec/FORMAT-v2.md 8.1,
/// last bullet), with no memory per entry: the entry count, and a SHA-256
/// of the entries' serialization.
///
/// The count is kept apart from the hash because the index begins with it:
/// a reader of the tar knows the count only at the end, after it has
/// hashed every entry. Equal counts and equal hashes of the bytes after
/// the 16-byte header mean equal indexes.
struct EntryIndexDigest: Equatable, Sendable {
    var count: UInt64
    var entriesSHA256: [UInt8]

    /// Compares in constant time.
    func matches(_ other: EntryIndexDigest) -> Bool {
        count == other.count && constantTimeEquals(entriesSHA256, other.entriesSHA256)
    }
}

/// Builds the digest of the index a tar makes, one entry at a time as the
/// tar is read, checking each entry's rules and order as it goes (a tar
/// whose members the index cannot describe cannot match it).
final class EntryIndexHasher {
    private let hash: SHA256
    private var count: UInt64 = 0
    private var previous: UInt64?
    private var scratch: [UInt8] = []

    init() throws { hash = try SHA256() }

    func append(_ entry: IndexEntry) throws {
        try entry.check(after: previous)
        previous = entry.headerOffset
        scratch.removeAll(keepingCapacity: true)
        entry.serialize(into: &scratch)
        scratch.withUnsafeBytes { hash.update($0) }
        count += 1
    }

    func finalize() -> EntryIndexDigest { EntryIndexDigest(count: count, entriesSHA256: hash.finalize()) }
}

/// The digest of a stored index, fed its bytes in pieces as they are
/// decompressed, so the stored index is never held whole.
final class StoredIndexHasher {
    private let hash: SHA256
    private var header: [UInt8] = []

    init() throws { hash = try SHA256() }

    func update(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes[...]
        if header.count < EntryIndex.headerLength {
            let take = min(EntryIndex.headerLength - header.count, rest.count)
            header.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
        }
        if !rest.isEmpty { hash.update(UnsafeRawBufferPointer(rebasing: rest)) }
    }

    /// The digest, or `damaged` when the index does not start with the
    /// magic and a count.
    func finalize() throws -> EntryIndexDigest {
        let digest = hash.finalize()
        guard header.count == EntryIndex.headerLength, Array(header[0..<8]) == EntryIndex.magic else {
            throw SealedArchiveError(.damaged, "entry index: its magic is wrong")
        }
        var count: UInt64 = 0
        for index in 0..<8 { count |= UInt64(header[8 + index]) << (8 * index) }
        return EntryIndexDigest(count: count, entriesSHA256: digest)
    }
}
