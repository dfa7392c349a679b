import Glibc

/// The temporary files of unfinished ``AtomicFileSink``s, so that a run
/// stopped by SIGINT, SIGTERM, SIGHUP or SIGPIPE removes them before it dies
/// (SIGKILL cannot be caught: then a hidden `.partial` file may remain, but
/// never anything under the final name).
///
/// The signal handler may only make async-signal-safe calls, so paths are
/// kept as C strings in a fixed table it can walk without locks or
/// allocation.
public enum TemporaryFiles {
    private static let capacity = 64
    private nonisolated(unsafe) static let table: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let table = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        table.initialize(repeating: nil, count: capacity)
        return table
    }()
    private nonisolated(unsafe) static var lock = pthread_mutex_t()
    private static let lockReady: Bool = { pthread_mutex_init(&lock, nil); return true }()

    /// Removes registered files when the process is interrupted or
    /// terminated, then dies of the same signal. Call once, early, from a
    /// program's entry point.
    public static func removeOnTerminationSignals() {
        _ = table
        _ = lockReady
        for signalNumber in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { received in
                for index in 0..<TemporaryFiles.capacity {
                    if let path = TemporaryFiles.table[index] { unlink(path) }
                }
                signal(received, SIG_DFL)
                raise(received)
            }
            sigemptyset(&action.sa_mask)
            sigaction(signalNumber, &action, nil)
        }
    }

    static func register(_ path: String) -> Int? {
        _ = lockReady
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        for index in 0..<capacity where table[index] == nil {
            table[index] = strdup(path)
            return index
        }
        return nil
    }

    static func unregister(_ slot: Int?) {
        guard let slot else { return }
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        let path = table[slot]
        table[slot] = nil
        free(path)
    }
}
