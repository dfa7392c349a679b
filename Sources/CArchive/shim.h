#ifndef SEALEDARCHIVE_CARCHIVE_SHIM_H
#define SEALEDARCHIVE_CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>

/* Composite macros do not import into Swift: expose them as constants. */
static const int CARCHIVE_OK = ARCHIVE_OK;
static const int CARCHIVE_EOF = ARCHIVE_EOF;
static const int CARCHIVE_WARN = ARCHIVE_WARN;
static const int CARCHIVE_FATAL = ARCHIVE_FATAL;
static const unsigned CARCHIVE_AE_IFMT = AE_IFMT;
static const unsigned CARCHIVE_AE_IFREG = AE_IFREG;
static const unsigned CARCHIVE_AE_IFDIR = AE_IFDIR;
static const unsigned CARCHIVE_AE_IFLNK = AE_IFLNK;
/* Not SECURE_NOABSOLUTEPATHS: entries are written at absolute paths inside
   the staging directory, after Swift refused absolute paths in the archive. */
static const int CARCHIVE_EXTRACT_SECURE = ARCHIVE_EXTRACT_SECURE_SYMLINKS
    | ARCHIVE_EXTRACT_SECURE_NODOTDOT;
static const int CARCHIVE_EXTRACT_TIME = ARCHIVE_EXTRACT_TIME;
static const int CARCHIVE_EXTRACT_PERM = ARCHIVE_EXTRACT_PERM;
static const int CARCHIVE_EXTRACT_NO_OVERWRITE = ARCHIVE_EXTRACT_NO_OVERWRITE;
static const int CARCHIVE_READDISK_NO_XATTR = ARCHIVE_READDISK_NO_XATTR;
static const int CARCHIVE_READDISK_NO_ACL = ARCHIVE_READDISK_NO_ACL;
static const int CARCHIVE_READDISK_NO_FFLAGS = ARCHIVE_READDISK_NO_FFLAGS;

static const int CARCHIVE_FORMAT_TAR_PAX_RESTRICTED = ARCHIVE_FORMAT_TAR_PAX_RESTRICTED;

/* archive_set_error is variadic: a fixed-format wrapper for callbacks. */
static inline void carchive_set_error(struct archive *a, int code, const char *message) {
    archive_set_error(a, code, "%s", message);
}
#endif
