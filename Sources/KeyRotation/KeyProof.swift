import Foundation
import SealedArchive

/// The outcome of proving that a held key still works.
public struct KeyProof: Sendable {
    public let keyID: KeyID
    public let purpose: KeyPurpose
    /// nil when the proof passed; otherwise why it failed.
    public let failure: String?
    public var passed: Bool { failure == nil }
}

extension Keyring {
    /// Proves every held key in a ceremony: each identity is read (asking
    /// `passphrase` when protected) and opens a fresh challenge archive
    /// sealed to its public key from the metadata; each signing key signs a
    /// challenge archive that then verifies under its public key. A failing
    /// key is reported, not thrown: the ceremony wants every result.
    public func prove(passphrase: KeyFiles.PassphraseProvider?, now: Date) -> [KeyProof] {
        // Format 2: it holds post-quantum stanzas too.
        var options = SealOptions(created: now)
        options.formatVersion = .v2
        return keys.filter(\.isHeld).map { record in
            do {
                var challenge = [UInt8](repeating: 0, count: 32)
                for index in challenge.indices { challenge[index] = UInt8.random(in: 0...255) }
                let sink = MemorySink()
                switch record.purpose {
                case .encryption:
                    guard let recipient = record.recipient else { throw SealedArchiveError(.invalidKey, "no recipient in the metadata") }
                    let writer = try ArchiveWriter(sink: sink, recipients: [recipient], signingKey: nil, options: options)
                    try challenge.withUnsafeBytes { try writer.write($0) }
                    _ = try writer.finish()
                    let reader = try ArchiveReader(source: MemorySource(sink.bytes)).unlock(with: [try identity(for: record.keyID, passphrase: passphrase)])
                    let opened = MemorySink()
                    _ = try reader.decrypt(into: opened)
                    guard opened.bytes == challenge else { throw SealedArchiveError(.damaged, "the challenge came back different") }
                case .signing:
                    guard let signer = record.signer else { throw SealedArchiveError(.invalidKey, "no signer key in the metadata") }
                    let key = try signingKey(for: record.keyID, passphrase: passphrase)
                    let writer = try ArchiveWriter(sink: sink, recipients: [try Identity.generate().recipient], signingKey: key,
                                                   options: options)
                    try challenge.withUnsafeBytes { try writer.write($0) }
                    _ = try writer.finish()
                    _ = try ArchiveReader(source: MemorySource(sink.bytes), requiredSigners: [signer]).verify()
                }
                return KeyProof(keyID: record.keyID, purpose: record.purpose, failure: nil)
            } catch let error as SealedArchiveError {
                return KeyProof(keyID: record.keyID, purpose: record.purpose, failure: error.message)
            } catch {
                return KeyProof(keyID: record.keyID, purpose: record.purpose, failure: "\(error)")
            }
        }
    }
}
