/// An identity: the X25519 secret key that opens archives sealed to its
/// ``recipient``, written as age writes it (`AGE-SECRET-KEY-1…`,
/// Spec/KEYS.md section 2). Keys made by `age-keygen` work unchanged.
///
/// The secret lives in ``SecureBytes`` and is wiped when the identity is
/// released; it is never printed.
public final class Identity: Sendable, CustomStringConvertible {
    static let humanReadablePart = "AGE-SECRET-KEY-"
    let secret: SecureBytes
    /// The public half.
    public let recipient: Recipient

    init(secret: SecureBytes) throws {
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
        let secret = try SecureBytes(count: X25519.keyLength) {
            try Bech32.decode(text, hrp: Self.humanReadablePart, uppercase: true, what: "identity (AGE-SECRET-KEY-1…)", into: $0)
        }
        try self.init(secret: secret)
    }

    /// The `AGE-SECRET-KEY-1…` text, in secure memory.
    public func encoded() throws -> SecureBytes {
        try secret.withUnsafeBytes { key in
            try SecureBytes(count: Bech32.encodedLength(hrp: Self.humanReadablePart, dataCount: key.count)) {
                Bech32.encode(hrp: Self.humanReadablePart, data: key, uppercase: true, into: $0)
            }
        }
    }

    public var description: String { "Identity(recipient: \(recipient), secret redacted)" }
}
