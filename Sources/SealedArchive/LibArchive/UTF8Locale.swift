import Foundation

/// libarchive converts names between the current locale and the UTF-8 of
/// pax headers. Under the "C" locale that a daemon or a systemd unit gets,
/// any non-ASCII name fails. Rather than call `setlocale` (global, racing
/// with the host program), libarchive work runs with a UTF-8 character type
/// installed for the calling thread only.
enum UTF8Locale {
    /// C.UTF-8 ships with glibc 2.35+; en_US.UTF-8 is a fallback.
    private nonisolated(unsafe) static let locale: locale_t? =
        newlocale(LC_CTYPE_MASK, "C.UTF-8", nil) ?? newlocale(LC_CTYPE_MASK, "en_US.UTF-8", nil)

    /// Runs `body` with names read and written as UTF-8 on this thread.
    ///
    /// The corresponding C function is `uselocale`.
    static func run<R>(_ body: () throws -> R) throws -> R {
        guard let locale else {
            throw SealedArchiveError(.io, "no UTF-8 locale (C.UTF-8) is installed, so file names cannot be stored")
        }
        let previous = uselocale(locale)
        defer { uselocale(previous) }
        return try body()
    }
}
