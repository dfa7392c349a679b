/// What `seal DIRECTORY` does with a `MANIFEST.sha256` at the directory's
/// root (Spec/CLI.md, `seal`): the offsite step must not seal, and report
/// as fine, a local backup whose manifest says it is broken.
public enum ManifestCheck: String, Sendable, CaseIterable {
    /// Check it when there is one (the default).
    case ifPresent = "if-present"
    /// Refuse a directory without one (`--require-manifest`).
    case required
    /// Do not check it (`--no-manifest`).
    case skip

    /// The outcome of the check, as `seal --json` reports it: `matched`,
    /// `absent` or `skipped`.
    func check(_ packed: PackSummary, directory: String) throws -> String {
        guard self != .skip else { return "skipped" }
        guard let text = packed.manifestText else {
            guard self != .required else {
                throw SealedArchiveError(.manifest, "refusing to seal '\(directory)': it has no MANIFEST.sha256, and --require-manifest asks for one")
            }
            return "absent"
        }
        // The digests are of the bytes packed, and the manifest's text is
        // the one packed: what a restore will check, checked now.
        do {
            try Manifest(parsing: text).check(against: packed.contentDigests, in: .directory)
        } catch let error as SealedArchiveError where error.code == .manifest {
            throw SealedArchiveError(.manifest,
                "refusing to seal '\(directory)': \(error.message) (fix the backup, or seal it with --no-manifest)", cause: error)
        }
        return "matched"
    }
}
