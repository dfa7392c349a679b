import Foundation

/// The one place the command reads the time of day. Every `now` a command
/// hands to the libraries (an archive's creation time, `--max-age`, a
/// keyring's review and rotation dates, the times written into exported
/// files) comes from here.
///
/// `SEALED_ARCHIVE_NOW=<RFC 3339 time>` (for example `2027-01-15T08:00:00Z`)
/// replaces the system clock. It exists so tests can simulate months of a
/// keyring's life or an archive's age without sleeping, and so an operator
/// can replay a review "as of" a date (Spec/CLI.md, "Clock"). It is not an
/// option and not in `--help` on purpose: nobody should set an archive's
/// creation time by accident. A value that is not such a time is a usage
/// error rather than a silent fall back to the real clock, so a typo in a
/// test or a script cannot pass with the wrong date.
enum CommandClock {
    static let variable = "SEALED_ARCHIVE_NOW"

    /// The time the command acts at: `SEALED_ARCHIVE_NOW` when set (and not
    /// empty), else the system clock.
    static func now() throws -> Date {
        guard let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty else { return Date() }
        guard let date = parse(text) else {
            throw CommandFailure(.usage, "\(variable)='\(text)' is not an RFC 3339 time such as 2027-01-15T08:00:00Z")
        }
        return date
    }

    /// RFC 3339 with a `Z` or numeric offset, with or without fractional
    /// seconds; nothing looser (no bare dates, no local times).
    static func parse(_ text: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
        return try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }
}
