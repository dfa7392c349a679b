import KeyRotation
import SealedArchive

/// The process exit codes, fixed and documented in Spec/CLI.md. They follow
/// BSD sysexits.h so shell scripts and systemd units can tell failures apart.
///
/// This is the only exit-code table: the libraries return typed errors and
/// outcomes (``SealedArchiveError/Code``, ``ReviewOutcome``), and the
/// functions below are the one place they become numbers.
enum ExitStatus: Int32 {
    case success = 0
    /// A bug, an unexpected library failure, or memory (or another
    /// resource) running out.
    case internalError = 1
    /// Bad arguments (ArgumentParser uses the same code).
    case usage = 64
    /// The archive is damaged, truncated, forged, unsigned when a signature
    /// is required, of an unknown version, or not an archive at all.
    case damagedOrForged = 65
    /// A file or stream could not be read or written, or a file the tool
    /// keeps between runs (chain state, review log) is damaged.
    case io = 74
    /// A set of archives misses its targets: the newest is older than
    /// --max-age (RPO), or the chain has gaps, duplicates or rollbacks.
    case stale = 75
    /// No key given can be used: wrong identity, malformed or unsafe key file.
    case noUsableKey = 77

    /// For "the exit code is the worst result": a damaged or forged archive
    /// outranks a missing key, which outranks I/O, which outranks staleness.
    var severity: Int {
        switch self {
        case .success: return 0
        case .stale: return 1
        case .io: return 2
        case .noUsableKey: return 3
        case .damagedOrForged: return 4
        case .usage: return 5
        case .internalError: return 6
        }
    }

    static func worst(_ statuses: [ExitStatus]) -> ExitStatus {
        statuses.max { $0.severity < $1.severity } ?? .success
    }

    static func `for`(_ error: SealedArchiveError) -> ExitStatus {
        if error.code.isArchiveFault { return .damagedOrForged }
        if error.code.isKeyFault { return .noUsableKey }
        switch error.code {
        case .io, .state: return .io
        case .stale: return .stale
        case .invalidArgument: return .usage
        // .crypto (libsodium refused what cannot fail), .resources (out of
        // memory) and any code added later without a line here.
        default: return .internalError
        }
    }

    /// `keys check` and `keys repair`: 77 when commands refuse the keyring,
    /// 75 when it is usable with leftovers to clean up, 0 when clean.
    static func `for`(_ problems: [KeyringProblem]) -> ExitStatus {
        if problems.contains(where: \.preventsUse) { return .noUsableKey }
        return problems.isEmpty ? .success : .stale
    }

    /// `keys review`: 0 nothing due, 75 an action due, 65 archives at risk
    /// (Spec/KEYRING.md section 5.3).
    static func `for`(_ outcome: ReviewOutcome) -> ExitStatus {
        switch outcome {
        case .ok: return .success
        case .actionDue: return .stale
        case .archivesAtRisk: return .damagedOrForged
        }
    }
}

/// A failure decided by the CLI itself, with its exit status.
struct CommandFailure: Error {
    let status: ExitStatus
    let message: String
    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }
}

/// Standard output was closed while results were printed (`verify … | head
/// -1`): the reader has what it wanted, so the run ends with the I/O status
/// and no error line, as Spec/CLI.md says.
struct ClosedStandardOutput: Error {
    let status = ExitStatus.io
}
