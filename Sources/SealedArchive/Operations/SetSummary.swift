/// The checks across a set as `verify --json` prints them, after the
/// archives' lines (`kind` `set`): `problems` and `notes` as the sentences
/// the text form shows, and `problem_details` with each problem's type and
/// numbers (``SetProblem``), for monitoring that acts on them.
public struct SetSummary: Encodable, Sendable {
    public var schema = 1
    public var kind = "set"
    public let ok: Bool
    public let problems: [String]
    public let problem_details: [SetProblem]
    public let notes: [String]
    /// Archives checked, and how many of them verified.
    public let archives: Int
    public let archives_ok: Int
    /// The newest archive that verified and its age in whole seconds, for
    /// monitoring to graph; absent when none verified.
    public let newest_archive: String?
    public let newest_age_seconds: Int64?

    /// The summary of `check`; `notes` replaces the notes' default
    /// sentences (the CLI repeats `--max-age` as the operator wrote it).
    public init(_ check: SetCheck, notes: [String]? = nil) {
        ok = check.passed
        problems = check.problems.map(\.description)
        problem_details = check.problems
        self.notes = notes ?? check.notes.map(\.description)
        archives = check.archives
        archives_ok = check.archivesPassed
        newest_archive = check.newestArchive
        newest_age_seconds = check.newestAgeSeconds.map(SetProblem.wholeSeconds)
    }
}
