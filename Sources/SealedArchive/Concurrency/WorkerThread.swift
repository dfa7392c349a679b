import Foundation

/// The one way the library starts a thread of its own.
enum WorkerThread {
    /// Runs `body` on a new thread, then frees OpenSSL's per-thread state,
    /// then hands the result to `finished`.
    ///
    /// The order matters: whoever waits on `finished` may end the process at
    /// once, before this thread's own exit would have freed what OpenSSL
    /// keeps for it (a thread that hashed: a checksum, a manifest), and
    /// LeakSanitizer would then count that state as leaked.
    static func detach<Result>(_ body: @escaping @Sendable () -> Result,
                               then finished: @escaping @Sendable (Result) -> Void) {
        // The body lives in a box this thread empties before the cleanup:
        // what it captured (a reader, its hashers) is released here, first,
        // not when Foundation drops the thread's closure after `finished`,
        // where a deinit touching OpenSSL would make its state anew.
        let box = Box(body)
        Thread.detachNewThread {
            let result = box.take()()
            SHA256.releaseThreadState()
            finished(result)
        }
    }

    /// Holds a closure until the thread takes it, once.
    private final class Box<Result>: @unchecked Sendable {
        private var body: (@Sendable () -> Result)?
        init(_ body: @escaping @Sendable () -> Result) { self.body = body }
        /// The closure; the box no longer holds it.
        func take() -> @Sendable () -> Result {
            defer { body = nil }
            return body!
        }
    }
}
