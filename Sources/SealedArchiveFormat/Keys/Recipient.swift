/// A recipient: the public key an archive is encrypted to, written as age
/// writes it (Spec/KEYS.md section 2): an X25519 key (`age1…`) or a hybrid
/// post-quantum X-Wing key (`age1pq1…`, ML-KEM-768 + X25519).
public struct Recipient: Hashable, Sendable, CustomStringConvertible {
    /// The kinds of encryption key. One post-quantum recipient among
    /// classical ones gives up its protection: whoever breaks X25519 opens
    /// the classical stanza.
    public enum Kind: Sendable, Hashable, CustomStringConvertible {
        /// X25519 (`age1…`), stanza type `01`.
        case x25519
        /// X-Wing, ML-KEM-768 + X25519 (`age1pq1…`), stanza type `02`.
        case postQuantum

        public var description: String {
            switch self {
            case .x25519: return "X25519"
            case .postQuantum: return "post-quantum (ML-KEM-768 + X25519)"
            }
        }
    }

    package static let humanReadablePart = "age"
    package static let postQuantumHumanReadablePart = "age1pq"
    package static let keyIDDomain: StaticString = "SealedArchive/v1/recipient-id"
    package static let postQuantumKeyIDDomain: StaticString = "SealedArchive/v2/pq-recipient-id"
    package static let kindName = "recipient (age1… or age1pq1…)"

    public let kind: Kind
    /// 32 bytes for X25519, 1216 for X-Wing.
    package let publicKey: [UInt8]
    /// The recipient key id that stanzas carry.
    public let keyID: KeyID

    /// An X25519 recipient.
    package init(publicKey: [UInt8]) throws {
        try self.init(kind: .x25519, publicKey: publicKey)
    }

    package init(kind: Kind, publicKey: [UInt8]) throws {
        switch kind {
        case .x25519:
            precondition(publicKey.count == X25519.keyLength)
            keyID = try KeyID.of(publicKey: publicKey, domain: Self.keyIDDomain)
        case .postQuantum:
            precondition(publicKey.count == XWing.publicKeyLength)
            keyID = try KeyID.of(publicKey: publicKey, domain: Self.postQuantumKeyIDDomain)
        }
        self.kind = kind
        self.publicKey = publicKey
    }

    /// Parses an `age1…` or `age1pq1…` recipient.
    public init(parsing text: String) throws {
        if text.hasPrefix(Self.postQuantumHumanReadablePart + "1") {
            let key = try Self.decode(text, hrp: Self.postQuantumHumanReadablePart, count: XWing.publicKeyLength,
                                      what: "post-quantum recipient (age1pq1…)")
            // swift-crypto checks only the length when a key is made; the
            // check of FIPS 203 is made here, so a bad line of a recipients
            // file is named when it is read, not when sealing fails.
            guard XWing.isCanonicalPublicKey(key) else {
                throw SealedArchiveError(.invalidKey, "not a valid post-quantum recipient (age1pq1…): its ML-KEM key has a coefficient out of range")
            }
            try self.init(kind: .postQuantum, publicKey: key)
        } else {
            try self.init(kind: .x25519, publicKey: Self.decode(text, hrp: Self.humanReadablePart, count: X25519.keyLength, what: Self.kindName))
        }
    }

    /// Whether this is a post-quantum (X-Wing) recipient.
    public var isPostQuantum: Bool { kind == .postQuantum }

    public var description: String {
        Bech32.encode(hrp: kind == .postQuantum ? Self.postQuantumHumanReadablePart : Self.humanReadablePart, data: publicKey)
    }

    private static func decode(_ text: String, hrp: String, count: Int, what: String) throws -> [UInt8] {
        var key = [UInt8](repeating: 0, count: count)
        let utf8 = Array(text.utf8)
        try utf8.withUnsafeBytes { source in
            try key.withUnsafeMutableBytes { try Bech32.decode(source, hrp: hrp, uppercase: false, what: what, into: $0) }
        }
        return key
    }
}
