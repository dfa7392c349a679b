import Foundation

/// Plaintext pulled out of a ``RecordStream`` while the next batch is
/// already being checked and decrypted on another thread, so decryption
/// overlaps with whatever the reader does with the plaintext (decompressing,
/// writing files). Two buffers alternate between the threads; a failed check
/// is thrown to the reader only after every byte before it was read, as a
/// sequential reader would.
public final class PlaintextSource: ByteSource {
    private let condition = NSCondition()
    private let buffers: [UnsafeMutableRawBufferPointer]
    private var lengths = [0, 0]
    /// The most each buffer ever held, to wipe on release.
    private var used = [0, 0]
    private var filled = [false, false]
    private var ended = false
    private var failure: (any Error)?
    private var cancelled = false
    private var producerDone = false
    private var readSlot = 0
    private var readOffset = 0
    private var finalResult: ReadResult?

    /// Plaintext bytes handed out so far.
    public private(set) var bytesRead: UInt64 = 0

    /// What the archive held, once the stream has been read to its end.
    public var result: ReadResult? { condition.withLock { finalResult } }

    init(records: RecordStream, batchCapacity: Int) {
        buffers = [.allocate(byteCount: batchCapacity, alignment: 64), .allocate(byteCount: batchCapacity, alignment: 64)]
        let producer = Producer(source: self, records: records)
        Thread.detachNewThread { producer.run() }
    }

    deinit {
        condition.withLock {
            cancelled = true
            condition.broadcast()
            while !producerDone { condition.wait() }
        }
        for (buffer, used) in zip(buffers, used) {
            secureZero(UnsafeMutableRawBufferPointer(rebasing: buffer[..<used]))
            buffer.deallocate()
        }
    }

    /// The producer side: runs on its own thread until the end, a failure,
    /// or cancellation by the reader going away.
    private final class Producer: @unchecked Sendable {
        unowned(unsafe) let source: PlaintextSource
        let records: RecordStream
        init(source: PlaintextSource, records: RecordStream) {
            self.source = source
            self.records = records
        }

        func run() {
            var slot = 0
            let condition = source.condition
            while true {
                condition.lock()
                while source.filled[slot] && !source.cancelled { condition.wait() }
                let stop = source.cancelled
                condition.unlock()
                if stop { break }
                do {
                    if let batch = try records.next() {
                        let target = source.buffers[slot]
                        UnsafeMutableRawBufferPointer(rebasing: target[..<batch.count]).copyMemory(from: batch)
                        condition.withLock {
                            source.lengths[slot] = batch.count
                            source.used[slot] = max(source.used[slot], batch.count)
                            source.filled[slot] = true
                            condition.broadcast()
                        }
                        slot = 1 - slot
                    } else {
                        condition.withLock {
                            source.ended = true
                            source.finalResult = records.result
                            condition.broadcast()
                        }
                        break
                    }
                } catch {
                    condition.withLock {
                        source.failure = error
                        condition.broadcast()
                    }
                    break
                }
            }
            condition.withLock {
                source.producerDone = true
                condition.broadcast()
            }
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !buffer.isEmpty else { return 0 }
        condition.lock()
        defer { condition.unlock() }
        while true {
            if filled[readSlot] {
                let available = lengths[readSlot] - readOffset
                if available > 0 {
                    let n = min(buffer.count, available)
                    buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffers[readSlot][readOffset..<readOffset + n]))
                    readOffset += n
                    bytesRead += UInt64(n)
                    return n
                }
                filled[readSlot] = false
                readOffset = 0
                readSlot = 1 - readSlot
                condition.broadcast()
                continue
            }
            if let failure { throw failure }
            if ended { return 0 }
            condition.wait()
        }
    }
}
