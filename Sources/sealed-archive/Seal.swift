import ArgumentParser
import Foundation
import SealedArchive

struct Seal: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encrypt a file or stream to one or more recipients.",
        discussion: """
            Reads INPUT (standard input by default), encrypts it to every recipient \
            given, signs it with --sign-key, and writes the archive to -o FILE or to \
            standard output (never to a terminal). A file output appears under its \
            name only once it is complete and flushed to disk.

            Without --sign-key the archive is anonymous: anyone who knows a \
            recipient's public key could have made it.
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

    @Option(name: .customLong("chunk-size"),
            help: ArgumentHelp("Chunk size, a power of two from 4KiB to 16MiB.", valueName: "SIZE"))
    var chunkSize: String = "1MiB"

    @Option(name: .customLong("label"), help: ArgumentHelp("A short text recorded in the header (readable without a key).", valueName: "TEXT"))
    var label: String?

    @OptionGroup var output: OutputOptions

    @Argument(help: ArgumentHelp("The file to seal ('-' or absent: standard input).", valueName: "INPUT"))
    var input: String = "-"

    func validate() throws {
        guard !recipients.isEmpty || !recipientsFiles.isEmpty else {
            throw ValidationError("give at least one recipient with -r age1… or -R FILE")
        }
        _ = try ChunkSizeArgument.log2(chunkSize)
    }

    func run() throws {
        let now = Date()
        if output.isStandardOutput && StandardOutputSink.isTerminal {
            throw CommandFailure(.usage, "refusing to write an archive to a terminal: use -o FILE or redirect standard output")
        }
        var all = try recipients.map { try Recipient(parsing: $0) }
        for file in recipientsFiles { all += try KeyFiles.readRecipients(path: file) }
        let signingKey = try signKey.map { try KeyFiles.readSigningKey(path: $0) }
        if signingKey == nil {
            Terminal.note("sealed-archive: warning: sealing without --sign-key: nobody can tell this archive from one forged with the recipients' public keys")
        }
        var options = SealOptions(created: now)
        options.chunkSizeLog2 = try ChunkSizeArgument.log2(chunkSize)
        options.label = label

        let source = try FileSource(path: input)
        let file = output.isStandardOutput ? nil : try AtomicFileSink(path: output.output, mode: 0o644, replaceExisting: output.force)
        let sink: ByteSink = file ?? StandardOutputSink()
        let writer = try ArchiveWriter(sink: sink, recipients: all, signingKey: signingKey, options: options)
        try writer.write(contentsOf: source)
        _ = try writer.finish()
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
