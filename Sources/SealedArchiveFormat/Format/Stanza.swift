/// A recipient stanza: whom the file key is sealed to and the sealed key
/// (Spec/FORMAT.md section 4.1; Spec/FORMAT-v2.md section 3.1).
///
/// Version 1 knows one kind, X25519, of 88 bytes. Version 2 stanzas are
/// typed: `01` X25519, `02` post-quantum (X-Wing). A stanza of a type this
/// code does not know is kept as opaque bytes, so a header holding one
/// re-serialises identically (it is covered by the MAC and the header
/// signature), and no identity matches it.
public struct Stanza: Hashable, Sendable {
    /// The version 2 stanza type of an X25519 stanza.
    public static let x25519Type: UInt8 = 1
    /// The version 2 stanza type of a post-quantum (X-Wing) stanza.
    public static let postQuantumType: UInt8 = 2

    /// The stanza type (`01` X25519, `02` post-quantum; every version 1
    /// stanza is `01`).
    public var type: UInt8 { typeCode }
    private let typeCode: UInt8
    /// The key id the body starts with (for every type, section 3.1).
    public let keyID: KeyID
    /// The whole body, key id included.
    package let body: [UInt8]

    /// Whether this is an X25519 stanza.
    public var isX25519: Bool { type == Self.x25519Type }
    /// Whether this is a post-quantum (X-Wing) stanza.
    public var isPostQuantum: Bool { type == Self.postQuantumType }
    /// Whether the type is one this code knows (and checks for duplicates).
    package var isKnownType: Bool { isX25519 || isPostQuantum }
    /// The kind of recipient a stanza of this type is for; nil for an
    /// unknown type.
    public var recipientKind: Recipient.Kind? {
        switch type {
        case Self.x25519Type: return .x25519
        case Self.postQuantumType: return .postQuantum
        default: return nil
        }
    }

    /// Whether `identity` is the one this stanza names: same kind, same
    /// key id (FORMAT-v2.md check 10).
    package func isFor(_ identity: Identity) -> Bool {
        recipientKind == identity.kind && keyID == identity.recipient.keyID
    }
    /// The sealed file key of an X25519 stanza.
    package var wrappedKey: [UInt8] { Array(body[KeyID.length...]) }

    package init(keyID: KeyID, wrappedKey: [UInt8]) {
        precondition(wrappedKey.count == FormatV1.stanzaLength - KeyID.length)
        self.init(checkedType: Self.x25519Type, keyID: keyID, body: keyID.bytes + wrappedKey)
    }

    private init(checkedType: UInt8, keyID: KeyID, body: [UInt8]) {
        self.typeCode = checkedType
        self.keyID = keyID
        self.body = body
    }

    /// A version 2 stanza of any type from its body; nil when the body is
    /// shorter than a key id, or a known type has another length (check 7).
    package init?(type: UInt8, body: [UInt8]) {
        guard body.count >= KeyID.length else { return nil }
        if type == Self.x25519Type, body.count != FormatV2.x25519BodyLength { return nil }
        if type == Self.postQuantumType, body.count != FormatV2.postQuantumBodyLength { return nil }
        self.init(checkedType: type, keyID: KeyID(bytes: Array(body[..<KeyID.length])), body: body)
    }

    /// Seals `fileKey` to `recipient` (with `ephemeralSecret` only for
    /// reproducible test vectors of X25519 stanzas).
    package static func wrap(_ fileKey: SecureBytes, to recipient: Recipient, ephemeralSecret: SecureBytes? = nil) throws -> Stanza {
        if recipient.kind == .postQuantum {
            do {
                let wrapped = try XWingWrap.wrap(fileKey, to: recipient.publicKey)
                return Stanza(checkedType: Self.postQuantumType, keyID: recipient.keyID, body: recipient.keyID.bytes + wrapped)
            } catch {
                throw SealedArchiveError(.invalidKey, "recipient \(recipient.keyID) is not a usable post-quantum public key", cause: error as? SealedArchiveError)
            }
        }
        do {
            let wrapped = try ephemeralSecret.map { try X25519.seal(fileKey, to: recipient.publicKey, ephemeralSecret: $0) }
                ?? X25519.seal(fileKey, to: recipient.publicKey)
            return Stanza(keyID: recipient.keyID, wrappedKey: wrapped)
        } catch {
            // libsodium refuses small-order points: such a "recipient" could
            // never decrypt (Spec/FORMAT.md section 9).
            throw SealedArchiveError(.invalidKey, "recipient \(recipient) is not a usable X25519 public key", cause: error as? SealedArchiveError)
        }
    }

    /// Opens the file key with `identity`; nil when the stanza does not open
    /// (or is not of the identity's kind).
    package func unwrap(with identity: Identity) throws -> SecureBytes? {
        guard recipientKind == identity.kind else { return nil }
        if isPostQuantum {
            return try XWingWrap.unwrap(body[KeyID.length...], seed: identity.secret, publicKey: identity.recipient.publicKey)
        }
        return try wrappedKey.withUnsafeBytes {
            try X25519.open($0, publicKey: identity.recipient.publicKey, secret: identity.secret)
        }
    }
}
