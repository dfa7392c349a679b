/// ``SystemError`` (an `errno` value) lives in the system-call layer but is
/// the public cause of SealedArchive's `.io` errors, so programs using the
/// library can match on it without importing that internal module.
@_exported import struct SystemCalls.SystemError
