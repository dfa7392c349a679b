import Foundation
import SystemCalls

/// A sink that writes to standard output.
public final class StandardOutputSink: ByteSink {
    public init() {}
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try POSIX.writeAll(1, bytes, what: "standard output")
    }
    /// Whether standard output is a terminal.
    public static var isTerminal: Bool { POSIX.isTerminal(1) }
}

/// Writes to an existing character device or FIFO (`-o /dev/null`, a named
/// pipe): there is nothing to rename into place, and such a file is never
/// replaced by a regular one.
public final class DeviceSink: ByteSink {
    private let fd: Int32
    private let path: String

    /// Opens `path` if it exists and is a character device or a FIFO; nil
    /// otherwise.
    public init?(path: String) throws {
        guard let info = try? System.status(path), [S_IFCHR, S_IFIFO].contains(info.st_mode & S_IFMT) else { return nil }
        self.path = path
        fd = try POSIX.open(path, flags: O_WRONLY, what: "'\(shownPath(path))'")
    }

    deinit { POSIX.close(fd) }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try POSIX.writeAll(fd, bytes, what: "'\(shownPath(path))'")
    }
}

/// Where a command's file output goes: standard output for `-`, a device
/// or FIFO written directly, or a regular file written atomically (which
/// the caller commits once everything checked out).
public enum OutputFile {
    public static func open(_ path: String, mode: mode_t, replaceExisting: Bool) throws -> (sink: ByteSink, file: AtomicFileSink?) {
        if path == "-" { return (StandardOutputSink(), nil) }
        if let device = try DeviceSink(path: path) { return (device, nil) }
        let file = try AtomicFileSink(path: path, mode: mode, replaceExisting: replaceExisting)
        return (file, file)
    }
}

/// A file written under a temporary name in its final directory, flushed to
/// disk and moved under its name only by ``commit()`` (or together with
/// others by ``commitTogether(_:)``). A run that fails or is killed before
/// then leaves nothing under the final name: the temporary file is removed
/// when the sink is released uncommitted, or by the program's signal
/// handling (``TemporaryFiles``); after a SIGKILL it remains only under its
/// hidden temporary name.
public final class AtomicFileSink: ByteSink {
    /// The final path.
    public let path: String
    private let temporaryPath: String
    private let mode: mode_t
    private let replaceExisting: Bool
    private var fd: Int32
    private var state = State.writing
    private var registration: Int?

    private enum State { case writing, flushed, published }

    /// Room left in a name for the hidden temporary's `.` prefix and
    /// `.<12 hex>.partial` suffix (NAME_MAX is 255 bytes).
    private static let temporaryNameLimit = 255 - 22

    /// Creates the temporary file beside `path`.
    ///
    /// - Parameters:
    ///   - mode: the final file's permissions (0600 for anything secret).
    ///   - replaceExisting: when false, an existing file at `path` is an
    ///     error, now and again at commit. Even when true, only a regular
    ///     file (or a symbolic link) is replaced, never a directory or a
    ///     device.
    public init(path: String, mode: mode_t, replaceExisting: Bool) throws {
        let shown = shownPath(path)
        guard !path.isEmpty else { throw SealedArchiveError(.invalidArgument, "the output file name is empty") }
        guard !PathName.namesDirectory(path) else {
            throw SealedArchiveError(.invalidArgument, "'\(shown)' names a directory: give the output a file name")
        }
        self.path = path
        self.mode = mode
        self.replaceExisting = replaceExisting
        try Self.checkReplaceable(path, replaceExisting: replaceExisting)
        let (directory, name) = PathName.split(path)
        var suffix = [UInt8](repeating: 0, count: 6)
        try suffix.withUnsafeMutableBytes { try randomBytes($0) }
        let hidden = ".\(PathName.shortenedName(name, limit: Self.temporaryNameLimit)).\(HexCoding.encode(suffix)).partial"
        temporaryPath = PathName.join(directory, hidden)
        // Registered before it exists, so a signal arriving in between
        // still removes it; refused once termination began.
        registration = try TemporaryFiles.register(temporaryPath)
        do {
            // Created 0600 whatever the final mode: nothing is readable by
            // others while it is being written.
            fd = try POSIX.open(temporaryPath, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600,
                                what: "a temporary file beside '\(shown)'")
        } catch {
            registration.map(TemporaryFiles.unregister)
            throw error
        }
    }

    deinit {
        if fd >= 0 { POSIX.close(fd) }
        if state != .published { try? System.unlink(temporaryPath) }
        registration.map(TemporaryFiles.unregister)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard state == .writing && fd >= 0 else {
            throw SealedArchiveError(.invalidArgument, "'\(shownPath(path))' was already committed: nothing more can be written to it")
        }
        try POSIX.writeAll(fd, bytes, what: "'\(shownPath(path))'")
    }

    /// Flushes the file to disk, gives it its final mode and moves it under
    /// its final name, then flushes the directory so the rename survives a
    /// crash.
    public func commit() throws {
        try Self.commitTogether([self])
    }

    /// Commits several files so that they appear together or not at all
    /// (an archive, its checksum file, the chain state that records it):
    /// all are flushed first; then, in one commit that a termination signal
    /// cannot split, each is moved under its name in the order given, and
    /// if one move fails, those already made are undone. Put a file that
    /// replaces an earlier version (a state file) last: it is the one step
    /// that cannot be undone.
    public static func commitTogether(_ files: [AtomicFileSink]) throws {
        try TemporaryFiles.checkOpen()
        for file in files { try file.flush() }
        try TemporaryFiles.commit {
            var published: [AtomicFileSink] = []
            do {
                for file in files {
                    try file.publish()
                    published.append(file)
                }
            } catch {
                for file in published.reversed() { file.unpublish() }
                throw error
            }
        }
        for directory in Set(files.map { PathName.split($0.path).directory }) { syncDirectory(directory) }
    }

    /// Gives the file its mode and flushes it to disk.
    private func flush() throws {
        guard state == .writing else { throw SealedArchiveError(.invalidArgument, "'\(shownPath(path))' was already committed") }
        let shown = shownPath(path)
        try POSIX.attempt("cannot set the mode of '\(shown)'") { () throws(SystemError) in try System.setMode(fd, mode) }
        try POSIX.sync(fd, what: "'\(shown)'")
        let written = fd
        fd = -1
        try POSIX.close(written, what: "'\(shown)'")
        state = .flushed
    }

    /// Moves the flushed file under its final name.
    private func publish() throws {
        let shown = shownPath(path)
        try Self.checkReplaceable(path, replaceExisting: replaceExisting)
        if replaceExisting {
            try POSIX.attempt("cannot move the output into place at '\(shown)'") { () throws(SystemError) in try System.rename(temporaryPath, path) }
        } else {
            // link() fails if the name exists, so a file that appeared since
            // we started is never replaced.
            do {
                try System.link(temporaryPath, path)
            } catch where error.isExisting {
                throw SealedArchiveError(.io, "'\(shown)' already exists; choose another name or remove it first")
            } catch {
                throw POSIX.error("cannot move the output into place at '\(shown)'", error)
            }
            try? System.unlink(temporaryPath)
        }
        state = .published
        registration.map(TemporaryFiles.unregister)
        registration = nil
    }

    /// Undoes ``publish()`` when a later file of the same group failed:
    /// the group's outputs appear together or not at all.
    private func unpublish() {
        try? System.unlink(path)
        state = .flushed
    }

    /// Refuses an existing output that must not be replaced: any file
    /// without `replaceExisting`, and a directory, device, FIFO or socket
    /// even with it (renaming over `/dev/null` would replace the device).
    private static func checkReplaceable(_ path: String, replaceExisting: Bool) throws {
        guard let info = try POSIX.linkStatus(path) else { return }
        let shown = shownPath(path)
        guard replaceExisting else {
            throw SealedArchiveError(.io, "'\(shown)' already exists; choose another name or remove it first")
        }
        let kind = info.st_mode & S_IFMT
        guard kind == S_IFREG || kind == S_IFLNK else {
            throw SealedArchiveError(.io, "'\(shown)' exists and is not a regular file: it is not replaced")
        }
    }

    static func exists(_ path: String) -> Bool {
        System.exists(path)
    }

    /// Best effort: a directory that cannot be opened or flushed (some
    /// network filesystems) does not fail an otherwise complete write.
    package static func syncDirectory(_ directory: String) {
        guard let dfd = try? System.open(directory, flags: O_RDONLY | O_DIRECTORY) else { return }
        try? System.sync(dfd)
        try? System.close(dfd)
    }
}
