import Foundation

/// The monthly restore drill: prove that an archive can be restored, within
/// the recovery targets, without keeping any plaintext.
public enum Drill {
    public struct Options: Sendable {
        public var identities: [Identity]
        public var requiredSigners: [TrustedSigner]?
        /// Finds identities from the archive's header (a keyring).
        public var identityResolver: IdentityResolver?
        public var restore = RestoreOptions()
        /// RPO: the archive may be at most this old.
        public var maxAge: TimeInterval?
        /// RTO: the restore may take at most this long.
        public var rto: TimeInterval?
        /// Where the temporary restore goes (it is removed afterwards).
        public var workDirectory: String
        /// Counts the archive's bytes as they are read: twice, once by the
        /// verification and once by the restore.
        public var progress: ProgressCounter?

        public init(identities: [Identity], workDirectory: String) {
            self.identities = identities
            self.workDirectory = workDirectory
        }
    }

    public struct Report: Sendable {
        public let path: String
        /// The deep verification that came first.
        public let verification: ArchiveVerification
        /// Seconds between the archive's creation and `now`.
        public let ageSeconds: TimeInterval?
        public let maxAge: TimeInterval?
        public var rto: TimeInterval?
        /// When the drill ran (the `now` it was given).
        public var drilledAt: Date?
        public let archiveBytes: UInt64?
        public let restoreSeconds: Double?
        public let restoredBytes: UInt64?
        public let restoredFiles: Int?
        public let manifestFilesChecked: Int?
        /// Every check that failed, one sentence each; empty when it passed.
        public let failures: [String]
        /// The first failure's error, for the exit code.
        public let error: SealedArchiveError?

        public var passed: Bool { failures.isEmpty }
        /// Whether the archive meets the RPO (`maxAge`); nil without one or
        /// without a readable creation time. The same test the drill's
        /// failure list applies.
        public var recoveryPointMet: Bool? {
            guard let maxAge, let ageSeconds else { return nil }
            return ageSeconds <= maxAge
        }
        /// Whether the restore met the RTO (`rto`); nil without one or
        /// without a restore.
        public var recoveryTimeMet: Bool? {
            guard let rto, let restoreSeconds else { return nil }
            return restoreSeconds <= rto
        }
        /// Restore throughput in bytes per second (RTO evidence).
        public var restoreBytesPerSecond: Double? {
            guard let restoredBytes, let restoreSeconds, restoreSeconds > 0 else { return nil }
            return Double(restoredBytes) / restoreSeconds
        }
    }

    /// The archive a drill of `paths` restores: a single file as given,
    /// else the newest (``newest(of:trustedSigners:)``).
    public static func choose(_ paths: [String], trustedSigners: [TrustedSigner]? = nil) throws -> String {
        if paths.count == 1 && !PathName.isDirectory(paths[0]) { return paths[0] }
        return try newest(of: paths, trustedSigners: trustedSigners)
    }

    /// The archive with the newest creation time among `paths` (a directory
    /// stands for the archives in it), read from headers only. A candidate
    /// whose header cannot be read fails the choice: it may be the newest.
    /// With `trustedSigners`, only archives whose header names a trusted
    /// signer are candidates, so a planted archive with a later date is not
    /// the one drilled (its signature is then checked by the drill itself).
    public static func newest(of paths: [String], trustedSigners: [TrustedSigner]? = nil) throws -> String {
        let candidates = try ArchiveDirectory.expanding(paths)
        var newest: (created: UInt64, path: String)?
        for path in candidates {
            let header: ArchiveHeader
            do {
                header = try ArchiveReader(source: FileSource(path: path)).header
                if let trustedSigners {
                    guard let signer = header.signer, trustedSigners.contains(where: { $0.key == signer && $0.admits(created: header.created) }) else {
                        continue
                    }
                }
            } catch let error as SealedArchiveError {
                throw SealedArchiveError(error.code, "cannot tell which archive is newest: \(shownPath(path)): \(error.message)", cause: error)
            }
            if newest == nil || (header.created, path) > (newest!.created, newest!.path) { newest = (header.created, path) }
        }
        guard let newest else { throw SealedArchiveError(.header, "no archive found among \(paths.joined(separator: ", "))") }
        return newest.path
    }

    /// Deep-verifies `path`, restores it into a temporary directory (with
    /// the manifest check), removes the restore, and reports against the
    /// targets. `now` is the time the RPO is measured at; `clock` times the
    /// restore.
    /// `cancellation` stops the test restore between blocks (it then
    /// fails, and its scratch directory is removed).
    public static func run(path: String, options: Options, now: Date, clock: ContinuousClock = ContinuousClock(),
                           cancellation: Cancellation = Cancellation()) -> Report {
        var verifyOptions = VerifyOptions()
        verifyOptions.identities = options.identities
        verifyOptions.identityResolver = options.identityResolver
        verifyOptions.requiredSigners = options.requiredSigners
        verifyOptions.restore = options.restore
        verifyOptions.progress = options.progress
        options.progress?.expect(sizeOf: path)
        options.progress?.expect(sizeOf: path)
        let verification = Verifier.verify(path: path, options: verifyOptions)
        var failures: [String] = []
        var firstError = verification.error
        if let error = verification.error { failures.append("verification failed: \(error.message)") }

        var age: TimeInterval?
        if let header = verification.header {
            age = now.timeIntervalSince1970 - TimeInterval(header.created)
            if let future = ArchiveSet.futureProblem(name: path, age: age!) {
                failures.append(future.description)
                firstError = firstError ?? SealedArchiveError(.stale, future.description)
            } else if let maxAge = options.maxAge, age! > maxAge {
                let message = "the archive is \(Duration.describe(age!)) old, older than --max-age \(Duration.describe(maxAge)) (RPO missed)"
                failures.append(message)
                firstError = firstError ?? SealedArchiveError(.stale, message)
            }
        }

        var restoreSeconds: Double?
        var restoredBytes: UInt64?
        var restoredFiles: Int?
        var manifest: Int?
        if verification.passed {
            do {
                guard !options.workDirectory.isEmpty else { throw SealedArchiveError(.invalidArgument, "the drill's work directory name is empty") }
                let (scratch, registration) = try TemporaryFiles.makeDirectory(
                    PathName.join(options.workDirectory, "sealed-archive-drill.XXXXXX"),
                    what: "a drill directory in '\(shownPath(options.workDirectory))'")
                defer {
                    Restore.removeTree(scratch)
                    TemporaryFiles.unregister(registration)
                }
                let start = clock.now
                let file = try FileSource(path: path)
                let locked = try ArchiveReader(source: options.progress.map { CountingSource(file, into: $0) } ?? file,
                                               trustedSigners: options.requiredSigners)
                let reader = try locked.unlock(with: options.identities + (try options.identityResolver?(locked.header) ?? []))
                if reader.header.payloadKind == .tar {
                    let summary = try Restore.extract(reader, to: scratch + "/restore", options: options.restore, cancellation: cancellation)
                    restoredBytes = summary.contentBytes
                    restoredFiles = summary.files + summary.hardlinks
                    manifest = summary.manifestFilesChecked
                } else {
                    let sink = try AtomicFileSink(path: scratch + "/restore", mode: 0o600, replaceExisting: false)
                    restoredBytes = try reader.decrypt(into: sink).plaintextLength
                    try sink.commit()
                    restoredFiles = 1
                }
                let elapsed = clock.now - start
                restoreSeconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            } catch let error as SealedArchiveError {
                failures.append("restore failed: \(error.message)")
                firstError = firstError ?? error
            } catch {
                failures.append("restore failed: \(error)")
                firstError = firstError ?? SealedArchiveError(.io, "\(error)")
            }
        }
        // The restore of this archive, on this machine, against the RTO: a
        // restore that takes longer is a missed target (75), like the RPO.
        if let rto = options.rto, let restoreSeconds, restoreSeconds > rto {
            let message = "the restore took \(Duration.describe(restoreSeconds)), longer than --rto \(Duration.describe(rto)) (RTO missed)"
            failures.append(message)
            firstError = firstError ?? SealedArchiveError(.stale, message)
        }
        var report = Report(path: path, verification: verification, ageSeconds: age, maxAge: options.maxAge,
                            archiveBytes: verification.result?.archiveLength, restoreSeconds: restoreSeconds,
                            restoredBytes: restoredBytes, restoredFiles: restoredFiles, manifestFilesChecked: manifest,
                            failures: failures, error: firstError)
        report.rto = options.rto
        report.drilledAt = now
        return report
    }
}
