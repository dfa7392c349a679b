import Testing
import TestSupport
@testable import SealedArchive
@testable import SealedArchiveFormat

/// The entry index of Spec/FORMAT-v2.md 8.1: one serialization, strict
/// parsing, and the running digest a whole-payload reader compares.
@Suite struct EntryIndexTests {
    static func entry(_ kind: IndexEntry.Kind, _ path: String, at offset: UInt64, size: UInt64 = 0, link: String = "") -> IndexEntry {
        IndexEntry(kind: kind, path: Array(path.utf8), size: size, mode: 0o644, mtime: -5, link: Array(link.utf8),
                   headerOffset: offset, sha256: kind == .regular ? Array(repeating: 0xAB, count: 32) : Array(repeating: 0, count: 32))
    }

    static let sample = EntryIndex(entries: [
        entry(.directory, "d/", at: 0),
        entry(.regular, "d/f", at: 512, size: 3),
        entry(.symbolicLink, "d/s", at: 1536, link: "f"),
        entry(.hardLink, "d/h", at: 2048, link: "d/f"),
        entry(.other, "d/fifo", at: 3072),
    ])

    @Test func serializeAndParseRoundTrip() throws {
        let bytes = Self.sample.serialize()
        #expect(Array(bytes.prefix(8)) == Array("SAIDX\0\0\0".utf8))
        #expect(try bytes.withUnsafeBytes { try EntryIndex(parsing: $0) } == Self.sample)
        let empty = EntryIndex(entries: []).serialize()
        #expect(empty.count == 16)
        #expect(try empty.withUnsafeBytes { try EntryIndex(parsing: $0) }.entries.isEmpty)
        // mtime is two's complement.
        #expect(try bytes.withUnsafeBytes { try EntryIndex(parsing: $0) }.entries[0].mtime == -5)
    }

    /// The index fed to ``EntryIndexParser`` in pieces of `size` bytes.
    static func parseInPieces(_ bytes: [UInt8], size: Int) throws -> [IndexEntry] {
        var parser = EntryIndexParser(length: UInt64(bytes.count))
        var entries: [IndexEntry] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + size)
            try bytes[offset..<end].withUnsafeBytes { try parser.feed($0) { entries.append($0) } }
            offset = end
        }
        try parser.finish()
        return entries
    }

    @Test func parsingInPiecesOfAnySizeIsParsingWhole() throws {
        let bytes = Self.sample.serialize()
        for size in [1, 2, 7, 15, 16, 17, 100, 101, bytes.count] {
            #expect(try Self.parseInPieces(bytes, size: size) == Self.sample.entries, "pieces of \(size)")
            // Damage is found however the bytes arrive.
            #expect(throws: SealedArchiveError(.damaged, ""), "trailing byte, pieces of \(size)") {
                try Self.parseInPieces(bytes + [0], size: size)
            }
            #expect(throws: SealedArchiveError(.damaged, ""), "cut short, pieces of \(size)") {
                var parser = EntryIndexParser(length: UInt64(bytes.count))
                try bytes.dropLast().withUnsafeBytes { try parser.feed($0) { _ in } }
                try parser.finish()
            }
            var unordered = Self.sample.entries
            unordered.swapAt(3, 4)
            #expect(throws: SealedArchiveError(.damaged, ""), "out of order, pieces of \(size)") {
                try Self.parseInPieces(EntryIndex(entries: unordered).serialize(), size: size)
            }
        }
    }

    @Test func theParserHandsOnEachEntryOnceItIsWhole() throws {
        // The first entry is handed on before the rest of the index exists.
        let bytes = Self.sample.serialize()
        let firstLength = EntryIndex.headerLength + IndexEntry.minLength + 1  // "d/" is two bytes
        var parser = EntryIndexParser(length: UInt64(bytes.count))
        var seen: [IndexEntry] = []
        try bytes[0..<firstLength - 1].withUnsafeBytes { try parser.feed($0) { seen.append($0) } }
        #expect(seen.isEmpty)
        try bytes[firstLength - 1..<firstLength].withUnsafeBytes { try parser.feed($0) { seen.append($0) } }
        #expect(seen == [Self.sample.entries[0]])
    }

    static func expectDamaged(_ bytes: [UInt8], _ comment: Comment) {
        #expect(throws: SealedArchiveError(.damaged, ""), comment) { try bytes.withUnsafeBytes { try EntryIndex(parsing: $0) } }
    }

    static func with(_ change: (inout IndexEntry) -> Void, at index: Int = 1) -> [UInt8] {
        var entries = sample.entries
        change(&entries[index])
        return EntryIndex(entries: entries).serialize()
    }

    @Test func nonCanonicalIndexesAreDamaged() {
        let good = Self.sample.serialize()
        var magic = good; magic[5] = 1
        Self.expectDamaged(magic, "bad magic")
        var more = good; more[8] += 1
        Self.expectDamaged(more, "a count above the entries")
        var fewer = good; fewer[8] -= 1
        Self.expectDamaged(fewer, "a count below the entries (trailing bytes)")
        var huge = good; huge[15] = 0x7F
        Self.expectDamaged(huge, "an absurd count")
        Self.expectDamaged(good + [0], "a trailing byte")
        Self.expectDamaged(Array(good.dropLast()), "cut short")
        var badType = good; badType[16] = 6
        Self.expectDamaged(badType, "type 6")
        badType[16] = 0
        Self.expectDamaged(badType, "type 0")
        Self.expectDamaged(Self.with { $0.headerOffset = 0 }, "an offset not increasing")
        Self.expectDamaged(Self.with { $0.headerOffset = 1000 }, "an offset not a multiple of 512")
        Self.expectDamaged(Self.with { $0.path = [] }, "an empty path")
        Self.expectDamaged(Self.with { $0.link = [0x61] }, "a regular file with a link")
        Self.expectDamaged(Self.with({ $0.link = [] }, at: 2), "a symbolic link without a target")
        Self.expectDamaged(Self.with({ $0.link = [] }, at: 3), "a hard link without a target")
        Self.expectDamaged(Self.with({ $0.size = 1 }, at: 0), "a directory with a size")
        Self.expectDamaged(Self.with({ $0.sha256[0] = 1 }, at: 0), "a directory with a SHA-256")
        Self.expectDamaged(Self.with { $0.mode = 0o10000 }, "mode bits above 0o7777")
    }

    @Test func theRunningDigestMatchesTheStoredIndexOnlyWhenEqual() throws {
        let hasher = try EntryIndexHasher()
        for entry in Self.sample.entries { try hasher.append(entry) }
        let fromTar = hasher.finalize()
        // The stored index, fed in uneven pieces (the header split too).
        let stored = try StoredIndexHasher()
        let bytes = Self.sample.serialize()
        var offset = 0
        for piece in [3, 10, 1, 50, bytes.count] where offset < bytes.count {
            let end = min(bytes.count, offset + piece)
            bytes[offset..<end].withUnsafeBytes { stored.update($0) }
            offset = end
        }
        let fromIndex = try stored.finalize()
        #expect(fromTar.matches(fromIndex))
        #expect(fromIndex.count == 5)

        let other = try StoredIndexHasher()
        Self.with { $0.mtime = 0 }.withUnsafeBytes { other.update($0) }
        #expect(!fromTar.matches(try other.finalize()))
        let fewer = try EntryIndexHasher()
        for entry in Self.sample.entries.dropLast() { try fewer.append(entry) }
        #expect(!fewer.finalize().matches(fromIndex))
        // A tar member the index cannot describe cannot match it.
        #expect(throws: SealedArchiveError(.damaged, "")) { try fewer.append(Self.entry(.regular, "x", at: 0)) }
    }
}
