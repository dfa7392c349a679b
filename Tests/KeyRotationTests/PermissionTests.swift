import Foundation
import Testing
import KeyRotation
import SealedArchive

/// A keyring that group or others can use is refused, naming the file and
/// the fix (Spec/KEYRING.md section 2).
@Suite final class PermissionTests {
    /// Each test gets its own instance, so its own keyring.
    let dir: TemporaryDirectory
    let path: String
    let keyring: Keyring

    init() throws {
        dir = try TemporaryDirectory()
        path = dir.file("keyring")
        keyring = try Keyring.create(at: path, policy: try standardPolicy(), now: days(0))
    }

    @Test func aLooseDirectoryIsRefusedWithTheFix() throws {
        try setMode(path, 0o755)
        let error = sealedArchiveError { _ = try Keyring(opening: path) }
        #expect(error?.code == .unsafeKeyFile)
        #expect(error?.message.contains("chmod 700 '\(path)'") == true)
        #expect(error?.message.contains("mode 0755") == true)
        try setMode(path, 0o700)
        _ = try Keyring(opening: path)
    }

    @Test func aLooseKeysDirectoryIsRefused() throws {
        try setMode(path + "/keys", 0o750)
        let error = sealedArchiveError { _ = try Keyring(opening: path) }
        #expect(error?.code == .unsafeKeyFile)
        #expect(error?.message.contains("chmod 700 '\(path)/keys'") == true)
    }

    @Test(arguments: ["secret", "metadata", "policy", "log"])
    func aLooseFileIsRefusedWithTheFix(_ which: String) throws {
        try keyring.appendReviewLog(keyring.review(inventory: nil, at: days(1)), now: days(1))
        let id = keyring.activeKey(.encryption).keyID
        let file = switch which {
        case "secret": path + "/keys/\(id).key"
        case "metadata": path + "/keyring.json"
        case "policy": path + "/policy.json"
        default: path + "/review.log"
        }
        try setMode(file, 0o644)
        let error = sealedArchiveError { _ = try Keyring(opening: path) }
        #expect(error?.code == .unsafeKeyFile)
        #expect(error?.message.contains("chmod 600 '\(file)'") == true)
        // An open keyring re-checks the secret file when it reads it.
        if which == "secret" { #expect(errorCode { _ = try keyring.identity(for: id) } == .unsafeKeyFile) }
        if which == "log" { #expect(errorCode { try keyring.appendReviewLog(keyring.review(inventory: nil, at: days(2)), now: days(2)) } == .unsafeKeyFile) }
    }

    @Test func severalLooseFilesGetOneFixForAll() throws {
        for record in keyring.keys { try setMode(path + "/keys/\(record.keyID).key", 0o640) }
        let error = sealedArchiveError { _ = try Keyring(opening: path) }
        #expect(error?.message.contains("and 1 more; fix them all with: chmod -R go= '\(path)'") == true)
    }

    @Test func symbolicLinksAreRefused() throws {
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir.file("elsewhere")))
        try FileManager.default.createSymbolicLink(atPath: path + "/keys/extra.json", withDestinationPath: dir.file("elsewhere"))
        let error = sealedArchiveError { _ = try Keyring(opening: path) }
        #expect(error?.code == .unsafeKeyFile)
        #expect(error?.message.contains("symbolic link") == true)
    }

    @Test func aMissingKeyringIsAnIOError() throws {
        let error = sealedArchiveError { _ = try Keyring(opening: dir.file("nothing")) }
        #expect(error?.code == .io)
        #expect(error?.message.contains("no keyring") == true)
        // An empty private directory is not a keyring either.
        let empty = dir.file("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        try setMode(empty, 0o700)
        #expect(errorCode { _ = try Keyring(opening: empty) } == .invalidKey)
    }
}
