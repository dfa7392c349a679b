/// The public key of a sealing host: an Ed25519 key written `sealsig1…`
/// (Spec/KEYS.md section 3). Verifiers trust archives signed by it.
public struct SignerKey: Hashable, Sendable, PublicKeyText {
    package static let humanReadablePart = "sealsig"
    package static let keyIDDomain: StaticString = "SealedArchive/v1/signer-id"
    package static let kindName = "signer key (sealsig1…)"

    package let publicKey: [UInt8]
    /// The signer key id.
    public let keyID: KeyID

    package init(publicKey: [UInt8]) throws {
        precondition(publicKey.count == Ed25519.publicKeyLength)
        self.publicKey = publicKey
        self.keyID = try KeyID.of(publicKey: publicKey, domain: Self.keyIDDomain)
    }

    /// Parses a `sealsig1…` signer key.
    public init(parsing text: String) throws {
        try self.init(publicKey: Self.decodePublicKey(text))
    }

    /// Whether `signature` is this key's signature of `message`.
    package func isValidSignature(_ signature: [UInt8], of message: [UInt8]) throws -> Bool {
        try Ed25519.verify(signature, of: message, publicKey: publicKey)
    }
}

/// The secret key a sealing host signs archives with: a 32-byte Ed25519 seed
/// written `SEALED-SIGNING-KEY-1…` (Spec/KEYS.md section 3). Held in
/// ``SecureBytes``, wiped on release, never printed.
public final class SigningKey: Sendable, CustomStringConvertible {
    package static let humanReadablePart = "SEALED-SIGNING-KEY-"
    package let seed: SecureBytes
    private let expandedSecret: SecureBytes
    /// The public half, which verifiers trust.
    public let signer: SignerKey

    package init(seed: SecureBytes) throws {
        self.seed = seed
        let pair = try Ed25519.keyPair(seed: seed)
        self.expandedSecret = pair.secret
        self.signer = try SignerKey(publicKey: pair.publicKey)
    }

    /// A new random signing key.
    public static func generate() throws -> SigningKey {
        try SigningKey(seed: SecureBytes.random(count: Ed25519.seedLength))
    }

    /// Parses one `SEALED-SIGNING-KEY-1…` line, given as ASCII bytes.
    public convenience init(parsing text: UnsafeRawBufferPointer) throws {
        try self.init(seed: Bech32.decodeSecret(text, hrp: Self.humanReadablePart,
                                                what: "signing key (SEALED-SIGNING-KEY-1…)", count: Ed25519.seedLength))
    }

    /// The `SEALED-SIGNING-KEY-1…` text, in secure memory.
    public func encoded() throws -> SecureBytes {
        try Bech32.encodeSecret(seed, hrp: Self.humanReadablePart)
    }

    package func sign(_ message: [UInt8]) throws -> [UInt8] {
        try Ed25519.sign(message, secret: expandedSecret)
    }

    public var description: String { "SigningKey(signer: \(signer), secret redacted)" }
}
