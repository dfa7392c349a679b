import SealedArchiveFormat

extension IndexEntry {
    /// The index entry Spec/FORMAT-v2.md 8.1 makes of a tar member as
    /// libarchive read it, with its content's SHA-256 (nil for anything but
    /// a regular file). The sealing side (from the entry it wrote, header
    /// offset from the tar writer) and the reading side (checking a stored
    /// index against the tar) both make entries here, so the two agree by
    /// construction.
    /// The entry at the header offset libarchive reported for it.
    init(_ entry: TarEntry, sha256: [UInt8]?) throws {
        guard let offset = UInt64(exactly: entry.headerOffset) else {
            throw SealedArchiveError(.payload, "'\(entry.shownPath)' has no header offset")
        }
        try self.init(entry, headerOffset: offset, sha256: sha256)
    }

    init(_ entry: TarEntry, headerOffset: UInt64, sha256: [UInt8]?) throws {
        let kind: Kind
        var link: [UInt8] = []
        switch entry.kind {
        case .file: kind = .regular
        case .directory: kind = .directory
        case .symlink:
            kind = .symbolicLink
            link = entry.symlinkTarget ?? []
        case .hardlink:
            kind = .hardLink
            link = entry.hardlinkTarget ?? []
        case .other: kind = .other
        }
        guard entry.size >= 0 else {
            throw SealedArchiveError(.payload, "'\(entry.shownPath)' has a negative size")
        }
        self.init(kind: kind, path: entry.path, size: kind == .regular ? UInt64(entry.size) : 0,
                  mode: entry.permissions & 0o7777, mtime: entry.modified, link: link, headerOffset: headerOffset,
                  sha256: kind == .regular ? (sha256 ?? []) : [UInt8](repeating: 0, count: SHA256.length))
    }
}
