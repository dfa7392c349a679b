import Foundation
import SystemCalls

/// A regular file read at offsets (`pread`), for the readers that seek: a
/// format 2 archive's partial read (`open --list`, `open --only`, quick
/// signature checks). Counts the bytes it reads, so a command can say how
/// little of an archive it needed.
public final class RandomAccessFile {
    private let fd: Int32
    /// How the file is named in error messages.
    public let name: String
    /// The file's size when opened.
    public let size: UInt64
    /// Bytes read so far.
    public private(set) var bytesRead: UInt64 = 0

    /// Opens `path` when it is a regular file; nil for `-` (standard
    /// input) and for anything that cannot seek (a FIFO, a device), which
    /// the caller reads as a stream instead.
    ///
    /// The corresponding C functions are `open` and `fstat`.
    public static func openIfSeekable(_ path: String) throws -> RandomAccessFile? {
        guard path != "-" else { return nil }
        let name = "'\(shownPath(path))'"
        let fd = try POSIX.open(path, flags: O_RDONLY | O_NONBLOCK | O_NOCTTY, what: name)
        let info: System.FileStatus
        do { info = try POSIX.status(fd, what: name) } catch {
            POSIX.close(fd)
            throw error
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            POSIX.close(fd)
            return nil
        }
        return RandomAccessFile(fd: fd, name: name, size: UInt64(info.st_size))
    }

    private init(fd: Int32, name: String, size: UInt64) {
        self.fd = fd
        self.name = name
        self.size = size
    }

    deinit { POSIX.close(fd) }

    /// Exactly `count` bytes at `offset`; a file that ends first (it
    /// shrank since it was opened) is `truncated`.
    ///
    /// The corresponding C function is `pread`.
    public func read(at offset: UInt64, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while filled < count {
                let n = try POSIX.attempt("cannot read \(name)") { () throws(SystemError) in
                    try System.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]), at: Int64(offset) + Int64(filled))
                }
                guard n > 0 else {
                    throw SealedArchiveError(.truncated, "\(name) ends at byte \(offset + UInt64(filled)), before the \(count) bytes at \(offset) it was read for (did it change while being read?)")
                }
                filled += n
            }
        }
        bytesRead += UInt64(count)
        return bytes
    }
}
