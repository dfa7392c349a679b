import Dispatch

/// A second stage of a pipeline: jobs submitted in order run one at a time
/// on a thread of its own, while the submitter prepares the next one. One
/// job runs while one more may wait in hand, so memory holds two jobs'
/// data, and on two cores the stages overlap instead of taking turns (the
/// packer reads and hashes files while the frames before are compressed,
/// encrypted and written).
///
/// The first job that throws stops the stage: later jobs are dropped, and
/// the error is rethrown by the next ``submit(_:)`` or by ``drain()``.
/// Releasing the stage waits for the job in hand (it may be writing to a
/// file the caller is about to discard) and then ends the thread.
final class BackgroundStage {
    typealias Job = () throws -> Void

    private let shared = Shared()

    init() {
        let shared = shared
        WorkerThread.detach({ shared.run() }, then: { _ in })
    }

    deinit {
        shared.idle.wait()
        shared.state.withLock { $0.closed = true }
        shared.work.signal()
        // Back to its initial value: libdispatch traps on releasing a
        // semaphore below it.
        shared.idle.signal()
    }

    /// Hands `job` to the stage once the previous job is done; rethrows the
    /// error of an earlier job instead.
    func submit(_ job: @escaping Job) throws {
        shared.idle.wait()
        if let error = shared.state.withLock({ $0.error }) {
            shared.idle.signal()
            throw error
        }
        shared.state.withLock { $0.job = Boxed(job) }
        shared.work.signal()
    }

    /// Waits until every submitted job ran; rethrows the first error. After
    /// it the caller may use what the jobs used.
    func drain() throws {
        shared.idle.wait()
        let error = shared.state.withLock { $0.error }
        shared.idle.signal()
        if let error { throw error }
    }

    /// A job crossing to the stage's thread: unchecked, as it is handed over
    /// once and run only there, the handover ordered by ``Locked``.
    private struct Boxed: @unchecked Sendable {
        let job: Job
        init(_ job: @escaping Job) { self.job = job }
    }

    private final class Shared: Sendable {
        struct State {
            var job: Boxed?
            var error: (any Error)?
            var closed = false
        }
        let state = Locked(State())
        /// Signalled when a job (or the close) is in hand.
        let work = DispatchSemaphore(value: 0)
        /// Holds one token while no job runs.
        let idle = DispatchSemaphore(value: 1)

        func run() {
            while true {
                work.wait()
                var (job, failed, closed) = state.withLock { state in
                    defer { state.job = nil }
                    return (state.job, state.error != nil, state.closed)
                }
                if closed && job == nil { return }
                if !failed, let run = job?.job {
                    do { try run() } catch { state.withLock { $0.error = $0.error ?? error } }
                }
                // What the job captured (a file the caller discards on an
                // error, and removes in its deinit) is released here,
                // before the submitter may go on and exit.
                job = nil
                // Taken after the job: what it wrote is ordered before what
                // the submitter reads once it holds the lock.
                state.withLock { _ in }
                idle.signal()
            }
        }
    }
}
