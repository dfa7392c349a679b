import Glibc

/// A sink that writes to standard output.
public final class StandardOutputSink: ByteSink {
    public init() {}
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try POSIX.writeAll(1, bytes, what: "standard output")
    }
    /// Whether standard output is a terminal.
    public static var isTerminal: Bool { POSIX.isTerminal(1) }
}

/// Writes to an existing device or FIFO (`-o /dev/null`, a named pipe):
/// there is nothing to rename into place.
public final class DeviceSink: ByteSink {
    private let fd: Int32
    private let path: String

    /// Opens `path` if it exists and is not a regular file or directory;
    /// nil otherwise.
    public init?(path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0, [S_IFCHR, S_IFIFO].contains(info.st_mode & S_IFMT) else { return nil }
        self.path = path
        fd = try POSIX.open(path, flags: O_WRONLY, what: "'\(path)'")
    }

    deinit { close(fd) }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try POSIX.writeAll(fd, bytes, what: "'\(path)'")
    }
}

/// A file written under a temporary name in its final directory, flushed to
/// disk and renamed into place only by ``commit()``. A run that fails or is
/// killed before then leaves nothing under the final name: the temporary
/// file is removed when the sink is released uncommitted (and, after a
/// SIGKILL, remains only under its hidden temporary name).
public final class AtomicFileSink: ByteSink {
    /// The final path.
    public let path: String
    private let temporaryPath: String
    private let mode: mode_t
    private let replaceExisting: Bool
    private var fd: Int32
    private var committed = false
    private let registration: Int

    /// Creates the temporary file beside `path`.
    ///
    /// - Parameters:
    ///   - mode: the final file's permissions (0600 for anything secret).
    ///   - replaceExisting: when false, an existing file at `path` is an
    ///     error, now and again at commit.
    public init(path: String, mode: mode_t, replaceExisting: Bool) throws {
        self.path = path
        self.mode = mode
        self.replaceExisting = replaceExisting
        if !replaceExisting && Self.exists(path) {
            throw SealedArchiveError(.io, "'\(path)' already exists; choose another name or remove it first")
        }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var suffix = [UInt8](repeating: 0, count: 6)
        try suffix.withUnsafeMutableBytes { try randomBytes($0) }
        temporaryPath = "\(directory).\(base).\(HexCoding.encode(suffix)).partial"
        // Created 0600 whatever the final mode: nothing is readable by others
        // while it is being written.
        fd = try POSIX.open(temporaryPath, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600,
                            what: "a temporary file beside '\(path)'")
        registration = TemporaryFiles.register(temporaryPath)
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed { unlink(temporaryPath) }
        TemporaryFiles.unregister(registration)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!committed && fd >= 0, "write after commit")
        try POSIX.writeAll(fd, bytes, what: "'\(path)'")
    }

    /// Flushes the file to disk, gives it its final mode and moves it to its
    /// final name, then flushes the directory so the rename survives a crash.
    public func commit() throws {
        precondition(!committed, "commit twice")
        guard fchmod(fd, mode) == 0 else { throw POSIX.error("cannot set the mode of '\(path)'") }
        try POSIX.sync(fd, what: "'\(path)'")
        guard close(fd) == 0 else { fd = -1; throw POSIX.error("cannot close '\(path)'") }
        fd = -1
        if replaceExisting {
            guard rename(temporaryPath, path) == 0 else { throw POSIX.error("cannot move the output into place at '\(path)'") }
        } else {
            // link() fails if the name exists, so a file that appeared since
            // we started is never replaced.
            guard link(temporaryPath, path) == 0 else {
                if errno == EEXIST { throw SealedArchiveError(.io, "'\(path)' already exists; choose another name or remove it first") }
                throw POSIX.error("cannot move the output into place at '\(path)'")
            }
            unlink(temporaryPath)
        }
        committed = true
        Self.syncDirectory(of: path)
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Best effort: a directory that cannot be opened or flushed (some
    /// network filesystems) does not fail an otherwise complete write.
    private static func syncDirectory(of path: String) {
        let directory = path.lastIndex(of: "/").map { String(path[...$0]) } ?? "."
        let dfd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }
}
