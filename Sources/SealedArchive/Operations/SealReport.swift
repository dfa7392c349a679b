import Foundation

/// What a seal did, as `seal --json` prints it (`schema` 1, Spec/CLI.md):
/// above all how many recipients the archive was sealed to, so a
/// recipients file that lost a line (the escrow key) shows at once.
public struct SealReport: Codable, Sendable, Equatable {
    public var schema = 1
    public var kind = "seal"
    /// The output file; nil for standard output.
    public let archive: String?
    public let recipients: [String]
    public let recipient_key_ids: [String]
    public let signer: String?
    public let signer_key_id: String?
    public let sequence: UInt64?
    public let archive_bytes: UInt64
    public let payload_bytes: UInt64
    public let chunks: UInt64
    /// The trailer digest, hex.
    public let digest: String
    public let checksum_file: String?
    /// A directory's MANIFEST.sha256: `matched`, `absent` or `skipped`;
    /// nil for a file or stream.
    public var manifest: String?
    /// How long the seal took, in seconds, as the caller measured it (the
    /// library reads no clock for it).
    public var duration_seconds: Double?

    public init(archive: String?, recipients: [Recipient], signer: SignerKey?, result: SealResult, checksumFile: String?) {
        self.archive = archive
        self.recipients = recipients.map(\.description)
        recipient_key_ids = recipients.map(\.keyID.description)
        self.signer = signer?.description
        signer_key_id = signer?.keyID.description
        sequence = result.header.sequence
        archive_bytes = result.archiveLength
        payload_bytes = result.plaintextLength
        chunks = result.chunkCount
        digest = result.digestHex
        checksum_file = checksumFile
    }
}
