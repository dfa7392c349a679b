import CSystemShim
import Glibc

/// The one layer that makes system calls. Every target reaches the C
/// library through these wrappers (with `package` access, so no C function
/// leaks into a public API); each turns a failing return code into a
/// ``SystemError`` carrying `errno`, and retries EINTR where retrying is
/// what every caller wants. Messages for people are added one layer up
/// (SealedArchive's `POSIX`), which knows what the file is.
///
/// The package builds and is tested on Linux (glibc) only.
package enum System {
    package typealias FileStatus = Glibc.stat
    package typealias TerminalAttributes = termios

    // MARK: Descriptors

    /// Opens `path`; the descriptor is always close-on-exec.
    ///
    /// The corresponding C function is `open`.
    package static func open(_ path: String, flags: Int32, mode: mode_t = 0) throws(SystemError) -> Int32 {
        try valueOrErrno { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// Closes `fd`. Not retried on EINTR: on Linux the descriptor is gone
    /// whatever close returns.
    ///
    /// The corresponding C function is `close`.
    package static func close(_ fd: Int32) throws(SystemError) {
        try nothingOrErrno(retryOnInterrupt: false) { Glibc.close(fd) }
    }

    /// Reads up to `buffer.count` bytes; 0 at end of input.
    ///
    /// The corresponding C function is `read`.
    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int {
        try valueOrErrno { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Reads up to `buffer.count` bytes at `offset` without moving the file
    /// position; 0 at end of file.
    ///
    /// The corresponding C function is `pread`.
    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(SystemError) -> Int {
        try valueOrErrno { pread(fd, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// Writes some of `bytes`; returns how many.
    ///
    /// The corresponding C function is `write`.
    package static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemError) -> Int {
        try valueOrErrno { Glibc.write(fd, bytes.baseAddress, bytes.count) }
    }

    /// Writes all of `bytes`, continuing after short writes.
    ///
    /// The corresponding C function is `write`.
    package static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let n = try write(fd, UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            // write(2) returns 0 only for a zero-length request.
            guard n > 0 else { throw SystemError(errno: EIO) }
            offset += n
        }
    }

    /// The status of an open descriptor.
    ///
    /// The corresponding C function is `fstat`.
    package static func status(_ fd: Int32) throws(SystemError) -> FileStatus {
        var info = FileStatus()
        try nothingOrErrno { fstat(fd, &info) }
        return info
    }

    /// Flushes a descriptor's data and metadata to stable storage.
    ///
    /// The corresponding C function is `fsync`.
    package static func sync(_ fd: Int32) throws(SystemError) {
        try nothingOrErrno { fsync(fd) }
    }

    /// Flushes the whole filesystem that holds `fd` (and only that one).
    ///
    /// The corresponding C function is `syncfs`.
    package static func syncFileSystem(_ fd: Int32) throws(SystemError) {
        try nothingOrErrno { csystem_syncfs(fd) }
    }

    /// Makes glibc serve blocks of `bytes` and more with mmap and give them
    /// back to the system when freed, instead of raising its threshold to
    /// the largest block freed and keeping such blocks in per-thread heaps.
    /// Returns whether glibc accepted it.
    ///
    /// The corresponding C function is `mallopt(M_MMAP_THRESHOLD, …)`.
    package static func setMemoryMapThreshold(_ bytes: Int32) -> Bool {
        csystem_set_mmap_threshold(bytes) == 1
    }

    /// The size of `path` if it is a regular file (following symbolic
    /// links), else nil.
    ///
    /// The corresponding C function is `stat`.
    package static func regularFileSize(_ path: String) -> Int? {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        return Int(info.st_size)
    }

    /// Sets the permission bits of an open file.
    ///
    /// The corresponding C function is `fchmod`.
    package static func setMode(_ fd: Int32, _ mode: mode_t) throws(SystemError) {
        try nothingOrErrno { fchmod(fd, mode) }
    }

    /// The descriptor's status flags (`O_NONBLOCK`, …).
    ///
    /// The corresponding C function is `fcntl` with `F_GETFL`.
    package static func statusFlags(_ fd: Int32) throws(SystemError) -> Int32 {
        try valueOrErrno { fcntl(fd, F_GETFL) }
    }

    /// Replaces the descriptor's status flags.
    ///
    /// The corresponding C function is `fcntl` with `F_SETFL`.
    package static func setStatusFlags(_ fd: Int32, _ flags: Int32) throws(SystemError) {
        try nothingOrErrno { fcntl(fd, F_SETFL, flags) }
    }

    /// Tries once to take a `flock` lock without waiting: false when
    /// another descriptor holds a conflicting lock.
    ///
    /// The corresponding C function is `flock`.
    package static func tryLock(_ fd: Int32, exclusive: Bool) throws(SystemError) -> Bool {
        do {
            try nothingOrErrno { flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) }
            return true
        } catch where error.wouldBlock {
            return false
        }
    }

    /// Whether `fd` is a terminal.
    ///
    /// The corresponding C function is `isatty`.
    package static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    // MARK: Names

    /// The status of `path` itself (a symbolic link is not followed), or
    /// nil when nothing is there.
    ///
    /// The corresponding C function is `lstat`.
    package static func linkStatus(_ path: String) throws(SystemError) -> FileStatus? {
        var info = FileStatus()
        do {
            try nothingOrErrno { lstat(path, &info) }
            return info
        } catch where error.isNoEntry {
            return nil
        }
    }

    /// The status of what `path` names, symbolic links followed.
    ///
    /// The corresponding C function is `stat`.
    package static func status(_ path: String) throws(SystemError) -> FileStatus {
        var info = FileStatus()
        try nothingOrErrno { stat(path, &info) }
        return info
    }

    /// Whether `path` is a directory (following symbolic links); false when
    /// it cannot be examined.
    package static func isDirectory(_ path: String) -> Bool {
        guard let info = try? status(path) else { return false }
        return info.st_mode & S_IFMT == S_IFDIR
    }

    /// Whether anything (even a dangling symbolic link) is at `path`.
    package static func exists(_ path: String) -> Bool {
        (try? linkStatus(path)) != nil
    }

    /// Moves `from` to `to`, replacing what is there.
    ///
    /// The corresponding C function is `rename`.
    package static func rename(_ from: String, _ to: String) throws(SystemError) {
        try nothingOrErrno { Glibc.rename(from, to) }
    }

    /// Makes a second name; fails with EEXIST when `to` exists.
    ///
    /// The corresponding C function is `link`.
    package static func link(_ from: String, _ to: String) throws(SystemError) {
        try nothingOrErrno { Glibc.link(from, to) }
    }

    /// Removes a name.
    ///
    /// The corresponding C function is `unlink`.
    package static func unlink(_ path: String) throws(SystemError) {
        try nothingOrErrno { Glibc.unlink(path) }
    }

    /// Creates a directory.
    ///
    /// The corresponding C function is `mkdir`.
    package static func makeDirectory(_ path: String, mode: mode_t) throws(SystemError) {
        try nothingOrErrno { mkdir(path, mode) }
    }

    /// Removes an empty directory.
    ///
    /// The corresponding C function is `rmdir`.
    package static func removeDirectory(_ path: String) throws(SystemError) {
        try nothingOrErrno { rmdir(path) }
    }

    /// Sets the permission bits of `path`.
    ///
    /// The corresponding C function is `chmod`.
    package static func setMode(_ path: String, _ mode: mode_t) throws(SystemError) {
        try nothingOrErrno { chmod(path, mode) }
    }

    /// Sets the permission bits of `path` given as raw bytes (a name from
    /// an archive need not be UTF-8).
    ///
    /// The corresponding C function is `chmod`.
    package static func setMode(_ path: [UInt8], _ mode: mode_t) throws(SystemError) {
        let name = cString(path)
        try nothingOrErrno { chmod(name, mode) }
    }

    /// Sets the access and modification times of `path` (raw bytes; a
    /// symbolic link itself, not followed) to `seconds` since the epoch.
    ///
    /// The corresponding C function is `utimensat`.
    package static func setTimes(_ path: [UInt8], seconds: Int64) throws(SystemError) {
        let name = cString(path)
        var times = [timespec(tv_sec: Int(seconds), tv_nsec: 0), timespec(tv_sec: Int(seconds), tv_nsec: 0)]
        try nothingOrErrno { utimensat(AT_FDCWD, name, &times, AT_SYMLINK_NOFOLLOW) }
    }

    /// A NUL-terminated copy of raw path bytes, passed to C as `const char *`.
    private static func cString(_ path: [UInt8]) -> [CChar] {
        path.map { CChar(bitPattern: $0) } + [0]
    }

    /// Creates a new directory, mode 0700, from a template ending in
    /// `XXXXXX`, and returns its path.
    ///
    /// The corresponding C function is `mkdtemp`.
    package static func makeTemporaryDirectory(_ template: String) throws(SystemError) -> String {
        var bytes = Array(template.utf8CString)
        guard mkdtemp(&bytes) != nil else { throw SystemError.current }
        return String(decoding: bytes.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The canonical absolute path of an existing `path`.
    ///
    /// The corresponding C function is `realpath`.
    package static func canonicalPath(_ path: String) throws(SystemError) -> String {
        guard let resolved = realpath(path, nil) else { throw SystemError.current }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The target of a symbolic link, as raw bytes.
    ///
    /// The corresponding C function is `readlink`.
    package static func linkTarget(_ path: String) throws(SystemError) -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = buffer.count
        let n = try valueOrErrno { readlink(path, &buffer, count) }
        return buffer[..<n].map { UInt8(bitPattern: $0) }
    }

    /// The names in a directory, `.` and `..` left out, in no order.
    ///
    /// The corresponding C functions are `opendir` and `readdir`.
    package static func directoryNames(_ path: String) throws(SystemError) -> [String] {
        guard let directory = opendir(path) else { throw SystemError.current }
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

    // MARK: Names as raw bytes (file names need not be UTF-8)

    /// ``linkStatus(_:)`` for a path given as bytes; throws ENOENT too.
    ///
    /// The corresponding C function is `lstat`.
    package static func linkStatus(bytes path: [UInt8]) throws(SystemError) -> FileStatus {
        let name = cString(path)
        var info = FileStatus()
        try nothingOrErrno { lstat(name, &info) }
        return info
    }

    /// ``open(_:flags:mode:)`` for a path given as bytes.
    ///
    /// The corresponding C function is `open`.
    package static func open(bytes path: [UInt8], flags: Int32) throws(SystemError) -> Int32 {
        let name = cString(path)
        return try valueOrErrno { Glibc.open(name, flags | O_CLOEXEC) }
    }

    /// The target of a symbolic link given as bytes.
    ///
    /// The corresponding C function is `readlink`.
    package static func linkTarget(bytes path: [UInt8]) throws(SystemError) -> [UInt8] {
        let name = cString(path)
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = buffer.count
        let n = try valueOrErrno { readlink(name, &buffer, count) }
        return buffer[..<n].map { UInt8(bitPattern: $0) }
    }

    /// The names in a directory given as bytes, `.` and `..` left out, in
    /// no order; an error while reading it is an error, not a short list.
    ///
    /// The corresponding C functions are `opendir` and `readdir`.
    package static func directoryNames(bytes path: [UInt8]) throws(SystemError) -> [[UInt8]] {
        let name = cString(path)
        guard let directory = opendir(name) else { throw SystemError.current }
        defer { closedir(directory) }
        var names: [[UInt8]] = []
        while true {
            Glibc.errno = 0
            guard let entry = readdir(directory) else {
                if Glibc.errno != 0 { throw SystemError.current }
                break
            }
            let item = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
            if item == [UInt8(ascii: ".")] || item == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
            names.append(item)
        }
        return names
    }

    // MARK: Terminal

    /// The terminal settings of `fd`.
    ///
    /// The corresponding C function is `tcgetattr`.
    package static func terminalAttributes(_ fd: Int32) throws(SystemError) -> TerminalAttributes {
        var attributes = TerminalAttributes()
        try nothingOrErrno { tcgetattr(fd, &attributes) }
        return attributes
    }

    /// Applies terminal settings after pending output, discarding pending input.
    ///
    /// The corresponding C function is `tcsetattr` with `TCSAFLUSH`.
    package static func setTerminalAttributes(_ fd: Int32, _ attributes: TerminalAttributes) throws(SystemError) {
        var attributes = attributes
        try nothingOrErrno { tcsetattr(fd, TCSAFLUSH, &attributes) }
    }

    /// `attributes` with echo turned off.
    package static func withoutEcho(_ attributes: TerminalAttributes) -> TerminalAttributes {
        var quiet = attributes
        quiet.c_lflag &= ~tcflag_t(ECHO)
        return quiet
    }

    // MARK: Process

    /// Processors online, at least 1.
    ///
    /// The corresponding C function is `sysconf` with `_SC_NPROCESSORS_ONLN`.
    package static var onlineProcessorCount: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// Seconds on the monotonic clock (not wall time: for timeouts).
    ///
    /// The corresponding C function is `clock_gettime` with `CLOCK_MONOTONIC`.
    package static var monotonicSeconds: Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// Sleeps the calling thread.
    ///
    /// The corresponding C function is `usleep`.
    package static func sleep(microseconds: UInt32) { usleep(microseconds) }
}
