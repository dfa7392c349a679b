import ArgumentParser
import SealedArchive

struct Open: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decrypt an archive with an identity; extract a directory with -C.",
        discussion: """
            Checks the archive as it decrypts it: every chunk, the digest and, when \
            signed, the signature.

            An archive of a directory is extracted with -C DEST (DEST must not exist \
            or be empty): into a staging directory beside DEST, moved to DEST only \
            after the last chunk authenticated, every entry was written and \
            MANIFEST.sha256 (when present) matched. Entries with '..' or absolute \
            paths, device nodes, FIFOs, links leading out of DEST and decompression \
            bombs are refused; setuid, setgid and sticky bits are stripped. --list \
            shows the entries without extracting; -o writes the decompressed tar \
            stream instead.

            --only ENTRY (repeatable; a directory means everything below it) \
            restores or lists just those entries; with -o, a single --only FILE \
            writes that file's content (to standard output with -o -). From a format 2 archive in a \
            file, --list and --only read the archive's index and only the records \
            that hold what is asked for, each authenticated before use; from a \
            pipe or a format 1 archive they read the whole archive.

            An archive of bytes is written to -o FILE (mode 0600, only once \
            everything checked out) or to standard output, where plaintext flows \
            as chunks authenticate and a non-zero exit means it must not be trusted.
            """
    )

    @OptionGroup var identity: IdentityOptions
    @OptionGroup var signer: SignerOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var contents: ContentsOptions
    @OptionGroup var progress: ProgressOptions

    @Option(name: [.customShort("C"), .customLong("directory")],
            help: ArgumentHelp("Extract the archive's directory here (it must not exist, or be empty).", valueName: "DEST"))
    var destination: String?

    @Flag(name: .customLong("list"), help: "List the entries of a directory archive instead of extracting them.")
    var list = false

    @Option(name: .customLong("only"),
            help: ArgumentHelp("With -C or --list: just this entry, or this directory and everything below it (a path inside the archive). Repeatable. With -o: the one file whose content to write.", valueName: "ENTRY"))
    var only: [String] = []

    @Argument(help: ArgumentHelp("The archive ('-' or absent: standard input).", valueName: "ARCHIVE"))
    var archive: String = "-"

    func validate() throws {
        guard identity.given else {
            throw ValidationError("give the identity to open with: -i FILE (an AGE-SECRET-KEY-1… or AGE-SECRET-KEY-PQ-1… file)")
        }
        guard [destination != nil, list, output.output != nil].filter({ $0 }).count <= 1 else {
            throw ValidationError("-C, --list and -o are alternatives: give one")
        }
        if !only.isEmpty && destination == nil && !list && output.output == nil {
            throw ValidationError("--only restores into -C DEST, lists with --list, or writes one file's content with -o FILE: give one of them")
        }
        if only.count > 1 && output.output != nil {
            throw ValidationError("-o writes one file's content: give exactly one --only FILE (several go to -C DEST)")
        }
    }

    func run() throws {
        let requiredSigners = try signer.requiredSigners()
        var options = contents.restoreOptions
        options.only = only.isEmpty ? nil : only
        if list || !only.isEmpty, let file = try RandomAccessFile.openIfSeekable(archive), try SeekableArchiveReader.startsAsVersion2(file) {
            try runByIndex(file, requiredSigners: requiredSigners, options: options)
            return
        }
        let meter = progress.meter("opening")
        let (locked, identities) = try identity.identities {
            try ArchiveReader(source: CountingSource.counting(try FileSource(path: archive), path: archive, into: meter.counter),
                              trustedSigners: requiredSigners)
        }
        let reader = try locked.unlock(with: identities)
        if !reader.header.isSigned {
            Terminal.note("sealed-archive: warning: the archive is not signed: its origin cannot be checked")
        }
        let isTar = reader.header.payloadKind == .tar
        if let destination {
            guard isTar else { throw CommandFailure(.usage, "the archive holds a byte stream, not a directory: open it with -o FILE instead of -C") }
            let summary = try meter.showing {
                try Restore.extract(reader, to: destination, options: options, cancellation: TerminationSignals.cancellation)
            }
            Terminal.note("extracted \(counted(summary.files, "file")), \(counted(summary.directories, "directory", "directories")), \(counted(summary.symlinks + summary.hardlinks, "link")) (\(counted(summary.contentBytes, "byte"))) into \(destination); \(ContentsOptions.manifestNote(summary))")
        } else if list {
            guard isTar else { throw CommandFailure(.usage, "the archive holds a byte stream, not a directory: there is nothing to list") }
            let summary = try meter.showing {
                try Restore.check(reader, options: options, cancellation: TerminationSignals.cancellation, list: Self.show)
            }
            Terminal.note(ContentsOptions.manifestNote(summary))
        } else if !only.isEmpty {
            guard isTar else { throw CommandFailure(.usage, "the archive holds a byte stream, not a directory: --only has no entry to choose") }
            let (sink, file) = try output.open(mode: 0o600)
            let summary = try meter.showing {
                try Restore.writeEntry(reader, into: sink, options: options, cancellation: TerminationSignals.cancellation)
            }
            try file?.commit()
            Terminal.note("wrote '\(only[0])' (\(counted(summary.contentBytes, "byte"))); \(ContentsOptions.manifestNote(summary))")
        } else {
            if isTar && output.output == nil {
                throw CommandFailure(.usage, "the archive holds a directory: extract it with -C DEST, list it with --list, or get the tar stream with -o FILE (or -o -)")
            }
            let (sink, file) = try output.open(mode: 0o600)
            try meter.showing {
                if isTar {
                    _ = try Restore.writeDecompressed(reader, into: sink)
                } else {
                    _ = try reader.decrypt(into: sink)
                }
                try file?.commit()
            }
        }
    }
}

extension Open {
    /// One `--list` line.
    static func show(_ entry: ListedEntry) throws {
        let link = entry.linkTarget.map { " -> \($0)" } ?? ""
        try Terminal.output("\(entry.kind.padding(toLength: 9, withPad: " ", startingAt: 0)) \(String(entry.permissions, radix: 8)) \(String(entry.size).leftPadded(12)) \(entry.path)\(link)")
    }

    /// `--list` and `--only` of a format 2 archive in a file: by its index,
    /// reading only what they need (Spec/FORMAT-v2.md 7.1 and 8.1).
    func runByIndex(_ file: RandomAccessFile, requiredSigners: [TrustedSigner]?, options: RestoreOptions) throws {
        let trusted = requiredSigners
        let (locked, identities) = try identity.identities(for: { try SeekableArchiveReader(file: file, trustedSigners: trusted) },
                                                           header: { $0.header })
        let archive = try locked.unlock(with: identities)
        if !archive.header.isSigned {
            Terminal.note("sealed-archive: warning: the archive is not signed: its origin cannot be checked")
        }
        let read = { "read \(counted(file.bytesRead, "byte")) of \(file.size)" }
        if output.output != nil {
            let (sink, file) = try output.open(mode: 0o600)
            let summary = try Restore.writeEntry(archive, into: sink, options: options, cancellation: TerminationSignals.cancellation)
            try file?.commit()
            Terminal.note("wrote '\(only[0])' (\(counted(summary.contentBytes, "byte"))) by the archive's index (\(read())); \(ContentsOptions.manifestNote(summary))")
        } else if let destination {
            let summary = try Restore.extract(archive, to: destination, options: options, cancellation: TerminationSignals.cancellation)
            Terminal.note("restored \(counted(summary.files, "file")), \(counted(summary.directories, "directory", "directories")), \(counted(summary.symlinks + summary.hardlinks, "link")) (\(counted(summary.contentBytes, "byte"))) into \(destination) by the archive's index (\(read())); \(ContentsOptions.manifestNote(summary))")
        } else {
            let count = try Restore.listIndex(archive, options: options, list: Self.show)
            Terminal.note("\(counted(count, "entry", "entries")) from the archive's index (\(read())): the sealer's list, authenticated; 'verify -i' checks the contents against it")
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
