import ArgumentParser
import Foundation
import SealedArchive

struct Seal: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encrypt a directory, file or stream to one or more recipients.",
        discussion: """
            A DIRECTORY is packed as a pax tar archive (sorted, paths relative to it), \
            compressed with zstd (level 3 by default) in independent frames with an \
            index of its entries, and recorded as a tar payload that 'open -C DEST' \
            extracts and 'open --only PATH' restores from in part. A tar or tar.zst \
            file or stream (from 'pack' or any tar) is recognised and recorded as a \
            tar payload too, its tar kept byte for byte; anything else is sealed as \
            plain bytes. INPUT defaults to standard input.

            A directory with a MANIFEST.sha256 at its root is checked against it \
            while it is packed: every file listed must match its digest, and every \
            file must be listed; otherwise nothing is sealed (65). --require-manifest \
            also refuses a directory without one; --no-manifest skips the check.

            The archive goes to -o FILE or to standard output (never to a terminal). \
            A file output appears under its name only once it is complete and \
            flushed to disk. Without --sign-key the archive is anonymous: anyone who \
            knows a recipient's public key could have made it.
            """
    )

    @Option(name: [.customShort("r"), .customLong("recipient")],
            help: ArgumentHelp("Encrypt to this recipient (age1…, or post-quantum age1pq1…). Repeatable.", valueName: "RECIPIENT"))
    var recipients: [String] = []

    @Option(name: [.customShort("R"), .customLong("recipients-file")],
            help: ArgumentHelp("Encrypt to every recipient listed in FILE, one a line. Repeatable.", valueName: "FILE"))
    var recipientsFiles: [String] = []

    @Option(name: .customLong("sign-key"),
            help: ArgumentHelp("Sign the archive with this host's signing-key file (from 'keygen --signing').", valueName: "FILE"))
    var signKey: String?

    @Option(name: .customLong("compression"),
            help: ArgumentHelp("For a tar payload: zstd (level 3), zstd:LEVEL (1–19) or none.", valueName: "METHOD"))
    var compression: String = "zstd"

    @Option(name: .customLong("format-version"),
            help: ArgumentHelp("The archive format: 2, or 1 for readers older than sealed-archive 2 (no header signature, index or partial restore).", valueName: "N"))
    var formatVersion: Int = 2

    @Option(name: .customLong("payload"),
            help: ArgumentHelp("For a file or stream: tar, bytes, or auto (recognise tar and tar.zst).", valueName: "KIND"))
    var payload: PayloadChoice = .auto

    @Option(name: .customLong("chunk-size"),
            help: ArgumentHelp("Chunk size, a power of two from 4KiB to 16MiB.", valueName: "SIZE"))
    var chunkSize: String = "1MiB"

    @Option(name: .customLong("label"), help: ArgumentHelp("A short text recorded in the header (readable without a key).", valueName: "TEXT"))
    var label: String?

    @Flag(name: .customLong("checksum"),
          help: "Also write OUT.sha256, a sha256sum line for the archive computed while writing it.")
    var checksum = false

    @Option(name: .customLong("checksum-file"),
            help: ArgumentHelp("Write the archive's sha256sum line to FILE (with standard output, it names the archive FILE without '.sha256').", valueName: "FILE"))
    var checksumFile: String?

    @Option(name: .customLong("chain"),
            help: ArgumentHelp("Chain state file on this host: stamp the archive with the next sequence number and the previous archive's digest, then record it.", valueName: "FILE"))
    var chainFile: String?

    @Flag(name: .customLong("no-manifest"),
          help: "Seal a directory without checking its MANIFEST.sha256.")
    var noManifest = false

    @Flag(name: .customLong("require-manifest"),
          help: "Refuse a directory without a MANIFEST.sha256 (the offsite step: a backup is sealed only when its manifest vouches for it).")
    var requireManifest = false

    @OptionGroup var mixed: MixedRecipientsOption

    @Flag(name: .customLong("json"),
          help: "Report what was sealed (recipients, signer, sizes, digest) as one JSON object (on standard error when the archive goes to standard output).")
    var json = false

    @OptionGroup var output: OutputOptions
    @OptionGroup var passphrase: PassphraseOptions
    @OptionGroup var progress: ProgressOptions

    @Argument(help: ArgumentHelp("The directory or file to seal ('-' or absent: standard input).", valueName: "INPUT"))
    var input: String = "-"

    typealias PayloadChoice = Sealer.PayloadChoice

    func validate() throws {
        guard !recipients.isEmpty || !recipientsFiles.isEmpty else {
            throw ValidationError("give at least one recipient with -r age1… or -R FILE")
        }
        do {
            _ = try ChunkSize.parseLog2(chunkSize)
            _ = try TarCompression(parsing: compression)
        } catch let error as SealedArchiveError { throw ValidationError(error.message) }
        guard FormatVersion(rawValue: UInt8(clamping: formatVersion)) != nil, formatVersion >= 1 else {
            throw ValidationError("--format-version must be 1 or 2")
        }
        if checksum && output.isStandardOutput {
            throw ValidationError("--checksum names its file after -o FILE: with standard output, give --checksum-file FILE")
        }
        if checksum && checksumFile != nil { throw ValidationError("give --checksum or --checksum-file, not both") }
        if noManifest && requireManifest { throw ValidationError("give --no-manifest or --require-manifest, not both") }
    }

    func run() throws {
        let now = try CommandClock.now()
        if output.isStandardOutput && StandardOutputSink.isTerminal {
            throw CommandFailure(.usage, "refusing to write an archive to a terminal: use -o FILE or redirect standard output")
        }
        var all = try recipients.map { try Recipient(parsing: $0) }
        for file in recipientsFiles { all += try KeyFiles.readRecipients(path: file) }
        var request = Sealer.Request(recipients: all)
        request.allowMixedRecipients = mixed.allowed
        request.manifest = noManifest ? .skip : requireManifest ? .required : .ifPresent
        try request.validate()
        if RecipientMix.isMixed(all) { Terminal.note("sealed-archive: \(RecipientMix.warning)") }
        request.signingKey = try signKey.map { try KeyFiles.readSigningKey(path: $0, passphrase: passphrase.provider()) }
        if request.signingKey == nil {
            Terminal.note("sealed-archive: warning: sealing without --sign-key: nobody can tell this archive from one forged with the recipients' public keys")
        }
        request.input = input
        request.payload = payload
        request.compression = try TarCompression(parsing: compression)
        request.chunkSizeLog2 = try ChunkSize.parseLog2(chunkSize)
        request.formatVersion = FormatVersion(rawValue: UInt8(formatVersion)) ?? .v2
        request.label = label
        request.output = output.output
        request.replaceExisting = output.force
        request.checksum = checksum ? .besideArchive : checksumFile.map { .file($0) }
        request.chainFile = chainFile

        let meter = progress.meter("sealing")
        request.progress = meter.counter
        let started = ContinuousClock.now
        var report = try meter.showing { try Sealer.seal(request, now: now) }
        report.duration_seconds = ((ContinuousClock.now - started).seconds * 1000).rounded() / 1000
        if json {
            // The archive itself may be on standard output: the report goes
            // to standard error then.
            if output.isStandardOutput { Terminal.noteJSON(SealText.json(report)) } else { try Terminal.output(SealText.json(report), asJSON: true) }
        } else {
            Terminal.note(SealText.line(report))
        }
    }
}

extension Sealer.PayloadChoice: ExpressibleByArgument {}

/// How `seal` shows its ``SealReport``.
enum SealText {
    static func line(_ report: SealReport) -> String {
        let count = counted(report.recipients.count, "recipient")
        let signed = report.signer_key_id.map { ", signed by \($0)" } ?? ", unsigned"
        let chained = report.sequence.map { ", sequence \($0)" } ?? ""
        let manifest = report.manifest == "matched" ? ", MANIFEST.sha256 matched" : ""
        return "sealed \(report.archive.map { "'\($0)'" } ?? "to standard output") to \(count) (key ids \(report.recipient_key_ids.joined(separator: ", ")))\(signed)\(chained)\(manifest): \(counted(report.archive_bytes, "byte"))"
    }

    static func json(_ report: SealReport) -> String {
        (try? ArchiveSummary.jsonLine(report)) ?? "{}"
    }
}

struct Pack: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pack a directory into a tar(.zst) stream, unencrypted.",
        discussion: """
            Writes exactly the tar stream that 'seal DIRECTORY' encrypts: sealing it \
            later ('seal -r … FILE') gives an archive that opens like 'seal DIRECTORY'. \
            Refuses to write to a terminal.
            """
    )

    @Option(name: .customLong("compression"),
            help: ArgumentHelp("zstd, zstd:LEVEL (1–19) or none.", valueName: "METHOD"))
    var compression: String = "zstd"

    @OptionGroup var output: OutputOptions

    @Argument(help: ArgumentHelp("The directory to pack.", valueName: "DIRECTORY"))
    var directory: String

    func validate() throws {
        do { _ = try TarCompression(parsing: compression) } catch let error as SealedArchiveError { throw ValidationError(error.message) }
    }

    func run() throws {
        if output.isStandardOutput && StandardOutputSink.isTerminal {
            throw CommandFailure(.usage, "refusing to write a tar stream to a terminal: use -o FILE or redirect standard output")
        }
        let (sink, file) = try output.open(mode: 0o600)
        _ = try DirectoryPacker.pack(directory: directory, into: sink, compression: try TarCompression(parsing: compression))
        try file?.commit()
    }
}
