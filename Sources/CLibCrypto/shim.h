#ifndef SEALEDARCHIVE_CLIBCRYPTO_SHIM_H
#define SEALEDARCHIVE_CLIBCRYPTO_SHIM_H
/* Only SHA-256, for MANIFEST.sha256 and checksum files: OpenSSL's uses the
   CPU's SHA extensions (about 4x libsodium's portable C on this machine). */
#include <openssl/evp.h>
#include <openssl/crypto.h>
#endif
