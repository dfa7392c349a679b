import Synchronization

/// A request to stop long work, handed to it by the caller: extraction,
/// drills and the other operations that take one check it between blocks
/// and throw ``interrupted`` once it was cancelled.
///
/// Why a parameter and not a process-wide flag: the library has no business
/// knowing about signals. The executable makes one `Cancellation` per run
/// and its signal thread cancels it; a program embedding the library can
/// cancel one operation without touching others.
///
/// The commit points of an operation (the rename that puts an extracted
/// tree under its name) run through ``commit(_:)``: under this type's lock,
/// and refused once cancellation began. So cancelling either comes before a
/// commit (nothing appears under the final name and the operation throws)
/// or after it (the outputs are complete; the operation finishes and
/// reports success), never half-way through.
public final class Cancellation: Sendable {
    private struct State {
        var cancelled = false
        var commits = 0
    }
    private let state = Locked(State())

    public init() {}

    /// The error of work stopped because it was cancelled.
    public static var interrupted: SealedArchiveError {
        SealedArchiveError(.io, "interrupted by a termination signal; nothing was left under a final name")
    }

    /// Whether ``cancel()`` was called.
    public var isCancelled: Bool { state.withLock { $0.cancelled } }

    /// Throws ``interrupted`` once cancelled: called by long work between blocks.
    public func check() throws {
        if isCancelled { throw Self.interrupted }
    }

    /// Cancels, after any commit in progress has finished; returns whether
    /// a commit had already been made (the work it guarded is complete).
    @discardableResult
    public func cancel() -> Bool {
        state.withLock { state in
            state.cancelled = true
            return state.commits > 0
        }
    }

    /// Runs `body`, a step that moves outputs under their final names,
    /// unless cancelled; ``cancel()`` waits for a running commit.
    public func commit(_ body: () throws -> Void) throws {
        try state.withLock { state in
            guard !state.cancelled else { throw Self.interrupted }
            try body()
            state.commits += 1
        }
    }
}
