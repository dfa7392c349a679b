import Foundation
import SealedArchive

/// The record of one key in a keyring, in `keyring.json`, schema 1
/// (Spec/KEYRING.md section 3). Public facts only; the secret is in
/// `keys/<keyid>.key` until the key is destroyed, after which this record
/// stays as a tombstone.
public struct KeyRecord: Sendable, Equatable, Codable, CustomStringConvertible {
    public static let schema = 1

    /// The recipient key id (encryption) or signer key id (signing).
    public let keyID: KeyID
    public let purpose: KeyPurpose
    /// The public key: `age1…` for encryption, `sealsig1…` for signing.
    public let publicKey: String
    /// When the key was generated.
    public let created: Date
    /// When it became the active key of its purpose.
    public let activated: Date
    /// When a rotation replaced it; nil while active.
    public internal(set) var retired: Date?
    /// `retired + retention + grace`, fixed at retirement; nil while active.
    public internal(set) var retainUntil: Date?
    /// When prune removed the secret key file; nil while held.
    public internal(set) var destroyed: Date?
    /// A retired signing key: the end of the overlap it was given at its
    /// rotation (`keys rotate --signing --overlap`), until which archives it
    /// signs are still trusted, for a host that switches keys late. Nil
    /// without one; always nil for an encryption key.
    public internal(set) var signsUntil: Date?
    /// Free text from whoever generated the key (no secrets, one line).
    public let comment: String?

    init(keyID: KeyID, purpose: KeyPurpose, publicKey: String, created: Date, activated: Date,
         retired: Date? = nil, retainUntil: Date? = nil, destroyed: Date? = nil, signsUntil: Date? = nil, comment: String?) {
        self.keyID = keyID
        self.purpose = purpose
        self.publicKey = publicKey
        self.created = KeyringTime.wholeSeconds(created)
        self.activated = KeyringTime.wholeSeconds(activated)
        self.retired = retired.map(KeyringTime.wholeSeconds)
        self.retainUntil = retainUntil.map(KeyringTime.wholeSeconds)
        self.destroyed = destroyed.map(KeyringTime.wholeSeconds)
        self.signsUntil = signsUntil.map(KeyringTime.wholeSeconds)
        self.comment = comment
    }

    /// The lifecycle status at `date`. A destroyed key is destroyed whatever
    /// the date; a retired key is expired from its retain-until date on.
    public func status(at date: Date) -> KeyStatus {
        if destroyed != nil { return .destroyed }
        guard retired != nil else { return .active }
        if let retainUntil, date >= retainUntil { return .expired }
        return .retired
    }

    /// Whether the secret key is still in the keyring (not destroyed).
    public var isHeld: Bool { destroyed == nil }

    /// Whether this is the active key of its purpose.
    public var isActive: Bool { retired == nil && destroyed == nil }

    /// The recipient of an encryption key; nil for a signing key.
    public var recipient: Recipient? {
        purpose == .encryption ? try? Recipient(parsing: publicKey) : nil
    }

    /// The signer of a signing key; nil for an encryption key.
    public var signer: SignerKey? {
        purpose == .signing ? try? SignerKey(parsing: publicKey) : nil
    }

    public var description: String { "\(purpose) key \(keyID)" }

    /// Checks what a metadata file cannot express by its types: the public
    /// key matches the key id and purpose, and the dates are in order.
    /// Returns the problem, or nil.
    func inconsistency() -> String? {
        let derived: KeyID?
        switch purpose {
        case .encryption: derived = (try? Recipient(parsing: publicKey))?.keyID
        case .signing: derived = (try? SignerKey(parsing: publicKey))?.keyID
        }
        guard let derived else {
            return "public_key is not \(purpose == .encryption ? "an age1… or age1pq1… recipient" : "a sealsig1… signer key")"
        }
        guard derived == keyID else { return "public_key has key id \(derived), not \(keyID)" }
        guard created <= activated else { return "activated is before created" }
        switch (retired, retainUntil) {
        case (nil, nil): break
        case (let retired?, let retainUntil?):
            guard activated <= retired else { return "retired is before activated" }
            guard retired <= retainUntil else { return "retain_until is before retired" }
        default: return "retired and retain_until must be both set or both null"
        }
        if let destroyed {
            guard let retainUntil else { return "destroyed is set on a key that was never retired" }
            guard destroyed >= retainUntil else { return "destroyed is before retain_until" }
        }
        if let signsUntil {
            guard purpose == .signing else { return "signs_until is set on an encryption key" }
            guard let retired, signsUntil >= retired else { return "signs_until is set without retired, or before it" }
        }
        if let comment, comment.contains(where: { $0.isNewline }) { return "comment is more than one line" }
        return nil
    }

    // MARK: Codable (every field written; unset ones as null)

    enum CodingKeys: String, CodingKey {
        case schema, keyID = "key_id", purpose, publicKey = "public_key", created, activated, retired,
             retainUntil = "retain_until", destroyed, signsUntil = "signs_until", comment
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.schema, forKey: .schema)
        try container.encode(keyID.description, forKey: .keyID)
        try container.encode(purpose, forKey: .purpose)
        try container.encode(publicKey, forKey: .publicKey)
        try container.encodeTime(created, forKey: .created)
        try container.encodeTime(activated, forKey: .activated)
        try container.encodeTimeOrNull(retired, forKey: .retired)
        try container.encodeTimeOrNull(retainUntil, forKey: .retainUntil)
        try container.encodeTimeOrNull(destroyed, forKey: .destroyed)
        try container.encodeTimeOrNull(signsUntil, forKey: .signsUntil)
        if let comment { try container.encode(comment, forKey: .comment) } else { try container.encodeNil(forKey: .comment) }
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let schema = try container.decode(Int.self, forKey: .schema)
        guard schema == Self.schema else {
            throw DecodingError.dataCorruptedError(forKey: .schema, in: container,
                debugDescription: "key metadata schema \(schema) is not supported (this version reads schema \(Self.schema))")
        }
        self.init(
            keyID: try container.decodeKeyID(forKey: .keyID),
            purpose: try container.decode(KeyPurpose.self, forKey: .purpose),
            publicKey: try container.decode(String.self, forKey: .publicKey),
            created: try container.decodeTime(forKey: .created),
            activated: try container.decodeTime(forKey: .activated),
            retired: try container.decodeTimeIfPresent(forKey: .retired),
            retainUntil: try container.decodeTimeIfPresent(forKey: .retainUntil),
            destroyed: try container.decodeTimeIfPresent(forKey: .destroyed),
            signsUntil: try container.decodeTimeIfPresent(forKey: .signsUntil),
            comment: try container.decodeIfPresent(String.self, forKey: .comment))
    }
}
