import Foundation
import Synchronization

/// Runs independent jobs (one archive each) on a fixed number of threads,
/// each job first taking its memory from a ``WorkBudget``.
///
/// Threads rather than `DispatchQueue.concurrentPerform`: a job blocks on
/// file IO and on the budget, and `concurrentPerform` never runs more
/// iterations at once than there are cores, so a worker count set higher
/// (the test hook below) would be silently ignored.
enum WorkerPool {
    /// One worker per core. `SEALED_ARCHIVE_WORKERS` overrides it: a test
    /// hook (the only place it is read), so a test on a small machine can
    /// run 16 readers at once and show that the budget, not the core count,
    /// bounds memory.
    static let defaultWorkers: Int = {
        if let text = ProcessInfo.processInfo.environment["SEALED_ARCHIVE_WORKERS"],
           let count = Int(text), count > 0 {
            return min(count, 256)
        }
        return ProcessInfoCores.count
    }()

    /// Calls `body` for `0..<count` on up to `workers` threads, each call
    /// inside `cost(index)` bytes of `budget`, and returns the results in
    /// index order.
    static func map<T: Sendable>(count: Int, workers: Int = defaultWorkers, budget: WorkBudget = .shared,
                                 cost: @escaping @Sendable (Int) -> Int,
                                 _ body: @escaping @Sendable (Int) -> T) -> [T] {
        guard count > 0 else { return [] }
        _ = POSIX.returnLargeBlocksToSystem
        let jobs = Jobs<T>(count: count)
        let threads = max(1, min(workers, count))
        let done = DispatchSemaphore(value: 0)
        for _ in 0..<threads {
            WorkerThread.detach({
                while let index = jobs.take() {
                    let value = budget.withBytes(cost(index)) { body(index) }
                    jobs.set(index, value)
                }
            }, then: { done.signal() })
        }
        for _ in 0..<threads { done.wait() }
        return jobs.results
    }

    /// Indices handed out to workers, and their results.
    private final class Jobs<T: Sendable>: Sendable {
        private struct State {
            var next = 0
            var results: [T?]
        }
        private let count: Int
        private let state: Locked<State>

        init(count: Int) {
            self.count = count
            state = Locked(State(results: Array(repeating: nil, count: count)))
        }

        func take() -> Int? {
            state.withLock { state in
                guard state.next < count else { return nil }
                defer { state.next += 1 }
                return state.next
            }
        }

        func set(_ index: Int, _ value: T) { state.withLock { $0.results[index] = value } }

        var results: [T] { state.withLock { $0.results.map { $0! } } }
    }
}
