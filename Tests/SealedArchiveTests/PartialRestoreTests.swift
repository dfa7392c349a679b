import Foundation
import Testing
import TestSupport
@testable import SealedArchive
@testable import SealedArchiveFormat

/// Restoring part of a format 2 archive by its index (Spec/FORMAT-v2.md 7.1
/// and 8.1): the entries asked for come back byte for byte reading little
/// of the archive, and an index that lies about the tar (the sealer's
/// claim, authenticated but not trusted) is refused, by the partial read
/// and by the whole read alike.
@Suite struct PartialRestoreTests {
    let identity = try! Identity.generate()

    /// The tree of FramedPackingTests, packed into a format 2 payload; its
    /// tar and index, to re-frame with an altered index.
    struct Packed {
        let tar: [UInt8]
        let entries: [IndexEntry]
    }

    static func pack(_ root: URL) throws -> Packed {
        let sink = MemorySink()
        let payload = try FramedPayloadWriter(sink: sink)
        _ = try DirectoryPacker.pack(directory: root.path, into: payload)
        try payload.finish()
        let seekable = try FramedPayloadTests.seekable(sink.bytes)
        let (tar, _) = try FramedPayloadTests.readStreaming(sink.bytes)
        return Packed(tar: tar, entries: try seekable.indexEntries())
    }

    /// A sealed format 2 archive (in a file) of `tar` framed with `entries`
    /// as its index.
    func seal(_ packed: Packed, entries: [IndexEntry], in directory: URL) throws -> URL {
        let payload = MemorySink()
        let writer = try FramedPayloadWriter(sink: payload, frameSize: 256 << 10, memberCut: 0)
        var written = 0
        for entry in entries {
            let start = Int(entry.headerOffset)
            if start > written {
                try packed.tar[written..<start].withUnsafeBytes { try writer.write($0) }
                written = start
            }
            try packed.tar[written..<start + 1].withUnsafeBytes { try writer.write($0) }
            written = start + 1
            try writer.append(entry)
        }
        try packed.tar[written...].withUnsafeBytes { try writer.write($0) }
        try writer.finish()
        let (archive, _) = try sealInMemory(payload.bytes, to: [identity.recipient], chunkSizeLog2: 16) {
            $0.formatVersion = .v2
            $0.payloadKind = .tar
            $0.compression = .zstd
        }
        let url = directory.appendingPathComponent("archive-\(UUID().uuidString).sarc")
        try Data(archive).write(to: url)
        return url
    }

    func restore(_ archive: URL, only: [String], into destination: String) throws -> (ContentsSummary, UInt64) {
        let file = try #require(try RandomAccessFile.openIfSeekable(archive.path))
        let unlocked = try SeekableArchiveReader(file: file).unlock(with: [identity])
        var options = RestoreOptions()
        options.only = only
        let summary = try Restore.extract(unlocked, to: destination, options: options)
        return (summary, file.bytesRead)
    }

    @Test func oneFileComesBackReadingLittleOfTheArchive() throws {
        let root = try FramedPackingTests.makeTree()
        defer { try? FileManager.default.removeItem(at: root) }
        let work = root.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let packed = try Self.pack(root)
        let archive = try seal(packed, entries: packed.entries, in: root)
        let size = try FileManager.default.attributesOfItem(atPath: archive.path)[.size] as! Int

        let (summary, read) = try restore(archive, only: ["config/env.backup"], into: work.appendingPathComponent("env").path)
        #expect(summary.files == 1)
        #expect(try Data(contentsOf: work.appendingPathComponent("env/config/env.backup")) == Data("SECRET=1\n".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.appendingPathComponent("env").path) == ["config"])
        // Header, tail, footer and the records of one 256 KiB frame: far
        // from the 2.5 MB of random data the archive holds.
        #expect(read < 700_000 && Int(read) < size / 3, "read \(read) of \(size)")

        // A directory brings everything below it, links included.
        let (db, _) = try restore(archive, only: ["db"], into: work.appendingPathComponent("db").path)
        #expect(db.files == 2 && db.hardlinks == 1 && db.directories == 2)
        #expect(try Data(contentsOf: work.appendingPathComponent("db/db/dump.bin")) == Data(contentsOf: root.appendingPathComponent("db/dump.bin")))
    }

    @Test func aHardLinkNeedsItsTargetRestoredToo() throws {
        let root = try FramedPackingTests.makeTree()
        defer { try? FileManager.default.removeItem(at: root) }
        let packed = try Self.pack(root)
        let archive = try seal(packed, entries: packed.entries, in: root)
        let destination = root.appendingPathComponent("out").path
        // The tar stores db/again.sql first (sorted), then db/dump.sql as a
        // link to it, or the other way round: whichever is the link needs
        // the other.
        let link = try #require(packed.entries.first { $0.kind == .hardLink })
        #expect(errorCode { _ = try restore(archive, only: [String(decoding: link.path, as: UTF8.self)], into: destination) } == .unsafeEntry)
        #expect(!FileManager.default.fileExists(atPath: destination))
    }

    /// Ways a sealer's index can lie about the tar it is stored with.
    enum Lie: String, CaseIterable, CustomTestStringConvertible {
        case contentDigest = "the env file's SHA-256"
        case size = "the env file's size"
        case path = "the env file's path"
        case offset = "the env file's header offset, one block late"
        case droppedEntry = "the entry after the env file left out"
        var testDescription: String { rawValue }
    }

    @Test(arguments: Lie.allCases)
    func anIndexThatLiesIsRefused(_ lie: Lie) throws {
        let root = try FramedPackingTests.makeTree()
        defer { try? FileManager.default.removeItem(at: root) }
        let packed = try Self.pack(root)
        var entries = packed.entries
        let k = try #require(entries.firstIndex { $0.path == Array("config/env.backup".utf8) })
        switch lie {
        case .contentDigest: entries[k].sha256[0] ^= 1
        case .size: entries[k].size += 1
        case .path: entries[k].path = Array("config/env.backupX".utf8)
        case .offset: entries[k].headerOffset += 512
        case .droppedEntry: entries.remove(at: k + 1)
        }
        let archive = try seal(packed, entries: entries, in: root)
        let destination = root.appendingPathComponent("out").path
        let asked = lie == .path ? "config/env.backupX" : "config/env.backup"
        #expect(errorCode { _ = try restore(archive, only: [asked], into: destination) } == .damaged)
        #expect(!FileManager.default.fileExists(atPath: destination))

        // The whole read (verify -i) finds the same index wrong.
        let reader = try ArchiveReader(source: FileSource(path: archive.path)).unlock(with: [identity])
        #expect(errorCode { _ = try Restore.check(reader, options: RestoreOptions()) } == .damaged)
    }

    /// An early end-of-archive marker inside an entry's range hides what
    /// follows it from libarchive, which stops there: the rest of the range
    /// must be zeros, for a partial read and a whole one alike.
    @Test func bytesHiddenAfterAnEarlyEndAreRefused() throws {
        let root = try FramedPackingTests.makeTree()
        defer { try? FileManager.default.removeItem(at: root) }
        let packed = try Self.pack(root)
        let k = try #require(packed.entries.firstIndex { $0.path == Array("config/env.backup".utf8) })
        let end = Int(packed.entries[k + 1].headerOffset)
        // A marker, then a member the index does not name, before the next
        // entry the index does.
        let hidden = [UInt8](repeating: 0, count: 1024) + Array(ShownNameTests().ustarFile("hidden").prefix(512))
        let tar = Array(packed.tar[..<end]) + hidden + Array(packed.tar[end...])
        var entries = packed.entries
        for j in (k + 1)..<entries.count { entries[j].headerOffset += UInt64(hidden.count) }
        let archive = try seal(Packed(tar: tar, entries: entries), entries: entries, in: root)
        let destination = root.appendingPathComponent("out").path
        #expect(errorCode { _ = try restore(archive, only: ["config/env.backup"], into: destination) } == .damaged)
        #expect(!FileManager.default.fileExists(atPath: destination))
        let reader = try ArchiveReader(source: FileSource(path: archive.path)).unlock(with: [identity])
        #expect(errorCode { _ = try Restore.check(reader, options: RestoreOptions()) } == .damaged)

        // The genuine archive's last entry, whose range holds the real
        // marker and the zeros after it, comes back by itself.
        let genuine = try seal(packed, entries: packed.entries, in: root)
        let last = try #require(packed.entries.last)
        let (summary, _) = try restore(genuine, only: [String(decoding: last.path, as: UTF8.self)], into: destination)
        #expect(summary.files + summary.symlinks + summary.hardlinks + summary.directories >= 1)
    }

    /// A member hidden right after the tar's final marker, the index
    /// untouched: every reader stops at the marker, so it would be carried
    /// and never restored. The whole read (`verify -i`, `open -C`) and
    /// `open -o` refuse it; so does a partial read of the last entry here,
    /// as libarchive is handed the frame that holds it (a partial read
    /// checks what libarchive was handed after the marker, and reads no
    /// further).
    @Test func aMemberHiddenAfterTheFinalMarkerIsRefused() throws {
        let root = try FramedPackingTests.makeTree()
        defer { try? FileManager.default.removeItem(at: root) }
        let packed = try Self.pack(root)
        let last = try #require(packed.entries.last)
        // The last member's end: its last byte that is not zero, rounded up
        // to a block (the packer's files do not end in zeros).
        let end = packed.tar.withUnsafeBytes { $0.lengthBeforeTrailingZeros }
        let markerEnd = (end + 511) / 512 * 512 + 1024
        let hidden = Array(ShownNameTests().ustarFile("hidden").prefix(512))
        let tar = Array(packed.tar[..<markerEnd]) + hidden + [UInt8](repeating: 0, count: 1024)
        let archive = try seal(Packed(tar: tar, entries: packed.entries), entries: packed.entries, in: root)

        let reader = try ArchiveReader(source: FileSource(path: archive.path)).unlock(with: [identity])
        #expect(errorCode { _ = try Restore.check(reader, options: RestoreOptions()) } == .damaged)
        let again = try ArchiveReader(source: FileSource(path: archive.path)).unlock(with: [identity])
        #expect(errorCode { _ = try Restore.writeDecompressed(again, into: MemorySink()) } == .damaged)
        let destination = root.appendingPathComponent("out").path
        #expect(errorCode { _ = try restore(archive, only: [String(decoding: last.path, as: UTF8.self)], into: destination) } == .damaged)
        #expect(!FileManager.default.fileExists(atPath: destination))
    }

    @Test func theGenuineArchiveReadsWholeToo() throws {
        let root = try FramedPackingTests.makeTree()
        defer { try? FileManager.default.removeItem(at: root) }
        let packed = try Self.pack(root)
        let archive = try seal(packed, entries: packed.entries, in: root)
        let reader = try ArchiveReader(source: FileSource(path: archive.path)).unlock(with: [identity])
        let summary = try Restore.check(reader, options: RestoreOptions())
        #expect(summary.files == 6 && summary.archive != nil)
    }
}
