import Foundation
import SystemCalls

/// Where SealedArchive's file work meets ``System`` (the package's one
/// system-call layer, Sources/SystemCalls): the same calls, each failure
/// turned into a ``SealedArchiveError`` `.io` whose one-line message names
/// the file and whose cause is the ``SystemError``.
package enum POSIX {
    /// The error for `what` failing with `cause`:
    /// "cannot open 'x': No such file or directory".
    package static func error(_ what: String, _ cause: SystemError) -> SealedArchiveError {
        SealedArchiveError(.io, "\(what): \(cause)", cause: cause)
    }

    /// The error for `what` failing with the thread's current `errno`.
    package static func error(_ what: String) -> SealedArchiveError { error(what, .current) }

    /// Runs `call`, turning its ``SystemError`` into ``error(_:_:)``.
    package static func attempt<R>(_ what: @autoclosure () -> String, _ call: () throws(SystemError) -> R) throws -> R {
        do {
            return try call()
        } catch {
            throw self.error(what(), error)
        }
    }

    /// Reads up to `buffer.count` bytes; 0 at end of input. Retries on EINTR.
    ///
    /// The corresponding C function is `read`.
    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, what: @autoclosure () -> String) throws -> Int {
        try attempt("cannot read \(what())") { () throws(SystemError) in try System.read(fd, into: buffer) }
    }

    /// Writes all of `bytes`, retrying short writes and EINTR.
    ///
    /// The corresponding C function is `write`.
    package static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, what: @autoclosure () -> String) throws {
        try attempt("cannot write \(what())") { () throws(SystemError) in try System.writeAll(fd, bytes) }
    }

    /// Opens `path`; the descriptor is close-on-exec.
    ///
    /// The corresponding C function is `open`.
    package static func open(_ path: String, flags: Int32, mode: mode_t = 0, what: @autoclosure () -> String) throws -> Int32 {
        try attempt("cannot open \(what())") { () throws(SystemError) in try System.open(path, flags: flags, mode: mode) }
    }

    /// Closes `fd`, ignoring failure (used where the descriptor was only
    /// read, or on an error path that already reports something).
    ///
    /// The corresponding C function is `close`.
    package static func close(_ fd: Int32) {
        try? System.close(fd)
    }

    /// Closes a descriptor that was written: a failure here can mean lost data.
    ///
    /// The corresponding C function is `close`.
    package static func close(_ fd: Int32, what: @autoclosure () -> String) throws {
        try attempt("cannot close \(what())") { () throws(SystemError) in try System.close(fd) }
    }

    /// The status of an open descriptor.
    ///
    /// The corresponding C function is `fstat`.
    package static func status(_ fd: Int32, what: @autoclosure () -> String) throws -> System.FileStatus {
        try attempt("cannot examine \(what())") { () throws(SystemError) in try System.status(fd) }
    }

    /// Flushes a descriptor to stable storage.
    ///
    /// The corresponding C function is `fsync`.
    package static func sync(_ fd: Int32, what: @autoclosure () -> String) throws {
        try attempt("cannot flush \(what()) to disk") { () throws(SystemError) in try System.sync(fd) }
    }

    /// Takes a `flock` lock on `fd`, polling every 20 ms for up to `timeout`
    /// seconds (flock itself cannot wait with a deadline).
    ///
    /// The corresponding C function is `flock`.
    package static func lock(_ fd: Int32, exclusive: Bool, timeout: Double, what: @autoclosure () -> String) throws {
        let start = System.monotonicSeconds
        while true {
            if try attempt("cannot lock \(what())", { () throws(SystemError) in try System.tryLock(fd, exclusive: exclusive) }) { return }
            if System.monotonicSeconds - start >= timeout {
                throw SealedArchiveError(.io,
                    "\(what()) is still in use by another process after \(Int(timeout.rounded())) s; try again when it has finished")
            }
            System.sleep(microseconds: 20_000)
        }
    }

    package static func isTerminal(_ fd: Int32) -> Bool { System.isTerminal(fd) }

    /// Creates a new directory, mode 0700, from a template ending in
    /// `XXXXXX`, and returns its path.
    ///
    /// The corresponding C function is `mkdtemp`.
    package static func makeTemporaryDirectory(_ template: String, what: @autoclosure () -> String) throws -> String {
        try attempt("cannot create \(what())") { () throws(SystemError) in try System.makeTemporaryDirectory(template) }
    }

    /// Opens an existing file for reading without blocking on a FIFO with
    /// no writer, and returns the descriptor with its status once it is
    /// known to be a regular file (the descriptor checked is the one read).
    /// Anything else (a directory, a FIFO, a device, a socket) is refused
    /// with `code`: configuration and key files are never streams.
    ///
    /// The corresponding C functions are `open`, `fstat` and `fcntl`.
    package static func openRegularFile(_ path: String, what: String, code: SealedArchiveError.Code,
                                        followLinks: Bool = true) throws -> (fd: Int32, status: System.FileStatus) {
        guard !path.isEmpty else { throw SealedArchiveError(.invalidArgument, "\(what): the file name is empty") }
        let fd = try open(path, flags: O_RDONLY | O_NONBLOCK | O_NOCTTY | (followLinks ? 0 : O_NOFOLLOW), what: what)
        do {
            let info = try status(fd, what: what)
            switch info.st_mode & S_IFMT {
            case S_IFREG: break
            case S_IFDIR: throw SealedArchiveError(code, "\(what) is a directory, not a file")
            default: throw SealedArchiveError(code, "\(what) is not a regular file (a pipe, device or socket): give a file, or '-' for standard input where the command takes it")
            }
            // Back to blocking reads: O_NONBLOCK was only for the open.
            try attempt("cannot read \(what)") { () throws(SystemError) in
                try System.setStatusFlags(fd, try System.statusFlags(fd) & ~O_NONBLOCK)
            }
            return (fd, info)
        } catch {
            close(fd)
            throw error
        }
    }

    /// The status of `path` itself (a symbolic link is not followed), or
    /// nil when nothing is there.
    ///
    /// The corresponding C function is `lstat`.
    package static func linkStatus(_ path: String) throws -> System.FileStatus? {
        try attempt("cannot examine '\(shownPath(path))'") { () throws(SystemError) in try System.linkStatus(path) }
    }

    /// The size of `path` if it is a regular file (following symbolic
    /// links), else nil.
    static func regularFileSize(_ path: String) -> Int? { System.regularFileSize(path) }

    /// Whether `path` is a directory (following symbolic links).
    package static func isDirectory(_ path: String) -> Bool { System.isDirectory(path) }

    /// The names in a directory, `.` and `..` left out, in no order.
    ///
    /// The corresponding C functions are `opendir` and `readdir`.
    package static func directoryNames(_ path: String) throws -> [String] {
        try attempt("cannot read the directory '\(shownPath(path))'") { () throws(SystemError) in try System.directoryNames(path) }
    }

    /// Makes freed large blocks (1 MiB and up: batch buffers) go back to
    /// the system at once. glibc otherwise raises its mmap threshold to the
    /// largest block freed, so later batch buffers come from per-thread heaps
    /// that keep freed pages resident: with readers on several threads the
    /// resident size then grows past what ``WorkBudget`` allows in use.
    /// Setting the threshold fixes it (and turns off that adjustment).
    static let returnLargeBlocksToSystem: Void = {
        _ = System.setMemoryMapThreshold(1 << 20)
    }()
}
