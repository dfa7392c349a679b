import ArgumentParser
import SealedArchive

@main
struct SealedArchiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sealed-archive",
        abstract: "Encrypted, signed backup archives.",
        discussion: """
            Seal a backup directory, file or stream to one or more age recipients (age1…), signed by \
            this host; verify archives pulled back from storage with or without a \
            key; open them with an identity (AGE-SECRET-KEY-1…).

            Exit codes: 0 success, 1 internal error, 64 usage, 65 damaged, forged or \
            hostile archive, 74 I/O error, 75 a target missed (RPO, chain, key action \
            due), 77 no usable key. See Spec/CLI.md.
            """,
        version: "0.1.0",
        subcommands: [Keygen.self, RecipientCommand.self, Seal.self, Pack.self, Open.self, Verify.self, Inspect.self, DrillCommand.self, RewrapCommand.self, KeysCommand.self]
    )

    /// Runs the command; a SealedArchive error becomes one line on standard
    /// error and its documented exit code, anything else goes to
    /// ArgumentParser, which prints usage errors with help.
    static func main() {
        TemporaryFiles.removeOnTerminationSignals()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as SealedArchiveError {
            if TemporaryFiles.terminating { TemporaryFiles.awaitTermination() }
            Terminal.error(error.message)
            Foundation.exit(ExitStatus.for(error).rawValue)
        } catch let error as ExitCode {
            // The command already reported its results (verify, drill).
            Foundation.exit(error.rawValue)
        } catch let error as CommandFailure {
            Terminal.error(error.message)
            Foundation.exit(error.status.rawValue)
        } catch {
            // Help and --version exit cleanly through ArgumentParser; usage
            // errors become one line, like every other error.
            let status = exitCode(for: error)
            guard status != .success else { exit(withError: error) }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
            Terminal.error("\(message) (see 'sealed-archive help')")
            Foundation.exit(status.rawValue)
        }
    }
}

import Foundation
