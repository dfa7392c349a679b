#ifndef CSYSTEMSHIM_H
#define CSYSTEMSHIM_H

/// Calls Swift cannot make directly: `syncfs` is declared by glibc only
/// under _GNU_SOURCE, which the Swift importer does not define, and
/// `mallopt` lives in malloc.h, which the Glibc module leaves out.
/// Only Sources/SystemCalls uses this module.

/// Flushes the filesystem holding `fd` to stable storage; 0 or -1 with errno.
int csystem_syncfs(int fd);

/// Serves allocations of `bytes` and more with mmap, returned to the system
/// when freed: `mallopt(M_MMAP_THRESHOLD, bytes)`; 1 on success.
int csystem_set_mmap_threshold(int bytes);

/// ThreadSanitizer's happens-before annotations (`__tsan_acquire`,
/// `__tsan_release`), no-ops in a build without ThreadSanitizer. TSan does
/// not see `Synchronization.Mutex` hand over a contended lock (the handover
/// happens inside the kernel, in FUTEX_UNLOCK_PI/FUTEX_LOCK_PI issued by the
/// uninstrumented libswiftSynchronization), so it reports accesses made under
/// the same Mutex as races; SealedArchive's `Locked` announces each critical
/// section with these. Tools/sanitizers/README.md has the reproducer.
void csystem_tsan_acquire(const void *address);
void csystem_tsan_release(const void *address);

#endif
