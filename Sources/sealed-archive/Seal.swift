import ArgumentParser
import Foundation
import SealedArchive

struct Seal: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encrypt a directory, file or stream to one or more recipients.",
        discussion: """
            A DIRECTORY is packed as a pax tar archive (sorted, paths relative to it), \
            compressed with zstd by default, and recorded as a tar payload that \
            'open -C DEST' extracts. A tar or tar.zst file or stream (from 'pack' or \
            any tar) is recognised and recorded as a tar payload too; anything else \
            is sealed as plain bytes. INPUT defaults to standard input.

            The archive goes to -o FILE or to standard output (never to a terminal). \
            A file output appears under its name only once it is complete and \
            flushed to disk. Without --sign-key the archive is anonymous: anyone who \
            knows a recipient's public key could have made it.
            """
    )

    @Option(name: [.customShort("r"), .customLong("recipient")],
            help: ArgumentHelp("Encrypt to this recipient (age1…). Repeatable.", valueName: "RECIPIENT"))
    var recipients: [String] = []

    @Option(name: [.customShort("R"), .customLong("recipients-file")],
            help: ArgumentHelp("Encrypt to every recipient listed in FILE, one a line. Repeatable.", valueName: "FILE"))
    var recipientsFiles: [String] = []

    @Option(name: .customLong("sign-key"),
            help: ArgumentHelp("Sign the archive with this host's signing-key file (from 'keygen --signing').", valueName: "FILE"))
    var signKey: String?

    @Option(name: .customLong("compression"),
            help: ArgumentHelp("For a directory: zstd, zstd:LEVEL (1–19) or none.", valueName: "METHOD"))
    var compression: String = "zstd"

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

    @Flag(name: .customLong("json"),
          help: "Report what was sealed (recipients, signer, sizes, digest) as one JSON object (on standard error when the archive goes to standard output).")
    var json = false

    @OptionGroup var output: OutputOptions
    @OptionGroup var passphrase: PassphraseOptions

    @Argument(help: ArgumentHelp("The directory or file to seal ('-' or absent: standard input).", valueName: "INPUT"))
    var input: String = "-"

    enum PayloadChoice: String, ExpressibleByArgument {
        case auto, tar, bytes
    }

    func validate() throws {
        guard !recipients.isEmpty || !recipientsFiles.isEmpty else {
            throw ValidationError("give at least one recipient with -r age1… or -R FILE")
        }
        _ = try ChunkSizeArgument.log2(chunkSize)
        do { _ = try TarCompression(parsing: compression) } catch let error as SealedArchiveError { throw ValidationError(error.message) }
        if checksum && output.isStandardOutput {
            throw ValidationError("--checksum names its file after -o FILE: with standard output, give --checksum-file FILE")
        }
        if checksum && checksumFile != nil { throw ValidationError("give --checksum or --checksum-file, not both") }
    }

    /// Where the checksum line goes and the archive name it carries.
    private var checksumTarget: (path: String, archiveName: String)? {
        if checksum, let archive = output.output { return (ChecksumFile.defaultPath(for: archive), ChecksumFile.baseName(archive)) }
        guard let checksumFile else { return nil }
        if let archive = output.output, archive != "-" { return (checksumFile, ChecksumFile.baseName(archive)) }
        let base = ChecksumFile.baseName(checksumFile)
        return (checksumFile, base.hasSuffix(".sha256") ? String(base.dropLast(7)) : "-")
    }

    func run() throws {
        let now = try CommandClock.now()
        if output.isStandardOutput && StandardOutputSink.isTerminal {
            throw CommandFailure(.usage, "refusing to write an archive to a terminal: use -o FILE or redirect standard output")
        }
        var all = try recipients.map { try Recipient(parsing: $0) }
        for file in recipientsFiles { all += try KeyFiles.readRecipients(path: file) }
        let signingKey = try signKey.map { try KeyFiles.readSigningKey(path: $0, passphrase: passphrase.provider()) }
        if signingKey == nil {
            Terminal.note("sealed-archive: warning: sealing without --sign-key: nobody can tell this archive from one forged with the recipients' public keys")
        }
        var options = SealOptions(created: now)
        options.chunkSizeLog2 = try ChunkSizeArgument.log2(chunkSize)
        options.label = label

        let directory = input != "-" && PathName.isDirectory(input)
        var source: ByteSource?
        let tarCompression = try TarCompression(parsing: compression)
        if directory {
            options.payloadKind = .tar
            options.compression = tarCompression == .none ? .none : .zstd
        } else {
            let file = try FileSource(path: input)
            switch payload {
            case .bytes:
                source = file
            case .auto, .tar:
                let detected: (kind: PayloadKind, compression: Compression, source: ByteSource)
                do {
                    detected = try PayloadDetection.detect(file, requireTar: payload == .tar)
                } catch let error as SealedArchiveError where error.code == .invalidArgument {
                    throw CommandFailure(.usage, "\(file.name) is \(error.message); leave out --payload tar to seal it as bytes")
                }
                (options.payloadKind, options.compression, source) = (detected.kind, detected.compression, detected.source)
            }
        }

        let chain = try chainFile.map { try ChainState(lockingAt: $0) }
        if let chain { (options.sequence, options.previousDigest) = chain.next }

        let (outputSink, file) = try output.open(mode: 0o644)
        let checksumTarget = self.checksumTarget
        let hashing = checksumTarget == nil ? nil : try HashingSink(forwardingTo: outputSink)
        let writer = try ArchiveWriter(sink: hashing ?? outputSink, recipients: all, signingKey: signingKey, options: options)
        if let source {
            try writer.write(contentsOf: source)
        } else {
            _ = try DirectoryPacker.pack(directory: input, into: writer, compression: tarCompression)
        }
        let result = try writer.finish()

        // Every output of one seal appears together or none does: the
        // archive, its checksum file, then the chain state that records it
        // (last: it replaces the previous state). A failure before the end
        // leaves the chain where it was, so the next run reuses the
        // sequence number with nothing published under it.
        var pending: [AtomicFileSink] = file.map { [$0] } ?? []
        if let checksumTarget, let hashing {
            let (sink, checksumFile) = try OutputFile.open(checksumTarget.path, mode: 0o644, replaceExisting: output.force)
            try ChecksumFile.line(digest: hashing.finalizeHex(), name: checksumTarget.archiveName).withUnsafeBytes { try sink.write($0) }
            pending += checksumFile.map { [$0] } ?? []
        }
        let archiveName = output.output.map(ChecksumFile.baseName)
        if let chain, let sequence = options.sequence {
            pending.append(try chain.pendingRecord(sequence: sequence, digest: result.digest, archive: archiveName, sealed: now))
        }
        try AtomicFileSink.commitTogether(pending)
        if let chain, let sequence = options.sequence {
            chain.didCommitRecord(sequence: sequence, digest: result.digest, archive: archiveName, sealed: now)
        }

        let report = SealReport(archive: output.isStandardOutput ? nil : output.output, recipients: all, signer: signingKey?.signer,
                                result: result, checksumFile: checksumTarget?.path)
        if json {
            // The archive itself may be on standard output: the report goes
            // to standard error then.
            if output.isStandardOutput { Terminal.noteJSON(report.json) } else { try Terminal.output(report.json, asJSON: true) }
        } else {
            Terminal.note(report.text)
        }
    }
}

/// What `seal` tells the operator it did: above all how many recipients
/// the archive was sealed to, so a recipients file that lost a line (the
/// escrow key) shows at once.
struct SealReport: Encodable {
    let schema = 1
    let kind = "seal"
    let archive: String?
    let recipients: [String]
    let recipient_key_ids: [String]
    let signer: String?
    let signer_key_id: String?
    let sequence: UInt64?
    let archive_bytes: UInt64
    let payload_bytes: UInt64
    let chunks: UInt64
    let digest: String
    let checksum_file: String?

    init(archive: String?, recipients: [Recipient], signer: SignerKey?, result: SealResult, checksumFile: String?) {
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

    var text: String {
        let count = counted(recipients.count, "recipient")
        let signed = signer_key_id.map { ", signed by \($0)" } ?? ", unsigned"
        let chained = sequence.map { ", sequence \($0)" } ?? ""
        return "sealed \(archive.map { "'\($0)'" } ?? "to standard output") to \(count) (key ids \(recipient_key_ids.joined(separator: ", ")))\(signed)\(chained): \(counted(archive_bytes, "byte"))"
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    enum CodingKeys: String, CodingKey {
        case schema, kind, archive, recipients, recipient_key_ids, signer, signer_key_id, sequence,
             archive_bytes, payload_bytes, chunks, digest, checksum_file
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

/// Parses sizes such as `1MiB`, `64KiB` or `65536` into a power-of-two log.
enum ChunkSizeArgument {
    static func log2(_ text: String) throws -> Int {
        let units: [(String, Int)] = [("KiB", 10), ("MiB", 20), ("K", 10), ("M", 20), ("", 0)]
        for (suffix, shift) in units where text.hasSuffix(suffix) {
            guard let value = Int(text.dropLast(suffix.count)), value > 0, value & (value - 1) == 0 else { break }
            let log = value.trailingZeroBitCount + shift
            guard (12...24).contains(log) else { break }
            return log
        }
        throw ValidationError("chunk size '\(text)' must be a power of two from 4KiB to 16MiB, such as 64KiB or 1MiB")
    }
}

