import Foundation

/// The sealing host's record of its chain of archives (`seal --chain FILE`):
/// the sequence number and digest of the last archive sealed. Each new
/// archive carries the next sequence number and that digest in its signed
/// header, so a verifier holding a set of archives sees any archive that was
/// deleted, replaced or rolled back.
///
/// The file is JSON (`schema` 1), replaced atomically; a lock file beside it
/// (`FILE.lock`) serialises concurrent sealing runs.
public final class ChainState {
    public let path: String
    /// The last archive sealed: nil before the first.
    public private(set) var last: Link?
    /// Held from reading the state to committing the next one.
    private let lock: FileLock
    /// A second sealing run waits this long for the first (a stuck run
    /// must not hold the next day's backup for ever).
    static let lockTimeout: Double = 3600

    public struct Link: Codable, Sendable, Equatable {
        public let sequence: UInt64
        /// Trailer digest of that archive, hex.
        public let digest: String
        public let archive: String?
        public let sealed: String?
    }

    private struct File: Codable {
        let schema: Int
        let last: Link
    }

    /// Locks the chain (waiting for another sealing run to finish) and
    /// reads its state. A missing file starts a new chain.
    public init(lockingAt path: String) throws {
        self.path = path
        guard !path.isEmpty else { throw SealedArchiveError(.invalidArgument, "the chain state file name is empty") }
        guard let lock = try FileLock.acquire(path + ".lock", exclusive: true, create: true, timeout: Self.lockTimeout,
                                              what: "the chain '\(shownPath(path))'") else {
            throw SealedArchiveError(.io, "cannot create the chain lock '\(shownPath(path)).lock'")
        }
        self.lock = lock
        last = try Self.read(path: path, missingIsNew: true)
    }


    /// Reads a chain state file without locking it (a verifier's copy).
    public static func read(path: String) throws -> Link? {
        try read(path: path, missingIsNew: false)
    }

    private static func read(path: String, missingIsNew: Bool) throws -> Link? {
        let shown = shownPath(path)
        if missingIsNew, try POSIX.linkStatus(path) == nil { return nil }
        let bytes = try TextFile.read(path, what: "chain state", limit: 64 * 1024, allowStandardInput: false)
        guard let file = try? JSONDecoder().decode(File.self, from: Data(bytes)), file.schema == 1,
              HexCoding.decode(file.last.digest)?.count == 32 else {
            // Local state, damaged or not the file `seal --chain` wrote: neither
            // a usage error nor an archive fault (Spec/CLI.md, exit codes).
            throw SealedArchiveError(.state, "chain state '\(shown)' is not a sealed-archive chain file (damaged, or another file): \(missingIsNew ? "restore it from a copy, or move it away to start a new chain" : "give the chain file that 'seal --chain' keeps")")
        }
        return file.last
    }

    /// Starts the chain state anew, after the host lost it (a rebuild),
    /// from the newest archive in storage: read whole and verified against
    /// `trustedSigners` (at least one; an archive no trusted signer vouches
    /// for could be anyone's), it becomes the chain's last, so the next
    /// seal continues its sequence and names its digest and the set check
    /// stays green. Resuming from an older archive than the newest is not
    /// hidden: the next seal then claims a sequence number already in
    /// storage, which the set check reports as forked.
    ///
    /// Refuses an existing state (the chain is not lost: resuming over it
    /// could roll it back) and an archive without a sequence number.
    public static func resume(at path: String, from source: ByteSource, name: String?, trustedSigners: [TrustedSigner],
                              now: Date) throws -> Link {
        guard !trustedSigners.isEmpty else {
            throw SealedArchiveError(.invalidArgument, "a chain resumes only from an archive a trusted signer vouches for: give --signer or --signers")
        }
        let state = try ChainState(lockingAt: path)
        if let last = state.last {
            throw SealedArchiveError(.io, "the chain state '\(shownPath(path))' exists (at archive \(last.sequence)): the chain is not lost, and resuming over it could roll it back")
        }
        let reader = try ArchiveReader(source: source, trustedSigners: trustedSigners)
        guard let sequence = reader.header.sequence else {
            throw SealedArchiveError(.invalidArgument, "\(name.map { "'\($0)'" } ?? "the archive") has no sequence number: it was not sealed with --chain, so there is no chain to resume")
        }
        let result = try reader.verify()
        try state.record(sequence: sequence, digest: result.digest, archive: name, sealed: now)
        return state.last!
    }

    /// The sequence number and previous digest for the next archive.
    public var next: (sequence: UInt64, previousDigest: [UInt8]?) {
        guard let last else { return (1, nil) }
        return (last.sequence == .max ? .max : last.sequence + 1, HexCoding.decode(last.digest))
    }

    /// Records a sealed archive as the chain's last, atomically.
    public func record(sequence: UInt64, digest: [UInt8], archive: String?, sealed: Date) throws {
        try AtomicFileSink.commitTogether([try pendingRecord(sequence: sequence, digest: digest, archive: archive, sealed: sealed)])
        didCommitRecord(sequence: sequence, digest: digest, archive: archive, sealed: sealed)
    }

    /// The new state written but not committed, for a caller that commits
    /// it together with the archive it records (and last: it replaces the
    /// previous state); then call ``didCommitRecord(sequence:digest:archive:sealed:)``.
    public func pendingRecord(sequence: UInt64, digest: [UInt8], archive: String?, sealed: Date) throws -> AtomicFileSink {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let data = try encoder.encode(File(schema: 1, last: Self.link(sequence: sequence, digest: digest, archive: archive, sealed: sealed)))
        let sink = try AtomicFileSink(path: path, mode: 0o600, replaceExisting: true)
        try data.withUnsafeBytes { try sink.write($0) }
        return sink
    }

    public func didCommitRecord(sequence: UInt64, digest: [UInt8], archive: String?, sealed: Date) {
        last = Self.link(sequence: sequence, digest: digest, archive: archive, sealed: sealed)
    }

    private static func link(sequence: UInt64, digest: [UInt8], archive: String?, sealed: Date) -> Link {
        Link(sequence: sequence, digest: HexCoding.encode(digest), archive: archive,
             sealed: ISO8601DateFormatter().string(from: sealed))
    }
}
