import Dispatch
import Foundation
import Synchronization

/// Plaintext pulled out of a ``RecordStream`` while the next batch is
/// already being checked and decrypted on another thread, so decryption
/// overlaps with whatever the reader does with the plaintext (decompressing,
/// writing files). Two buffers alternate between the threads; a failed check
/// is thrown to the reader only after every byte before it was read, as a
/// sequential reader would.
///
/// The reader never waits for the producer to stop: releasing this source
/// (an early error, a consumer that read enough) only cancels. The producer
/// owns the record stream and, with this source, shares the buffers through a
/// reference-counted ``Shared``; whichever lets go last wipes and frees them.
/// So a producer blocked in `read()` on a stalled pipe cannot hold up an
/// error exit: the process exits while that thread still waits.
public final class PlaintextSource: ByteSource {
    private let shared: Shared
    /// The slot the reader takes next, and how far into it it has read.
    private var readSlot = 0
    private var readOffset = 0
    /// The length of `readSlot` while the reader holds it.
    private var holding: Int?
    /// How the stream ended, once the reader has seen it.
    private var finished: Shared.Ending?

    /// Plaintext bytes handed out so far.
    public private(set) var bytesRead: UInt64 = 0

    /// What the archive held, once the stream has been read to its end.
    public var result: ReadResult? {
        if case .end(let result) = finished { return result }
        return nil
    }

    init(records: RecordStream, batchCapacity: Int) {
        shared = Shared(batchCapacity: batchCapacity)
        let producer = Producer(shared: shared, records: records)
        let shared = shared
        WorkerThread.detach({ producer.run() }, then: { ending in
            if let ending { shared.end(ending) }
        })
    }

    deinit {
        shared.cancel()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !buffer.isEmpty else { return 0 }
        while true {
            switch finished {
            case .end: return 0
            case .failure(let error): throw error
            case nil: break
            }
            if let length = holding {
                let available = length - readOffset
                if available > 0 {
                    let n = min(buffer.count, available)
                    buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: shared.buffers[readSlot][readOffset..<readOffset + n]))
                    readOffset += n
                    bytesRead += UInt64(n)
                    return n
                }
                holding = nil
                readOffset = 0
                shared.hand(slot: readSlot)
                readSlot = 1 - readSlot
            }
            // Events arrive in order: the fills of slot 0, 1, 0, … and then
            // one ending, so this wait is always for `readSlot` or the end.
            shared.full.wait()
            switch shared.take(slot: readSlot) {
            case .filled(let length): holding = length
            case .ended(let ending): finished = ending
            }
        }
    }

    /// What the two threads share: the buffers, and bookkeeping behind a
    /// `Mutex`.
    ///
    /// Waiting uses two counting semaphores, the classic bounded buffer of two
    /// slots: `free` counts slots the producer may fill, `full` counts events
    /// (fills, then the ending) the reader may take. `Synchronization.Mutex`
    /// has no condition variable, and a semaphore fits this hand-off exactly:
    /// each side waits for the other's one signal, and cancelling is one
    /// extra `free.signal()` that wakes a producer between batches. Both
    /// semaphores start at 0 and are signalled up, because libdispatch traps
    /// when a semaphore is freed below its initial value.
    ///
    /// Unchecked Sendable: the buffers' bytes are handed over by the
    /// semaphores (slot i is written only by the producer between
    /// `free.wait()` and `full.signal()`, read only by the reader between
    /// `full.wait()` and `free.signal()`); everything else is in `state`.
    final class Shared: @unchecked Sendable {
        enum Ending: Sendable {
            case end(ReadResult?)
            case failure(any Error)
        }
        enum Event {
            case filled(Int)
            case ended(Ending)
        }
        struct State {
            var lengths: [Int?] = [nil, nil]
            /// The most each buffer ever held, to wipe on release.
            var used = [0, 0]
            var ending: Ending?
            var cancelled = false
        }

        let buffers: [UnsafeMutableRawBufferPointer]
        let state = Locked(State())
        let free = DispatchSemaphore(value: 0)
        let full = DispatchSemaphore(value: 0)

        init(batchCapacity: Int) {
            buffers = [.allocate(byteCount: batchCapacity, alignment: 64), .allocate(byteCount: batchCapacity, alignment: 64)]
            free.signal()
            free.signal()
        }

        deinit {
            let used = state.withLock { $0.used }
            for (buffer, used) in zip(buffers, used) {
                secureZero(UnsafeMutableRawBufferPointer(rebasing: buffer[..<used]))
                buffer.deallocate()
            }
        }

        var isCancelled: Bool { state.withLock { $0.cancelled } }

        /// The reader went away: the producer stops at its next step.
        func cancel() {
            state.withLock { $0.cancelled = true }
            free.signal()
        }

        /// The reader is done with `slot`.
        func hand(slot: Int) {
            state.withLock { $0.lengths[slot] = nil }
            free.signal()
        }

        /// After `full.wait()`: the fill of `slot`, or the ending.
        func take(slot: Int) -> Event {
            state.withLock { state in
                if let length = state.lengths[slot] { return .filled(length) }
                return .ended(state.ending ?? .end(nil))
            }
        }

        /// The producer filled `slot` with `length` bytes.
        func filled(slot: Int, length: Int) {
            state.withLock {
                $0.lengths[slot] = length
                $0.used[slot] = max($0.used[slot], length)
            }
            full.signal()
        }

        func end(_ ending: Ending) {
            state.withLock { $0.ending = ending }
            full.signal()
        }
    }

    /// The producer side: runs on its own thread until the end, a failure,
    /// or cancellation by the reader going away. It holds the only
    /// reference to the record stream, and one to ``Shared``.
    ///
    /// Unchecked Sendable: it is handed to its thread once and touched by no
    /// other.
    private final class Producer: @unchecked Sendable {
        let shared: Shared
        let records: RecordStream
        init(shared: Shared, records: RecordStream) {
            self.shared = shared
            self.records = records
        }

        /// Fills batches until the stream ends, fails or is cancelled, and
        /// returns how it ended (nil when cancelled: nobody is waiting).
        func run() -> Shared.Ending? {
            var slot = 0
            while true {
                shared.free.wait()
                if shared.isCancelled { return nil }
                do {
                    guard let batch = try records.next() else {
                        return .end(records.result)
                    }
                    if shared.isCancelled { return nil }
                    UnsafeMutableRawBufferPointer(rebasing: shared.buffers[slot][..<batch.count]).copyMemory(from: batch)
                    shared.filled(slot: slot, length: batch.count)
                    slot = 1 - slot
                } catch {
                    return .failure(error)
                }
            }
        }
    }
}
