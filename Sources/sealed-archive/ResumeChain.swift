import ArgumentParser
import Foundation
import SealedArchive

struct ResumeChain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume-chain",
        abstract: "Start a sealing host's lost chain state again from the newest archive in storage.",
        discussion: """
            After the sealing host was rebuilt, its chain state (seal --chain FILE) is \
            gone, and a new chain would start at 1: every set check would then report \
            two archives claiming one sequence number until the old ones leave \
            retention. Give this command the newest archive from storage (a file, or \
            '-' for standard input, e.g. from 'rclone cat'): it is read whole and its \
            signature checked against the trusted signers, and its sequence number and \
            digest become the chain's last, so the next seal continues the chain. \
            Resuming from an older archive than the newest is not hidden: the next seal \
            repeats a sequence number, which verify reports. An existing chain state is \
            never replaced.
            """
    )

    @Option(name: .customLong("chain"), help: ArgumentHelp("The chain state file to write (as given to seal --chain); it must not exist.", valueName: "FILE"))
    var chainFile: String

    @OptionGroup var signer: SignerOptions

    @Argument(help: ArgumentHelp("The newest archive in storage ('-' or absent: standard input).", valueName: "ARCHIVE"))
    var archive: String = "-"

    func run() throws {
        let now = try CommandClock.now()
        guard let signers = try signer.requiredSigners() else {
            throw CommandFailure(.usage, "give the trusted signers (--signer or --signers): a chain resumes only from an archive the host signed")
        }
        let link = try ChainState.resume(at: chainFile, from: FileSource(path: archive), name: archive == "-" ? nil : archive,
                                         trustedSigners: signers, now: now)
        Terminal.note("chain '\(chainFile)' resumed at archive \(link.sequence)\(archive == "-" ? "" : " ('\(archive)')"): the next seal is archive \(link.sequence == .max ? link.sequence : link.sequence + 1)")
    }
}
