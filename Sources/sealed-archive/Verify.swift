import ArgumentParser
import SealedArchive

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check archives without writing any plaintext.",
        discussion: """
            Without -i, checks structure, every chunk's hash and the digest: no key \
            needed. With --signer, also requires a valid signature by that key. With \
            -i, also decrypts and authenticates every chunk, discarding the plaintext. \
            Prints one line per archive; the exit code is that of the first failure.
            """
    )

    @OptionGroup var signer: SignerOptions
    @OptionGroup var identity: IdentityOptions

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
                if identities.isEmpty {
                    result = try reader.verify()
                } else {
                    try reader.unlock(with: identities)
                    result = try reader.decrypt(into: DiscardingSink())
                }
                print("OK \(name): \(Self.describe(result, requiredSigners: requiredSigners))")
            } catch let error as SealedArchiveError {
                print("FAILED \(name): \(error.message)")
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
