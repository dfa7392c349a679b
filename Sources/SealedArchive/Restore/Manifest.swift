/// `MANIFEST.sha256` at the root of a backup directory: `sha256sum` output
/// for the files beside it. Checked while streaming: every listed file must
/// be present with that digest, and every file present must be listed.
struct Manifest {
    static let name: [UInt8] = Array("MANIFEST.sha256".utf8)
    /// Larger manifests are refused rather than held in memory.
    static let maximumSize = 16 << 20

    let digests: [[UInt8]: String]

    /// Parses `sha256sum` lines (``ChecksumLine``; a `./` prefix is
    /// dropped from paths), LF or CRLF.
    init(parsing text: [UInt8]) throws {
        var digests: [[UInt8]: String] = [:]
        for (number, line) in TextLines.split(text).enumerated() where !line.isEmpty {
            func bad(_ why: String) -> SealedArchiveError {
                SealedArchiveError(.manifest, "MANIFEST.sha256 line \(number + 1) \(why)")
            }
            let parsed: ChecksumLine
            do {
                parsed = try ChecksumLine(parsing: line)
            } catch .digest {
                throw bad("has a digest that is not hexadecimal")
            } catch .escape {
                throw bad("has an escape sha256sum does not write (only \\\\, \\n and \\r)")
            } catch {
                throw bad("is not in sha256sum format ('<64 hex digits>  <file>')")
            }
            guard let path = try? EntryPolicy.normalize(parsed.name) else { throw bad("names an unsafe or empty path") }
            guard digests.updateValue(parsed.digest, forKey: path) == nil else { throw bad("lists '\(shownName(path))' twice") }
        }
        self.digests = digests
    }

    /// A partial restore (`--only`): each restored file the manifest lists
    /// must match its digest; files it does not list pass (the manifest
    /// covers the whole tree, which was not restored). Returns how many
    /// restored files were checked.
    func check(restored: [[UInt8]: String]) throws -> Int {
        var checked = 0
        for (path, actual) in restored.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            guard let digest = digests[path] else { continue }
            guard actual == digest else {
                throw SealedArchiveError(.manifest, "'\(shownName(path))' does not match its MANIFEST.sha256 digest: it differs from what was backed up")
            }
            checked += 1
        }
        return checked
    }

    /// Where the files checked are: an archive being restored, or a
    /// directory being sealed. Only the words of the messages differ.
    enum Holder {
        case archive, directory
        var name: String { self == .archive ? "the archive" : "the directory" }
        var mismatch: String {
            self == .archive ? "it differs from what was backed up" : "it changed after the manifest was written, or the manifest is wrong"
        }
    }

    /// Compares with the digests of the files the archive held (hard links
    /// included, the manifest itself excluded). Names the first problem.
    func check(against found: [[UInt8]: String], in holder: Holder = .archive) throws {
        func shown(_ path: [UInt8]) -> String { shownName(path) }
        for (path, digest) in digests.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            guard let actual = found[path] else {
                throw SealedArchiveError(.manifest, "MANIFEST.sha256 lists '\(shown(path))', which \(holder.name) does not hold")
            }
            guard actual == digest else {
                throw SealedArchiveError(.manifest, "'\(shown(path))' does not match its MANIFEST.sha256 digest: \(holder.mismatch)")
            }
        }
        if let unlisted = found.keys.filter({ $0 != Self.name && digests[$0] == nil }).min(by: { $0.lexicographicallyPrecedes($1) }) {
            throw SealedArchiveError(.manifest, "'\(shown(unlisted))' is in \(holder.name) but not listed in MANIFEST.sha256")
        }
    }
}
