import Dispatch

/// Runs independent per-record work on every core.
enum Parallel {
    /// How many records are processed per batch: enough to keep every core
    /// busy, few enough that memory stays a few chunks' worth.
    static let batchSize = max(2, min(8, ProcessInfoCores.count))

    /// Below this many bytes a batch runs on the calling thread: waking the
    /// pool costs tens of microseconds (far more on a loaded machine, where
    /// the caller waits for a worker to be scheduled), while sealing or
    /// opening 64 KiB takes about as long. Small chunks and short archives
    /// (and the fuzzer's inputs) then pay nothing for threads; the default
    /// 1 MiB chunks always go to the pool.
    static let sequentialBytes = 64 * 1024

    /// Calls `body` for `0..<count`, concurrently when there is more than one
    /// and the batch's `bytes` are worth waking threads for; rethrows the
    /// error of the lowest failing index, so the outcome is the same as a
    /// sequential loop's.
    static func forEach(_ count: Int, bytes: Int, _ body: (Int) throws -> Void) throws {
        if count == 1 || bytes < sequentialBytes {
            for index in 0..<count { try body(index) }
            return
        }
        var errors = [(any Error)?](repeating: nil, count: count)
        try withoutActuallyEscaping(body) { body in
            let work = UncheckedSendable(value: body)
            errors.withUnsafeMutableBufferPointer { buffer in
                let slots = UncheckedSendable(value: buffer)
                // Each iteration writes only its own slot.
                DispatchQueue.concurrentPerform(iterations: count) { index in
                    do { try work.value(index) } catch { slots.value[index] = error }
                }
            }
            if let first = errors.first(where: { $0 != nil }) { throw first! }
        }
    }
}

/// Hands non-Sendable values to `concurrentPerform`, whose iterations end
/// before it returns and touch disjoint memory.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
}

enum ProcessInfoCores {
    static let count: Int = System.onlineProcessorCount
}

import SystemCalls
