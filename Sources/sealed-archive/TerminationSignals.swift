import Foundation
import Glibc
import SealedArchive

/// SIGINT, SIGTERM and SIGHUP: remove every temporary output, then die of
/// the signal, so a run stopped part-way leaves nothing under a final name
/// and its exit status says it was killed (Spec/CLI.md, "Signals").
///
/// Cleanup needs more than an async-signal-safe handler may do (removing a
/// directory tree), so the signals are blocked in every thread and one
/// thread waits for them with `sigwait`. On a signal it marks the run as
/// terminating (after any commit in progress, see ``TemporaryFiles``), waits
/// briefly for the work to stop where it checks, removes what is
/// registered, and re-raises the signal. A run whose outputs were all
/// committed when the signal came finishes instead and reports its success:
/// the work it reports is complete.
enum TerminationSignals {
    private static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    /// Signalled by the main thread once its work stopped.
    private static let workStopped = DispatchSemaphore(value: 0)
    /// How long the work may take to reach its next check (extraction
    /// checks between blocks); past that, cleanup goes ahead regardless,
    /// so a stalled input cannot delay the signal for ever.
    private static let stopTimeout: DispatchTimeInterval = .seconds(2)
    /// How long a run that already committed its outputs may take to
    /// report before the signal is delivered anyway.
    private static let reportTimeout: DispatchTimeInterval = .seconds(10)

    /// Installs the handling. Call first thing in the entry point, before
    /// any other thread starts (threads inherit the blocked signals).
    /// SIGPIPE is ignored, so a closed pipe is an ordinary write error
    /// (and its cleanup) rather than a silent death.
    static func install() {
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
            let state = TemporaryFiles.beginTermination()
            PassphraseInput.restoreTerminal()
            _ = workStopped.wait(timeout: .now() + (state.completed ? reportTimeout : stopTimeout))
            TemporaryFiles.removeAll()
            die(of: received)
        }
    }

    /// Called by the main thread when the command returned or failed: if a
    /// signal arrived and the run did not complete its work before it,
    /// hands over to the signal thread (which cleans up and kills the
    /// process) instead of exiting normally.
    static func finishUnlessTerminating(succeeded: Bool) {
        guard TemporaryFiles.terminating else { return }
        if succeeded && TemporaryFiles.completedBeforeTermination { return }
        workStopped.signal()
        while true { pause() }
    }

    /// Dies of `number`, as without the handler.
    private static func die(of number: Int32) -> Never {
        signal(number, SIG_DFL)
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, number)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        raise(number)
        _exit(128 + number)
    }
}
