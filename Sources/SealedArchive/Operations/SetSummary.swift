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

    /// The summary of `check`; `notes` replaces the notes' default
    /// sentences (the CLI repeats `--max-age` as the operator wrote it).
    public init(_ check: SetCheck, notes: [String]? = nil) {
        ok = check.passed
        problems = check.problems.map(\.description)
        problem_details = check.problems
        self.notes = notes ?? check.notes.map(\.description)
        archives = check.archives
        archives_ok = check.archivesPassed
    }
}
