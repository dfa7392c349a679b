import Glibc

/// The one place that makes POSIX file calls and turns `errno` into errors.
package enum POSIX {
    package static func error(_ what: String, errno code: Int32 = errno) -> SealedArchiveError {
        SealedArchiveError(.io, "\(what): \(String(cString: strerror(code)))", cause: SystemError(errno: code))
    }

    /// Reads up to `buffer.count` bytes; 0 at end of input. Retries on EINTR.
    ///
    /// The corresponding C function is `read`.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, what: @autoclosure () -> String) throws -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw error("cannot read \(what())")
        }
    }

    /// Writes all of `bytes`, retrying short writes and EINTR.
    ///
    /// The corresponding C function is `write`.
    package static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, what: @autoclosure () -> String) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n > 0 { offset += n; continue }
            if n < 0 && errno == EINTR { continue }
            throw error("cannot write \(what())")
        }
    }

    /// Opens `path`; the descriptor is close-on-exec.
    ///
    /// The corresponding C function is `open`.
    static func open(_ path: String, flags: Int32, mode: mode_t = 0, what: @autoclosure () -> String) throws -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw error("cannot open \(what())")
        }
    }

    /// The status of an open descriptor.
    ///
    /// The corresponding C function is `fstat`.
    static func status(_ fd: Int32, what: @autoclosure () -> String) throws -> stat {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw error("cannot examine \(what())") }
        return info
    }

    /// Flushes a descriptor to stable storage.
    ///
    /// The corresponding C function is `fsync`.
    package static func sync(_ fd: Int32, what: @autoclosure () -> String) throws {
        while fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw error("cannot flush \(what()) to disk")
        }
    }

    /// Takes a `flock` lock on `fd`, polling every 20 ms for up to `timeout`
    /// seconds (flock itself cannot wait with a deadline).
    ///
    /// The corresponding C function is `flock`.
    static func lock(_ fd: Int32, exclusive: Bool, timeout: Double, what: @autoclosure () -> String) throws {
        let operation = (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        while true {
            if flock(fd, operation) == 0 { return }
            guard errno == EWOULDBLOCK || errno == EINTR else { throw error("cannot lock \(what())") }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let waited = Double(now.tv_sec - start.tv_sec) + Double(now.tv_nsec - start.tv_nsec) / 1e9
            if waited >= timeout {
                throw SealedArchiveError(.io,
                    "\(what()) is still in use by another process after \(Int(timeout.rounded())) s; try again when it has finished")
            }
            usleep(20_000)
        }
    }

    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Creates a new directory, mode 0700, from a template ending in
    /// `XXXXXX`, and returns its path.
    ///
    /// The corresponding C function is `mkdtemp`.
    static func makeTemporaryDirectory(_ template: String, what: @autoclosure () -> String) throws -> String {
        var bytes = Array(template.utf8CString)
        guard mkdtemp(&bytes) != nil else { throw error("cannot create \(what())") }
        return String(decoding: bytes.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Opens an existing file for reading without blocking on a FIFO with
    /// no writer, and returns the descriptor with its status once it is
    /// known to be a regular file (the descriptor checked is the one read).
    /// Anything else (a directory, a FIFO, a device, a socket) is refused
    /// with `code`: configuration and key files are never streams.
    ///
    /// The corresponding C functions are `open`, `fstat` and `fcntl`.
    static func openRegularFile(_ path: String, what: String, code: SealedArchiveError.Code,
                                followLinks: Bool = true) throws -> (fd: Int32, status: stat) {
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
            let flags = fcntl(fd, F_GETFL)
            guard flags >= 0, fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 else { throw error("cannot read \(what)") }
            return (fd, info)
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// The status of `path` itself (a symbolic link is not followed), or
    /// nil when nothing is there.
    ///
    /// The corresponding C function is `lstat`.
    static func linkStatus(_ path: String) throws -> stat? {
        var info = stat()
        if lstat(path, &info) == 0 { return info }
        if errno == ENOENT { return nil }
        throw error("cannot examine '\(shownPath(path))'")
    }

    /// The size of `path` if it is a regular file (following symbolic
    /// links), else nil.
    static func regularFileSize(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return Int(info.st_size)
    }

    /// Whether `path` is a directory (following symbolic links).
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }

    /// The names in a directory, `.` and `..` left out, in no order.
    ///
    /// The corresponding C functions are `opendir` and `readdir`.
    static func directoryNames(_ path: String) throws -> [String] {
        guard let directory = opendir(path) else { throw error("cannot read the directory '\(shownPath(path))'") }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Makes freed large blocks (1 MiB and up: batch buffers) go back to
    /// the system at once. glibc otherwise raises its mmap threshold to the
    /// largest block freed, so later batch buffers come from per-thread heaps
    /// that keep freed pages resident: with readers on several threads the
    /// resident size then grows past what ``WorkBudget`` allows in use.
    /// Setting the threshold fixes it (and turns off that adjustment).
    ///
    /// The corresponding C function is `mallopt(M_MMAP_THRESHOLD, …)`. Its
    /// header, malloc.h, is not in the Glibc module, so it is looked up by
    /// name (no C shim for one call); a C library without it is left as is.
    static let returnLargeBlocksToSystem: Void = {
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD in malloc.h
        guard let process = dlopen(nil, RTLD_NOW) else { return }
        defer { dlclose(process) }
        guard let symbol = dlsym(process, "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: Mallopt.self)(mmapThreshold, 1 << 20)
    }()
}
