import Foundation
import Testing
import TestSupport
@testable import SealedArchive
@testable import SealedArchiveFormat

/// A directory packed into a format 2 payload (Spec/FORMAT-v2.md section 8):
/// the stored entry index is exactly what section 8.1 makes of the tar a
/// reader gets back (the whole-payload check), frames are cut at members,
/// and the index finds every member's header.
@Suite struct FramedPackingTests {
    /// A tree with every kind the packer stores: small, empty and
    /// multi-frame files, nested and empty directories, a symbolic link, a
    /// hard link, a non-ASCII name and a name too long for ustar.
    static func makeTree() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("framed-\(UUID().uuidString)")
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("db/empty"), withIntermediateDirectories: true)
        try fm.createDirectory(at: root.appendingPathComponent("config"), withIntermediateDirectories: true)
        try Data("SECRET=1\n".utf8).write(to: root.appendingPathComponent("config/env.backup"))
        try Data().write(to: root.appendingPathComponent("config/empty"))
        var generator = SeededGenerator(seed: 8)
        try Data(generator.bytes(2_500_000)).write(to: root.appendingPathComponent("db/dump.bin"))
        try Data(String(repeating: "INSERT INTO t VALUES (1);\n", count: 60_000).utf8).write(to: root.appendingPathComponent("db/dump.sql"))
        try Data("é\n".utf8).write(to: root.appendingPathComponent("config/caf\u{e9}.txt"))
        try Data("long\n".utf8).write(to: root.appendingPathComponent("config/" + String(repeating: "n", count: 150)))
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("current").path, withDestinationPath: "db/dump.sql")
        try fm.linkItem(at: root.appendingPathComponent("db/dump.sql"), to: root.appendingPathComponent("db/again.sql"))
        return root
    }

    @Test(arguments: [PayloadCompression.zstd(level: 3), .none])
    func theStoredIndexIsWhatTheTarYields(compression: PayloadCompression) throws {
        let root = try Self.makeTree()
        defer { try? FileManager.default.removeItem(at: root) }
        let sink = MemorySink()
        let payload = try FramedPayloadWriter(sink: sink, compression: compression)
        let summary = try DirectoryPacker.pack(directory: root.path, into: payload)
        try payload.finish()
        #expect(summary.files == 6 && summary.hardlinks == 1 && summary.symlinks == 1)
        let bytes = sink.bytes

        let seekable = try SeekablePayload(payloadLength: UInt64(bytes.count)) { offset, count in
            Array(bytes[Int(offset)..<Int(offset) + count])
        }
        #expect(seekable.frameCount >= 3, "2.5 MB of random data spans frames")

        // The tar as a streaming reader gets it, through libarchive, made
        // into index entries the same way (content hashed as read).
        let reader = try FramedPayloadReader(source: MemorySource(bytes))
        let tar = try TarStreamReader(source: reader)
        var derived: [IndexEntry] = []
        while let entry = try tar.next() {
            var sha256: [UInt8]?
            if entry.kind == .file {
                let hasher = try SHA256()
                while let block = try tar.nextBlock() { hasher.update(block.bytes) }
                sha256 = hasher.finalize()
            }
            derived.append(try IndexEntry(entry, headerOffset: UInt64(entry.headerOffset), sha256: sha256))
        }
        try tar.close()
        #expect(derived.count == 11, "\(derived.map { String(decoding: $0.path, as: UTF8.self) })")
        let stored = try seekable.indexEntries()
        #expect(derived == stored, "stored index differs from the tar: \(Self.difference(stored, derived))")

        // Each member's header is where the index says: in its frame, at
        // its offset, a header block (typeflag of a member or of the pax
        // header before one; a block cut by a frame's end is not looked at).
        for entry in stored {
            let (frame, offset) = try #require(seekable.locate(tarOffset: entry.headerOffset))
            let block = try seekable.frame(frame)
            #expect(offset < block.count)
            if offset + 512 <= block.count {
                #expect(Array("0152x".utf8).contains(block[offset + 156]), "no header at \(entry.headerOffset)")
            }
        }
        // The env file's content is findable by the index alone.
        let env = try #require(stored.first { $0.path == Array("config/env.backup".utf8) })
        #expect(env.sha256 == sha256Bytes(Array("SECRET=1\n".utf8)))
    }

    static func difference(_ stored: [IndexEntry], _ derived: [IndexEntry]) -> String {
        for (a, b) in zip(stored, derived) where a != b { return "stored \(a) vs tar \(b)" }
        return "counts \(stored.count) vs \(derived.count)"
    }
}

private func sha256Bytes(_ bytes: [UInt8]) -> [UInt8] {
    let hasher = try! SHA256()
    bytes.withUnsafeBytes { hasher.update($0) }
    return hasher.finalize()
}
