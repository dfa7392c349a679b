import Foundation
import Glibc

/// Temporary outputs (the `.partial` files of unfinished ``AtomicFileSink``s
/// and the staging directories of extraction, which hold decrypted files)
/// and the commit points that move them under their final names.
///
/// This is what makes a termination signal safe, with the program's signal
/// handling (which lives in the executable) calling ``beginTermination()``:
///
/// * a commit runs under this type's lock, so termination either happens
///   before it (the commit then refuses to start and the run fails) or
///   after it (the outputs are complete under their names); never half-way
///   through a group of renames;
/// * once termination began, no temporary can be registered and long work
///   (extraction) stops at its next check of ``terminating``;
/// * the program then removes what is registered with ``removeAll()`` and
///   dies of the signal.
///
/// SIGKILL cannot be caught: then a hidden temporary may remain, but never
/// anything partial under a final name.
public enum TemporaryFiles {
    /// Recursive: a commit's body unregisters the files it publishes.
    private static let lock = NSRecursiveLock()
    private nonisolated(unsafe) static var registered: [Int: (path: String, isDirectory: Bool)] = [:]
    private nonisolated(unsafe) static var nextToken = 0
    private nonisolated(unsafe) static var terminatingFlag = false
    private nonisolated(unsafe) static var commitCount = 0

    /// The error of work stopped because termination began.
    public static var interrupted: SealedArchiveError {
        SealedArchiveError(.io, "interrupted by a termination signal; nothing was left under a final name")
    }

    /// Whether termination began: long work stops instead of writing more
    /// into what is about to be removed.
    public static var terminating: Bool { lock.withLock { terminatingFlag } }

    /// Throws ``interrupted`` once termination began.
    public static func checkNotTerminating() throws {
        if terminating { throw interrupted }
    }

    /// Runs `body`, the step that moves outputs under their final names,
    /// unless termination began; termination waits for a running commit.
    public static func commit<R>(_ body: () throws -> R) throws -> R {
        try lock.withLock {
            guard !terminatingFlag else { throw interrupted }
            let result = try body()
            commitCount += 1
            return result
        }
    }

    /// What the program had done when termination began.
    public struct TerminationState: Sendable {
        /// Outputs were committed and no temporary is pending: the run's
        /// work is complete and only its report remains.
        public let completed: Bool
    }

    /// Marks the process as terminating (after any commit in progress) and
    /// says whether its outputs were all committed already.
    public static func beginTermination() -> TerminationState {
        lock.withLock {
            terminatingFlag = true
            return TerminationState(completed: commitCount > 0 && registered.isEmpty)
        }
    }

    /// Whether the run committed outputs and left nothing pending; with
    /// ``terminating``, lets a program tell a run that finished its work
    /// before the signal from one that did not.
    public static var completedBeforeTermination: Bool {
        lock.withLock { commitCount > 0 && registered.isEmpty }
    }

    /// Registers a temporary file or directory; returns the token to
    /// unregister it with once it is committed or removed. Refused once
    /// termination began, so nothing new appears while it is cleaned up.
    static func register(_ path: String, isDirectory: Bool = false) throws -> Int {
        try lock.withLock {
            guard !terminatingFlag else { throw interrupted }
            nextToken += 1
            registered[nextToken] = (path, isDirectory)
            return nextToken
        }
    }

    /// Makes a new directory (mode 0700) from `template` (ending in
    /// `XXXXXX`) and registers it; returns its path and token. Nothing is
    /// left if registration is refused.
    static func makeDirectory(_ template: String, what: @autoclosure () -> String) throws -> (path: String, token: Int) {
        let path = try POSIX.makeTemporaryDirectory(template, what: what())
        do {
            return (path, try register(path, isDirectory: true))
        } catch {
            Restore.removeTree(path)
            throw error
        }
    }

    static func unregister(_ token: Int) {
        lock.withLock { _ = registered.removeValue(forKey: token) }
    }

    /// Removes every registered temporary (the program is terminating).
    public static func removeAll() {
        let entries = lock.withLock { Array(registered.values) }
        for entry in entries {
            if entry.isDirectory { Restore.removeTree(entry.path) } else { unlink(entry.path) }
        }
    }
}
