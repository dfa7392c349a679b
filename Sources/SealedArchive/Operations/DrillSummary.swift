import Foundation

/// A restore drill as `drill --json` prints it (`kind` `drill`): the
/// drilled archive's ``ArchiveSummary`` (its header, the key that opened
/// it, its size) with the drill's own results beside it in the same
/// object. `ok` and `error` are the drill's, not the verification's.
public struct DrillSummary: Codable, Sendable, Equatable {
    /// The archive; its `kind`, `ok` and `error` are left empty.
    public var archive: ArchiveSummary
    public var kind = "drill"
    /// When the drill ran (RFC 3339, UTC, whole seconds): what a review of
    /// the drill history dates it by.
    public var drilled_at: String?
    public var ok: Bool
    /// Every check that failed, one sentence each.
    public var failures: [String]
    public var error: ArchiveSummary.ErrorSummary?
    public var age_seconds: Int64?
    public var max_age_seconds: Int64?
    /// `--rto`, in whole seconds, when given.
    public var rto_seconds: Int64?
    /// Wall time of the restore, to the millisecond.
    public var restore_seconds: Double?
    public var restored_bytes: UInt64?
    public var restored_files: Int?
    public var restore_bytes_per_second: Int64?
    public var manifest_files_checked: Int?

    /// The summary of a drill that ran.
    public init(_ report: Drill.Report) {
        var archive = report.verification.header.map { ArchiveSummary(header: $0) } ?? ArchiveSummary()
        archive.archive = report.path
        archive.opened_with_key_id = report.verification.openedWith?.description
        archive.archive_bytes = report.archiveBytes
        self.archive = archive
        drilled_at = report.drilledAt.map(Self.time)
        ok = report.passed
        failures = report.failures
        error = report.error.map(ArchiveSummary.ErrorSummary.init)
        age_seconds = report.ageSeconds.map(SetProblem.wholeSeconds)
        max_age_seconds = report.maxAge.map(SetProblem.wholeSeconds)
        rto_seconds = report.rto.map(SetProblem.wholeSeconds)
        restore_seconds = report.restoreSeconds.map { ($0 * 1000).rounded() / 1000 }
        restored_bytes = report.restoredBytes
        restored_files = report.restoredFiles
        restore_bytes_per_second = report.restoreBytesPerSecond.map(SetProblem.wholeSeconds)  // rounded and clamped like seconds
        manifest_files_checked = report.manifestFilesChecked
    }

    /// The summary of a drill that could not choose its archive, at `now`.
    public init(failedBeforeChoosing error: SealedArchiveError, at now: Date? = nil) {
        archive = ArchiveSummary()
        drilled_at = now.map(Self.time)
        ok = false
        failures = [error.message]
        self.error = ArchiveSummary.ErrorSummary(error)
    }

    /// RFC 3339, UTC, whole seconds.
    static func time(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)))
    }

    private enum CodingKeys: String, CodingKey {
        case kind, drilled_at, ok, failures, error, age_seconds, max_age_seconds, rto_seconds, restore_seconds, restored_bytes,
             restored_files, restore_bytes_per_second, manifest_files_checked
    }

    /// One flat object: the archive's keys, then the drill's.
    public func encode(to encoder: Encoder) throws {
        var archive = self.archive
        (archive.kind, archive.ok, archive.error) = (nil, nil, nil)
        try archive.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encodeIfPresent(drilled_at, forKey: .drilled_at)
        try container.encode(ok, forKey: .ok)
        try container.encode(failures, forKey: .failures)
        try container.encodeIfPresent(error, forKey: .error)
        try container.encodeIfPresent(age_seconds, forKey: .age_seconds)
        try container.encodeIfPresent(max_age_seconds, forKey: .max_age_seconds)
        try container.encodeIfPresent(rto_seconds, forKey: .rto_seconds)
        try container.encodeIfPresent(restore_seconds, forKey: .restore_seconds)
        try container.encodeIfPresent(restored_bytes, forKey: .restored_bytes)
        try container.encodeIfPresent(restored_files, forKey: .restored_files)
        try container.encodeIfPresent(restore_bytes_per_second, forKey: .restore_bytes_per_second)
        try container.encodeIfPresent(manifest_files_checked, forKey: .manifest_files_checked)
    }

    public init(from decoder: Decoder) throws {
        archive = try ArchiveSummary(from: decoder)
        (archive.kind, archive.ok, archive.error) = (nil, nil, nil)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        kind = try container.decode(String.self, forKey: .kind)
        drilled_at = try container.decodeIfPresent(String.self, forKey: .drilled_at)
        ok = try container.decode(Bool.self, forKey: .ok)
        failures = try container.decode([String].self, forKey: .failures)
        error = try container.decodeIfPresent(ArchiveSummary.ErrorSummary.self, forKey: .error)
        age_seconds = try container.decodeIfPresent(Int64.self, forKey: .age_seconds)
        max_age_seconds = try container.decodeIfPresent(Int64.self, forKey: .max_age_seconds)
        rto_seconds = try container.decodeIfPresent(Int64.self, forKey: .rto_seconds)
        restore_seconds = try container.decodeIfPresent(Double.self, forKey: .restore_seconds)
        restored_bytes = try container.decodeIfPresent(UInt64.self, forKey: .restored_bytes)
        restored_files = try container.decodeIfPresent(Int.self, forKey: .restored_files)
        restore_bytes_per_second = try container.decodeIfPresent(Int64.self, forKey: .restore_bytes_per_second)
        manifest_files_checked = try container.decodeIfPresent(Int.self, forKey: .manifest_files_checked)
    }
}
