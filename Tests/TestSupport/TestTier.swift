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

    /// Every case in the full tier; in the fast tier `count` of them spread
    /// evenly from the first to the last, the same ones every run. For
    /// tables whose rows are ordered by where they strike (header, keys,
    /// records, trailer), so the sample still reaches each part.
    public static func sample<C: Collection>(_ cases: C, fast count: Int) -> [C.Element] {
        let all = Array(cases)
        // At least one case: a sample of none would make the test vacuous.
        let count = max(1, count)
        guard !full, count < all.count else { return all }
        guard count > 1 else { return Array(all.prefix(count)) }
        return (0..<count).map { all[$0 * (all.count - 1) / (count - 1)] }
    }

    /// The (row, column) pairs a table test runs: all of them in the full
    /// tier; in the fast tier each row once, with the columns taken in
    /// turn, so every row and every column still runs (a diagonal through
    /// the table instead of the whole of it).
    public static func pairs<Row, Column>(_ rows: [Row], _ columns: [Column]) -> [(Row, Column)] {
        guard !rows.isEmpty, !columns.isEmpty else { return [] }
        if full { return rows.flatMap { row in columns.map { (row, $0) } } }
        // max(rows, columns) pairs, so every column runs even when there
        // are fewer rows than columns.
        return (0..<max(rows.count, columns.count)).map { (rows[$0 % rows.count], columns[$0 % columns.count]) }
    }
}
