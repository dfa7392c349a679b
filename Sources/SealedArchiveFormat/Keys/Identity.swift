/// An identity: the X25519 secret key that opens archives sealed to its
/// ``recipient``, written as age writes it (`AGE-SECRET-KEY-1…`,
/// Spec/KEYS.md section 2). Keys made by `age-keygen` work unchanged.
///
/// The secret lives in ``SecureBytes`` and is wiped when the identity is
/// released; it is never printed.
public final class Identity: Sendable, CustomStringConvertible {
    package static let humanReadablePart = "AGE-SECRET-KEY-"
    package let secret: SecureBytes
    /// The public half.
    public let recipient: Recipient

    package init(secret: SecureBytes) throws {
        self.secret = secret
        self.recipient = try Recipient(publicKey: X25519.publicKey(of: secret))
    }

    /// A new random identity.
    public static func generate() throws -> Identity {
        let pair = try X25519.generate()
        return try Identity(secret: pair.secret)
    }

    /// Parses one `AGE-SECRET-KEY-1…` line, given as ASCII bytes.
    public convenience init(parsing text: UnsafeRawBufferPointer) throws {
        try self.init(secret: Bech32.decodeSecret(text, hrp: Self.humanReadablePart,
                                                  what: "identity (AGE-SECRET-KEY-1…)", count: X25519.keyLength))
    }

    /// The `AGE-SECRET-KEY-1…` text, in secure memory.
    public func encoded() throws -> SecureBytes {
        try Bech32.encodeSecret(secret, hrp: Self.humanReadablePart)
    }

    public var description: String { "Identity(recipient: \(recipient), secret redacted)" }
}
