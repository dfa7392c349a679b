import CSystemShim

/// ThreadSanitizer's happens-before annotations, for a lock whose handover
/// TSan cannot see (`Synchronization.Mutex` on Linux: a contended lock is
/// handed to the waiter inside the kernel). No-ops unless the program is
/// built with `-sanitize=thread`. Tools/sanitizers/README.md explains.
package enum ThreadSanitizer {
    /// Everything `release(address)` published before is visible after this.
    package static func acquire(_ address: UnsafeRawPointer) {
        csystem_tsan_acquire(address)
    }

    /// Publishes this thread's writes to the next `acquire(address)`.
    package static func release(_ address: UnsafeRawPointer) {
        csystem_tsan_release(address)
    }
}
