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
