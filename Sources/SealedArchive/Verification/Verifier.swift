import Dispatch
import Foundation

/// How deep a verification went.
public enum VerificationDepth: String, Sendable, Codable {
    /// Structure, record hashes, chunk count, digest: accidental damage.
    case keyless
    /// As keyless, plus a required signature by a trusted signer: genuine.
    case signed
    /// As signed (when signers are required), plus decryption of every chunk
    /// and, for a directory, every entry and MANIFEST.sha256.
    case deep
    /// Format 2 in a file: the header and its signature, the group table and
    /// the trailer (count, digest, signature), reading no record: the
    /// archive is the one the signer sealed as far as its table goes, and
    /// complete in length; its records are not read (FORMAT-v2.md 7.1).
    case quick
}

/// What to check.
public struct VerifyOptions: Sendable {
    /// Signers of which one must have signed; nil: a signature is checked
    /// when present but not required.
    public var requiredSigners: [TrustedSigner]?
    /// Identities for a deep check; none: keyless or signed.
    public var identities: [Identity] = []
    /// Finds identities for an archive from its header (a keyring reading
    /// only the key the archive needs); called once per archive, possibly
    /// from several threads.
    public var identityResolver: IdentityResolver?
    public var restore = RestoreOptions()
    /// Expected SHA-256 digests of archive files, by file name (from a
    /// checksum file); nil: not checked.
    public var checksums: [String: String]?
    /// The name standard input (`-`) has in `checksums`
    /// (``ChecksumFile/standardInputName(in:given:path:)``).
    public var standardInputName: String?
    /// Without identities: check a format 2 archive in a file by its
    /// table and trailer alone (``VerificationDepth/quick``); a format 1
    /// archive or a pipe is checked keyless (or signed) instead.
    public var quick = false
    /// Counts each archive's bytes as they are read; the caller announces
    /// the total (``Verifier/run(_:now:)`` does, from the files' sizes).
    public var progress: ProgressCounter?

    public init() {}

    public var depth: VerificationDepth {
        !identities.isEmpty || identityResolver != nil ? .deep : quick ? .quick : fullDepthWithoutKey
    }

    /// The depth of a whole read without a key.
    var fullDepthWithoutKey: VerificationDepth { requiredSigners != nil ? .signed : .keyless }
}

/// The outcome of verifying one archive. Never partial: `error` is nil only
/// when every check of `depth` passed.
public struct ArchiveVerification: Sendable {
    public let path: String
    /// The depth reached: a quick check of an archive that has no group
    /// table (format 1, or a pipe) is a whole keyless or signed read.
    public var depth: VerificationDepth
    /// Whether a signature by a trusted signer was required (and so, when
    /// passed, verified against a trusted key).
    public let signatureRequired: Bool
    public var header: ArchiveHeader?
    public var result: ReadResult?
    public var contents: ContentsSummary?
    /// The key id of the identity that opened the archive (deep only).
    public var openedWith: KeyID?
    /// SHA-256 of the archive file, when a checksum was checked.
    public var sha256: String?
    /// Bytes of the archive file read, when it was read by seeking (a
    /// quick check).
    public var bytesRead: UInt64?
    public var error: SealedArchiveError?

    public var passed: Bool { error == nil }

    /// What the set checks need, for an archive that verified.
    public var facts: ArchiveFacts? {
        guard passed, let header, let result else { return nil }
        return ArchiveFacts(name: path, created: header.created, sequence: header.sequence,
                            previousDigest: header.previousDigest, digest: result.digest)
    }
}

/// Finds the identities that open an archive, from its header.
public typealias IdentityResolver = @Sendable (ArchiveHeader) throws -> [Identity]

/// Verifies archives, several at once on every core.
public enum Verifier {
    /// Verifies one archive (`-` for standard input). Every failure is in
    /// the result; nothing throws.
    public static func verify(path: String, options: VerifyOptions) -> ArchiveVerification {
        var outcome = ArchiveVerification(path: path, depth: options.depth, signatureRequired: options.requiredSigners != nil)
        do {
            if outcome.depth == .quick {
                if let file = try RandomAccessFile.openIfSeekable(path), try SeekableArchiveReader.startsAsVersion2(file) {
                    let reader = try SeekableArchiveReader(file: file, trustedSigners: options.requiredSigners)
                    outcome.header = reader.header
                    outcome.result = reader.tableResult
                    outcome.bytesRead = reader.bytesRead
                    return outcome
                }
                outcome.depth = options.fullDepthWithoutKey
            }
            let opened = try FileSource(path: path)
            let file: ByteSource = options.progress.map { CountingSource(opened, into: $0) } ?? opened
            let hashing = options.checksums == nil ? nil : try HashingSource(reading: file)
            let reader = try ArchiveReader(source: hashing ?? file, trustedSigners: options.requiredSigners)
            outcome.header = reader.header
            if outcome.depth != .deep {
                outcome.result = try reader.verify()
            } else {
                let unlocked = try reader.unlock(with: options.identities + (try options.identityResolver?(reader.header) ?? []))
                outcome.openedWith = unlocked.keyID
                if reader.header.payloadKind == .tar {
                    let contents = try Restore.check(unlocked, options: options.restore)
                    outcome.contents = contents
                    outcome.result = contents.archive
                } else {
                    outcome.result = try unlocked.decrypt(into: DiscardingSink())
                }
            }
            if let checksums = options.checksums, let hashing {
                let name = path == "-" ? options.standardInputName ?? "-" : ChecksumFile.baseName(path)
                let digest = hashing.finalizeHex()
                outcome.sha256 = digest
                guard let expected = checksums[name] else {
                    throw SealedArchiveError(.damaged, "the checksum file does not list '\(name)'")
                }
                guard expected == digest else {
                    throw SealedArchiveError(.damaged, "the archive's SHA-256 does not match its checksum file: the file changed after sealing")
                }
            }
        } catch let error as SealedArchiveError {
            outcome.error = error
        } catch {
            outcome.error = SealedArchiveError(.io, "\(error)")
        }
        return outcome
    }

    /// Verifies every archive, several at once, and returns the outcomes
    /// in the order given. They run in ``WorkerPool`` (one worker per core),
    /// each taking its buffers' bytes from the process's ``WorkBudget``
    /// first, so many archives with large chunks do not multiply memory.
    public static func verify(paths: [String], options: VerifyOptions) -> [ArchiveVerification] {
        let depth = options.depth
        return WorkerPool.map(count: paths.count, cost: { ReaderMemory.bytes(path: paths[$0], depth: depth) }) {
            verify(path: paths[$0], options: options)
        }
    }
}

