import ArgumentParser
import Foundation
import KeyRotation
import SealedArchive

extension Keyring {
    /// Opens a keyring for a command. A keyring refused because it is
    /// inconsistent says how to find out more: every such refusal names
    /// `keys check` (Spec/CLI.md).
    static func openForCommand(_ path: String) throws -> Keyring {
        do {
            return try Keyring(opening: path)
        } catch let error as SealedArchiveError where error.code == .invalidKey && !error.message.contains("keys check") {
            throw SealedArchiveError(error.code, "\(error.message); run 'sealed-archive keys check'", cause: error)
        }
    }
}

struct KeysCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Explain every inconsistency in the keyring (reads only).",
        discussion: """
            One line per problem on standard output. Exit codes: 0 the keyring is \
            consistent, 75 it is usable but holds leftovers of interrupted writes \
            ('keys repair' removes them), 77 commands refuse it until it is repaired \
            or restored, 74 it cannot be read.
            """
    )
    @OptionGroup var keyring: KeyringOptions

    func run() throws {
        let report = try Keyring.check(at: keyring.path)
        guard !report.isClean else {
            try Terminal.output("keyring '\(keyring.path)' is consistent")
            return
        }
        for problem in report.problems {
            try Terminal.output("\(problem.isRepairable ? "repairable" : "needs you"): \(problem)")
        }
        throw ExitCode(ExitStatus.for(report.problems).rawValue)
    }
}

struct KeysRepair: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Fix what 'keys check' reports, deterministically (Spec/KEYRING.md section 8).",
        discussion: """
            Takes the keyring's lock. Two active keys of one purpose: the newer stays \
            active, the older is retired at the newer's activation. A secret key file \
            with no record is adopted as a retired key (or set aside if it cannot be \
            read); no secret file is deleted unless its record says it was destroyed. \
            Temporary files are removed. Exit codes as for 'keys check', for what \
            remains afterwards (with --dry-run: what repair could not fix).
            """
    )
    @OptionGroup var keyring: KeyringOptions
    @Flag(name: .customLong("dry-run"), help: "Show what repair would do, and change nothing.")
    var dryRun = false

    func run() throws {
        let report = try Keyring.repair(at: keyring.path, now: CommandClock.now(), dryRun: dryRun)
        for action in report.actions {
            try Terminal.output("\(dryRun ? "would " : "")\(action)")
        }
        for problem in report.remaining {
            try Terminal.output("not repaired: \(problem)")
        }
        if report.actions.isEmpty && report.remaining.isEmpty {
            try Terminal.output("keyring '\(keyring.path)' is consistent; nothing to repair")
        }
        let status = ExitStatus.for(report.remaining)
        if status != .success { throw ExitCode(status.rawValue) }
    }
}
