import Foundation

/// The `seal` workflow as one library call: what the input is (a directory
/// packed as tar, a tar or tar.zst recognised, or plain bytes), how it is
/// compressed, the chain stamp, and the checksum file, committed together
/// with the archive. The CLI parses arguments into a ``Sealer/Request`` and
/// renders the ``SealReport``; every decision is made here, so a script
/// using the library seals exactly as the tool does.
public enum Sealer {
    /// How a file or stream input is recorded (a directory is always tar).
    public enum PayloadChoice: String, Sendable {
        /// Recognise a tar or tar.zst stream, else bytes.
        case auto
        /// The input must be a tar stream libarchive reads.
        case tar
        /// Plain bytes, whatever they hold.
        case bytes
    }

    /// Where the archive's `sha256sum` line goes.
    public enum ChecksumRequest: Sendable, Equatable {
        /// `OUT.sha256` beside the output file (needs an output file).
        case besideArchive
        /// This file; with standard output it names the archive after the
        /// file without `.sha256` (`-` when it has no such suffix).
        case file(String)
    }

    /// Everything one seal needs. `output` nil or `-` is standard output.
    public struct Request: Sendable {
        public var recipients: [Recipient]
        public var signingKey: SigningKey?
        /// A directory, a file, or `-` for standard input.
        public var input: String = "-"
        public var payload: PayloadChoice = .auto
        /// The compression of a packed directory (a file's is detected).
        public var compression: TarCompression = .default
        public var chunkSizeLog2: Int = ChunkSize.defaultLog2
        /// The format written: 2 by default (Spec/FORMAT-v2.md); 1 for
        /// readers that predate it (Spec/FORMAT.md).
        public var formatVersion: FormatVersion = .v2
        public var label: String?
        public var output: String?
        /// Replace an existing output (and checksum) file.
        public var replaceExisting = false
        public var checksum: ChecksumRequest?
        /// The sealing host's chain state file (``ChainState``).
        public var chainFile: String?
        /// Seal to post-quantum and classical recipients together
        /// (``RecipientMix``); refused otherwise.
        public var allowMixedRecipients = false
        /// What to do with a directory's `MANIFEST.sha256`.
        public var manifest: ManifestCheck = .ifPresent
        /// Counts the input's bytes as they are read (a directory's file
        /// contents, expected from their sizes when it is listed).
        public var progress: ProgressCounter?

        public init(recipients: [Recipient]) {
            self.recipients = recipients
        }

        public var writesToStandardOutput: Bool { output == nil || output == "-" }

        /// Refuses combinations that cannot be sealed, before anything is
        /// read or written (the CLI calls it from argument validation).
        public func validate() throws {
            guard !recipients.isEmpty else {
                throw SealedArchiveError(.invalidArgument, "give at least one recipient with -r age1… or -R FILE")
            }
            // Checked again where the archive is made; here, before
            // anything is read.
            try RecipientMix.check(recipients, allowed: allowMixedRecipients)
            try ArchiveEncoder.checkRecipients(recipients, version: formatVersion)
            guard ChunkSize.log2Range.contains(chunkSizeLog2) else {
                throw SealedArchiveError(.invalidArgument, "chunk size 2^\(chunkSizeLog2) is outside 2^\(ChunkSize.log2Range.lowerBound)–2^\(ChunkSize.log2Range.upperBound)")
            }
            if checksum == .besideArchive && writesToStandardOutput {
                throw SealedArchiveError(.invalidArgument, "--checksum names its file after -o FILE: with standard output, give --checksum-file FILE")
            }
        }

        /// Where the checksum line goes and the archive name it carries.
        public var checksumTarget: (path: String, archiveName: String)? {
            switch checksum {
            case nil:
                return nil
            case .besideArchive:
                guard let output, output != "-" else { return nil }
                return (ChecksumFile.defaultPath(for: output), ChecksumFile.baseName(output))
            case .file(let path):
                if let output, output != "-" { return (path, ChecksumFile.baseName(output)) }
                let base = ChecksumFile.baseName(path)
                return (path, base.hasSuffix(".sha256") ? String(base.dropLast(7)) : "-")
            }
        }
    }

    /// Seals `request.input` to its recipients. `now` is the creation time
    /// written in the header and the chain state. Every output of one seal
    /// appears together or none does: the archive, its checksum file, then
    /// the chain state that records it (last: it replaces the previous
    /// state). A failure before the end leaves the chain where it was, so
    /// the next run reuses the sequence number with nothing published
    /// under it.
    public static func seal(_ request: Request, now: Date) throws -> SealReport {
        try request.validate()
        var options = SealOptions(created: now)
        options.chunkSizeLog2 = request.chunkSizeLog2
        options.label = request.label
        options.allowMixedRecipients = request.allowMixedRecipients

        options.formatVersion = request.formatVersion
        let version2 = request.formatVersion == .v2
        let directory = request.input != "-" && PathName.isDirectory(request.input)
        var source: ByteSource?
        /// Format 2 keeps a tar input's tar bytes but frames them anew.
        var reframe = false
        if directory {
            options.payloadKind = .tar
            options.compression = version2 ? .zstd : request.compression.headerValue
        } else {
            let opened = try FileSource(path: request.input)
            let file = CountingSource.counting(opened, path: request.input, into: request.progress)
            switch request.payload {
            case .bytes:
                source = file
            case .auto, .tar:
                let detected: (kind: PayloadKind, compression: Compression, source: ByteSource)
                do {
                    detected = try PayloadDetection.detect(file, requireTar: request.payload == .tar)
                } catch let error as SealedArchiveError where error.code == .invalidArgument {
                    throw SealedArchiveError(.invalidArgument, "\(opened.name) is \(error.message); leave out --payload tar to seal it as bytes", cause: error)
                }
                (options.payloadKind, options.compression, source) = (detected.kind, detected.compression, detected.source)
                if version2 && detected.kind == .tar {
                    (options.compression, reframe) = (.zstd, true)
                }
            }
        }

        if !directory && request.manifest == .required {
            throw SealedArchiveError(.invalidArgument, "--require-manifest checks a backup directory's MANIFEST.sha256: '\(request.input)' is not a directory")
        }
        let chain = try request.chainFile.map { try ChainState(lockingAt: $0) }
        if let chain { (options.sequence, options.previousDigest) = chain.next }

        let (outputSink, file) = try OutputFile.open(request.output ?? "-", mode: 0o644, replaceExisting: request.replaceExisting)
        let checksumTarget = request.checksumTarget
        let hashing = checksumTarget == nil ? nil : try HashingSink(forwardingTo: outputSink)
        let writer = try ArchiveWriter(sink: hashing ?? outputSink, recipients: request.recipients,
                                       signingKey: request.signingKey, options: options)
        let checksManifest = directory && request.manifest != .skip
        var packed: PackSummary?
        if let source, !reframe {
            if options.payloadKind == .tar {
                try TarIndexing.copyCheckingTar(source, into: writer)
            } else {
                try writer.write(contentsOf: source)
            }
        } else if version2 {
            let payload = try FramedPayloadWriter(sink: writer, compression: request.compression, indexAlignment: writer.header.chunkSize)
            if let source {
                _ = try TarIndexing.reframe(source, into: payload)
            } else {
                packed = try DirectoryPacker.pack(directory: request.input, into: payload, collectingDigests: checksManifest,
                                                  progress: request.progress)
            }
            try payload.finish()
        } else {
            packed = try DirectoryPacker.pack(directory: request.input, into: writer, compression: request.compression,
                                              collectingDigests: checksManifest, progress: request.progress)
        }
        // Before the trailer: a refused directory leaves no archive file,
        // and on standard output a stream without a trailer, which no
        // reader takes for a whole archive.
        let manifest = try packed.map { try request.manifest.check($0, directory: request.input) }
        let result = try writer.finish()

        var pending: [AtomicFileSink] = file.map { [$0] } ?? []
        if let checksumTarget, let hashing {
            let (sink, checksumFile) = try OutputFile.open(checksumTarget.path, mode: 0o644, replaceExisting: request.replaceExisting)
            try ChecksumFile.line(digest: hashing.finalizeHex(), name: checksumTarget.archiveName).withUnsafeBytes { try sink.write($0) }
            pending += checksumFile.map { [$0] } ?? []
        }
        let archiveName = request.output.map(ChecksumFile.baseName)
        if let chain, let sequence = options.sequence {
            pending.append(try chain.pendingRecord(sequence: sequence, digest: result.digest, archive: archiveName, sealed: now))
        }
        try AtomicFileSink.commitTogether(pending)
        if let chain, let sequence = options.sequence {
            chain.didCommitRecord(sequence: sequence, digest: result.digest, archive: archiveName, sealed: now)
        }
        var report = SealReport(archive: request.writesToStandardOutput ? nil : request.output, recipients: request.recipients,
                                signer: request.signingKey?.signer, result: result, checksumFile: checksumTarget?.path)
        report.manifest = manifest
        return report
    }
}
