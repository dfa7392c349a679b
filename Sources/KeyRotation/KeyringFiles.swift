import Foundation
import SystemCalls
import SealedArchive

/// The keyring's files (Spec/KEYRING.md section 2) and the checks and writes
/// on them: modes, atomic JSON, removal. Secrets never pass through here;
/// they are written and read by SealedArchive's ``KeyFiles``.
struct KeyringFiles {
    static let policyName = "policy.json"
    static let keysName = "keys"
    static let reviewLogName = "review.log"
    static let indexName = "keyring.json"
    static let lockName = ".lock"
    /// How long a writer waits for another to finish before giving up.
    static let lockTimeout: Double = 30

    /// The keyring directory.
    let root: String

    var policy: String { Self.join(root, Self.policyName) }
    var keys: String { Self.join(root, Self.keysName) }
    var reviewLog: String { Self.join(root, Self.reviewLogName) }
    var index: String { Self.join(root, Self.indexName) }
    var lockFile: String { Self.join(root, Self.lockName) }
    func secret(_ id: KeyID) -> String { Self.join(keys, "\(id).key") }

    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    // MARK: Modes

    /// Refuses the keyring unless the directory and `keys/` are directories
    /// only their owner can use, and every entry in them is a regular file
    /// (or, in the top directory, `keys/`) that only its owner can use.
    /// Names the first offender and the `chmod` that fixes it.
    func checkModes() throws {
        let entries = try unsafeEntries()
        if let odd = entries.first(where: { !$0.isLoose }) { throw SealedArchiveError(.unsafeKeyFile, odd.fix) }
        guard let first = entries.first else { return }
        var message = first.fix
        if entries.count > 1 {
            message += " (and \(entries.count - 1) more; fix them all with: chmod -R go= '\(root)')"
        }
        throw SealedArchiveError(.unsafeKeyFile, message)
    }

    /// An entry of the keyring that makes it unsafe to use: too loose a
    /// mode, or not a regular file.
    struct UnsafeEntry {
        let path: String
        let isLoose: Bool
        let fix: String
    }

    /// Every unsafe entry of the keyring, in listing order. Throws only when
    /// the keyring directory or `keys/` cannot be listed.
    func unsafeEntries() throws -> [UnsafeEntry] {
        let info: System.FileStatus
        do {
            info = try System.status(root)
        } catch where error.isNoEntry {
            throw SealedArchiveError(.io, "there is no keyring at '\(root)': create one first")
        } catch {
            throw POSIX.error("cannot examine the keyring '\(root)'", error)
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw SealedArchiveError(.io, "the keyring '\(root)' is not a directory")
        }
        var odd: [UnsafeEntry] = []
        var loose: [UnsafeEntry] = []
        func looseFix(_ path: String, _ mode: mode_t, isDirectory: Bool) -> UnsafeEntry {
            UnsafeEntry(path: path, isLoose: true,
                        fix: "keyring \(isDirectory ? "directory" : "file") '\(path)' can be used by group or others (mode 0\(String(mode & 0o777, radix: 8))); "
                            + "fix it with: chmod \(isDirectory ? "700" : "600") '\(path)'")
        }
        if info.st_mode & 0o077 != 0 { loose.append(looseFix(root, info.st_mode, isDirectory: true)) }
        for (directory, allowsKeysDirectory) in [(root, true), (keys, false)] {
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
            } catch {
                if directory == keys, !Self.exists(keys) {
                    throw SealedArchiveError(.invalidKey, "the keyring '\(root)' has no keys directory '\(keys)': it is not a keyring or is damaged")
                }
                throw SealedArchiveError(.io, "cannot list '\(directory)': \(error.localizedDescription)")
            }
            for name in names {
                let path = Self.join(directory, name)
                // nil: a temporary file renamed or removed by a writer since
                // the listing; it is no longer there to be unsafe.
                guard let entry = try POSIX.linkStatus(path) else { continue }
                let type = entry.st_mode & S_IFMT
                let isKeysDirectory = allowsKeysDirectory && name == Self.keysName
                guard type == S_IFREG || (type == S_IFDIR && isKeysDirectory) else {
                    odd.append(UnsafeEntry(path: path, isLoose: false,
                        fix: "'\(path)' is \(type == S_IFLNK ? "a symbolic link" : type == S_IFDIR ? "a directory" : "not a regular file"): "
                            + "a keyring holds only regular files and its keys directory; move it out of the keyring"))
                    continue
                }
                if entry.st_mode & 0o077 != 0 { loose.append(looseFix(path, entry.st_mode, isDirectory: type == S_IFDIR)) }
            }
        }
        return odd + loose
    }

    /// The names in `directory`, sorted; none if it cannot be listed.
    static func names(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    /// Whether `name` is the hidden temporary file of an unfinished atomic
    /// write (`.<name>.<random>.partial`).
    static func isTemporary(_ name: String) -> Bool {
        name.hasPrefix(".") && name.hasSuffix(".partial")
    }

    // MARK: Lock

    /// Takes the keyring's lock (Spec/KEYRING.md section 2.1): exclusive for
    /// writers, which create the lock file when it is missing; shared for a
    /// reader that waits out a writer, which gets nil when there is no lock
    /// file (no writer ever ran, so none is running).
    func lock(exclusive: Bool) throws -> FileLock? {
        try FileLock.acquire(lockFile, exclusive: exclusive, create: exclusive, timeout: Self.lockTimeout,
                             what: "the keyring '\(root)'")
    }

    // MARK: JSON files

    /// Reads and decodes a keyring JSON file.
    func read<T: Decodable>(_ type: T.Type, path: String, what: String) throws -> T {
        if !Self.exists(path) {
            throw SealedArchiveError(.invalidKey, "the keyring '\(root)' has no \(what) '\(path)': it is not a keyring or is damaged")
        }
        let data = Data(try TextFile.read(path, what: what, limit: 64 << 20, allowStandardInput: false, followLinks: false))
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw SealedArchiveError(.invalidKey, "'\(path)' is not a valid \(what): \(Self.describe(error))")
        }
    }

    /// Writes `value` as pretty JSON to `path`, 0600, through a temporary
    /// file that is flushed and renamed: readers see the old file or the new
    /// one, never a mix. `replace` false refuses an existing file.
    func write(_ value: some Encodable, path: String, replace: Bool) throws {
        var bytes = [UInt8](try KeyringJSON.encode(value, pretty: true))
        bytes.append(UInt8(ascii: "\n"))
        let sink = try AtomicFileSink(path: path, mode: 0o600, replaceExisting: replace)
        try bytes.withUnsafeBytes { try sink.write($0) }
        try sink.commit()
    }

    // MARK: Other operations

    /// Appends one line to the review log with O_APPEND, creating it 0600,
    /// and flushes it. Refuses a log that is not a regular file only its
    /// owner can use.
    func appendToReviewLog(_ line: String) throws {
        let path = reviewLog
        let created = !Self.exists(path)
        let fd = try POSIX.open(path, flags: O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, mode: 0o600,
                                what: "the review log '\(path)'")
        defer { POSIX.close(fd) }
        let info = try POSIX.status(fd, what: "the review log '\(path)'")
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw SealedArchiveError(.unsafeKeyFile, "the review log '\(path)' is not a regular file")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw SealedArchiveError(.unsafeKeyFile,
                "keyring file '\(path)' can be used by group or others (mode 0\(String(info.st_mode & 0o777, radix: 8))); fix it with: chmod 600 '\(path)'")
        }
        // A previous append cut short (disk full, crash) left a line without
        // its newline: start on a new line so this entry stays whole and only
        // the damaged one is rejected by check.
        var last: UInt8 = UInt8(ascii: "\n")
        if info.st_size > 0 {
            let read = withUnsafeMutableBytes(of: &last) { try? System.read(fd, into: $0, at: Int64(info.st_size) - 1) }
            if read != 1 { last = UInt8(ascii: "\n") }
        }
        // One write() of the whole line: O_APPEND places it at the end in one
        // piece, so concurrent reviews cannot interleave within a line.
        let bytes = Array(((last == UInt8(ascii: "\n") ? "" : "\n") + line + "\n").utf8)
        try bytes.withUnsafeBytes { try POSIX.writeAll(fd, $0, what: "the review log '\(path)'") }
        try POSIX.sync(fd, what: "the review log '\(path)'")
        if created { Self.syncDirectory(root) }
    }

    /// Removes a file; one that is already gone is not an error.
    func remove(_ path: String) throws {
        do {
            try System.unlink(path)
        } catch where error.isNoEntry {
            return
        } catch {
            throw POSIX.error("cannot remove '\(path)'", error)
        }
    }

    /// Makes a directory only its owner can use (whatever the umask).
    static func makeDirectory(_ path: String) throws {
        try POSIX.attempt("cannot create the directory '\(path)'") { () throws(SystemError) in try System.makeDirectory(path, mode: 0o700) }
        try POSIX.attempt("cannot set the mode of '\(path)'") { () throws(SystemError) in try System.setMode(path, 0o700) }
    }

    /// Creates a hidden directory (0700) beside `path`, in its parent, to
    /// build something that is then renamed to `path`.
    static func makeStagingDirectory(beside path: String) throws -> String {
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        let parent = parent(of: trimmed)
        let base = trimmed.split(separator: "/").last.map(String.init) ?? trimmed
        let staging = try POSIX.makeTemporaryDirectory(join(parent, ".\(base).init.XXXXXX"), what: "a directory beside '\(path)'")
        try POSIX.attempt("cannot set the mode of '\(staging)'") { () throws(SystemError) in try System.setMode(staging, 0o700) }
        return staging
    }

    /// The directory `path` is in.
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Removes a directory tree this process made; best effort.
    static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Whether anything (even a dangling link) is at `path`.
    static func exists(_ path: String) -> Bool {
        System.exists(path)
    }

    /// Flushes a directory so renames and removals in it survive a crash.
    /// Best effort, as for ``AtomicFileSink``.
    static func syncDirectory(_ path: String) {
        AtomicFileSink.syncDirectory(path)
    }

    /// A decoding error in one line: the field and what is wrong with it.
    static func describe(_ error: Error) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map(\.stringValue).filter { !$0.isEmpty }
            return keys.isEmpty ? "" : "field \(keys.joined(separator: ".")): "
        }
        switch error {
        case DecodingError.keyNotFound(let key, let context): return "\(path(context))field \(key.stringValue) is missing"
        case DecodingError.valueNotFound(_, let context): return "\(path(context))a value is missing"
        case DecodingError.typeMismatch(_, let context): return "\(path(context))a value has the wrong type"
        case DecodingError.dataCorrupted(let context): return "\(path(context))\(context.debugDescription)"
        default: return "it is not JSON"
        }
    }
}

extension KeyringFiles {
    /// Moves the review log's lines that are not entries to
    /// `review.log.rejected` (appended, 0600) and replaces the log with the
    /// others, atomically. Called under the keyring's lock.
    func rejectDamagedReviewLogLines() throws {
        let decoder = JSONDecoder()
        var kept: [UInt8] = []
        var rejected: [UInt8] = []
        for line in TextLines.numbered(try TextFile.read(reviewLog, what: "review log", limit: 64 << 20, allowStandardInput: false, followLinks: false)) {
            if line.bytes.isEmpty { continue }
            let good = (try? decoder.decode(ReviewLogEntry.self, from: Data(line.bytes))) != nil
            if good { kept += line.bytes + [UInt8(ascii: "\n")] } else { rejected += line.bytes + [UInt8(ascii: "\n")] }
        }
        // The rejected lines are kept first, so nothing is lost if the
        // process dies between the two writes (they would be moved twice,
        // never dropped).
        let path = reviewLog + ".rejected"
        let fd = try POSIX.open(path, flags: O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, mode: 0o600, what: "'\(path)'")
        defer { POSIX.close(fd) }
        guard try POSIX.status(fd, what: "'\(path)'").st_mode & S_IFMT == S_IFREG else {
            throw SealedArchiveError(.unsafeKeyFile, "'\(path)' is not a regular file")
        }
        try rejected.withUnsafeBytes { try POSIX.writeAll(fd, $0, what: "'\(path)'") }
        try POSIX.sync(fd, what: "'\(path)'")
        let sink = try AtomicFileSink(path: reviewLog, mode: 0o600, replaceExisting: true)
        try kept.withUnsafeBytes { try sink.write($0) }
        try sink.commit()
    }
}
