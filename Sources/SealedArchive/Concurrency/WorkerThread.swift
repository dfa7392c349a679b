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
        Thread.detachNewThread {
            let result = body()
            SHA256.releaseThreadState()
            finished(result)
        }
    }
}
