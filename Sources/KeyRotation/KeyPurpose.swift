/// What a key in a keyring is for (Spec/KEYRING.md section 3).
public enum KeyPurpose: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// An X25519 identity that opens archives sealed to its recipient.
    case encryption
    /// An Ed25519 signing key that signs archives as they are sealed.
    case signing

    public var description: String { rawValue }
}
