import Foundation

extension Verifier {
    /// One `verify` run: the archives (a directory stands for the archives
    /// in it), the checksum file, the RPO and the sealing host's chain.
    public struct Request: Sendable {
        /// Archive paths (`-`: standard input, at most once) or directories.
        public var archives: [String]
        /// What to check in each archive; its `checksums` and
        /// `standardInputName` are filled from ``checksumFile``.
        public var options = VerifyOptions()
        /// A `sha256sum` file the archives' SHA-256 must match.
        public var checksumFile: String?
        /// The name standard input has in the checksum file (`--stdin-name`).
        public var standardInputName: String?
        /// RPO: the newest archive may be at most this old.
        public var maxAge: TimeInterval?
        /// History RPO: consecutive archives may be at most this far apart.
        public var maxGap: TimeInterval?
        /// A copy of the sealing host's chain state (``ChainState``).
        public var chainFile: String?

        public init(archives: [String]) {
            self.archives = archives
        }
    }

    /// What a run found: every archive in the order given (directories
    /// expanded), then the set checks when any applies.
    public struct Report: Sendable {
        public let archives: [ArchiveVerification]
        public let set: SetCheck?

        /// Whether every archive verified and the set has no problem.
        public var passed: Bool { archives.allSatisfy(\.passed) && set?.passed != false }
    }

    /// Verifies every archive of `request` (in parallel) and checks the set
    /// at `now`. Throws only for what stops the run before any archive is
    /// read: an unreadable checksum or chain file, a directory without
    /// archives; each archive's failure is in its outcome.
    public static func run(_ request: Request, now: Date) throws -> Report {
        var options = request.options
        if let checksumFile = request.checksumFile {
            let checksums = try ChecksumFile.read(path: checksumFile)
            options.checksums = checksums
            if request.archives.contains("-") {
                options.standardInputName = try ChecksumFile.standardInputName(in: checksums, given: request.standardInputName, path: checksumFile)
            }
        }
        let expectedLast = try request.chainFile.map { try ChainState.read(path: $0)?.sequence ?? 0 }
        // A directory stands for the archives in it, chosen as drill chooses.
        var paths: [String] = []
        for archive in request.archives {
            let found = try ArchiveDirectory.expanding([archive])
            guard !found.isEmpty else { throw SealedArchiveError(.header, "no archive in the directory '\(archive)'") }
            paths += found
        }
        // Every archive is read whole but for a quick check, which reads a
        // few KiB of each.
        if let progress = options.progress, options.depth != .quick {
            for path in paths { progress.expect(sizeOf: path) }
        }
        let outcomes = verify(paths: paths, options: options)
        return Report(archives: outcomes, set: ArchiveSet.check(outcomes, maxAge: request.maxAge, maxGap: request.maxGap,
                                                                   expectedLast: expectedLast, now: now))
    }
}
