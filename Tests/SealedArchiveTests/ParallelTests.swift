import Foundation
import Synchronization
import Testing
@testable import SealedArchive

/// `Parallel.forEach` behaves as a sequential loop whichever way it runs:
/// small batches on the calling thread (no pool wake-up for a few KiB),
/// large ones on the pool, and either way the lowest failing index's error.
@Suite struct ParallelTests {
    struct Failure: Error, Equatable { let index: Int }

    @Test func smallBatchesRunInOrderOnTheCallingThread() throws {
        var order: [Int] = []
        let caller = Thread.current
        var everyOnCaller = true
        try Parallel.forEach(4, bytes: Parallel.sequentialBytes - 1) { index in
            order.append(index)
            everyOnCaller = everyOnCaller && Thread.current == caller
        }
        #expect(order == [0, 1, 2, 3])
        #expect(everyOnCaller)
    }

    @Test(arguments: [Parallel.sequentialBytes - 1, Parallel.sequentialBytes])
    func theLowestFailingIndexIsThrown(bytes: Int) {
        let ran = Atomic<Int>(0)
        #expect(throws: Failure(index: 2)) {
            try Parallel.forEach(6, bytes: bytes) { index in
                ran.add(1, ordering: .relaxed)
                if index == 2 || index == 4 { throw Failure(index: index) }
            }
        }
        // Sequentially the loop stops at the first failure; on the pool every
        // index runs and the lowest failure still wins.
        #expect(ran.load(ordering: .relaxed) == (bytes < Parallel.sequentialBytes ? 3 : 6))
    }
}
