import Foundation
import SystemCalls

/// "The archives in a directory", one rule for every command that takes a
/// directory of them (`verify`, `drill`, `keys review --archives`): regular
/// files (a symbolic link to one counts), not hidden (a `.NAME.partial`
/// upload or temporary file), not a `*.sha256` checksum file beside an
/// archive; subdirectories are not entered.
public enum ArchiveDirectory {
    /// The names of the archives in `directory`, sorted by their bytes.
    public static func archiveNames(in directory: String) throws -> [String] {
        try POSIX.directoryNames(directory).filter { name in
            guard !name.hasPrefix("."), !name.hasSuffix(".sha256") else { return false }
            guard let info = try? System.status(PathName.join(directory, name)) else { return false }
            return info.st_mode & S_IFMT == S_IFREG
        }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// The paths of the archives in `directory`, in the order of their names.
    public static func archivePaths(in directory: String) throws -> [String] {
        try archiveNames(in: directory).map { PathName.join(directory, $0) }
    }

    /// `paths` with each directory replaced by the archives in it (in place,
    /// so results keep the order given).
    public static func expanding(_ paths: [String]) throws -> [String] {
        try paths.flatMap { path in try POSIX.isDirectory(path) ? archivePaths(in: path) : [path] }
    }
}
