/// What extraction accepts from a tar stream. An authenticated archive can
/// still be hostile (anybody with a recipient's public key can make one), so
/// every entry is checked before anything is written:
///
/// * paths are relative, with no `..` component (`./` prefixes are dropped);
/// * only files, directories, symbolic links and hard links; no device
///   nodes, FIFOs or sockets;
/// * nothing is written through a symbolic link, and no path appears twice
///   (directories excepted);
/// * a symbolic link whose target leaves the destination is refused unless
///   escaping links are allowed (they are then restored as stored; nothing is
///   ever written through them);
/// * a hard link must name a file extracted before it and carry no data
///   (libarchive would otherwise truncate and rewrite the file it names);
/// * a name that an earlier entry already implied as a directory (`d/f`
///   then `d`) may only be that directory;
/// * everything extraction would fail to create because of what the archive
///   says (rather than the disk it goes to) is refused here, so that
///   `verify -i` and `open --list`, which share these checks, know an
///   archive cannot be restored before the day of the restore: a name
///   component over ``maximumComponentLength`` bytes, a path over
///   ``maximumPathLength`` bytes, a symbolic link target over
///   ``maximumLinkTargetLength`` bytes, a negative size. (The walk adds
///   the data checks: sparse blocks in order, inside the entry's size.)
///
/// Names cannot hold NUL: libarchive hands them over as C strings (a pax
/// name with a NUL is cut there, and the cut name is what is checked and
/// created). Modification times are not refused: the kernel clamps a time
/// outside what the file system stores. Directory modes never block
/// extraction: directories are created 0700 and get their stored modes at
/// the end (``Restore``), so a 0000 directory can still receive entries.
///
/// Setuid, setgid and sticky bits are stripped when writing (``DiskWriter``).
struct EntryPolicy {
    /// NAME_MAX: no Linux file system creates a longer name component.
    static let maximumComponentLength = 255
    /// The longest relative path extracted. A path is created inside the
    /// staging directory beside DEST, as one absolute path that the kernel
    /// takes only up to PATH_MAX (4096 bytes with its NUL); 1024 bytes of
    /// that are left for the staging directory's own path. (libarchive
    /// would otherwise change the process's working directory to reach
    /// deeper paths, which the walk's own chmod and utimensat by path could
    /// not follow.)
    static let maximumPathLength = 3072
    /// The longest symbolic link target: `symlink(2)` takes at most
    /// PATH_MAX bytes with the NUL.
    static let maximumLinkTargetLength = 4095

    let allowEscapingSymlinks: Bool
    private var directories = Set<[UInt8]>()
    /// Parents created implicitly for entries below them.
    private var impliedDirectories = Set<[UInt8]>()
    private var others = Set<[UInt8]>()
    private(set) var files = Set<[UInt8]>()
    private var symlinks = Set<[UInt8]>()

    init(allowEscapingSymlinks: Bool) {
        self.allowEscapingSymlinks = allowEscapingSymlinks
    }

    private static let slash = UInt8(ascii: "/")
    private static let dot: [UInt8] = [UInt8(ascii: ".")]
    private static let dotDot: [UInt8] = [UInt8(ascii: "."), UInt8(ascii: ".")]

    static func refuse(_ path: [UInt8], _ reason: String) -> SealedArchiveError {
        SealedArchiveError(.unsafeEntry, "refusing entry '\(shownName(path))': \(reason)")
    }

    /// The path without `./` components and trailing slashes, or nil for the
    /// archive's root directory itself. Refuses absolute paths and `..`.
    static func normalize(_ path: [UInt8]) throws -> [UInt8]? {
        guard !path.isEmpty else { throw refuse(path, "it has an empty name") }
        guard path.first != slash else { throw refuse(path, "it is an absolute path") }
        var components: [ArraySlice<UInt8>] = []
        for component in path.split(separator: slash, omittingEmptySubsequences: true) {
            if Array(component) == dot { continue }
            if Array(component) == dotDot { throw refuse(path, "it has a '..' component") }
            components.append(component)
        }
        guard !components.isEmpty else { return nil }
        return Array(components.joined(separator: [slash]))
    }

    /// Checks an entry; returns its normalized path, or nil when the entry is
    /// the root directory (which is not extracted: the destination is).
    mutating func admit(_ entry: TarEntry) throws -> [UInt8]? {
        guard let path = try Self.normalize(entry.path) else {
            if entry.kind == .directory { return nil }
            throw Self.refuse(entry.path, "it is not a directory but names the destination itself")
        }
        if case .other(let what) = entry.kind {
            throw Self.refuse(path, "it is \(what); only files, directories and links are extracted")
        }
        try Self.checkCreatable(path, entry)
        // Through a symlink: any proper prefix that is a link we created.
        var index = path.firstIndex(of: Self.slash)
        while let slashIndex = index {
            let prefix = Array(path[..<slashIndex])
            if symlinks.contains(prefix) {
                throw Self.refuse(path, "it would be written through the symbolic link '\(shownName(prefix))'")
            }
            if files.contains(prefix) || others.contains(prefix) {
                throw Self.refuse(path, "its parent '\(shownName(prefix))' is not a directory")
            }
            index = path[(slashIndex + 1)...].firstIndex(of: Self.slash)
        }
        if directories.contains(path) || others.contains(path) || impliedDirectories.contains(path) {
            guard entry.kind == .directory && !others.contains(path) else {
                throw Self.refuse(path, "the archive holds it twice (or as the directory of an earlier entry)")
            }
            directories.insert(path)
            return path
        }
        var parent = path
        while let slashIndex = parent.lastIndex(of: Self.slash) {
            parent = Array(parent[..<slashIndex])
            if directories.contains(parent) || !impliedDirectories.insert(parent).inserted { break }
        }
        switch entry.kind {
        case .directory:
            directories.insert(path)
        case .file:
            files.insert(path); others.insert(path)
        case .symlink:
            guard let target = entry.symlinkTarget, !target.isEmpty else {
                throw Self.refuse(path, "it is a symbolic link with no target")
            }
            if !allowEscapingSymlinks && Self.escapes(target, from: path) {
                throw Self.refuse(path,
                    "it is a symbolic link to '\(shownName(target))', outside the destination (--allow-escaping-symlinks restores such links as stored)")
            }
            symlinks.insert(path); others.insert(path)
        case .hardlink:
            let stored = entry.hardlinkTarget ?? []
            guard let target = try? Self.normalize(stored) else {
                throw Self.refuse(path, "it is a hard link to '\(shownName(stored))', outside the destination")
            }
            guard entry.size == 0 else {
                throw Self.refuse(path, "it is a hard link that carries \(entry.size) bytes of data")
            }
            guard files.contains(target) else {
                throw Self.refuse(path, "it is a hard link to '\(shownName(entry.hardlinkTarget ?? []))', which is not a file extracted before it")
            }
            files.insert(path); others.insert(path)
        case .other:
            break
        }
        return path
    }

    /// Refuses what no file system would let extraction create as stored.
    private static func checkCreatable(_ path: [UInt8], _ entry: TarEntry) throws {
        if let long = path.split(separator: slash).first(where: { $0.count > maximumComponentLength }) {
            throw refuse(path, "a component of its name is \(long.count) bytes long, over the \(maximumComponentLength) bytes a file system allows (NAME_MAX)")
        }
        guard path.count <= maximumPathLength else {
            throw refuse(path, "its path is \(path.count) bytes long, over the \(maximumPathLength) bytes extraction creates")
        }
        if let target = entry.symlinkTarget, target.count > maximumLinkTargetLength {
            throw refuse(path, "it is a symbolic link whose target is \(target.count) bytes long, over the \(maximumLinkTargetLength) bytes a link can hold")
        }
        guard entry.size >= 0 else { throw refuse(path, "it has a negative size") }
    }

    /// Whether `target`, read relative to the directory holding `path`,
    /// may leave the destination.
    ///
    /// A target is accepted only in the form `../../a/b`: some `..` first,
    /// no deeper than the link itself, then names only. A `..` after a name
    /// is refused, because the name may be a link and `..` then climbs from
    /// wherever it points (`a -> .` makes `a/..` the destination's parent),
    /// which no lexical check can see. With that form, the `..` steps climb
    /// real directories (nothing is written through links, so a link's
    /// parents are directories) and the names only descend, through
    /// directories or through links that were held to the same rule.
    static func escapes(_ target: [UInt8], from path: [UInt8]) -> Bool {
        if target.first == slash { return true }
        var depth = path.split(separator: slash).count - 1
        var descending = false
        for component in target.split(separator: slash, omittingEmptySubsequences: true) {
            if Array(component) == dot { continue }
            if Array(component) == dotDot {
                if descending { return true }
                depth -= 1
                if depth < 0 { return true }
            } else {
                descending = true
            }
        }
        return false
    }
}
