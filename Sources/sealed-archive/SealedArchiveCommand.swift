import ArgumentParser
import Foundation
import SealedArchive

@main
struct SealedArchiveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sealed-archive",
        abstract: "Encrypted, signed backup archives.",
        discussion: """
            Seal a backup directory, file or stream to one or more age recipients (age1…, \
            or post-quantum age1pq1…), signed by this host; verify archives pulled back \
            from storage with or without a key; open them with an identity \
            (AGE-SECRET-KEY-1… or AGE-SECRET-KEY-PQ-1…).

            Exit codes: 0 success, 1 internal error, 64 usage, 65 damaged, forged or \
            hostile archive, 74 I/O error, 75 a target missed (RPO, chain, key action \
            due), 77 no usable key. See Spec/CLI.md.
            """,
        version: "0.1.0",
        subcommands: [Keygen.self, RecipientCommand.self, Seal.self, Pack.self, Open.self, Verify.self, Inspect.self, DrillCommand.self, RewrapCommand.self, ResumeChain.self, KeysCommand.self]
    )

    /// Parses, runs, and turns every outcome into one line on standard error
    /// (at most) and its documented exit code. Whatever goes wrong, the
    /// process never ends with a stack trace or a multi-line dump.
    static func main() {
        TerminationSignals.install()
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            // Help and --version exit cleanly through ArgumentParser; usage
            // errors become one line, like every other error.
            let status = exitCode(for: error)
            guard status != .success else { exit(withError: error) }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
            Terminal.error("\(message) (see 'sealed-archive help')")
            Foundation.exit(status.rawValue)
        }
        do {
            try command.run()
            TerminationSignals.finishUnlessTerminating(succeeded: true)
            Foundation.exit(0)
        } catch {
            TerminationSignals.finishUnlessTerminating(succeeded: false)
            report(error)
        }
    }

    /// The one place a failed command becomes an exit status.
    private static func report(_ error: Error) -> Never {
        switch error {
        case let error as SealedArchiveError:
            Terminal.error(error.message)
            Foundation.exit(ExitStatus.for(error).rawValue)
        case let error as ExitCode:
            // The command already reported its results (verify, drill).
            Foundation.exit(error.rawValue)
        case let error as ClosedStandardOutput:
            // Nobody reads the results any more: no line to add.
            Foundation.exit(error.status.rawValue)
        case let error as CommandFailure:
            Terminal.error(error.message)
            Foundation.exit(error.status.rawValue)
        default:
            // ArgumentParser's own outcomes (help, a validation error) keep
            // its exit codes; anything else was not foreseen: one line,
            // never a Foundation dump.
            let status = exitCode(for: error)
            if status == .success { exit(withError: error) }
            if status == .validationFailure {
                Terminal.error(message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments")
                Foundation.exit(status.rawValue)
            }
            Terminal.error("internal error: \(unforeseen(error))")
            Foundation.exit(ExitStatus.internalError.rawValue)
        }
    }

    /// One short line for an error nobody foresaw: a Foundation error's
    /// own sentence rather than its `Error Domain=… UserInfo={…}` dump,
    /// any other error's description, first line only.
    static func unforeseen(_ error: Error) -> String {
        let text: String
        if let error = error as? CocoaError {
            text = error.localizedDescription
        } else if let error = error as? POSIXError {
            text = SystemError(errno: error.code.rawValue).description
        } else {
            text = String(describing: error)
        }
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return line.isEmpty ? String(describing: type(of: error)) : line
    }
}
