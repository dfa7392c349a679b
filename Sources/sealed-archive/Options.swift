import ArgumentParser
import SealedArchive

/// `-i IDENTITY`: identity files, repeatable.
struct IdentityOptions: ParsableArguments {
    @Option(name: [.customShort("i"), .customLong("identity")],
            help: ArgumentHelp("An identity file (AGE-SECRET-KEY-1…), as written by keygen or age-keygen. Repeatable.", valueName: "FILE"))
    var identityFiles: [String] = []

    func identities() throws -> [Identity] {
        try identityFiles.flatMap { try KeyFiles.readIdentities(path: $0) }
    }
}

/// `--signer KEY`: trusted sealing hosts.
struct SignerOptions: ParsableArguments {
    @Option(name: .customLong("signer"),
            help: ArgumentHelp("Require a valid signature by this signer key (sealsig1…). Repeatable: any one of them is accepted.", valueName: "KEY"))
    var signerKeys: [String] = []

    /// The required signers, or nil when none was asked for.
    func requiredSigners() throws -> [SignerKey]? {
        guard !signerKeys.isEmpty else { return nil }
        return try signerKeys.map { try SignerKey(parsing: $0) }
    }
}

/// `-o OUT` and `--force` for commands that write a file.
struct OutputOptions: ParsableArguments {
    @Option(name: [.customShort("o"), .customLong("output")],
            help: ArgumentHelp("Write here instead of standard output ('-' is standard output). Written under a temporary name and renamed when complete.", valueName: "FILE"))
    var output: String = "-"

    @Flag(name: .customLong("force"), help: "Replace the output file if it exists.")
    var force = false

    var isStandardOutput: Bool { output == "-" }
}
