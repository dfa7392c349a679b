import Foundation
import Testing
@testable import SealedArchive

/// The second stage of the seal pipeline (``BackgroundStage``): jobs run in
/// order, one at a time, off the submitting thread; the first error stops
/// the stage and reaches the submitter; releasing it waits for the job in
/// hand.
@Suite struct BackgroundStageTests {
    final class Log: @unchecked Sendable {
        let lock = NSLock()
        var entries: [Int] = []
        var threads = Set<String>()
        func add(_ value: Int) {
            lock.withLock {
                entries.append(value)
                threads.insert("\(Thread.current)")
            }
        }
    }

    @Test func jobsRunInOrderOffTheSubmittingThread() throws {
        let log = Log()
        let stage = BackgroundStage()
        for k in 0..<50 { try stage.submit { log.add(k) } }
        try stage.drain()
        #expect(log.entries == Array(0..<50))
        #expect(!log.threads.contains("\(Thread.current)"))
    }

    @Test func theFirstErrorStopsTheStageAndReachesTheSubmitter() throws {
        let log = Log()
        let stage = BackgroundStage()
        try stage.submit { log.add(1) }
        try stage.submit { throw SealedArchiveError(.io, "disk full") }
        // The next submit or the drain reports it; later jobs do not run.
        let next = Result { try stage.submit { log.add(3) } }
        let drained = Result { try stage.drain() }
        let errors = [next, drained].compactMap { result -> SealedArchiveError? in
            if case .failure(let error) = result { return error as? SealedArchiveError }
            return nil
        }
        #expect(errors.contains { $0.code == .io })
        #expect(log.entries == [1])
    }

    @Test func releasingTheStageWaitsForTheJobInHand() throws {
        let log = Log()
        do {
            let stage = BackgroundStage()
            try stage.submit {
                Thread.sleep(forTimeInterval: 0.2)
                log.add(7)
            }
        }
        #expect(log.entries == [7])
    }
}
