/// Paths as the operator typed them, taken apart by their bytes.
///
/// Never by `Character`: a slash followed by a combining mark is one
/// grapheme, so `String.lastIndex(of: "/")` misses it; and never through
/// `NSString`'s path methods, which trap on some spellings (`d`, `.`).
public enum PathName {
    private static let slash = UInt8(ascii: "/")

    /// Whether `path` is a directory (a symbolic link to one counts).
    public static func isDirectory(_ path: String) -> Bool { POSIX.isDirectory(path) }

    /// `path` without trailing slashes; `/` stays `/`.
    static func trimmingTrailingSlashes(_ path: String) -> String {
        var bytes = Array(path.utf8)
        while bytes.count > 1 && bytes.last == slash { bytes.removeLast() }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The directory that holds `path`'s last component, and that component:
    /// `a/b` → (`a`, `b`), `b` → (`.`, `b`), `/b` → (`/`, `b`), `a/b/` →
    /// (`a`, `b`).
    static func split(_ path: String) -> (directory: String, name: String) {
        let bytes = Array(trimmingTrailingSlashes(path).utf8)
        guard let last = bytes.lastIndex(of: slash) else { return (".", String(decoding: bytes, as: UTF8.self)) }
        var directory = Array(bytes[..<last])
        while directory.count > 1 && directory.last == slash { directory.removeLast() }
        let name = String(decoding: bytes[(last + 1)...], as: UTF8.self)
        return (directory.isEmpty ? "/" : String(decoding: directory, as: UTF8.self), name)
    }

    /// `name` inside `directory`.
    static func join(_ directory: String, _ name: String) -> String {
        directory.utf8.last == slash ? directory + name : directory + "/" + name
    }

    /// Whether the last component of `path` names a directory by its
    /// spelling alone (`.`, `..`, a trailing slash), so it cannot be the
    /// name of a file to write.
    static func namesDirectory(_ path: String) -> Bool {
        if path.utf8.last == slash { return true }
        let name = split(path).name
        return name == "." || name == ".." || name == "/"
    }

    /// The last component, shortened to at most `limit` bytes on a
    /// character boundary (for names derived from it, such as a hidden
    /// temporary beside it, which must still fit in NAME_MAX).
    static func shortenedName(_ name: String, limit: Int) -> String {
        var scalars = String.UnicodeScalarView()
        var length = 0
        for scalar in name.unicodeScalars {
            let size = String(scalar).utf8.count
            guard length + size <= limit else { break }
            scalars.append(scalar)
            length += size
        }
        return String(scalars)
    }
}

/// A path as it may be shown in a message: control characters escaped.
func shownPath(_ path: String) -> String { shownName(Array(path.utf8)) }
