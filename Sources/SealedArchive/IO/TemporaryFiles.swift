import Foundation
import SystemCalls

/// Temporary outputs (the `.partial` files of unfinished ``AtomicFileSink``s
/// and the staging directories of extraction, which hold decrypted files)
/// and the commit points that move them under their final names.
///
/// This is what makes a termination signal safe, with the program's signal
/// handling (which lives in the executable) calling ``close()``:
///
/// * a commit runs under this registry's lock, so closing either happens
///   before it (the commit then refuses to start and the run fails) or
///   after it (the outputs are complete under their names); never half-way
///   through a group of renames;
/// * once closed, no temporary can be registered;
/// * the program then removes what is registered with ``removeAll()`` and
///   dies of the signal.
///
/// Long work is not told to stop from here: it is handed a ``Cancellation``
/// by its caller (the executable cancels its own on a signal). Only the
/// registry's own operations (register, commit) look at whether it was
/// closed.
///
/// SIGKILL cannot be caught: then a hidden temporary may remain, but never
/// anything partial under a final name.
public enum TemporaryFiles {
    /// Recursive: a commit's body unregisters the files it publishes.
    private static let lock = NSRecursiveLock()
    private nonisolated(unsafe) static var registered: [Int: (path: String, isDirectory: Bool)] = [:]
    private nonisolated(unsafe) static var nextToken = 0
    private nonisolated(unsafe) static var closed = false
    private nonisolated(unsafe) static var commitCount = 0

    /// Throws ``Cancellation/interrupted`` once the registry was closed.
    static func checkOpen() throws {
        if lock.withLock({ closed }) { throw Cancellation.interrupted }
    }

    /// Runs `body`, the step that moves outputs under their final names,
    /// unless the registry was closed; ``close()`` waits for a running commit.
    public static func commit<R>(_ body: () throws -> R) throws -> R {
        try lock.withLock {
            guard !closed else { throw Cancellation.interrupted }
            let result = try body()
            commitCount += 1
            return result
        }
    }

    /// Closes the registry for cleanup (after any commit in progress): no
    /// temporary is registered and nothing is committed from now on.
    /// Returns whether the run's outputs were all committed already (it
    /// committed some and nothing is pending): then its work is complete
    /// and only its report remains.
    public static func close() -> Bool {
        lock.withLock {
            closed = true
            return commitCount > 0 && registered.isEmpty
        }
    }

    /// Whether the run committed outputs and left nothing pending; lets a
    /// program tell a run that finished its work before a signal from one
    /// that did not.
    public static var completedBeforeTermination: Bool {
        lock.withLock { commitCount > 0 && registered.isEmpty }
    }

    /// Registers a temporary file or directory; returns the token to
    /// unregister it with once it is committed or removed. Refused once the
    /// registry was closed, so nothing new appears while it is cleaned up.
    static func register(_ path: String, isDirectory: Bool = false) throws -> Int {
        try lock.withLock {
            guard !closed else { throw Cancellation.interrupted }
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
            if entry.isDirectory { Restore.removeTree(entry.path) } else { try? System.unlink(entry.path) }
        }
    }
}
