import ArgumentParser
import Foundation
import SealedArchive

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check archives without writing any plaintext.",
        discussion: """
            Three depths, each named in the output:
              keyless  structure, every chunk against its hash (naming the first \
            damaged chunk and its byte offset), chunk count, digest, truncation and \
            extra bytes; no key needed, works on a pipe: rclone cat remote:x | \
            sealed-archive verify -
              signed   as keyless, plus a required signature by --signer KEY, \
            --signers FILE, or the default signers file ($SEALED_ARCHIVE_SIGNERS or \
            ~/.config/sealed-archive/signers, which makes this the default)
              deep     with -i IDENTITY: also decrypts every chunk and, for a \
            directory, reads every entry as extraction would and checks \
            MANIFEST.sha256
              quick    with --quick, a format 2 archive in a file: the header \
            signature, group table and trailer (count, digest, signature) only, a \
            few KiB from each end of the file: who sealed it and that it is whole \
            in length, for archives on remote storage; the records are not read \
            (a format 1 archive or a pipe gets the keyless or signed check)

            Archives are checked in parallel, one line each; the exit code is the \
            worst result. Over a set, --max-age checks that the newest archive is \
            recent enough (RPO), --max-gap that no two consecutive archives (by \
            creation time) are further apart (a missed day stays visible after \
            newer archives arrive), and chained archives (seal --chain) are checked \
            for gaps, duplicates, replacements and rollbacks.
            """
    )

    @OptionGroup var signer: SignerOptions
    @OptionGroup var identity: IdentityOptions
    @OptionGroup var contents: ContentsOptions

    @Option(name: .customLong("checksum-file"),
            help: ArgumentHelp("Also check each archive's SHA-256 against this sha256sum-format file.", valueName: "FILE"))
    var checksumFile: String?

    @Option(name: .customLong("max-age"),
            help: ArgumentHelp("Fail when the newest archive is older than this (e.g. 26h, 2d).", valueName: "DURATION"))
    var maxAge: String?

    @Option(name: .customLong("max-gap"),
            help: ArgumentHelp("Fail when two consecutive archives were created further apart than this (e.g. 26h).", valueName: "DURATION"))
    var maxGap: String?

    @Option(name: .customLong("chain"),
            help: ArgumentHelp("The sealing host's chain state file: archives after the newest here are reported missing.", valueName: "FILE"))
    var chainFile: String?

    @Option(name: .customLong("stdin-name"),
            help: ArgumentHelp("The name standard input ('-') has in the checksum file (needed when it lists several archives).", valueName: "NAME"))
    var standardInputName: String?

    @Flag(name: .customLong("quick"),
          help: "Format 2 in a file: check the signature, group table and trailer only, reading no record.")
    var quick = false

    @Flag(name: .customLong("json"), help: "Print one JSON object per archive (and one for the set), one per line.")
    var json = false

    @OptionGroup var progress: ProgressOptions

    @Argument(help: ArgumentHelp("Archives to check ('-' for standard input), or directories of archives.", valueName: "ARCHIVE"))
    var archives: [String]

    func validate() throws {
        guard !archives.isEmpty else { throw ValidationError("give at least one archive to verify") }
        guard archives.filter({ $0 == "-" }).count <= 1 else { throw ValidationError("standard input ('-') can be verified only once") }
        if standardInputName != nil {
            guard archives.contains("-"), checksumFile != nil else {
                throw ValidationError("--stdin-name names standard input ('-') in the checksum file: give both '-' and --checksum-file")
            }
        }
        if quick {
            guard !identity.given else { throw ValidationError("--quick reads no record: it cannot decrypt; leave out -i/--keyring, or --quick") }
            guard checksumFile == nil else { throw ValidationError("--quick reads only the ends of each archive; --checksum-file needs every byte") }
        }
        for duration in [maxAge, maxGap].compactMap({ $0 }) {
            do { _ = try Duration.parse(duration) } catch let error as SealedArchiveError { throw ValidationError(error.message) }
        }
    }

    func run() throws {
        let now = try CommandClock.now()
        var request = Verifier.Request(archives: archives)
        request.options.identities = try identity.identities()
        request.options.identityResolver = try identity.resolver()
        request.options.requiredSigners = try signer.requiredSigners()
        request.options.restore = contents.restoreOptions
        request.options.quick = quick
        request.checksumFile = checksumFile
        request.standardInputName = standardInputName
        request.maxAge = try maxAge.map(Duration.parse)
        request.maxGap = try maxGap.map(Duration.parse)
        request.chainFile = chainFile

        // A quick check reads a few KiB of each archive: nothing to show.
        let meter = progress.meter("verifying", applies: !quick)
        request.options.progress = meter.counter
        let report = try meter.showing { try Verifier.run(request, now: now) }
        var statuses = report.archives.map { $0.error.map(ExitStatus.for) ?? .success }
        for outcome in report.archives {
            if json { try Terminal.output(VerificationJSON.archive(outcome), asJSON: true) } else { try Terminal.output(VerificationText.line(outcome)) }
        }
        if let set = report.set {
            if !set.passed { statuses.append(.stale) }
            if json {
                try Terminal.output(VerificationJSON.set(set, maxAgeText: maxAge), asJSON: true)
            } else {
                try Terminal.output(VerificationText.set(set, maxAgeText: maxAge))
            }
        }
        let worst = ExitStatus.worst(statuses)
        if worst != .success { throw ExitCode(worst.rawValue) }
    }
}

/// The text form of verification results: one line per archive.
enum VerificationText {
    static func line(_ outcome: ArchiveVerification) -> String {
        let name = outcome.path == "-" ? "standard input" : outcome.path
        guard let result = outcome.result, outcome.passed else {
            return "FAILED \(name) [\(outcome.depth.rawValue)]: \(outcome.error?.message ?? "not checked")"
        }
        var parts = [outcome.depth == .quick
            ? "header, group table and trailer intact for \(counted(result.chunkCount, "chunk")), records not read (read \(counted(outcome.bytesRead ?? 0, "byte")) of \(result.archiveLength))"
            : "\(counted(result.chunkCount, "chunk")) and digest intact"]
        if outcome.signatureRequired, let signer = result.signer {
            parts.append("signed by trusted signer \(signer)")
        } else {
            // Without a required signer nothing ties the archive to the
            // sealing host: anyone holding a recipient's public key can make
            // one that passes, and sign it with a key of their own.
            parts.append((result.signer.map { "signature valid by \($0), not required" } ?? "unsigned")
                + ": integrity only, anyone with a recipient's public key could have made this archive (--signer requires the host's signature)")
        }
        if let header = outcome.header {
            parts.append("created \(ISO8601DateFormatter().string(from: header.createdDate))\(header.sequence.map { ", sequence \($0)" } ?? "")")
        }
        if let contents = outcome.contents {
            parts.append("\(counted(contents.files, "file")), \(counted(contents.directories, "directory", "directories")), \(counted(contents.symlinks + contents.hardlinks, "link")) safe to extract; \(ContentsOptions.manifestNote(contents))")
        } else if result.decrypted {
            parts.append("decrypted and authenticated \(counted(result.plaintextLength, "byte"))")
        }
        if outcome.sha256 != nil { parts.append("SHA-256 matches the checksum file") }
        return "OK \(name) [\(outcome.depth.rawValue)]: " + parts.joined(separator: "; ")
    }

    /// The set line. The RPO note repeats `--max-age` as the operator wrote it.
    static func set(_ set: SetCheck, maxAgeText: String?) -> String {
        let notes = notes(set, maxAgeText: maxAgeText)
        return set.passed
            ? "OK set: " + (notes.isEmpty ? "no set problem found" : notes.joined(separator: "; "))
            : "FAILED set: " + set.problems.map(\.description).joined(separator: "; ")
    }

    static func notes(_ set: SetCheck, maxAgeText: String?) -> [String] {
        set.notes.map { note in
            if case .fresh(let archive, let age, _) = note, let maxAgeText {
                return "newest archive \(archive) is \(Duration.describe(age)) old (max \(maxAgeText))"
            }
            return note.description
        }
    }
}

/// The JSON form: one object per line, each with `schema` 1 and `kind`.
enum VerificationJSON {
    static func archive(_ outcome: ArchiveVerification) -> String {
        (try? ArchiveSummary(verification: outcome).jsonLine()) ?? "{}"
    }

    static func set(_ set: SetCheck, maxAgeText: String?) -> String {
        (try? ArchiveSummary.jsonLine(SetSummary(set, notes: VerificationText.notes(set, maxAgeText: maxAgeText)))) ?? "{}"
    }
}
