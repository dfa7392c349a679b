import Foundation

/// Which tier of the tests runs. The fast tier (plain `swift test`) must
/// finish in well under a minute on a laptop with no tool installed beyond
/// the Swift toolchain and the -dev libraries; the full tier
/// (`SEALED_ARCHIVE_FULL_TESTS=1`, set by Tools/test.sh and
/// Tools/sanitize.sh, so by CI) runs everything: slow tests, full sizes and
/// round counts, and every test that needs an external tool, which must
/// then be installed (see `ExternalTool`).
///
/// Slow tests carry `.enabled(if: TestTier.full, "why")`; tests that stay
/// in the fast tier with less work use `TestTier.scaled(fast:full:)`.
public enum TestTier {
    public static let variable = "SEALED_ARCHIVE_FULL_TESTS"

    /// Whether the full tier runs.
    public static let full: Bool = {
        let value = ProcessInfo.processInfo.environment[variable] ?? ""
        return !value.isEmpty && value != "0"
    }()

    /// `full` in the full tier, `fast` otherwise: a round count or size that
    /// keeps what a test asserts but costs less on a laptop.
    public static func scaled<T>(fast: T, full: T) -> T { Self.full ? full : fast }
}
