/// Checksum files in `sha256sum`'s format (`<64 hex digits>  <name>`), so
/// `sha256sum -c` accepts what `seal --checksum-file` writes.
public enum ChecksumFile {
    /// The default checksum file name for an archive: `ARCHIVE.sha256`.
    public static func defaultPath(for archive: String) -> String { archive + ".sha256" }

    /// One line for `name` (a file name, as `sha256sum -c` will open it),
    /// escaped as `sha256sum` escapes a name with a backslash or newline.
    public static func line(digest: String, name: String) -> [UInt8] {
        ChecksumLine.serialize(digest: digest, name: Array(name.utf8))
    }

    /// The digests a checksum file lists, by file name: `sha256sum dir/a`
    /// lists `dir/a`, found here as `a`. Two different digests for one name
    /// are refused as ambiguous.
    public static func parse(_ text: String, path: String) throws -> [String: String] {
        var digests: [String: String] = [:]
        for (number, line) in TextLines.split(Array(text.utf8)).enumerated() where !line.isEmpty {
            guard let parsed = try? ChecksumLine(parsing: line) else {
                throw SealedArchiveError(.invalidArgument, "checksum file '\(shownPath(path))' line \(number + 1) is not in sha256sum format")
            }
            let name = baseName(String(decoding: parsed.name, as: UTF8.self))
            if let other = digests.updateValue(parsed.digest, forKey: name), other != parsed.digest {
                throw SealedArchiveError(.invalidArgument, "checksum file '\(shownPath(path))' lists two different files named '\(shownPath(name))'")
            }
        }
        return digests
    }

    /// Reads and parses a checksum file (a regular file, or `-`).
    public static func read(path: String) throws -> [String: String] {
        try parse(TextFile.readText(path, what: "checksum file"), path: path)
    }

    /// The name standard input is checked under: `given` (`--stdin-name`),
    /// else the one archive the file lists (`cat A | verify
    /// --checksum-file A.sha256 -`, with the file `seal --checksum` wrote);
    /// a file listing several needs the name, so none is guessed.
    public static func standardInputName(in checksums: [String: String], given: String?, path: String) throws -> String {
        if let given { return baseName(given) }
        guard checksums.count == 1, let only = checksums.keys.first else {
            throw SealedArchiveError(.invalidArgument,
                "checksum file '\(shownPath(path))' lists \(checksums.count) archives: name the one on standard input with --stdin-name NAME")
        }
        return only
    }

    /// The last path component, as the checksum line names an archive.
    public static func baseName(_ path: String) -> String {
        PathName.split(path).name
    }
}
