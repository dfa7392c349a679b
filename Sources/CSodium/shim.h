#ifndef SEALEDARCHIVE_CSODIUM_SHIM_H
#define SEALEDARCHIVE_CSODIUM_SHIM_H
#include <sodium.h>
#endif
