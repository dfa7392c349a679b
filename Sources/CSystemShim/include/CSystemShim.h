#ifndef CSYSTEMSHIM_H
#define CSYSTEMSHIM_H

/// Calls Swift cannot make directly: `syncfs` is declared by glibc only
/// under _GNU_SOURCE, which the Swift importer does not define.
/// Only Sources/SystemCalls uses this module.

/// Flushes the filesystem holding `fd` to stable storage; 0 or -1 with errno.
int csystem_syncfs(int fd);

#endif
