import Foundation
import SystemCalls

/// Where `open -C DEST` puts a tree: DEST must not exist, or be an empty
/// directory. The staging directory is made in DEST's parent, resolved to
/// an absolute path first, so that every spelling of DEST works the same:
/// `d`, `x/`, `./d`, `é`, a name with a newline. `.` and `..` are refused.
struct ExtractionTarget {
    /// The path the tree is renamed to.
    let path: String
    /// The resolved directory that holds it, where staging happens.
    let parent: String
    /// Its last component.
    let name: String
    /// DEST existed as an empty directory (it is replaced by the tree).
    let existedEmpty: Bool

    init(_ destination: String) throws {
        let shown = shownPath(destination)
        guard !destination.isEmpty else { throw SealedArchiveError(.invalidArgument, "the destination directory name is empty") }
        // `.` and `..` are directories the operator is in or next to: the
        // tree replaces DEST with a new directory, which would leave a
        // shell sitting in the old one looking at nothing.
        guard !["." , ".."].contains(PathName.split(destination).name) else {
            throw SealedArchiveError(.invalidArgument, "'\(shown)' is the current or parent directory: extraction creates DEST anew and moves it into place, so give a new name (for example -C restored)")
        }
        if let info = try POSIX.linkStatus(destination) {
            guard info.st_mode & S_IFMT == S_IFDIR, try Self.isEmptyDirectory(destination) else {
                throw SealedArchiveError(.io, "'\(shown)' already exists and is not an empty directory: choose a new destination")
            }
            // Resolved, so the staging directory is made beside it whatever
            // the spelling (`x/`, `a/./b`). A symbolic link at DEST was not
            // followed (lstat): it is refused above as not a directory.
            let resolved = try Self.realPath(destination)
            guard resolved != "/" else { throw SealedArchiveError(.io, "'\(shown)' is the root directory: choose a new destination") }
            (parent, name) = PathName.split(resolved)
            path = resolved
            existedEmpty = true
        } else {
            let (directory, last) = PathName.split(destination)
            parent = try Self.realPath(directory)
            name = last
            path = PathName.join(parent, last)
            existedEmpty = false
        }
    }

    /// The canonical absolute path of an existing directory.
    ///
    /// The corresponding C function is `realpath`.
    private static func realPath(_ path: String) throws -> String {
        try POSIX.attempt("cannot use the directory '\(shownPath(path))'") { () throws(SystemError) in try System.canonicalPath(path) }
    }

    /// Whether a directory has no entry besides `.` and `..`.
    private static func isEmptyDirectory(_ path: String) throws -> Bool {
        try POSIX.directoryNames(path).isEmpty
    }
}
