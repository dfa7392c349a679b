/// A recipient stanza: the key id of a recipient and the file key sealed to
/// it (Spec/FORMAT.md section 4.1).
public struct Stanza: Hashable, Sendable {
    public let keyID: KeyID
    package let wrappedKey: [UInt8]

    package init(keyID: KeyID, wrappedKey: [UInt8]) {
        precondition(wrappedKey.count == FormatV1.stanzaLength - KeyID.length)
        self.keyID = keyID
        self.wrappedKey = wrappedKey
    }

    /// Seals `fileKey` to `recipient`.
    package static func wrap(_ fileKey: SecureBytes, to recipient: Recipient) throws -> Stanza {
        do {
            return Stanza(keyID: recipient.keyID, wrappedKey: try X25519.seal(fileKey, to: recipient.publicKey))
        } catch {
            // libsodium refuses small-order points: such a "recipient" could
            // never decrypt (Spec/FORMAT.md section 9).
            throw SealedArchiveError(.invalidKey, "recipient \(recipient) is not a usable X25519 public key", cause: error as? SealedArchiveError)
        }
    }

    /// Opens the file key with `identity`; nil when the box does not open.
    package func unwrap(with identity: Identity) throws -> SecureBytes? {
        try wrappedKey.withUnsafeBytes {
            try X25519.open($0, publicKey: identity.recipient.publicKey, secret: identity.secret)
        }
    }
}
