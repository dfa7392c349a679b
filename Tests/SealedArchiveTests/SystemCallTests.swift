import Foundation
import Testing
@testable import SealedArchive
import SystemCalls

/// The system-call layer: every failure is an errno, and one layer up a
/// one-line `.io` error naming the file with that errno as its cause.
@Suite struct SystemCallTests {
    let missing = FileManager.default.temporaryDirectory.appendingPathComponent("absent-\(UUID().uuidString)/file").path

    @Test func aFailingCallThrowsItsErrno() {
        #expect(throws: SystemError(errno: ENOENT)) { _ = try System.open(missing, flags: O_RDONLY) }
        #expect(throws: SystemError(errno: ENOENT)) { try System.rename(missing, missing + ".2") }
        #expect(throws: SystemError(errno: EBADF)) { _ = try System.status(Int32(-1)) }
        #expect(SystemError(errno: ENOENT).description == "No such file or directory")
    }

    @Test func aMissingNameIsNilNotAnError() throws {
        #expect(try System.linkStatus(missing) == nil)
        #expect(!System.exists(missing))
        #expect(System.exists(FileManager.default.temporaryDirectory.path))
    }

    @Test func theLibraryReportsAnIOErrorWithTheErrnoAsCause() {
        do {
            _ = try POSIX.open(missing, flags: O_RDONLY, what: "'the file'")
            Issue.record("opening a missing file succeeded")
        } catch let error as SealedArchiveError {
            #expect(error.code == .io)
            #expect(error.message == "cannot open 'the file': No such file or directory")
            #expect(!error.message.contains("\n"))
            #expect((error.cause as? SystemError)?.errno == ENOENT)
        } catch {
            Issue.record("not a SealedArchiveError: \(error)")
        }
    }

    @Test func writingToAClosedDescriptorIsAnIOError() {
        let error = #expect(throws: SealedArchiveError.self) {
            try [1, 2, 3].withUnsafeBytes { try POSIX.writeAll(-1, $0, what: "nowhere") }
        }
        #expect(error?.code == .io)
        #expect(error?.message == "cannot write nowhere: Bad file descriptor")
        #expect((error?.cause as? SystemError)?.errno == EBADF)
    }

    @Test func theFileSystemFlushWorksAndReportsAMissingDirectory() throws {
        try Restore.flushFileSystem(FileManager.default.temporaryDirectory.path)
        let error = #expect(throws: SealedArchiveError.self) { try Restore.flushFileSystem(missing) }
        #expect(error?.code == .io)
        #expect((error?.cause as? SystemError)?.errno == ENOENT)
    }

    @Test func processorsAreCounted() {
        #expect(System.onlineProcessorCount >= 1)
    }
}
