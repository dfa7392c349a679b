import Foundation
import Glibc

/// Temporary outputs (the `.partial` files of unfinished ``AtomicFileSink``s
/// and the staging directories of extraction, which hold decrypted files),
/// so that a run stopped by SIGINT, SIGTERM or SIGHUP removes them before it
/// dies. SIGKILL cannot be caught: then a hidden temporary may remain, but
/// never anything under the final name.
///
/// Cleanup needs more than an async-signal-safe handler can do (removing a
/// directory tree), so the signals are blocked in every thread and one
/// thread waits for them with `sigwait`, removes what is registered, and
/// then lets the signal kill the process as it would have.
public enum TemporaryFiles {
    private static let lock = NSLock()
    private nonisolated(unsafe) static var registered: [Int: (path: String, isDirectory: Bool)] = [:]
    private nonisolated(unsafe) static var nextToken = 0
    private nonisolated(unsafe) static var terminatingFlag = false

    /// Whether a termination signal arrived: long work (extraction) stops
    /// instead of writing more into what is being removed.
    public static var terminating: Bool { lock.withLock { terminatingFlag } }

    /// Called by a program whose work stopped because ``terminating`` became
    /// true: waits for the cleanup thread to finish and end the process with
    /// the signal, so the exit status says what happened.
    public static func awaitTermination() -> Never {
        while true { sleep(1) }
    }
    private static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Installs the cleanup. Call once, first thing in a program's entry
    /// point, before any other thread starts (threads inherit the blocked
    /// signals). SIGPIPE is ignored, so a closed pipe is an ordinary write
    /// error (and its cleanup) rather than a silent death.
    public static func removeOnTerminationSignals() {
        signal(SIGPIPE, SIG_IGN)
        var set = sigset_t()
        sigemptyset(&set)
        for number in signals { sigaddset(&set, number) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        let watched = set
        Thread.detachNewThread {
            var set = watched
            var received: Int32 = 0
            while sigwait(&set, &received) != 0 {}
            lock.withLock { terminatingFlag = true }
            PassphraseInput.restoreTerminal()
            removeAll()
            // Work still running may have created files meanwhile: sweep
            // again before dying.
            usleep(50_000)
            removeAll()
            // Die of the same signal, as without this handler.
            signal(received, SIG_DFL)
            var unblock = sigset_t()
            sigemptyset(&unblock)
            sigaddset(&unblock, received)
            pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
            raise(received)
            _exit(128 + received)
        }
    }

    /// Registers a temporary file or directory; returns the token to
    /// unregister it with once it is committed or removed.
    static func register(_ path: String, isDirectory: Bool = false) -> Int {
        lock.withLock {
            nextToken += 1
            registered[nextToken] = (path, isDirectory)
            return nextToken
        }
    }

    static func unregister(_ token: Int) {
        lock.withLock { _ = registered.removeValue(forKey: token) }
    }

    private static func removeAll() {
        let entries = lock.withLock { Array(registered.values) }
        for entry in entries {
            if entry.isDirectory { Restore.removeTree(entry.path) } else { unlink(entry.path) }
        }
    }
}
