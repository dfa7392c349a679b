import Foundation

/// One archive as every JSON output describes it: `inspect --json` (the
/// header only), `verify --json` (header and verification), `drill --json`
/// (header and the key that opened it, with the drill's own fields beside
/// it) and the keyring's inventory, which reads any of those lines back.
/// One type, so the four cannot drift apart: a key means the same
/// everywhere, and a field a reader does not know is ignored.
///
/// Keys are snake_case as printed; a key without a value is left out.
/// Spec/CLI.md lists them per output.
public struct ArchiveSummary: Codable, Sendable, Equatable {
    /// The version of this shape: 1. Optional only so that lines written
    /// before it was added still read back (the inventory).
    public var schema: Int? = ArchiveSummary.schemaVersion
    /// `archive` in `verify --json` (a `set` line is not an archive);
    /// absent in `inspect --json`.
    public var kind: String?
    /// The path as given (`-`: standard input).
    public var archive: String?

    // The header, readable without a key (not authenticated by itself).
    public var format_version: Int?
    /// RFC 3339 UTC.
    public var created: String?
    public var created_unix: UInt64?
    public var payload_kind: String?
    public var compression: String?
    public var chunk_size: Int?
    /// Format version 2: records per group (each group's hashes form one
    /// segment).
    public var group_size: Int?
    public var header_length: Int?
    /// Recipient key ids, one per stanza.
    public var recipients: [String]?
    /// Each stanza's type, in the order of `recipients`: `x25519`,
    /// `post-quantum`, or `unknown-NN` (hex) for a type this version does
    /// not know.
    public var recipient_types: [String]?
    public var signer: String?
    public var signer_key_id: String?
    public var label: String?
    public var sequence: UInt64?
    public var previous_digest: String?

    // A verification.
    public var depth: String?
    public var ok: Bool?
    public var error: ErrorSummary?
    public var chunks: UInt64?
    public var archive_bytes: UInt64?
    /// The trailer digest, hex.
    public var digest: String?
    public var signature_verified: Bool?
    public var plaintext_bytes: UInt64?
    public var files: Int?
    /// `matched`, `absent` or `skipped`.
    public var manifest: String?
    /// SHA-256 of the archive file, when a checksum file was checked.
    public var sha256: String?
    /// The key id of the identity that opened the archive (deep only).
    public var opened_with_key_id: String?

    public static let schemaVersion = 1

    /// An error as JSON shows it: its stable code and its one-line message.
    public struct ErrorSummary: Codable, Sendable, Equatable {
        public let code: String
        public let message: String

        public init(_ error: SealedArchiveError) {
            code = error.code.rawValue
            message = error.message
        }

        /// Tolerates a missing message: a reader (the inventory) that meets
        /// a truncated error object then says what is actually missing.
        public init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            code = try container.decode(String.self, forKey: .code)
            message = try container.decodeIfPresent(String.self, forKey: .message) ?? ""
        }

        private enum CodingKeys: String, CodingKey { case code, message }
    }

    /// Nothing but the schema.
    public init() {}

    /// What a header says, as `inspect --json` prints it.
    public init(header: ArchiveHeader) {
        format_version = Int(header.version.rawValue)
        if header.version == .v2 { group_size = header.groupSize }
        created = ISO8601DateFormatter().string(from: header.createdDate)
        created_unix = header.created
        payload_kind = header.payloadKind.description
        compression = header.compression.description
        chunk_size = header.chunkSize
        header_length = header.length
        recipients = header.stanzas.map { $0.keyID.description }
        recipient_types = header.stanzas.map(Self.typeName)
        signer = header.signer?.description
        signer_key_id = header.signer?.keyID.description
        label = header.label
        sequence = header.sequence
        previous_digest = header.previousDigestHex
    }

    /// How `recipient_types` names a stanza's type.
    static func typeName(_ stanza: Stanza) -> String {
        switch stanza.recipientKind {
        case .x25519: return "x25519"
        case .postQuantum: return "post-quantum"
        case nil: return "unknown-" + String(format: "%02x", stanza.type)
        }
    }

    /// One verified (or failed) archive, as `verify --json` prints it: the
    /// header when it was read, the results only when every check passed.
    public init(verification outcome: ArchiveVerification) {
        if let header = outcome.header { self.init(header: header) } else { self.init() }
        kind = "archive"
        archive = outcome.path
        depth = outcome.depth.rawValue
        ok = outcome.passed
        error = outcome.error.map(ErrorSummary.init)
        if let result = outcome.result, outcome.passed {
            chunks = result.chunkCount
            archive_bytes = result.archiveLength
            digest = result.digestHex
            signature_verified = result.signer != nil
            if result.decrypted { plaintext_bytes = result.plaintextLength }
        }
        if let contents = outcome.contents {
            files = contents.files
            manifest = contents.manifestSkipped ? "skipped" : contents.manifestFilesChecked == nil ? "absent" : "matched"
        }
        sha256 = outcome.sha256
        opened_with_key_id = outcome.openedWith?.description
    }

    /// One JSON line, keys sorted, slashes unescaped.
    public func jsonLine() throws -> String {
        try ArchiveSummary.jsonLine(self)
    }

    /// `value` as one JSON line in the form every output uses.
    public static func jsonLine(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
