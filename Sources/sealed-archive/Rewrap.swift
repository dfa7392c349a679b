import ArgumentParser
import Foundation
import SealedArchive

struct RewrapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rewrap",
        abstract: "Move an archive onto new recipient keys without re-encrypting its payload.",
        discussion: """
            Opens the file key with an old identity (-i), wraps it to the new \
            recipients, makes the header, trailer and signature anew (signed by \
            --sign-key), and copies every chunk byte for byte after checking it. An \
            old identity can then be destroyed early. The new signature is the \
            re-wrapper's: verifiers must trust that key. If an identity may be \
            compromised, re-wrapping is not enough: open and seal again.

            Re-wrapping a classical archive to post-quantum recipients protects \
            this copy from then on, not copies already taken under its old \
            stanzas: against an adversary who stored the archive, only sealing \
            again helps.
            """
    )

    @OptionGroup var identity: IdentityOptions
    @OptionGroup var signer: SignerOptions

    @Option(name: [.customShort("r"), .customLong("recipient")],
            help: ArgumentHelp("A new recipient (age1… or age1pq1…). Repeatable.", valueName: "RECIPIENT"))
    var recipients: [String] = []

    @Option(name: [.customShort("R"), .customLong("recipients-file")],
            help: ArgumentHelp("New recipients listed in FILE. Repeatable.", valueName: "FILE"))
    var recipientsFiles: [String] = []

    @Option(name: .customLong("sign-key"), help: ArgumentHelp("The re-wrapper's signing-key file.", valueName: "FILE"))
    var signKey: String

    @Flag(name: .customLong("allow-unsigned-source"),
          help: "Re-sign an archive whose origin no trusted signer vouches for (it may have been forged by anyone with a recipient's public key).")
    var allowUnsignedSource = false

    @OptionGroup var mixed: MixedRecipientsOption

    @OptionGroup var output: OutputOptions

    @Argument(help: ArgumentHelp("The archive to re-wrap ('-' or absent: standard input).", valueName: "ARCHIVE"))
    var archive: String = "-"

    func validate() throws {
        guard identity.given else { throw ValidationError("give an old identity that opens the archive: -i FILE") }
        guard !recipients.isEmpty || !recipientsFiles.isEmpty else { throw ValidationError("give the new recipients with -r age1… or -R FILE") }
    }

    func run() throws {
        if output.isStandardOutput && StandardOutputSink.isTerminal {
            throw CommandFailure(.usage, "refusing to write an archive to a terminal: use -o FILE or redirect standard output")
        }
        var all = try recipients.map { try Recipient(parsing: $0) }
        for file in recipientsFiles { all += try KeyFiles.readRecipients(path: file) }
        let signingKey = try KeyFiles.readSigningKey(path: signKey, passphrase: identity.passphrase.provider())
        let origin = try RewrapOrigin(trustedSigners: try signer.requiredSigners(), allowUnsigned: allowUnsignedSource)
        if origin == .allowUnsigned {
            Terminal.note("sealed-archive: warning: re-signing an archive that no trusted signer vouches for (--allow-unsigned-source)")
        }
        let (locked, identities) = try identity.identities {
            try ArchiveReader(source: FileSource(path: archive), trustedSigners: origin.requiredSigners)
        }
        let reader = try locked.unlock(with: identities)
        let (sink, file) = try output.open(mode: 0o644)
        _ = try Rewrap.rewrap(reader, origin: origin, to: all, signingKey: signingKey, allowMixedRecipients: mixed.allowed, into: sink)
        try file?.commit()
        if RecipientMix.isMixed(all) { Terminal.note("sealed-archive: \(RecipientMix.warning)") }
        if all.contains(where: \.isPostQuantum), reader.header.stanzas.contains(where: \.isX25519) {
            Terminal.note("sealed-archive: note: copies of this archive already stored keep their classical stanzas; against an adversary who took one, only sealing again protects the data")
        }
    }
}
