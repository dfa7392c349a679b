#ifndef SEALEDARCHIVE_CZSTD_SHIM_H
#define SEALEDARCHIVE_CZSTD_SHIM_H
/* The stable API only (no ZSTD_STATIC_LINKING_ONLY): the frame rules of
   Spec/FORMAT-v2.md section 8 are checked on the frame header by hand. */
#include <zstd.h>
#include <zstd_errors.h>

/* Composite macros do not import into Swift: expose them as constants. */
static const unsigned long long CZSTD_CONTENTSIZE_UNKNOWN = ZSTD_CONTENTSIZE_UNKNOWN;
static const unsigned long long CZSTD_CONTENTSIZE_ERROR = ZSTD_CONTENTSIZE_ERROR;
#endif
