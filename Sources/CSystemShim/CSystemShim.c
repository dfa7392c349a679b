#define _GNU_SOURCE
#include <malloc.h>
#include <unistd.h>
#include "CSystemShim.h"

int csystem_syncfs(int fd) {
    return syncfs(fd);
}

int csystem_set_mmap_threshold(int bytes) {
    return mallopt(M_MMAP_THRESHOLD, bytes);
}

/* Defined by the ThreadSanitizer runtime when the program is built with
   -sanitize=thread; weak, so they are null otherwise. */
extern void __tsan_acquire(void *address) __attribute__((weak));
extern void __tsan_release(void *address) __attribute__((weak));

void csystem_tsan_acquire(const void *address) {
    if (__tsan_acquire) __tsan_acquire((void *)address);
}

void csystem_tsan_release(const void *address) {
    if (__tsan_release) __tsan_release((void *)address);
}
