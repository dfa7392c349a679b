/// An identity: the secret key that opens archives sealed to its
/// ``recipient``, written as age writes it (Spec/KEYS.md section 2): an
/// X25519 secret (`AGE-SECRET-KEY-1…`) or the 32-byte seed of a hybrid
/// post-quantum X-Wing key (`AGE-SECRET-KEY-PQ-1…`). Keys made by
/// `age-keygen` and `age-keygen -pq` work unchanged.
///
/// The secret lives in ``SecureBytes`` and is wiped when the identity is
/// released; it is never printed.
public final class Identity: Sendable, CustomStringConvertible {
    package static let humanReadablePart = "AGE-SECRET-KEY-"
    package static let postQuantumHumanReadablePart = "AGE-SECRET-KEY-PQ-"
    /// The X25519 secret scalar, or the X-Wing seed.
    package let secret: SecureBytes
    /// The public half.
    public let recipient: Recipient

    /// An X25519 identity.
    package convenience init(secret: SecureBytes) throws {
        try self.init(secret: secret, kind: .x25519)
    }

    package init(secret: SecureBytes, kind: Recipient.Kind) throws {
        self.secret = secret
        switch kind {
        case .x25519: recipient = try Recipient(publicKey: X25519.publicKey(of: secret))
        case .postQuantum: recipient = try Recipient(kind: .postQuantum, publicKey: XWing.publicKey(ofSeed: secret))
        }
    }

    /// The kind of key.
    public var kind: Recipient.Kind { recipient.kind }

    /// A new random identity.
    public static func generate(_ kind: Recipient.Kind = .x25519) throws -> Identity {
        switch kind {
        case .x25519: return try Identity(secret: X25519.generate().secret)
        case .postQuantum: return try Identity(secret: XWing.generateSeed(), kind: .postQuantum)
        }
    }

    /// Parses one `AGE-SECRET-KEY-1…` or `AGE-SECRET-KEY-PQ-1…` line, given
    /// as ASCII bytes.
    public convenience init(parsing text: UnsafeRawBufferPointer) throws {
        if text.starts(with: (Self.postQuantumHumanReadablePart + "1").utf8) {
            try self.init(secret: Bech32.decodeSecret(text, hrp: Self.postQuantumHumanReadablePart,
                                                      what: "post-quantum identity (AGE-SECRET-KEY-PQ-1…)", count: XWing.seedLength),
                          kind: .postQuantum)
        } else {
            try self.init(secret: Bech32.decodeSecret(text, hrp: Self.humanReadablePart,
                                                      what: "identity (AGE-SECRET-KEY-1…)", count: X25519.keyLength))
        }
    }

    /// The `AGE-SECRET-KEY-1…` or `AGE-SECRET-KEY-PQ-1…` text, in secure memory.
    public func encoded() throws -> SecureBytes {
        try Bech32.encodeSecret(secret, hrp: kind == .postQuantum ? Self.postQuantumHumanReadablePart : Self.humanReadablePart)
    }

    public var description: String { "Identity(recipient: \(recipient), secret redacted)" }
}
