import Foundation
import SealedArchive

/// One thing a keyring review found (Spec/KEYRING.md section 5): a chore
/// due now (rotate, destroy), a problem with an archive (unrecoverable,
/// signed outside its signer's window), or a key kept and why.
///
/// Flat rather than an enum with payloads so its JSON form is one object
/// with a `kind` that monitoring can switch on.
public struct ReviewAction: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// An archive inside retention that no key the keyring holds can open.
        case unrecoverable
        /// An archive inside retention signed outside its signer's window, or
        /// by a key that is not a signing key of the keyring.
        case signedOutsideWindow = "signed_outside_window"
        /// The active key of a purpose has reached the review interval.
        case rotate
        /// An expired key that no archive inside retention needs.
        case destroy
        /// A retired or expired key that must stay, with why and until when.
        case keep
        /// The active encryption key is classical (X25519): archives sealed
        /// to it now could be opened by a future quantum computer.
        case migrateToPostQuantum = "migrate_to_post_quantum"
        /// The time reviewed is before the keyring's newest event: the
        /// clock is wrong, and so would every date comparison be.
        case clockBehind = "clock_behind"
        /// The sealing host's recipients file (`--recipients`) lacks the
        /// identity in service or lists a retired one.
        case recipientsFile = "recipients_file"
        /// The newest restore drill of the history (`--drills`) failed.
        case drillFailed = "drill_failed"
        /// No restore drill in the history is recent enough, or none is
        /// recorded at all.
        case drillOverdue = "drill_overdue"
        /// Archives inside retention with a classical stanza (named in
        /// `archives`): a fact to know, not a chore; they stay exposed until
        /// they leave retention, or are sealed again.
        case classicallyWrapped = "classically_wrapped"
    }

    public let kind: Kind
    /// The key acted on (rotate, destroy, keep) or the signer
    /// (signed outside window); nil for unrecoverable.
    public let keyID: KeyID?
    public let purpose: KeyPurpose?
    /// The archive concerned (unrecoverable, signed outside window).
    public let archive: String?
    public let archiveCreated: Date?
    /// The recipient key ids of an unrecoverable archive, none of them held.
    public let missingKeyIDs: [KeyID]
    /// Classically wrapped: the archives, oldest first.
    public let archives: [String]
    /// Keep: the key may be destroyed from this time on. Rotate: due since.
    public let until: Date?
    /// Keep: why the key stays.
    public let reason: String?
    /// One line for a person.
    public let message: String

    /// Everything but `keep` and `classicallyWrapped` is due now.
    public var due: Bool { kind != .keep && kind != .classicallyWrapped }

    public var description: String { message }

    init(kind: Kind, keyID: KeyID? = nil, purpose: KeyPurpose? = nil, archive: String? = nil, archiveCreated: Date? = nil,
         missingKeyIDs: [KeyID] = [], archives: [String] = [], until: Date? = nil, reason: String? = nil, message: String) {
        self.kind = kind
        self.keyID = keyID
        self.purpose = purpose
        self.archive = archive
        self.archiveCreated = archiveCreated
        self.missingKeyIDs = missingKeyIDs
        self.archives = archives
        self.until = until
        self.reason = reason
        self.message = message
    }

    // MARK: Codable

    enum CodingKeys: String, CodingKey {
        case kind, due, keyID = "key_id", purpose, archive, archiveCreated = "archive_created",
             missingKeyIDs = "missing_key_ids", archives, until, reason, message
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(due, forKey: .due)
        try container.encodeIfPresent(keyID?.description, forKey: .keyID)
        try container.encodeIfPresent(purpose, forKey: .purpose)
        try container.encodeIfPresent(archive, forKey: .archive)
        try container.encodeTimeIfPresent(archiveCreated, forKey: .archiveCreated)
        if kind == .unrecoverable { try container.encode(missingKeyIDs.map(\.description), forKey: .missingKeyIDs) }
        if kind == .classicallyWrapped { try container.encode(archives, forKey: .archives) }
        try container.encodeTimeIfPresent(until, forKey: .until)
        try container.encodeIfPresent(reason, forKey: .reason)
        try container.encode(message, forKey: .message)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let missing = try container.decodeIfPresent([String].self, forKey: .missingKeyIDs) ?? []
        self.init(
            kind: try container.decode(Kind.self, forKey: .kind),
            keyID: try container.decodeKeyIDIfPresent(forKey: .keyID),
            purpose: try container.decodeIfPresent(KeyPurpose.self, forKey: .purpose),
            archive: try container.decodeIfPresent(String.self, forKey: .archive),
            archiveCreated: try container.decodeTimeIfPresent(forKey: .archiveCreated),
            missingKeyIDs: try missing.map { text in
                guard let id = try? KeyID(parsing: text) else {
                    throw DecodingError.dataCorruptedError(forKey: .missingKeyIDs, in: container, debugDescription: "'\(text)' is not a key id")
                }
                return id
            },
            archives: try container.decodeIfPresent([String].self, forKey: .archives) ?? [],
            until: try container.decodeTimeIfPresent(forKey: .until),
            reason: try container.decodeIfPresent(String.self, forKey: .reason),
            message: try container.decode(String.self, forKey: .message))
    }
}
