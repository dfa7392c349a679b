import Foundation
import Synchronization
import Testing
import TestSupport
@testable import SealedArchive

/// Cancellation handed to a restore: it stops between blocks and leaves
/// nothing; it never splits the commit; and the extracted tree is flushed
/// before it is moved into place.
@Suite struct CancellationTests {
    let identity = try! Identity.generate()

    /// A fresh directory to extract into, removed at the end.
    func scratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cancel-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    /// An archive of a directory of `files` files of 20 KB each, tar not
    /// compressed, in 4 KiB chunks: many blocks to read.
    func directoryArchive(files: Int = 8) throws -> [UInt8] {
        let source = try scratch()
        defer { try? FileManager.default.removeItem(atPath: source) }
        for i in 0..<files {
            try Data(TestSupport.randomBytes(20_000)).write(to: URL(fileURLWithPath: "\(source)/file\(i)"))
        }
        let tar = MemorySink()
        _ = try DirectoryPacker.pack(directory: source, into: tar, compression: .none)
        return try sealInMemory(tar.bytes, to: [identity.recipient]) { $0.payloadKind = .tar }.archive
    }

    /// Hands out the archive and cancels once `after` bytes were read.
    final class CancellingSource: ByteSource {
        let inner: MemorySource
        let cancellation: Cancellation
        let after: Int
        var read = 0
        init(_ bytes: [UInt8], cancellation: Cancellation, after: Int) {
            inner = MemorySource(bytes); self.cancellation = cancellation; self.after = after
        }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let n = try inner.read(into: buffer)
            read += n
            if read >= after { cancellation.cancel() }
            return n
        }
    }

    func reader(_ source: ByteSource) throws -> UnlockedArchiveReader {
        try ArchiveReader(source: source, requiredSigners: nil).unlock(with: [identity])
    }

    @Test func cancellingARestoreInProgressLeavesNothing() throws {
        let archive = try directoryArchive()
        let parent = try scratch()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let cancellation = Cancellation()
        let source = CancellingSource(archive, cancellation: cancellation, after: archive.count / 3)
        do {
            _ = try Restore.extract(try reader(source), to: parent + "/dest", options: RestoreOptions(), cancellation: cancellation)
            Issue.record("a cancelled restore succeeded")
        } catch let error as SealedArchiveError {
            #expect(error.message == Cancellation.interrupted.message)
        }
        #expect(source.read < archive.count, "the restore stopped before reading the whole archive")
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == [], "no destination and no staging directory")
        #expect(!cancellation.cancel(), "nothing was committed")
    }

    @Test func aCancellationBeforeTheCommitLeavesNothing() throws {
        let archive = try directoryArchive(files: 2)
        let parent = try scratch()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let cancellation = Cancellation()
        // Cancelled during the flush: everything was read, the commit is next.
        let error = #expect(throws: SealedArchiveError.self) {
            _ = try Restore.extract(try reader(MemorySource(archive)), to: parent + "/dest", options: RestoreOptions(),
                                    cancellation: cancellation, flush: { _ in cancellation.cancel() })
        }
        #expect(error?.message == Cancellation.interrupted.message)
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == [])
    }

    @Test func aRunCancelledAfterItsCommitSucceeds() throws {
        let archive = try directoryArchive(files: 2)
        let parent = try scratch()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let cancellation = Cancellation()
        let summary = try Restore.extract(try reader(MemorySource(archive)), to: parent + "/dest", options: RestoreOptions(),
                                          cancellation: cancellation)
        #expect(summary.files == 2)
        #expect(cancellation.cancel(), "a commit was made: the work is complete")
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent + "/dest").sorted() == ["file0", "file1"])
    }

    /// A cancel that arrives while a commit runs waits for it; the commit
    /// is not interrupted half-way and the next one is refused.
    @Test func cancelWaitsForARunningCommit() throws {
        let cancellation = Cancellation()
        let started = DispatchSemaphore(value: 0)
        let finished = Atomic<Bool>(false)
        let sawFinished = Atomic<Bool>(false)
        let canceller = Thread {
            started.wait()
            let completed = cancellation.cancel()
            sawFinished.store(finished.load(ordering: .sequentiallyConsistent) && completed, ordering: .sequentiallyConsistent)
        }
        canceller.start()
        try cancellation.commit {
            started.signal()
            Thread.sleep(forTimeInterval: 0.3)
            finished.store(true, ordering: .sequentiallyConsistent)
        }
        while !cancellation.isCancelled { Thread.sleep(forTimeInterval: 0.01) }
        Thread.sleep(forTimeInterval: 0.05)
        let cancelSawTheCommitFinished = sawFinished.load(ordering: .sequentiallyConsistent)
        #expect(cancelSawTheCommitFinished)
        #expect(throws: Cancellation.interrupted) { try cancellation.commit {} }
        #expect(throws: Cancellation.interrupted) { try cancellation.check() }
        #expect(Cancellation().isCancelled == false)
    }

    /// The extracted tree is flushed, complete, in its staging directory
    /// before it appears under its name; a failed flush leaves nothing.
    @Test func theTreeIsFlushedBeforeItIsMovedIntoPlace() throws {
        let archive = try directoryArchive(files: 3)
        let parent = try scratch()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        var flushed: [(staging: String, files: [String], destinationExisted: Bool)] = []
        _ = try Restore.extract(try reader(MemorySource(archive)), to: parent + "/dest", options: RestoreOptions(),
                                cancellation: Cancellation(), flush: { staging in
            flushed.append((staging, (try? FileManager.default.contentsOfDirectory(atPath: staging).sorted()) ?? [],
                            FileManager.default.fileExists(atPath: parent + "/dest")))
            try Restore.flushFileSystem(staging)
        })
        #expect(flushed.count == 1)
        #expect(flushed.first?.files == ["file0", "file1", "file2"])
        #expect(flushed.first?.destinationExisted == false)
        #expect(flushed.first.map { PathName.split($0.staging).directory } == parent)

        let failing = SealedArchiveError(.io, "cannot flush")
        #expect(throws: failing) {
            _ = try Restore.extract(try reader(MemorySource(archive)), to: parent + "/other", options: RestoreOptions(),
                                    cancellation: Cancellation(), flush: { _ in throw failing })
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent) == ["dest"])
    }
}
