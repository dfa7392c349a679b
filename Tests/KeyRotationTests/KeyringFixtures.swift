import Foundation
import Testing
import KeyRotation
import SealedArchive
import TestSupport

/// A fresh directory under the system temporary directory, removed when
/// released.
final class TemporaryDirectory {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("keyrotation-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

/// The simulated clock's epoch: 2026-01-01T00:00:00Z.
let epoch = Date(timeIntervalSince1970: 1_767_225_600)
let day: TimeInterval = 86_400

/// `n` days (and `hours`) after the epoch.
func days(_ n: Double, hours: Double = 0) -> Date {
    epoch.addingTimeInterval(n * day + hours * 3_600)
}

/// The usual policy of these tests: quarterly review, 90 days offsite,
/// 30 days grace.
func standardPolicy() throws -> KeyringPolicy {
    try KeyringPolicy(retention: "90d", reviewInterval: "90d", grace: "30d")
}

/// The error code `body` throws, or nil if it succeeds.
func errorCode(_ body: () throws -> Void) -> SealedArchiveError.Code? {
    do { try body(); return nil } catch let error as SealedArchiveError { return error.code } catch { return SealedArchiveError.Code(rawValue: "unexpected: \(error)") }
}

/// The error `body` throws, or nil.
func sealedArchiveError(_ body: () throws -> Void) -> SealedArchiveError? {
    do { try body(); return nil } catch let error as SealedArchiveError { return error } catch { return nil }
}

/// The permission bits of a file or directory.
func mode(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? NSNumber)?.intValue ?? -1
}

func setMode(_ path: String, _ mode: Int) throws {
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
}

/// An inventory entry for an archive sealed now with the keyring's active keys.
func sealedNow(_ keyring: Keyring, name: String, at date: Date, extraRecipients: [KeyID] = []) -> ArchiveInventory.Entry {
    ArchiveInventory.Entry(name: name, created: date, recipients: [keyring.activeKey(.encryption).keyID] + extraRecipients,
                           signer: keyring.activeKey(.signing).keyID,
                           hasClassicalStanza: keyring.activeKey(.encryption).recipient?.isPostQuantum != true)
}

/// Seals `plaintext` for real with the keyring's active recipient and
/// signing key, created at `date`, into `path`.
@discardableResult
func sealArchive(_ keyring: Keyring, plaintext: [UInt8], at date: Date, to path: String) throws -> ArchiveHeader {
    let sink = try AtomicFileSink(path: path, mode: 0o644, replaceExisting: false)
    var options = SealOptions(created: date)
    // Format 2 holds post-quantum stanzas, and reads the same otherwise.
    options.formatVersion = .v2
    let writer = try ArchiveWriter(sink: sink, recipients: keyring.activeRecipients, signingKey: try keyring.activeSigningKey(),
                                   options: options)
    try plaintext.withUnsafeBytes { try writer.write($0) }
    let result = try writer.finish()
    try sink.commit()
    return result.header
}

/// Opens a real archive with the keyring, requiring its signer to be a
/// signing key of the keyring whose window holds the creation time.
func openArchive(_ keyring: Keyring, path: String) throws -> [UInt8] {
    let windows = keyring.signerWindows
    let locked = try ArchiveReader(source: FileSource(path: path), requiredSigners: windows.map(\.signer))
    let header = locked.header
    guard let signer = header.signer, let window = windows.first(where: { $0.signer == signer }), window.contains(header.createdDate) else {
        throw SealedArchiveError(.untrustedSigner, "signed outside its signer's window")
    }
    let reader = try locked.unlock(with: try keyring.identities(opening: header))
    let sink = MemorySink()
    _ = try reader.decrypt(into: sink)
    return sink.bytes
}
