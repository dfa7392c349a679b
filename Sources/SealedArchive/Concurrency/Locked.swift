import Synchronization
import SystemCalls

/// Shared state behind a `Synchronization.Mutex`, which ThreadSanitizer can
/// check.
///
/// TSan does not model `Mutex` on Linux: when the lock is contended, the
/// unlocking thread hands it to the waiter in the kernel (FUTEX_UNLOCK_PI
/// from the uninstrumented libswiftSynchronization), and the waiter returns
/// owning it without an atomic operation TSan could pair with the unlock. It
/// then reports accesses made under the same Mutex as data races, in our own
/// closures (no Synchronization frame is on the stack, as `withLock` is
/// inlined), so no narrow suppression exists. Each critical section here
/// starts with an acquire and ends with a release annotation on this
/// object's address, which is exactly the ordering the Mutex provides; in a
/// build without TSan both are empty calls. Tools/sanitizers/README.md has
/// the reproducer.
package final class Locked<Value: ~Copyable>: Sendable {
    private let mutex: Mutex<Value>

    package init(_ value: consuming sending Value) {
        mutex = Mutex(value)
    }

    /// Runs `body` with exclusive access to the value.
    package func withLock<Result: ~Copyable, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result {
        let key = UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque())
        return try mutex.withLock { (value: inout sending Value) throws(E) -> sending Result in
            ThreadSanitizer.acquire(key)
            defer { ThreadSanitizer.release(key) }
            return try body(&value)
        }
    }

    /// Runs `body` with the value if the lock is free now; nil (and `body`
    /// not run) if another thread holds it. For a thread that must not wait
    /// (one about to end the process).
    package func withLockIfAvailable<Result, E: Error>(
        _ body: (inout sending Value) throws(E) -> sending Result
    ) throws(E) -> sending Result? {
        let key = UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque())
        return try mutex.withLockIfAvailable { (value: inout sending Value) throws(E) -> sending Result in
            ThreadSanitizer.acquire(key)
            defer { ThreadSanitizer.release(key) }
            return try body(&value)
        }
    }
}
