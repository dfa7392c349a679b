internal import CSodium

/// The one place that starts libsodium and turns its return codes into errors.
package enum Sodium {
    /// `sodium_init()` runs once, on first use, from whichever thread gets
    /// here first (a `static let` is initialised exactly once). 0 means it
    /// initialised now, 1 that it already was; -1 that it cannot run.
    private static let initResult: Int32 = sodium_init()

    /// Makes sure libsodium is ready. Every type in this folder calls it
    /// before its first libsodium call.
    ///
    /// The corresponding C function is `sodium_init`.
    package static func ensureInitialized() throws {
        guard initResult >= 0 else {
            throw SealedArchiveError(.crypto, "libsodium could not be initialised")
        }
    }

    /// Runs a libsodium call that returns 0 on success and throws `error`
    /// otherwise.
    @inline(__always)
    package static func check(_ result: Int32, _ error: @autoclosure () -> SealedArchiveError) throws {
        guard result == 0 else { throw error() }
    }
}
