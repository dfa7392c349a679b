import Glibc

/// Whole-file reads of small regular files (metadata, logs, lists).
///
/// A FIFO, device or directory given where a file is expected would block
/// or never end: the file is opened non-blocking (so opening a FIFO with no
/// writer returns at once), checked with `fstat` on the opened descriptor
/// (no race with a swap of the name) and refused unless it is a regular file.
public enum RegularFile {
    /// The contents of the regular file at `path`, at most `limit` bytes.
    /// `what` names the file in errors ("the inventory file 'x'");
    /// `followLinks` false refuses a symbolic link.
    public static func read(_ path: String, what: String, followLinks: Bool = true, limit: Int = 64 << 20) throws -> [UInt8] {
        let fd = try POSIX.open(path, flags: O_RDONLY | O_NONBLOCK | (followLinks ? 0 : O_NOFOLLOW), what: what)
        defer { close(fd) }
        let info = try POSIX.status(fd, what: what)
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG else {
            let kind = type == S_IFDIR ? "a directory" : type == S_IFIFO ? "a FIFO" : type == S_IFCHR || type == S_IFBLK ? "a device"
                : type == S_IFSOCK ? "a socket" : "not a regular file"
            throw SealedArchiveError(.io, "\(what) is \(kind), not a regular file")
        }
        guard info.st_size <= limit else {
            throw SealedArchiveError(.io, "\(what) is larger than \(limit >> 20) MiB")
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try POSIX.read(fd, into: $0, what: what) }
            if n == 0 { return bytes }
            bytes.append(contentsOf: buffer[..<n])
            guard bytes.count <= limit else { throw SealedArchiveError(.io, "\(what) is larger than \(limit >> 20) MiB") }
        }
    }

    /// Splits text into lines at LF or CRLF; a last line without a newline
    /// is a line too. Each element is the line's 1-based number and bytes,
    /// without the terminator.
    public static func lines(_ bytes: [UInt8]) -> [(number: Int, bytes: ArraySlice<UInt8>)] {
        var lines: [(Int, ArraySlice<UInt8>)] = []
        var start = bytes.startIndex
        var number = 1
        for index in bytes.indices where bytes[index] == UInt8(ascii: "\n") {
            var end = index
            if end > start && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            lines.append((number, bytes[start..<end]))
            number += 1
            start = index + 1
        }
        if start < bytes.endIndex {
            var end = bytes.endIndex
            if bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            lines.append((number, bytes[start..<end]))
        }
        return lines
    }
}
