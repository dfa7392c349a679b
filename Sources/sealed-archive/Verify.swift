import ArgumentParser
import SealedArchive

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check archives without writing any plaintext.",
        discussion: """
            Without -i, checks structure, every chunk's hash and the digest: no key \
            needed. With --signer, also requires a valid signature by that key. With \
            -i, also decrypts and authenticates every chunk, discarding the plaintext; \
            for a directory archive it also reads every entry with the checks \
            extraction makes and checks MANIFEST.sha256. \
            Prints one line per archive; the exit code is that of the first failure.
            """
    )

    @OptionGroup var signer: SignerOptions
    @OptionGroup var identity: IdentityOptions
    @OptionGroup var contents: ContentsOptions

    @Argument(help: ArgumentHelp("Archives to check ('-' for standard input).", valueName: "ARCHIVE"))
    var archives: [String]

    func validate() throws {
        guard !archives.isEmpty else { throw ValidationError("give at least one archive to verify") }
        guard archives.filter({ $0 == "-" }).count <= 1 else { throw ValidationError("standard input ('-') can be verified only once") }
    }

    func run() throws {
        let identities = try identity.identities()
        let requiredSigners = try signer.requiredSigners()
        var firstFailure: ExitStatus?
        for path in archives {
            let name = path == "-" ? "standard input" : path
            do {
                let reader = try ArchiveReader(source: FileSource(path: path), requiredSigners: requiredSigners)
                let result: ReadResult
                var contentsNote: String?
                if identities.isEmpty {
                    result = try reader.verify()
                } else {
                    try reader.unlock(with: identities)
                    if reader.header.payloadKind == .tar {
                        let summary = try Restore.check(reader, options: contents.restoreOptions)
                        result = summary.archive!
                        contentsNote = "\(summary.files) files, \(summary.directories) directories, \(summary.symlinks + summary.hardlinks) links safe to extract; \(ContentsOptions.manifestNote(summary))"
                    } else {
                        result = try reader.decrypt(into: DiscardingSink())
                    }
                }
                try Terminal.output("OK \(name): \(Self.describe(result, requiredSigners: requiredSigners))\(contentsNote.map { "; \($0)" } ?? "")")
            } catch let error as SealedArchiveError {
                try Terminal.output("FAILED \(name): \(error.message)")
                firstFailure = firstFailure ?? ExitStatus.for(error)
            }
        }
        if let firstFailure { throw ExitCode(firstFailure.rawValue) }
    }

    static func describe(_ result: ReadResult, requiredSigners: [SignerKey]?) -> String {
        var checks = ["\(result.chunkCount) chunks and digest intact"]
        if let signer = result.signer {
            checks.append(requiredSigners == nil
                ? "signature valid by \(signer) (not required: pass --signer to require it)"
                : "signed by trusted signer \(signer)")
        } else {
            checks.append("unsigned")
        }
        if result.decrypted { checks.append("decrypted and authenticated \(result.plaintextLength) bytes") }
        return checks.joined(separator: "; ")
    }
}
