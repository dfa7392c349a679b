/// Checksum files in `sha256sum`'s format (`<64 hex digits>  <name>`), so
/// `sha256sum -c` accepts what `seal --checksum-file` writes.
public enum ChecksumFile {
    /// The default checksum file name for an archive: `ARCHIVE.sha256`.
    public static func defaultPath(for archive: String) -> String { archive + ".sha256" }

    /// One line for `name` (a file name, as `sha256sum -c` will open it).
    public static func line(digest: String, name: String) -> String {
        "\(digest)  \(name)\n"
    }

    /// The digests a checksum file lists, by file name: `sha256sum dir/a`
    /// lists `dir/a`, found here as `a`. Two different digests for one name
    /// are refused as ambiguous.
    public static func parse(_ text: String, path: String) throws -> [String: String] {
        var digests: [String: String] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            let bytes = Array(line.utf8)
            guard bytes.count > 66, bytes[64] == UInt8(ascii: " "), bytes[65] == UInt8(ascii: " ") || bytes[65] == UInt8(ascii: "*"),
                  let digest = String(validating: bytes[..<64], as: UTF8.self)?.lowercased(),
                  digest.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
                throw SealedArchiveError(.invalidArgument, "checksum file '\(path)' line \(number + 1) is not in sha256sum format")
            }
            let name = baseName(String(decoding: bytes[66...], as: UTF8.self))
            if let other = digests.updateValue(digest, forKey: name), other != digest {
                throw SealedArchiveError(.invalidArgument, "checksum file '\(path)' lists two different files named '\(name)'")
            }
        }
        return digests
    }

    /// The last path component, as the checksum line names an archive.
    public static func baseName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
