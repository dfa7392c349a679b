import ArgumentParser
import Foundation
import SealedArchive

struct DrillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill",
        abstract: "Restore drill: deep-verify, restore into a temporary directory, report, clean up.",
        discussion: """
            Deep-verifies the archive, restores it for real into a temporary \
            directory (checking MANIFEST.sha256), removes the restore, and reports \
            the archive's age against --max-age (RPO), the restore's wall time \
            against --rto and its throughput (RTO evidence), sizes and key ids. Exits non-zero when any \
            check or target fails. Given several archives or a directory of them, \
            drills the newest (by the creation time in their headers).
            """
    )

    @OptionGroup var identity: IdentityOptions
    @OptionGroup var signer: SignerOptions
    @OptionGroup var contents: ContentsOptions

    @Option(name: .customLong("max-age"), help: ArgumentHelp("Fail when the archive is older than this (RPO), e.g. 24h.", valueName: "DURATION"))
    var maxAge: String?

    @Option(name: .customLong("rto"), help: ArgumentHelp("Fail (75) when the restore takes longer than this (RTO), e.g. 4h.", valueName: "DURATION"))
    var rto: String?

    @Option(name: .customLong("work-dir"), help: ArgumentHelp("Restore under this directory (default: $TMPDIR or /tmp).", valueName: "DIR"))
    var workDirectory: String?

    @Flag(name: .customLong("json"), help: "Print the report as one JSON object.")
    var json = false

    @OptionGroup var progress: ProgressOptions

    @Argument(help: ArgumentHelp("Archives, or directories of archives: the newest is drilled.", valueName: "ARCHIVE"))
    var archives: [String]

    func validate() throws {
        guard identity.given else { throw ValidationError("a drill restores: give the identity with -i FILE") }
        guard !archives.isEmpty else { throw ValidationError("give the archive to drill (or a directory of archives)") }
        for duration in [maxAge, rto].compactMap({ $0 }) {
            do { _ = try Duration.parse(duration) } catch let error as SealedArchiveError { throw ValidationError(error.message) }
        }
    }

    func run() throws {
        let now = try CommandClock.now()
        var options = Drill.Options(identities: try identity.identities(),
                                    workDirectory: workDirectory ?? ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp")
        options.requiredSigners = try signer.requiredSigners()
        options.identityResolver = try identity.resolver()
        options.restore = contents.restoreOptions
        options.maxAge = try maxAge.map(Duration.parse)
        options.rto = try rto.map(Duration.parse)
        let path: String
        do {
            path = try Drill.choose(archives, trustedSigners: options.requiredSigners)
        } catch let error as SealedArchiveError {
            // The report goes to standard output like every drill result.
            if json {
                try Terminal.output(try ArchiveSummary.jsonLine(DrillSummary(failedBeforeChoosing: error, at: now)), asJSON: true)
            } else {
                try Terminal.output(lines: ["restore drill: FAILED", "  FAILED:    \(error.message)"])
            }
            throw ExitCode(ExitStatus.for(error).rawValue)
        }
        let meter = progress.meter("drill")
        options.progress = meter.counter
        let report = meter.showing { Drill.run(path: path, options: options, now: now, cancellation: TerminationSignals.cancellation) }
        if json {
            try Terminal.output(try ArchiveSummary.jsonLine(DrillSummary(report)), asJSON: true)
        } else {
            try Terminal.output(lines: DrillText.render(report))
        }
        if let error = report.error { throw ExitCode(ExitStatus.for(error).rawValue) }
    }
}

enum DrillText {
    static func render(_ report: Drill.Report) -> [String] {
        let verification = report.verification
        var lines = ["restore drill of \(report.path): \(report.passed ? "PASSED" : "FAILED")"]
        if let header = verification.header {
            let age = report.ageSeconds.map(Duration.describe) ?? "?"
            let target = report.maxAge.map { " (max \(Duration.describe($0)): \(report.recoveryPointMet == false ? "MISSED" : "met"))" } ?? ""
            lines.append("  created:   \(ISO8601DateFormatter().string(from: header.createdDate)), \(age) old\(target)")
            let recipients = header.stanzas.map(\.keyID)
            // The library names the identity that opened it: with --keyring
            // the identities are found from the header, not given.
            let used = verification.openedWith
            lines.append("  keys:      recipients \(recipients.map(\.description).joined(separator: ", "))\(used.map { "; opened with \($0)" } ?? "")")
            lines.append("  signer:    \(header.signer.map { "\($0) (key id \($0.keyID))\(verification.signatureRequired ? ", trusted" : ", not required (pass --signer)")" } ?? "none: unsigned")")
        }
        if let result = verification.result, verification.passed {
            lines.append("  verified:  deep: \(counted(result.chunkCount, "chunk")), \(counted(result.archiveLength, "archive byte")), \(counted(result.plaintextLength, "payload byte"))")
        }
        if let seconds = report.restoreSeconds, let bytes = report.restoredBytes {
            let rate = report.restoreBytesPerSecond.map { String(format: "%.0f MB/s", $0 / 1e6) } ?? "-"
            let manifest = report.manifestFilesChecked.map { "MANIFEST.sha256 matches (\(counted($0, "file")))" } ?? (report.verification.contents?.manifestSkipped == true ? "MANIFEST.sha256 not checked" : "no MANIFEST.sha256")
            let rto = report.rto.map { " (RTO \(Duration.describe($0)): \(report.recoveryTimeMet == false ? "MISSED" : "met"))" } ?? ""
            lines.append("  restored:  \(counted(report.restoredFiles ?? 0, "file")), \(counted(bytes, "byte")) in \(String(format: "%.2f", seconds)) s\(rto) (\(rate)); \(manifest); removed")
        }
        for failure in report.failures { lines.append("  FAILED:    \(failure)") }
        return lines
    }
}
