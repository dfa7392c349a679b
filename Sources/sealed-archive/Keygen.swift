import ArgumentParser
import Foundation
import SealedArchive

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a new identity, or with --signing a signing key.",
        discussion: """
            Writes the secret key file (mode 0600, never over an existing file) and \
            prints its public key on standard error. Identities are in age's format: \
            'age-keygen' keys work too, and --pq keys are 'age-keygen -pq' keys. Give \
            the public key (age1… or age1pq1…) to whoever seals archives for you; give \
            a signing key's public key (sealsig1…) to whoever verifies archives from \
            this host.

            Archives kept for years should be sealed to post-quantum identities \
            (--pq, ML-KEM-768 + X25519): an archive copied today and opened by a \
            quantum computer later is protected only if every recipient is \
            post-quantum.
            """
    )

    @Flag(name: .customLong("signing"), help: "Make an Ed25519 signing key for a sealing host instead of an identity.")
    var signing = false

    @Flag(name: .customLong("pq"),
          help: "Make a post-quantum identity (ML-KEM-768 + X25519, AGE-SECRET-KEY-PQ-1…, as 'age-keygen -pq').")
    var postQuantum = false

    @Option(name: [.customShort("o"), .customLong("output")],
            help: ArgumentHelp("Write the key to FILE (created 0600) instead of standard output.", valueName: "FILE"))
    var output: String?

    @Flag(name: .customLong("passphrase"),
          help: "Protect the key with a passphrase (Argon2id), asked twice at the terminal or read from --passphrase-fd.")
    var protect = false

    @OptionGroup var passphrase: PassphraseOptions

    func validate() throws {
        if signing && postQuantum {
            throw ValidationError("--pq makes an identity; signing keys are Ed25519 (no --pq with --signing)")
        }
    }

    func run() throws {
        let now = try CommandClock.now()
        let path = output == "-" ? nil : output
        let secret = protect || passphrase.passphraseFD != nil ? try passphrase.newPassphrase() : nil
        if signing {
            let key = try SigningKey.generate()
            try KeyFiles.write(key, to: path, created: now, passphrase: secret)
            Terminal.note("Public key: \(key.signer)")
        } else {
            let identity = try Identity.generate(postQuantum ? .postQuantum : .x25519)
            try KeyFiles.write(identity, to: path, created: now, passphrase: secret)
            Terminal.note("Public key: \(identity.recipient)")
        }
    }
}

struct RecipientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipient",
        abstract: "Print the public key of an identity or signing-key file.",
        discussion: "An identity file gives its recipients (age1… or age1pq1…), one a line; a signing-key file its signer key (sealsig1…)."
    )

    @Argument(help: ArgumentHelp("The identity or signing-key file ('-' for standard input).", valueName: "FILE"))
    var file: String

    @OptionGroup var passphrase: PassphraseOptions

    func run() throws {
        switch try KeyFiles.readSecretKeys(path: file, passphrase: passphrase.provider()) {
        case .identities(let identities):
            for identity in identities { try Terminal.output(identity.recipient.description) }
        case .signingKey(let key):
            try Terminal.output(key.signer.description)
        }
    }
}
