import ArgumentParser
import SealedArchive

struct Open: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decrypt an archive with an identity.",
        discussion: """
            Checks the archive as it decrypts it: every chunk, the digest and, when \
            signed, the signature. To a file (-o FILE), the plaintext appears under \
            its name, mode 0600, only after everything checked out; a failure leaves \
            nothing there. To standard output, plaintext flows as chunks \
            authenticate, and a non-zero exit means it must not be trusted.
            """
    )

    @OptionGroup var identity: IdentityOptions
    @OptionGroup var signer: SignerOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: ArgumentHelp("The archive ('-' or absent: standard input).", valueName: "ARCHIVE"))
    var archive: String = "-"

    func validate() throws {
        guard !identity.identityFiles.isEmpty else {
            throw ValidationError("give the identity to open with: -i FILE (an AGE-SECRET-KEY-1… file)")
        }
    }

    func run() throws {
        let identities = try identity.identities()
        let requiredSigners = try signer.requiredSigners()
        let reader = try ArchiveReader(source: FileSource(path: archive), requiredSigners: requiredSigners)
        try reader.unlock(with: identities)
        if !reader.header.isSigned {
            Terminal.note("sealed-archive: warning: the archive is not signed: its origin cannot be checked")
        }
        let file = output.isStandardOutput ? nil : try AtomicFileSink(path: output.output, mode: 0o600, replaceExisting: output.force)
        _ = try reader.decrypt(into: file ?? StandardOutputSink())
        try file?.commit()
    }
}
