import Foundation
import SealedArchive
import SystemCalls

/// SIGINT, SIGTERM and SIGHUP: remove every temporary output, then die of
/// the signal, so a run stopped part-way leaves nothing under a final name
/// and its exit status says it was killed (Spec/CLI.md, "Signals").
///
/// Cleanup needs more than an async-signal-safe handler may do (removing a
/// directory tree), so the signals are blocked in every thread and one
/// thread waits for them with `sigwait`. On a signal it closes the
/// temporaries registry (after any commit in progress, see
/// ``TemporaryFiles``), cancels the run's ``cancellation`` (which long work
/// checks between blocks), waits briefly for the work to stop, removes
/// what is registered, and re-raises the signal. A run whose outputs were
/// all committed when the signal came finishes instead and reports its
/// success: the work it reports is complete.
enum TerminationSignals {
    private static let signals: [Int32] = [Signals.interrupt, Signals.terminate, Signals.hangUp]
    /// The run's cancellation: every long library operation the commands
    /// call is handed this one, and the signal thread cancels it.
    static let cancellation = Cancellation()
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
        Signals.ignoreBrokenPipe()
        Signals.block(signals)
        Thread.detachNewThread {
            let received = Signals.wait(for: signals)
            // Cancelled first: from here the main thread, whatever it
            // returns, hands over to this thread unless its work was
            // complete (``finishUnlessTerminating(succeeded:)``).
            cancellation.cancel()
            let completed = TemporaryFiles.close()
            TerminalPassphrase.restoreTerminal()
            _ = workStopped.wait(timeout: .now() + (completed ? reportTimeout : stopTimeout))
            TemporaryFiles.removeAll()
            // The work may not have stopped (and wiped its progress line).
            ProgressLine.wipeIfFree()
            Signals.die(of: received)
        }
    }

    /// Called by the main thread when the command returned or failed: if a
    /// signal arrived and the run did not complete its work before it,
    /// hands over to the signal thread (which cleans up and kills the
    /// process) instead of exiting normally.
    static func finishUnlessTerminating(succeeded: Bool) {
        guard cancellation.isCancelled else { return }
        if succeeded && TemporaryFiles.completedBeforeTermination { return }
        workStopped.signal()
        Signals.parkForever()
    }
}
