import ArgumentParser
import Foundation
import KeyRotation
import SealedArchive

/// `sealed-archive keys …`: the keyring on the operator's machine.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Keep the keyring: rotate keys, review them each quarter, destroy what retention no longer needs.",
        discussion: """
            The keyring (Spec/KEYRING.md) holds one identity and one signing key in \
            service, and every retired key until all archives sealed to it have left \
            retention. The sealing host gets only public keys: export-recipients and \
            export-signers write the files it and the verifiers use.
            """,
        subcommands: [KeysInit.self, KeysList.self, KeysRotate.self, KeysReview.self, KeysPrune.self,
                      KeysExportRecipients.self, KeysExportSigners.self, KeysExportSigningKey.self, KeysPasswd.self,
                      KeysExportPaper.self, KeysImportPaper.self, KeysCheck.self, KeysRepair.self]
    )
}

/// `--keyring DIR`, defaulting to `$SEALED_ARCHIVE_KEYRING`, else
/// `$XDG_DATA_HOME/sealed-archive/keyring` (`~/.local/share/…`).
struct KeyringOptions: ParsableArguments {
    @Option(name: .customLong("keyring"), help: ArgumentHelp("The keyring directory (default: $SEALED_ARCHIVE_KEYRING, else ~/.local/share/sealed-archive/keyring).", valueName: "DIR"))
    var keyringPath: String?

    var path: String {
        if let keyringPath { return keyringPath }
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["SEALED_ARCHIVE_KEYRING"], !path.isEmpty { return path }
        let data = environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (environment["HOME"] ?? ".") + "/.local/share"
        return data + "/sealed-archive/keyring"
    }

    func open() throws -> Keyring { try Keyring.openForCommand(path) }
}

/// Where an archive inventory comes from, for review and prune.
struct InventoryOptions: ParsableArguments {
    @Option(name: .customLong("archives"), help: ArgumentHelp("A directory of archives (or just their first kilobytes): their headers are read.", valueName: "DIR"))
    var archivesDirectory: String?

    @Option(name: .customLong("inventory"), help: ArgumentHelp("A file of 'sealed-archive inspect --json' lines, one per archive.", valueName: "FILE"))
    var inventoryFile: String?

    func validate() throws {
        if archivesDirectory != nil && inventoryFile != nil { throw ValidationError("give --archives or --inventory, not both") }
    }

    func inventory() throws -> ArchiveInventory? {
        if let archivesDirectory { return try ArchiveInventory(directory: archivesDirectory) }
        if let inventoryFile { return try ArchiveInventory(inspectLines: inventoryFile) }
        return nil
    }
}

struct KeysInit: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create a keyring with one identity and one signing key in service.")
    @OptionGroup var keyring: KeyringOptions
    @Option(name: .customLong("retention"), help: ArgumentHelp("How long the offsite store keeps archives (e.g. 90d): required.", valueName: "DURATION"))
    var retention: String
    @Option(name: .customLong("review-interval"), help: ArgumentHelp("Rotate keys older than this (default 90d).", valueName: "DURATION"))
    var reviewInterval: String?
    @Option(name: .customLong("grace"), help: ArgumentHelp("Keep retired keys this long beyond retention (default 30d).", valueName: "DURATION"))
    var grace: String?
    @Flag(name: .customLong("pq"), help: "Make the identity post-quantum (ML-KEM-768 + X25519, age1pq1…): for archives kept for years.")
    var postQuantum = false

    func run() throws {
        let now = try CommandClock.now()
        let policy = try KeyringPolicy(retention: retention, reviewInterval: reviewInterval, grace: grace)
        let created = try Keyring.create(at: keyring.path, policy: policy, now: now, postQuantum: postQuantum)
        for purpose in KeyPurpose.allCases {
            let key = created.activeKey(purpose)
            Terminal.note("\(purpose) key \(key.keyID): \(key.publicKey)")
        }
        Terminal.note("keyring created at \(keyring.path); give the sealing host 'keys export-recipients' and 'keys export-signers' output")
    }
}

struct KeysList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List every key: purpose, status, dates.")
    @OptionGroup var keyring: KeyringOptions
    @Flag(name: .customLong("json"), help: "One JSON object per key, per line.")
    var json = false

    func run() throws {
        let now = try CommandClock.now()
        let ring = try keyring.open()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        for key in ring.keys {
            if json {
                try Terminal.output(String(decoding: try encoder.encode(key), as: UTF8.self), asJSON: true)
            } else {
                let retired = key.retired.map { " retired \(KeyringTime.format($0))" } ?? ""
                let until = key.retainUntil.map { " retain-until \(KeyringTime.format($0))" } ?? ""
                try Terminal.output("\(key.keyID)  \(key.purpose)  \(key.status(at: now))  created \(KeyringTime.format(key.created))\(retired)\(until)  \(key.publicKey)")
            }
        }
    }
}

struct KeysRotate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rotate", abstract: "Put a new identity (or with --signing a new signing key) in service and retire the old one.")
    @OptionGroup var keyring: KeyringOptions
    @Flag(name: .customLong("signing"), help: "Rotate the signing key instead of the identity.")
    var signing = false
    @Option(name: .customLong("comment"), help: "A note kept with the new key.")
    var comment: String?
    @Flag(name: .customLong("pq"),
          help: "Make the new identity post-quantum (ML-KEM-768 + X25519): migrates a classical keyring. Archives already sealed keep their stanzas.")
    var postQuantum = false
    @Option(name: .customLong("overlap"),
            help: ArgumentHelp("With --signing: keep trusting archives the old key signs for this long after the rotation (e.g. 14d), for a host that switches late.", valueName: "DURATION"))
    var overlap: String?

    func validate() throws {
        if signing && postQuantum { throw ValidationError("--pq is for the identity; signing keys are Ed25519 (no --pq with --signing)") }
        if overlap != nil && !signing { throw ValidationError("--overlap is for --signing: an old identity keeps opening archives without one") }
        if let overlap { do { _ = try Duration.parse(overlap) } catch let error as SealedArchiveError { throw ValidationError(error.message) } }
    }

    func run() throws {
        let now = try CommandClock.now()
        let ring = try keyring.open()
        let key = try ring.rotate(signing ? .signing : .encryption, now: now, comment: comment, postQuantum: postQuantum,
                                  overlap: try overlap.map(Duration.parse))
        Terminal.note("new \(key.purpose) key \(key.keyID): \(key.publicKey)")
        Terminal.note(signing ? "now give the sealing host the new signing key and verifiers 'keys export-signers'" : "now give the sealing host 'keys export-recipients'")
    }
}

struct KeysReview: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "The key review: each key's age and status, and the actions due.",
        discussion: """
            Exit codes: 0 nothing due, 75 a rotation, destruction or migration to \
            post-quantum is due, the recipients file (--recipients) is out of date, \
            the newest restore drill (--drills) failed or is older than \
            --max-drill-age, or the clock is behind the keyring's newest event; 65 an \
            archive is unrecoverable or signed outside its signer's window. Each \
            review (but not one with --at) is appended to the keyring's review log.
            """
    )
    @OptionGroup var keyring: KeyringOptions
    @OptionGroup var inventory: InventoryOptions
    @Option(name: .customLong("at"), help: ArgumentHelp("Show what will be due at this date instead of now (planning; not logged).", valueName: "DATE"))
    var at: String?
    @Flag(name: .customLong("json"), help: "Print the report as JSON (schema 1).")
    var json = false
    @Flag(name: .customLong("prove"), help: "Also unlock every held key and prove it still opens (or signs) a fresh challenge.")
    var prove = false
    @Option(name: .customLong("recipients"), help: ArgumentHelp("The sealing host's recipients file: due (75) when it lacks the identity in service or lists a retired one; a warning when it has a single recipient (no escrow key).", valueName: "FILE"))
    var recipientsFile: String?
    @Option(name: .customLong("drills"), help: ArgumentHelp("The restore drill history (drill-history.jsonl: 'drill --json' lines): shows the newest and slowest drill; due (75) when the newest failed or is too old.", valueName: "FILE"))
    var drillsFile: String?
    @Option(name: .customLong("max-drill-age"), help: ArgumentHelp("With --drills: how old the newest drill may be (default 35d: monthly drills).", valueName: "DURATION"))
    var maxDrillAge: String?
    @OptionGroup var passphrase: PassphraseOptions

    func validate() throws {
        if maxDrillAge != nil && drillsFile == nil { throw ValidationError("--max-drill-age applies to the drill history: give --drills FILE") }
        if let maxDrillAge {
            do { _ = try Duration.parse(maxDrillAge) } catch let error as SealedArchiveError { throw ValidationError(error.message) }
        }
    }

    func run() throws {
        let now = try CommandClock.now()
        let ring = try keyring.open()
        let when = try at.map(KeyringTime.parse) ?? now
        let archives = try inventory.inventory()
        // Read before anything is printed, so a bad file is one error line
        // and not an error after a whole report.
        let sealingRecipients = try recipientsFile.map { try KeyFiles.readRecipients(path: $0) }
        let drills = try drillsFile.map { try DrillHistory.read(path: $0) }
        let report = ring.review(inventory: archives, at: when, sealingRecipients: sealingRecipients, drills: drills,
                                 maxDrillAge: try maxDrillAge.map(Duration.parse) ?? DrillHistory.defaultMaxAge)
        if at == nil { try ring.appendReviewLog(report, now: now) }
        let reviewStatus = ExitStatus.for(report.outcome)
        try Terminal.output(json ? try report.json(exitStatus: reviewStatus.rawValue) : report.text(exitStatus: reviewStatus.rawValue), asJSON: json)
        if let archives, !json {
            for candidate in ring.rewrapCandidates(inventory: archives, at: when) {
                try Terminal.output("To destroy retired key \(candidate.keyID) before its retain-until, re-wrap (sealed-archive rewrap) these archives onto the key in service: \(candidate.archives.joined(separator: ", "))")
            }
        }
        // The review's outcome and a failed proof are combined by the
        // CLI's ranking (Spec/CLI.md), not by the value of their codes.
        var statuses = [reviewStatus]
        if let recipientsFile, sealingRecipients?.count == 1 {
            Terminal.note("sealed-archive: warning: \(recipientsFile) lists a single recipient: no escrow key, so losing that identity loses every archive")
        }
        if prove {
            let proofs = ring.prove(passphrase: passphrase.provider(), now: now)
            for proof in proofs {
                try Terminal.output(proof.passed ? "proved \(proof.purpose) key \(proof.keyID): it still works"
                                                 : "FAILED \(proof.purpose) key \(proof.keyID): \(proof.failure!)")
            }
            if proofs.contains(where: { !$0.passed }) { statuses.append(.noUsableKey) }
        }
        let worst = ExitStatus.worst(statuses)
        if worst != .success { throw ExitCode(worst.rawValue) }
    }
}

struct KeysPrune: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "prune", abstract: "Destroy identities past retain-until that no retained archive needs.")
    @OptionGroup var keyring: KeyringOptions
    @OptionGroup var inventory: InventoryOptions
    @Flag(name: .customLong("dry-run"), help: "Show what would be destroyed, and destroy nothing.")
    var dryRun = false
    @Flag(name: .customLong("json"), help: "Print the plan as JSON (schema 1).")
    var json = false

    func run() throws {
        let now = try CommandClock.now()
        let ring = try keyring.open()
        let plan = try ring.prune(inventory: try inventory.inventory(), now: now, dryRun: dryRun)
        try Terminal.output(json ? try plan.json() : plan.text, asJSON: json)
    }
}

struct KeysExportRecipients: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export-recipients", abstract: "Write the recipients file the sealing host uses: the identity in service plus extra recipients.")
    @OptionGroup var keyring: KeyringOptions
    @Option(name: .customLong("extra-recipient"), help: ArgumentHelp("Also list this recipient (an escrow key). Repeatable.", valueName: "RECIPIENT"))
    var extra: [String] = []
    @OptionGroup var mixed: MixedRecipientsOption
    @OptionGroup var output: OutputOptions

    func run() throws {
        let ring = try keyring.open()
        let extras = try extra.map { try Recipient(parsing: $0) }
        // The file is what the host seals to: a mix refused there is
        // refused here, before the host finds out at its next run.
        try mixed.check(ring.activeRecipients + extras)
        let list = try RecipientsFile(recipients: ring.activeRecipients + extras,
                                      comments: ["sealed-archive recipients, exported \(KeyringTime.format(try CommandClock.now()))"])
        if extras.isEmpty {
            Terminal.note("sealed-archive: warning: a single recipient: if that identity is lost, every archive is lost; add an escrow key with --extra-recipient")
        }
        let (sink, file) = try output.open(mode: 0o644)
        try Array(list.serialize().utf8).withUnsafeBytes { try sink.write($0) }
        try file?.commit()
    }
}

struct KeysPasswd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passwd",
        abstract: "Protect the keyring's secret keys with a passphrase (Argon2id), change it, or remove it.",
        discussion: """
            The new passphrase is asked twice at the terminal (echo off) or read from \
            --new-passphrase-fd; the current one, for keys protected now, at the \
            terminal or from --passphrase-fd. Never from arguments.
            """
    )
    @OptionGroup var keyring: KeyringOptions
    @Option(name: .customLong("key"), help: ArgumentHelp("Only this key (default: every key the keyring holds). Repeatable.", valueName: "KEYID"))
    var keys: [String] = []
    @Flag(name: .customLong("remove"), help: "Remove the protection (store the keys in the clear, 0600).")
    var remove = false
    @OptionGroup var current: PassphraseOptions
    @Option(name: .customLong("new-passphrase-fd"), help: ArgumentHelp("Read the new passphrase from this file descriptor.", valueName: "N"))
    var newPassphraseFD: Int32?

    func run() throws {
        let now = try CommandClock.now()
        let ring = try keyring.open()
        let ids = keys.isEmpty ? ring.keys.filter(\.isHeld).map(\.keyID) : try keys.map { try KeyID(parsing: $0) }
        let newPassphrase: SecureBytes? = remove ? nil
            : try newPassphraseFD.map { try PassphraseInput.read(fd: $0) } ?? PassphraseOptions(passphraseFD: nil).newPassphrase()
        let provider = current.provider()
        for id in ids {
            try ring.setPassphrase(of: id, current: provider, new: newPassphrase, now: now)
            Terminal.note("\(id): \(remove ? "passphrase removed" : "protected")")
        }
    }
}

struct KeysExportPaper: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-paper",
        abstract: "Print a held secret key as text for a paper backup, each line with its own check code.",
        discussion: "Prints the secret: to a printer or a file you control, never to a shared terminal log. 'keys import-paper' reads it back."
    )
    @OptionGroup var keyring: KeyringOptions
    @Argument(help: ArgumentHelp("The key id to print.", valueName: "KEYID"))
    var keyID: String
    @OptionGroup var passphrase: PassphraseOptions

    func run() throws {
        let ring = try keyring.open()
        let id = try KeyID(parsing: keyID)
        guard let record = ring.key(id) else { throw CommandFailure(.usage, "the keyring has no key \(keyID)") }
        let line = record.purpose == .encryption
            ? try ring.identity(for: id, passphrase: passphrase.provider()).encoded()
            : try ring.signingKey(for: id, passphrase: passphrase.provider()).encoded()
        // A post-quantum public key is 1959 characters: the paper names it
        // by its key id (above) and its first characters only.
        let shown = record.publicKey.count > 80 ? String(record.publicKey.prefix(24)) + "…" : record.publicKey
        let text = try PaperKey.export(line, title: ["\(record.purpose) key \(id)", "public key: \(shown)",
                                                  "printed \(KeyringTime.format(try CommandClock.now()))"])
        try text.withUnsafeBytes { try StandardOutputSink().write($0) }
    }
}

struct KeysImportPaper: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-paper",
        abstract: "Read a paper key typed back in and write it as a key file (0600).",
        discussion: "Each line's check code is verified as it is read, so the first mistyped line is named."
    )
    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("The key file to write (never over an existing file).", valueName: "FILE"))
    var output: String
    @Argument(help: ArgumentHelp("The typed text ('-' or absent: standard input).", valueName: "INPUT"))
    var input: String = "-"

    func run() throws {
        let line = try PaperKey.import(from: FileSource(path: input))
        switch try KeyFiles.parseSecretKeyLine(line) {
        case .identities(let identities):
            try KeyFiles.write(identities[0], to: output, created: CommandClock.now())
            Terminal.note("restored identity \(identities[0].recipient.keyID): \(identities[0].recipient)")
        case .signingKey(let key):
            try KeyFiles.write(key, to: output, created: CommandClock.now())
            Terminal.note("restored signing key \(key.signer.keyID): \(key.signer)")
        }
    }
}

/// Hands the sealing host its signing key: the key in service, written as
/// a signing-key file (0600, never over an existing file), protected with
/// a new passphrase when asked.
struct KeysExportSigningKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-signing-key",
        abstract: "Write the signing key in service as a key file for the sealing host (0600).",
        discussion: "Give the file to the host for 'seal --sign-key' (over a channel you trust), and verifiers 'keys export-signers'. With --passphrase the copy is protected; the host then needs --passphrase-fd at every seal, so an unattended host usually takes it unprotected, readable by root only.")
    @OptionGroup var keyring: KeyringOptions
    @Option(name: [.customShort("o"), .customLong("output")],
            help: ArgumentHelp("The key file to write (created 0600, never over an existing file).", valueName: "FILE"))
    var output: String
    @Flag(name: .customLong("passphrase"), help: "Protect the copy with a new passphrase, asked twice at the terminal or read from --new-passphrase-fd.")
    var protect = false
    @Option(name: .customLong("new-passphrase-fd"), help: ArgumentHelp("Read the new passphrase from this descriptor.", valueName: "N"))
    var newPassphraseFD: Int32?
    @OptionGroup var passphrase: PassphraseOptions

    func run() throws {
        let now = try CommandClock.now()
        let ring = try keyring.open()
        let key = try ring.signingKey(for: ring.activeKey(.signing).keyID, passphrase: passphrase.provider())
        let secret = protect || newPassphraseFD != nil ? try PassphraseOptions(passphraseFD: newPassphraseFD).newPassphrase() : nil
        try KeyFiles.write(key, to: output, created: now, passphrase: secret)
        Terminal.note("signing key \(key.signer.keyID) written to \(output): give it to the sealing host (seal --sign-key), and verifiers 'keys export-signers'")
    }
}

struct KeysExportSigners: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export-signers", abstract: "Write the trusted-signers file, each signing key with its validity window.")
    @OptionGroup var keyring: KeyringOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        let ring = try keyring.open()
        let list = try SignersFile(signers: ring.signerWindows.map { TrustedSigner($0.signer, validFrom: $0.from, validUntil: $0.until) },
                                   comments: ["sealed-archive trusted signers, exported \(KeyringTime.format(try CommandClock.now()))"])
        let (sink, file) = try output.open(mode: 0o644)
        try Array(list.serialize().utf8).withUnsafeBytes { try sink.write($0) }
        try file?.commit()
    }
}
