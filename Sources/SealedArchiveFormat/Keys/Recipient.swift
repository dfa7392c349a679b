/// A recipient: the X25519 public key an archive is encrypted to, written as
/// age writes it (`age1…`, Spec/KEYS.md section 2).
public struct Recipient: Hashable, Sendable, PublicKeyText {
    package static let humanReadablePart = "age"
    package static let keyIDDomain: StaticString = "SealedArchive/v1/recipient-id"
    package static let kindName = "recipient (age1…)"

    package let publicKey: [UInt8]
    /// The recipient key id that stanzas carry.
    public let keyID: KeyID

    package init(publicKey: [UInt8]) throws {
        precondition(publicKey.count == X25519.keyLength)
        self.publicKey = publicKey
        self.keyID = try KeyID.of(publicKey: publicKey, domain: Self.keyIDDomain)
    }

    /// Parses an `age1…` recipient.
    public init(parsing text: String) throws {
        try self.init(publicKey: Self.decodePublicKey(text))
    }
}
