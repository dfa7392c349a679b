import Foundation

/// An advisory inter-process lock: `flock(2)` on a lock file. The kernel
/// releases it when the descriptor is closed, so a process that dies (even
/// by SIGKILL) never leaves it held; the descriptor is close-on-exec, so a
/// child process never inherits it.
///
/// Waiting is bounded: a holder that never finishes turns into a one-line
/// error instead of a hang.
public final class FileLock {
    /// The lock file.
    public let path: String
    private var fd: Int32

    /// Opens (creating it 0600 when `create` is true) the regular file at
    /// `path` and locks it, shared or exclusive, waiting up to `timeout`
    /// seconds for another process to release it. `what` names the locked
    /// thing in errors. Returns nil only when `create` is false and there is
    /// no lock file.
    public static func acquire(_ path: String, exclusive: Bool, create: Bool, timeout: Double,
                               what: @autoclosure () -> String) throws -> FileLock? {
        let flags = (create ? O_RDWR | O_CREAT : O_RDONLY) | O_NOFOLLOW | O_NONBLOCK
        let fd: Int32
        do {
            fd = try POSIX.open(path, flags: flags, mode: 0o600, what: "the lock file '\(path)'")
        } catch let error as SealedArchiveError where !create && (error.cause as? SystemError)?.errno == ENOENT {
            return nil
        }
        let lock = FileLock(path: path, fd: fd)
        let info = try POSIX.status(fd, what: "the lock file '\(path)'")
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw SealedArchiveError(.io, "the lock file '\(path)' is not a regular file; remove it")
        }
        try POSIX.lock(fd, exclusive: exclusive, timeout: timeout,
                       what: "\(what()) (lock file '\(path)')")
        return lock
    }

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    /// Releases the lock now rather than when the object is released.
    public func release() {
        if fd >= 0 { POSIX.close(fd) }
        fd = -1
    }

    deinit { release() }
}
