import Foundation
import Glibc
import SealedArchive

/// The keyring's files (Spec/KEYRING.md section 2) and the checks and writes
/// on them: modes, atomic JSON, removal. Secrets never pass through here;
/// they are written and read by SealedArchive's ``KeyFiles``.
struct KeyringFiles {
    static let policyName = "policy.json"
    static let keysName = "keys"
    static let reviewLogName = "review.log"

    /// The keyring directory.
    let root: String

    var policy: String { Self.join(root, Self.policyName) }
    var keys: String { Self.join(root, Self.keysName) }
    var reviewLog: String { Self.join(root, Self.reviewLogName) }
    func metadata(_ id: KeyID) -> String { Self.join(keys, "\(id).json") }
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
        var info = stat()
        guard stat(root, &info) == 0 else {
            if errno == ENOENT {
                throw SealedArchiveError(.io, "there is no keyring at '\(root)': create one first")
            }
            throw Self.error("cannot examine the keyring '\(root)'")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw SealedArchiveError(.io, "the keyring '\(root)' is not a directory")
        }
        var loose: [(path: String, mode: mode_t, isDirectory: Bool)] = []
        if info.st_mode & 0o077 != 0 { loose.append((root, info.st_mode, true)) }
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
                var entry = stat()
                guard lstat(path, &entry) == 0 else { throw Self.error("cannot examine '\(path)'") }
                let type = entry.st_mode & S_IFMT
                let isKeysDirectory = allowsKeysDirectory && name == Self.keysName
                guard type == S_IFREG || (type == S_IFDIR && isKeysDirectory) else {
                    throw SealedArchiveError(.unsafeKeyFile,
                        "'\(path)' is \(type == S_IFLNK ? "a symbolic link" : type == S_IFDIR ? "a directory" : "not a regular file"): "
                            + "a keyring holds only regular files and its keys directory; move it out of the keyring")
                }
                if entry.st_mode & 0o077 != 0 { loose.append((path, entry.st_mode, type == S_IFDIR)) }
            }
        }
        guard let first = loose.first else { return }
        let mode = String(first.mode & 0o777, radix: 8)
        var message = "keyring \(first.isDirectory ? "directory" : "file") '\(first.path)' can be used by group or others (mode 0\(mode)); "
            + "fix it with: chmod \(first.isDirectory ? "700" : "600") '\(first.path)'"
        if loose.count > 1 {
            message += " (and \(loose.count - 1) more; fix them all with: chmod -R go= '\(root)')"
        }
        throw SealedArchiveError(.unsafeKeyFile, message)
    }

    // MARK: JSON files

    /// Reads and decodes a keyring JSON file.
    func read<T: Decodable>(_ type: T.Type, path: String, what: String) throws -> T {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            if !Self.exists(path) {
                throw SealedArchiveError(.invalidKey, "the keyring '\(root)' has no \(what) '\(path)': it is not a keyring or is damaged")
            }
            throw SealedArchiveError(.io, "cannot read '\(path)': \(error.localizedDescription)")
        }
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
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw Self.error("cannot open the review log '\(path)'") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Self.error("cannot examine the review log '\(path)'") }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw SealedArchiveError(.unsafeKeyFile, "the review log '\(path)' is not a regular file")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw SealedArchiveError(.unsafeKeyFile,
                "keyring file '\(path)' can be used by group or others (mode 0\(String(info.st_mode & 0o777, radix: 8))); fix it with: chmod 600 '\(path)'")
        }
        // One write() of the whole line: O_APPEND places it at the end in one
        // piece, so concurrent reviews cannot interleave within a line.
        let bytes = Array((line + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n > 0 { offset += n; continue }
            if n < 0 && errno == EINTR { continue }
            throw Self.error("cannot write the review log '\(path)'")
        }
        while fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw Self.error("cannot flush the review log '\(path)' to disk")
        }
        if created { Self.syncDirectory(root) }
    }

    /// Removes a file; one that is already gone is not an error.
    func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw Self.error("cannot remove '\(path)'") }
    }

    /// Makes a directory only its owner can use (whatever the umask).
    static func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o700) == 0 else { throw error("cannot create the directory '\(path)'") }
        guard chmod(path, 0o700) == 0 else { throw error("cannot set the mode of '\(path)'") }
    }

    /// Whether anything (even a dangling link) is at `path`.
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Flushes a directory so renames and removals in it survive a crash.
    /// Best effort, as for ``AtomicFileSink``.
    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    static func error(_ what: String, errno code: Int32 = errno) -> SealedArchiveError {
        // SystemError (SealedArchive's errno cause) has no public initialiser.
        SealedArchiveError(.io, "\(what): \(String(cString: strerror(code)))")
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
