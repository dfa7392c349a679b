import Foundation
import TestSupport
import Glibc
import Testing

// Helpers for DirectoryRoundTripTests and CrashSafetyTests: a seeded random
// directory tree, a byte-exact snapshot of a tree to compare two of them
// with, and commands started in the background (to be killed).

// MARK: - Building a random tree

/// What a generated tree contains, to check that the generator really made
/// the awkward cases it is meant to.
struct RandomTreeReport {
    var files = 0
    var directories = 0
    var symlinks = 0
    var hardLinkGroups = 0
    var longestNameBytes = 0
    var longestPathBytes = 0
    var deepestLevel = 0
    var largestFile = 0
    var danglingSymlinks = 0
    var symlinksToDirectories = 0
    /// Relative paths of regular files with a single link (safe to tamper with).
    var singleLinkFiles: [String] = []
}

/// Builds a random directory tree with every case a backup must get right:
/// unicode and spaced names, names over 100 bytes, paths over 255 bytes,
/// 20+ levels of nesting, empty files and directories, relative symlinks
/// (dangling, to directories, chained, with long targets), hard links
/// (across directories, into a read-only directory, under long names),
/// files of a few MB and one of about 50 MB (3 MB in the fast tier), varied modes and explicit past
/// mtimes (one before 1970). Names never hold a backslash or a newline, so
/// `sha256sum` lists them unescaped.
struct RandomTreeBuilder {
    let root: String
    var rng: SeededGenerator
    /// About 50 MB in the full tier; 3 MB (still several chunks and
    /// compression blocks) in the fast one.
    var bigFileSize = TestTier.scaled(fast: 3_000_000, full: 50_000_000)
    var mediumFiles = TestTier.scaled(fast: 1, full: 3)

    private(set) var report = RandomTreeReport()
    /// Relative directory paths ("" is the root), in creation order.
    private var directories: [String] = [""]
    private var emptyDirectories: Set<String> = []
    private var files: [String] = []
    private var symlinkPaths: [String] = []
    private var directoryModes: [String: mode_t] = [:]

    init(root: String, seed: UInt64) {
        self.root = root
        rng = SeededGenerator(seed: seed)
    }

    /// Also use names in Unicode decomposed form (NFD, as macOS writes
    /// them): "e\u{301}cole" beside "école". Off by default: see
    /// DirectoryRoundTripTests.decomposedNamesKeepTheirBytes.
    var includeDecomposedNames = false

    static let unicodeWords = ["ünïcødé", "日本語のファイル", "Ελληνικά", "кириллица", "emoji 🎉🚀", "école",
                               "中文 名字", "עברית", "ß-straße", "Ωmega≈"]
    static let decomposedWords = ["e\u{301}cole", "u\u{308}ber", "A\u{30A}ngstro\u{308}m"]
    private var words: [String] { includeDecomposedNames ? Self.unicodeWords + Self.decomposedWords : Self.unicodeWords }
    static let spacedWords = ["with space", " leading space", "trailing space ", "two  spaces", "tab\there"]
    static let oddWords = ["-dash-first", ".hidden", "semi;colon", "quote'single", "dollar$sign", "percent%41", "star*", "what?", "[brackets]", "a:b", "#hash"]

    private mutating func word(_ lengths: ClosedRange<Int> = 3...12) -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789_-.")
        var name = ""
        for _ in 0..<Int.random(in: lengths, using: &rng) { name.append(rng.pick(letters)) }
        if name.hasPrefix(".") || name.hasPrefix("-") { name = "n" + name }
        return name
    }

    /// A fresh name in `directory`, of a random style.
    private mutating func freshName(in directory: String, style: Int? = nil) -> String {
        while true {
            var name: String
            switch style ?? Int.random(in: 0..<10, using: &rng) {
            case 0, 1: name = rng.pick(words) + " " + word(2...5)
            case 2: name = rng.pick(Self.spacedWords) + word(1...4)
            case 3: name = rng.pick(Self.oddWords) + word(1...4)
            case 4: name = longName(bytes: Int.random(in: 101...200, using: &rng))
            default: name = word()
            }
            if !exists(join(directory, name)) { return name }
        }
    }

    /// A name of exactly `bytes` UTF-8 bytes, mixing ASCII and 2-byte letters.
    private mutating func longName(bytes: Int) -> String {
        var name = "long-" + (Bool.random(using: &rng) ? "é" : "")
        while name.utf8.count < bytes - 1 {
            name.append(Bool.random(using: &rng) && name.utf8.count < bytes - 2 ? "ü" : "x")
        }
        while name.utf8.count < bytes { name.append("z") }
        return name
    }

    private func join(_ directory: String, _ name: String) -> String { directory.isEmpty ? name : directory + "/" + name }
    private func full(_ relative: String) -> String { relative.isEmpty ? root : root + "/" + relative }
    private func exists(_ relative: String) -> Bool {
        var info = stat()
        return lstat(full(relative), &info) == 0
    }

    private mutating func note(path relative: String) {
        report.longestPathBytes = max(report.longestPathBytes, relative.utf8.count)
        if let last = relative.split(separator: "/").last {
            report.longestNameBytes = max(report.longestNameBytes, last.utf8.count)
        }
        report.deepestLevel = max(report.deepestLevel, relative.split(separator: "/").count)
    }

    private mutating func makeDirectory(_ relative: String) throws {
        guard mkdir(full(relative), 0o755) == 0 else { throw HarnessError("mkdir \(relative): \(String(cString: strerror(errno)))") }
        directories.append(relative)
        report.directories += 1
        note(path: relative)
    }

    private mutating func makeFile(_ relative: String, size: Int) throws {
        // Half random, half compressible text, so zstd has work either way.
        var content: [UInt8]
        if size > 0 && Bool.random(using: &rng) {
            content = rng.bytes(size)
        } else {
            let line = Array("\(relative) line of text, repeated \(rng.next() % 1000)\n".utf8)
            var block: [UInt8] = []
            while block.count < min(size, 65_536) { block += line }
            content = []
            content.reserveCapacity(size)
            while content.count < size { content += block.prefix(size - content.count) }
        }
        guard FileManager.default.createFile(atPath: full(relative), contents: Data(content)) else {
            throw HarnessError("cannot create \(relative)")
        }
        files.append(relative)
        report.files += 1
        report.largestFile = max(report.largestFile, size)
        note(path: relative)
    }

    private mutating func makeSymlink(_ relative: String, target: String) throws {
        guard symlink(target, full(relative)) == 0 else { throw HarnessError("symlink \(relative): \(String(cString: strerror(errno)))") }
        symlinkPaths.append(relative)
        report.symlinks += 1
        note(path: relative)
    }

    private mutating func makeHardLink(_ relative: String, to existing: String) throws {
        guard link(full(existing), full(relative)) == 0 else { throw HarnessError("link \(relative): \(String(cString: strerror(errno)))") }
        note(path: relative)
    }

    /// `target` (relative to the root) as seen from the directory holding `link`.
    private func relativeTarget(from link: String, to target: String) -> String {
        let depth = link.split(separator: "/").count - 1
        return String(repeating: "../", count: depth) + target
    }

    /// A directory that may receive more entries (not kept empty).
    private mutating func someDirectory() -> String {
        while true {
            let directory = rng.pick(directories)
            if !emptyDirectories.contains(directory) { return directory }
        }
    }

    /// Builds the tree (the root must not exist yet).
    mutating func build() throws -> RandomTreeReport {
        guard mkdir(root, 0o755) == 0 else { throw HarnessError("mkdir \(root): \(String(cString: strerror(errno)))") }

        // A shallow random hierarchy.
        for _ in 0..<Int.random(in: 10...16, using: &rng) {
            let parent = someDirectory()
            if parent.split(separator: "/").count < 4 {
                try makeDirectory(join(parent, freshName(in: parent)))
            }
        }
        // A long-named directory holding a long-named file: a path well over 255 bytes.
        let longDirectory = join(someDirectory(), longName(bytes: 200))
        try makeDirectory(longDirectory)
        try makeFile(join(longDirectory, longName(bytes: 180)), size: Int.random(in: 0...5000, using: &rng))
        // Names at the ustar name-field boundary.
        for bytes in [99, 100, 101, 155, 255] {
            let directory = someDirectory()
            try makeFile(join(directory, longName(bytes: bytes)), size: Int.random(in: 1...3000, using: &rng))
        }
        // Deep nesting: 22 to 26 levels below the root.
        var deep = ""
        for level in 0..<Int.random(in: 22...26, using: &rng) {
            deep = join(deep, "level\(level)-" + word(3...9))
            try makeDirectory(deep)
            if level % 7 == 3 { try makeFile(join(deep, "at level \(level).txt"), size: Int.random(in: 0...2000, using: &rng)) }
        }
        let deepFile = join(deep, "bottom " + rng.pick(words) + ".bin")
        try makeFile(deepFile, size: 12_345)
        // Empty directories (one nested in another).
        let emptyParent = join(someDirectory(), "empty dir " + word(2...4))
        try makeDirectory(emptyParent)
        let emptyChild = join(emptyParent, "empty-" + word(2...4))
        try makeDirectory(emptyChild)
        let lonelyEmpty = join(someDirectory(), "vide-" + word(2...4))
        try makeDirectory(lonelyEmpty)
        emptyDirectories = [emptyChild, lonelyEmpty]
        directories.removeAll { $0 == emptyParent }  // holds only the empty child

        // Small files, empty ones included.
        for index in 0..<Int.random(in: 30...45, using: &rng) {
            let directory = someDirectory()
            let size = index % 6 == 0 ? 0 : Int.random(in: 1...70_000, using: &rng)
            try makeFile(join(directory, freshName(in: directory)), size: size)
        }
        // A few MB files and the big one.
        for _ in 0..<mediumFiles {
            let directory = someDirectory()
            try makeFile(join(directory, "medium " + word()), size: Int.random(in: 1_000_000...4_000_000, using: &rng))
        }
        if bigFileSize > 0 {
            let directory = someDirectory()
            try makeFile(join(directory, "big-" + word() + ".dat"), size: bigFileSize + Int.random(in: 0...999, using: &rng))
        }

        // A read-only directory with files, a symlink and a hard link in it.
        let readOnly = join(someDirectory(), "read only " + word(2...5))
        try makeDirectory(readOnly)
        try makeFile(join(readOnly, "inside-1"), size: Int.random(in: 1...9000, using: &rng))
        try makeFile(join(readOnly, "inside 2 ünï"), size: 0)
        try makeSymlink(join(readOnly, "link-up"), target: "..")
        let readOnlyTargets = files.filter { !$0.hasPrefix(readOnly + "/") && !$0.contains("big-") }
        try makeHardLink(join(readOnly, "hard link from outside"), to: rng.pick(readOnlyTargets))
        report.hardLinkGroups += 1
        emptyDirectories.insert(readOnly)  // no more entries in it
        directoryModes[readOnly] = 0o555

        // Hard links: a pair across directories, a triple with a long name, an empty file.
        let linkable = files.filter { !$0.hasPrefix(readOnly + "/") && !$0.contains("big-") && !$0.contains("medium ") }
        var linked: Set<String> = []
        for copies in [1, 2] {
            let target = rng.pick(linkable.filter { !linked.contains($0) })
            linked.insert(target)
            for copy in 0..<copies {
                let directory = someDirectory()
                let name = copy == 1 ? longName(bytes: 140) : "hard " + freshName(in: directory)
                try makeHardLink(join(directory, name), to: target)
            }
            report.hardLinkGroups += 1
        }
        let emptyTarget = join(someDirectory(), "empty-linked-" + word(2...4))
        try makeFile(emptyTarget, size: 0)
        try makeHardLink(join(someDirectory(), "empty-linked-twin-" + word(2...4)), to: emptyTarget)
        report.hardLinkGroups += 1

        // Relative symlinks: to files elsewhere, to directories, dangling,
        // chained, with a long target, to ".".
        for _ in 0..<4 {
            let directory = someDirectory()
            let link = join(directory, "link " + freshName(in: directory))
            try makeSymlink(link, target: relativeTarget(from: link, to: rng.pick(files)))
        }
        for _ in 0..<2 {
            let directory = someDirectory()
            let link = join(directory, "dirlink-" + word(2...6))
            let target = rng.pick(directories.filter { !$0.isEmpty && !$0.hasPrefix(link + "/") })
            try makeSymlink(link, target: relativeTarget(from: link, to: target))
            report.symlinksToDirectories += 1
        }
        let dangling = join(someDirectory(), "dangling " + word(2...6))
        try makeSymlink(dangling, target: "no such file " + word())
        let danglingDeep = join(someDirectory(), "dangling-deep-" + word(2...6))
        try makeSymlink(danglingDeep, target: "missing dir/" + rng.pick(words) + "/nothing")
        report.danglingSymlinks += 2
        let chained = join(someDirectory(), "chained-link-" + word(2...6))
        try makeSymlink(chained, target: relativeTarget(from: chained, to: symlinkPaths[symlinkPaths.count - 3]))
        let longTarget = join(someDirectory(), "long-target-link")
        try makeSymlink(longTarget, target: relativeTarget(from: longTarget, to: deepFile))
        let selfLink = join(someDirectory(), "dot-link")
        try makeSymlink(selfLink, target: ".")
        report.symlinksToDirectories += 1

        // Modes, then mtimes: files and links first, then directories
        // deepest first (creating entries changes a directory's mtime).
        let fileModes: [mode_t] = [0o600, 0o640, 0o644, 0o755, 0o700, 0o444, 0o750, 0o604]
        for file in files {
            guard chmod(full(file), rng.pick(fileModes)) == 0 else { throw HarnessError("chmod \(file)") }
            try setTime(file, seconds: randomPastTime())
        }
        // One file from before 1970 (whole seconds: see
        // DirectoryRoundTripTests.preEpochSubsecondTimeReadsTheSameInGNUTar),
        // one in the year 2001.
        try setTime(rng.pick(files), seconds: -86_400 * 365 * 3 - 12_345, nanoseconds: 0)
        try setTime(rng.pick(files), seconds: 1_000_000_000)
        for link in symlinkPaths { try setTime(link, seconds: randomPastTime()) }
        let directoryModesAvailable: [mode_t] = [0o755, 0o750, 0o700, 0o775, 0o711]
        for directory in directories.reversed() + [emptyParent] where !directory.isEmpty {
            let mode = directoryModes[directory] ?? rng.pick(directoryModesAvailable)
            guard chmod(full(directory), mode) == 0 else { throw HarnessError("chmod \(directory)") }
        }
        for directory in (directories + [emptyParent]).sorted(by: { $0.split(separator: "/").count > $1.split(separator: "/").count })
        where !directory.isEmpty {
            try setTime(directory, seconds: randomPastTime())
        }

        report.singleLinkFiles = files.filter { file in
            var info = stat()
            return lstat(full(file), &info) == 0 && info.st_nlink == 1
        }
        return report
    }

    /// Between 1990 and 2020.
    private mutating func randomPastTime() -> Int { Int.random(in: 631_152_000...1_577_836_800, using: &rng) }

    private mutating func setTime(_ relative: String, seconds: Int, nanoseconds: Int? = nil) throws {
        let nanoseconds = nanoseconds ?? Int.random(in: 0..<1_000_000_000, using: &rng)
        var times = [timespec(tv_sec: seconds, tv_nsec: nanoseconds), timespec(tv_sec: seconds, tv_nsec: nanoseconds)]
        guard utimensat(AT_FDCWD, full(relative), &times, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw HarnessError("utimensat \(relative): \(String(cString: strerror(errno)))")
        }
    }
}

/// Makes every directory under `path` writable by its owner again, so a
/// read-only directory does not stop the sandbox from being removed when
/// the tests do not run as root.
func makeTreeRemovable(_ path: String) {
    _ = try? Sandbox.runQuietly("/bin/chmod", ["-R", "u+rwX", path])
}

extension Sandbox {
    /// Runs a helper tool, ignoring what it prints (cleanup only).
    static func runQuietly(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        process.waitUntilExit()
    }
}

// MARK: - Snapshots of trees

/// Everything compared about one entry of a tree.
struct TreeEntry: Equatable {
    enum Kind: String { case file, directory, symlink, other }
    let kind: Kind
    let mode: UInt32
    let mtime: Int
    let size: Int64
    let inode: UInt64
    let links: UInt64
    let linkTarget: [UInt8]?
}

/// A tree read with lstat and readdir, paths as raw bytes (so that two names
/// that Swift's String would call equal, such as NFC and NFD spellings,
/// stay apart).
struct TreeSnapshot {
    let root: String
    /// Relative path bytes (empty: the root) to the entry.
    let entries: [[UInt8]: TreeEntry]

    init(_ root: String) throws {
        self.root = root
        var entries: [[UInt8]: TreeEntry] = [:]
        try Self.walk(root: Array(root.utf8), relative: [], into: &entries)
        self.entries = entries
    }

    static func fullPath(_ root: [UInt8], _ relative: [UInt8]) -> [UInt8] {
        relative.isEmpty ? root : root + [UInt8(ascii: "/")] + relative
    }

    static func cString<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        (bytes + [0]).withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) } }
    }

    private static func walk(root: [UInt8], relative: [UInt8], into entries: inout [[UInt8]: TreeEntry]) throws {
        let path = fullPath(root, relative)
        var info = stat()
        guard cString(path, { lstat($0, &info) }) == 0 else {
            throw HarnessError("lstat \(String(decoding: path, as: UTF8.self)): \(String(cString: strerror(errno)))")
        }
        let kind: TreeEntry.Kind
        var target: [UInt8]?
        switch info.st_mode & S_IFMT {
        case S_IFREG: kind = .file
        case S_IFDIR: kind = .directory
        case S_IFLNK:
            kind = .symlink
            var buffer = [UInt8](repeating: 0, count: 8192)
            let n = cString(path) { p in buffer.withUnsafeMutableBufferPointer { readlink(p, UnsafeMutableRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), 8192) } }
            guard n >= 0 else { throw HarnessError("readlink \(String(decoding: path, as: UTF8.self))") }
            target = Array(buffer[..<n])
        default: kind = .other
        }
        entries[relative] = TreeEntry(kind: kind, mode: UInt32(info.st_mode) & 0o7777, mtime: info.st_mtim.tv_sec,
                                      size: Int64(info.st_size), inode: UInt64(info.st_ino), links: UInt64(info.st_nlink),
                                      linkTarget: target)
        guard kind == .directory else { return }
        guard let handle = cString(path, { opendir($0) }) else {
            throw HarnessError("opendir \(String(decoding: path, as: UTF8.self)): \(String(cString: strerror(errno)))")
        }
        var names: [[UInt8]] = []
        while let item = readdir(handle) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { Array($0.prefix(while: { $0 != 0 })) }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            names.append(name)
        }
        closedir(handle)
        for name in names {
            try walk(root: root, relative: relative.isEmpty ? name : relative + [UInt8(ascii: "/")] + name, into: &entries)
        }
    }

    var fileCount: Int { entries.values.filter { $0.kind == .file }.count }

    /// The differences between this (the source) and `other` (a copy), as
    /// readable lines; empty when the copy is exact. The roots themselves
    /// are not compared (a destination gets its own mode and time).
    /// Compared: the set of paths, kinds, contents, mode bits, mtimes in
    /// seconds, symlink targets and which paths are hard links of each other.
    func differences(from other: TreeSnapshot, compareSymlinkTimes: Bool = true) -> [String] {
        var problems: [String] = []
        func shown(_ path: [UInt8]) -> String { "'" + String(decoding: path, as: UTF8.self) + "'" }
        let mine = Set(entries.keys), theirs = Set(other.entries.keys)
        for path in mine.subtracting(theirs).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            problems.append("missing from the copy: \(shown(path))")
        }
        for path in theirs.subtracting(mine).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            problems.append("only in the copy: \(shown(path))")
        }
        for path in mine.intersection(theirs).sorted(by: { $0.lexicographicallyPrecedes($1) }) where !path.isEmpty {
            let a = entries[path]!, b = other.entries[path]!
            guard a.kind == b.kind else {
                problems.append("\(shown(path)) is a \(a.kind.rawValue) but the copy is a \(b.kind.rawValue)")
                continue
            }
            if a.kind != .symlink && a.mode != b.mode {
                problems.append("\(shown(path)) mode \(String(a.mode, radix: 8)) but the copy has \(String(b.mode, radix: 8))")
            }
            if a.mtime != b.mtime && (a.kind != .symlink || compareSymlinkTimes) {
                problems.append("\(shown(path)) mtime \(a.mtime) but the copy has \(b.mtime)")
            }
            switch a.kind {
            case .symlink:
                if a.linkTarget != b.linkTarget {
                    problems.append("\(shown(path)) links to \(shown(a.linkTarget ?? [])) but the copy to \(shown(b.linkTarget ?? []))")
                }
            case .file:
                if a.size != b.size {
                    problems.append("\(shown(path)) is \(a.size) bytes but the copy \(b.size)")
                } else if !Self.sameContents(Self.fullPath(Array(root.utf8), path), Self.fullPath(Array(other.root.utf8), path)) {
                    problems.append("\(shown(path)) has different contents in the copy")
                }
                if a.links != b.links {
                    problems.append("\(shown(path)) has \(a.links) links but the copy \(b.links)")
                }
            default:
                break
            }
        }
        // Hard links: paths sharing an inode in the source share one in the
        // copy, and paths that do not, do not.
        let files = mine.intersection(theirs).filter { entries[$0]!.kind == .file && other.entries[$0]!.kind == .file }
        var sourceGroups: [UInt64: [[UInt8]]] = [:]
        var copyInodeOwner: [UInt64: UInt64] = [:]
        for path in files { sourceGroups[entries[path]!.inode, default: []].append(path) }
        for (sourceInode, group) in sourceGroups {
            let copyInodes = Set(group.map { other.entries[$0]!.inode })
            if copyInodes.count != 1 {
                problems.append("hard links \(group.map(shown).sorted()) are not one file in the copy")
            }
            for inode in copyInodes {
                if let owner = copyInodeOwner[inode], owner != sourceInode {
                    problems.append("the copy joins separate files into one inode: \(group.map(shown).sorted())")
                }
                copyInodeOwner[inode] = sourceInode
            }
        }
        return problems
    }

    /// Whether two files have the same bytes (read in 4 MiB pieces).
    static func sameContents(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let fa = cString(a) { open($0, O_RDONLY | O_CLOEXEC) }
        let fb = cString(b) { open($0, O_RDONLY | O_CLOEXEC) }
        defer { if fa >= 0 { close(fa) }; if fb >= 0 { close(fb) } }
        guard fa >= 0, fb >= 0 else { return false }
        let size = 4 << 20
        let ba = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        let bb = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { ba.deallocate(); bb.deallocate() }
        while true {
            let na = readFully(fa, ba, size), nb = readFully(fb, bb, size)
            guard na == nb, na >= 0 else { return false }
            if na == 0 { return true }
            if memcmp(ba, bb, na) != 0 { return false }
        }
    }

    private static func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
        var total = 0
        while total < count {
            let n = read(fd, buffer + total, count - total)
            if n < 0 { if errno == EINTR { continue }; return -1 }
            if n == 0 { break }
            total += n
        }
        return total
    }
}

/// Expects `copy` to be an exact copy of `source` (see
/// ``TreeSnapshot/differences(from:compareSymlinkTimes:)``), and `diff -r`
/// to agree.
func expectSameTree(_ sandbox: Sandbox, source: String, copy: String, compareSymlinkTimes: Bool = true,
                    sourceLocation: SourceLocation = #_sourceLocation) throws {
    let a = try TreeSnapshot(sandbox.path(source))
    let b = try TreeSnapshot(sandbox.path(copy))
    let problems = a.differences(from: b, compareSymlinkTimes: compareSymlinkTimes)
    #expect(problems.isEmpty, "\(copy) differs from \(source) in \(problems.count) ways:\n\(problems.prefix(25).joined(separator: "\n"))",
            sourceLocation: sourceLocation)
    let diff = try sandbox.execute("/usr/bin/diff", ["-r", "--no-dereference", source, copy])
    #expect(diff.status == 0, "\(diff)", sourceLocation: sourceLocation)
}

// MARK: - Commands in the background

/// A command started without waiting for it, so a test can signal it.
final class BackgroundCommand {
    let process: Process
    let display: [String]
    let started = Date()
    private let outPath: String
    private let errPath: String
    private var handles: [FileHandle]

    fileprivate init(process: Process, display: [String], outPath: String, errPath: String, handles: [FileHandle]) {
        self.process = process
        self.display = display
        self.outPath = outPath
        self.errPath = errPath
        self.handles = handles
    }

    var pid: Int32 { process.processIdentifier }

    /// Sends `signal` if the process has not exited yet; whether it was sent.
    /// (A process that exited but was not waited for is a zombie: its pid is
    /// not reused before `wait()`, so this never signals another process.)
    @discardableResult
    func send(_ signal: Int32) -> Bool {
        guard process.isRunning else { return false }
        return kill(process.processIdentifier, signal) == 0
    }

    /// Waits for the process and returns what it did.
    func wait() throws -> RunResult {
        process.waitUntilExit()
        for handle in handles { try? handle.close() }
        handles = []
        let signaled = process.terminationReason == .uncaughtSignal
        let result = RunResult(
            command: display,
            status: signaled ? 128 + process.terminationStatus : process.terminationStatus,
            killedBySignal: signaled,
            stdout: (try? Array(Data(contentsOf: URL(fileURLWithPath: outPath)))) ?? [],
            stderrBytes: (try? Array(Data(contentsOf: URL(fileURLWithPath: errPath)))) ?? [])
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
        return result
    }

    /// Seconds since the process was started.
    var elapsed: Double { Date().timeIntervalSince(started) }
}

extension Sandbox {
    /// Starts `sealed-archive arguments` in the work directory without
    /// waiting; standard input is /dev/null or `stdin` (a FileHandle the
    /// caller opened, e.g. on a FIFO), output goes to capture files.
    func startBackground(_ arguments: [String], stdin: FileHandle? = nil) throws -> BackgroundCommand {
        try startBackground(executable: CLI.binary().path, arguments, stdin: stdin, display: ["sealed-archive"] + arguments)
    }

    /// Starts any executable the same way.
    func startBackground(executable: String, _ arguments: [String], stdin: FileHandle? = nil,
                         environment: [String: String] = [:], display: [String]? = nil) throws -> BackgroundCommand {
        let captures = root.appendingPathComponent("background").path
        try FileManager.default.createDirectory(atPath: captures, withIntermediateDirectories: true)
        let id = UUID().uuidString
        let outPath = "\(captures)/\(id).stdout", errPath = "\(captures)/\(id).stderr"
        guard FileManager.default.createFile(atPath: outPath, contents: nil),
              FileManager.default.createFile(atPath: errPath, contents: nil) else {
            throw HarnessError("cannot create capture files in \(captures)")
        }
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        let input = stdin ?? FileHandle(forReadingAtPath: "/dev/null")!
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: work, isDirectory: true)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = input
        process.standardOutput = out
        process.standardError = err
        // The threads Swift Testing runs tests on block SIGHUP, SIGINT,
        // SIGTERM and more, and a spawned child inherits the spawning
        // thread's signal mask: the command would never receive SIGTERM.
        // Process.run() spawns on this thread, so clear the mask around it.
        var empty = sigset_t(), previous = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        try process.run()
        // The child has its own copies now.
        try? out.close()
        try? err.close()
        if stdin == nil { try? input.close() }
        return BackgroundCommand(process: process, display: display ?? ([executable] + arguments),
                                 outPath: outPath, errPath: errPath, handles: [])
    }

    /// The work directory's names, for messages.
    var listingDescription: String { (try? listing()).map { "\($0)" } ?? "<cannot list>" }

    /// Hidden leftovers of `-C name` (`.name.staging.XXXXXX`).
    func stagingDirectories(for name: String) throws -> [String] {
        try listing().filter { $0.hasPrefix(".\(name).staging.") }
    }
}

/// The command ran to its end and succeeded: exit 0, no error line (unlike
/// ``expectSuccess``, informational lines on standard error are fine, such
/// as the summary `open -C` prints).
func expectCompleted(_ result: RunResult, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == 0 && !result.killedBySignal, "\(result)", sourceLocation: sourceLocation)
    #expect(!result.stderr.contains("error:"), "\(result)", sourceLocation: sourceLocation)
}

/// Sleeps for `seconds` (blocking the calling thread, as the harness does
/// while a command runs).
func sleepSeconds(_ seconds: Double) {
    guard seconds > 0 else { return }
    usleep(UInt32(seconds * 1_000_000))
}
