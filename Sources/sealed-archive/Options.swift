import ArgumentParser
import Foundation
import KeyRotation
import SealedArchive

/// `--allow-mixed-recipients`, for every command that chooses recipients
/// (seal, rewrap, keys export-recipients): ``RecipientMix``'s rule.
struct MixedRecipientsOption: ParsableArguments {
    @Flag(name: .customLong("allow-mixed-recipients"),
          help: "Allow post-quantum and classical recipients together (refused otherwise: the classical one voids the post-quantum protection); warns.")
    var allowed = false

    /// Refuses a mix unless allowed; warns when one is allowed.
    func check(_ recipients: [Recipient]) throws {
        try RecipientMix.check(recipients, allowed: allowed)
        if RecipientMix.isMixed(recipients) { Terminal.note("sealed-archive: \(RecipientMix.warning)") }
    }
}

/// `-i IDENTITY`: identity files, repeatable; protected ones ask for their
/// passphrase.
struct IdentityOptions: ParsableArguments {
    @Option(name: [.customShort("i"), .customLong("identity")],
            help: ArgumentHelp("An identity file (AGE-SECRET-KEY-1… or AGE-SECRET-KEY-PQ-1…), as written by keygen or age-keygen. Repeatable.", valueName: "FILE"))
    var identityFiles: [String] = []

    @Option(name: .customLong("keyring"),
            help: ArgumentHelp("Also use every identity the keyring still holds (the archive's key id picks the right one).", valueName: "DIR"))
    var keyring: String?

    @OptionGroup var passphrase: PassphraseOptions

    /// Whether any identity was asked for.
    var given: Bool { !identityFiles.isEmpty || keyring != nil }

    /// The identities from `-i` files.
    func identities() throws -> [Identity] {
        let provider = passphrase.provider()
        return try identityFiles.flatMap { try KeyFiles.readIdentities(path: $0, passphrase: provider) }
    }

    /// Finds the keyring's identity for an archive by its header, reading
    /// (and asking the passphrase of) only the key it needs; nil without
    /// `--keyring`.
    func resolver() throws -> IdentityResolver? {
        guard let keyring else { return nil }
        let lookup = KeyringLookup(keyring: try Keyring.openForCommand(keyring), passphrase: passphrase.provider())
        return { header in try lookup.identities(opening: header) }
    }

    /// Every identity for one archive: the files' (read first, so a bad
    /// key file is reported before the archive is touched), then the
    /// keyring's for the archive's header.
    func identities(for reader: () throws -> ArchiveReader) throws -> (ArchiveReader, [Identity]) {
        try identities(for: reader, header: \.header)
    }

    /// The same for any reader that has read a header (a seeking one).
    func identities<Reader>(for reader: () throws -> Reader, header: (Reader) -> ArchiveHeader) throws -> (Reader, [Identity]) {
        let files = try identities()
        let resolver = try resolver()
        let opened = try reader()
        return (opened, files + (try resolver?(header(opened)) ?? []))
    }
}

/// A keyring shared by parallel verifications: one lookup (and one
/// passphrase prompt) at a time.
private final class KeyringLookup: @unchecked Sendable {
    private let keyring: Keyring
    private let passphrase: KeyFiles.PassphraseProvider
    private let lock = NSLock()

    init(keyring: Keyring, passphrase: @escaping KeyFiles.PassphraseProvider) {
        self.keyring = keyring
        self.passphrase = passphrase
    }

    func identities(opening header: ArchiveHeader) throws -> [Identity] {
        try lock.withLock { try keyring.identities(opening: header, passphrase: passphrase) }
    }
}

/// Where passphrases for protected key files come from: the terminal, or
/// `--passphrase-fd N` for scripts (never an argument or the environment).
struct PassphraseOptions: ParsableArguments {
    @Option(name: .customLong("passphrase-fd"),
            help: ArgumentHelp("Read the passphrase for protected key files from this file descriptor (one line) instead of asking at the terminal.", valueName: "N"))
    var passphraseFD: Int32?

    init() {}

    init(passphraseFD: Int32?) {
        self.passphraseFD = passphraseFD
    }

    /// Reads the descriptor once and reuses that passphrase; otherwise asks
    /// at the terminal for each protected file.
    func provider() -> KeyFiles.PassphraseProvider {
        var cached: SecureBytes?
        let fd = passphraseFD
        return { file in
            if let cached { return cached }
            guard let fd else { return try TerminalPassphrase.prompt("Passphrase for \(file): ") }
            let passphrase = try PassphraseInput.read(fd: fd)
            cached = passphrase
            return passphrase
        }
    }

    /// A new passphrase: from the descriptor, or asked twice at the terminal.
    func newPassphrase() throws -> SecureBytes {
        if let passphraseFD { return try PassphraseInput.read(fd: passphraseFD) }
        let first = try TerminalPassphrase.prompt("New passphrase: ")
        let second = try TerminalPassphrase.prompt("Repeat the passphrase: ")
        guard first.constantTimeEquals(second) else {
            throw CommandFailure(.usage, "the two passphrases differ; nothing was written")
        }
        return first
    }
}

/// Which sealing hosts are trusted: `--signer KEY`, `--signers FILE`, or
/// the default signers file, which makes a signature required without any
/// flag: `$SEALED_ARCHIVE_SIGNERS`, else `~/.config/sealed-archive/signers`
/// (`$XDG_CONFIG_HOME` honoured) when it exists. `--allow-unsigned` opts
/// out of the default.
struct SignerOptions: ParsableArguments {
    @Option(name: .customLong("signer"),
            help: ArgumentHelp("Require a valid signature by this signer key (sealsig1…). Repeatable: any one of them is accepted.", valueName: "KEY"))
    var signerKeys: [String] = []

    @Option(name: .customLong("signers"),
            help: ArgumentHelp("Require a valid signature by a signer listed in FILE (one sealsig1… a line).", valueName: "FILE"))
    var signersFile: String?

    @Flag(name: .customLong("allow-unsigned"),
          help: "Do not require a signature even though a default signers file exists.")
    var allowUnsigned = false

    /// The default signers file, if one exists.
    static var defaultSignersFile: String? {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["SEALED_ARCHIVE_SIGNERS"], !path.isEmpty { return path }
        let config = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? environment["HOME"].map { $0 + "/.config" }
        guard let config else { return nil }
        let path = config + "/sealed-archive/signers"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// The required signers, or nil when none is required.
    func requiredSigners() throws -> [TrustedSigner]? {
        var signers = try signerKeys.map { TrustedSigner(try SignerKey(parsing: $0)) }
        if let signersFile { signers += try KeyFiles.readSigners(path: signersFile) }
        if signers.isEmpty && !allowUnsigned, let file = Self.defaultSignersFile {
            signers = try KeyFiles.readSigners(path: file)
        }
        return signers.isEmpty ? nil : signers
    }
}

/// `-o OUT` and `--force` for commands that write a file.
struct OutputOptions: ParsableArguments {
    @Option(name: [.customShort("o"), .customLong("output")],
            help: ArgumentHelp("Write here instead of standard output ('-' is standard output). Written under a temporary name and renamed when complete.", valueName: "FILE"))
    var output: String?

    @Flag(name: .customLong("force"), help: "Replace the output file if it exists.")
    var force = false

    var isStandardOutput: Bool { output == nil || output == "-" }

    /// The output as a sink: standard output, or a file written atomically
    /// with `mode` and committed by the caller.
    func open(mode: mode_t) throws -> (sink: ByteSink, file: AtomicFileSink?) {
        try OutputFile.open(output ?? "-", mode: mode, replaceExisting: force)
    }
}

/// Options for reading a tar payload: extraction safety and the manifest.
struct ContentsOptions: ParsableArguments {
    @Flag(name: .customLong("no-manifest"), help: "Do not check MANIFEST.sha256 (the result says it was skipped).")
    var noManifest = false

    @Flag(name: .customLong("allow-escaping-symlinks"),
          help: "Restore symbolic links that point outside the destination, as stored (nothing is ever written through them).")
    var allowEscapingSymlinks = false

    @Option(name: .customLong("max-expansion"),
            help: ArgumentHelp("Refuse contents larger than 1 GiB plus RATIO times the archive's size (a decompression bomb); 0 for no limit.", valueName: "RATIO"))
    var maxExpansion: UInt64 = 200

    var restoreOptions: RestoreOptions {
        var options = RestoreOptions()
        options.checkManifest = !noManifest
        options.allowEscapingSymlinks = allowEscapingSymlinks
        options.maxExpansion = maxExpansion
        return options
    }

    /// How the manifest outcome is reported.
    static func manifestNote(_ summary: ContentsSummary) -> String {
        if summary.manifestSkipped { return "MANIFEST.sha256 not checked (--no-manifest)" }
        if let count = summary.manifestFilesChecked { return "MANIFEST.sha256 matches (\(counted(count, "file")))" }
        return "no MANIFEST.sha256"
    }
}
