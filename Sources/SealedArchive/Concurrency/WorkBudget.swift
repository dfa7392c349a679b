import Dispatch
import Synchronization

/// The bytes of batch buffers that concurrent archive readers may hold at
/// once, process-wide.
///
/// A reader's buffers grow with the chunk size (a batch of records, and for
/// decryption as many plaintext chunks, twice over when decompressing): at
/// 16 MiB chunks one deep reader holds well over 100 MiB. Running one reader
/// per core, or more, would multiply that. So work that may run readers
/// side by side (``WorkerPool``) first takes the reader's bytes from this
/// budget and gives them back when the reader is done; a request that does
/// not fit waits.
///
/// Requests are served first come, first served, so a large one is not
/// starved by small ones passing it. A request larger than the whole budget
/// is granted when nothing else is held: a single reader always runs, so
/// nothing deadlocks, and the budget bounds only what runs side by side.
final class WorkBudget: Sendable {
    /// The budget of the process: with the ~25 MB Foundation and the command
    /// line hold anyway, readers side by side stay under 64 MiB resident.
    static let shared = WorkBudget(capacity: 32 << 20)

    let capacity: Int

    private struct Waiter {
        let bytes: Int
        let wake: DispatchSemaphore
    }
    private struct State {
        var inUse = 0
        var holders = 0
        var waiting: [Waiter] = []
        /// The most ever held at once (for tests).
        var peak = 0
    }
    private let state = Locked(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The most bytes ever granted at once.
    var peak: Int { state.withLock { $0.peak } }

    /// Runs `body` holding `bytes` of the budget, waiting until they fit.
    func withBytes<T>(_ bytes: Int, _ body: () throws -> T) rethrows -> T {
        acquire(bytes)
        defer { release(bytes) }
        return try body()
    }

    private func acquire(_ bytes: Int) {
        // Waiting uses a semaphore per waiter, signalled by the release that
        // granted it: `Mutex` has no condition variable, and a private
        // semaphore wakes exactly the waiter whose turn it is.
        let wake: DispatchSemaphore? = state.withLock { state in
            if state.waiting.isEmpty && Self.fits(bytes, in: state, capacity: capacity) {
                Self.grant(bytes, in: &state)
                return nil
            }
            let wake = DispatchSemaphore(value: 0)
            state.waiting.append(Waiter(bytes: bytes, wake: wake))
            return wake
        }
        wake?.wait()
    }

    private func release(_ bytes: Int) {
        let woken: [DispatchSemaphore] = state.withLock { state in
            state.inUse -= bytes
            state.holders -= 1
            var woken: [DispatchSemaphore] = []
            while let first = state.waiting.first, Self.fits(first.bytes, in: state, capacity: capacity) {
                state.waiting.removeFirst()
                Self.grant(first.bytes, in: &state)
                woken.append(first.wake)
            }
            return woken
        }
        for wake in woken { wake.signal() }
    }

    private static func fits(_ bytes: Int, in state: State, capacity: Int) -> Bool {
        state.holders == 0 || state.inUse + bytes <= capacity
    }

    private static func grant(_ bytes: Int, in state: inout State) {
        state.inUse += bytes
        state.holders += 1
        state.peak = max(state.peak, state.inUse)
    }
}
