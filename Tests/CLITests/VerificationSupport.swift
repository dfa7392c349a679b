import Foundation
import TestSupport
import SealedArchive
import Testing

// Helpers for VerificationTests: a sandbox with keys whose runs cannot see
// the user's default signers file, parsers for the result lines and JSON
// objects of `verify` and `drill`, and byte-level changes to archives too
// large to hold in memory. Everything here reads the CLI's output as
// Spec/CLI.md describes it; nothing calls into the tool's library except
// key ids (as InspectTests does).

/// A sandbox with an identity (`id`) and the sealing host's signing key
/// (`host.sk`). Every run gets an environment with no default signers file
/// (`SEALED_ARCHIVE_SIGNERS` empty, `XDG_CONFIG_HOME` pointing at a
/// directory that does not exist), so a signers file installed on the
/// machine running the tests cannot change the depth, and no rclone
/// configuration file (`RCLONE_CONFIG=/dev/null`).
final class VerifyBench {
    let sandbox: Sandbox
    /// `age1…` of `id`.
    let recipient: String
    /// `sealsig1…` of `host.sk`.
    let signer: String
    let isolation: [String: String]

    init() throws {
        sandbox = try Sandbox()
        let noConfig = sandbox.root.appendingPathComponent("no-config-here").path
        isolation = ["SEALED_ARCHIVE_SIGNERS": "", "XDG_CONFIG_HOME": noConfig, "RCLONE_CONFIG": "/dev/null"]
        recipient = try sandbox.makeIdentity("id")
        signer = try sandbox.makeSigningKey("host.sk")
    }

    /// Runs `sealed-archive` with the isolated environment plus `environment`.
    @discardableResult
    func sa(_ arguments: [String], stdin: Input = .none, environment: [String: String] = [:]) throws -> RunResult {
        try sandbox.run(arguments, stdin: stdin, environment: isolation.merging(environment) { $1 })
    }

    /// `/bin/sh -c script` with the isolated environment; `$SA` is the tool.
    @discardableResult
    func sh(_ script: String, environment: [String: String] = [:]) throws -> RunResult {
        try sandbox.shell(script, environment: isolation.merging(environment) { $1 })
    }

    /// `seal -r id [--sign-key host.sk] EXTRA -o OUTPUT INPUT`, required to succeed.
    func seal(_ input: String, to output: String, signed: Bool = true, _ extra: [String] = [],
              environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) throws {
        var arguments = ["seal", "-r", recipient]
        if signed { arguments += ["--sign-key", "host.sk"] }
        arguments += extra + ["-o", output, input]
        let result = try sa(arguments, environment: environment)
        try #require(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        try #require(result.stderrLinesWithoutWarnings.isEmpty, "\(result)", sourceLocation: sourceLocation)
    }

    /// `count` random bytes in `name`, made with head -c from /dev/urandom.
    func randomFile(_ name: String, bytes count: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try sh(#"head -c "$N" /dev/urandom > "$F""#, environment: ["N": "\(count)", "F": name])
        try #require(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        try #require(try sandbox.size(name) == count, sourceLocation: sourceLocation)
    }

    /// A small backup-shaped directory: a database dump of `dumpBytes`
    /// random bytes, a config file, a log, a symbolic link, and a
    /// MANIFEST.sha256 of every regular file made by sha256sum.
    func backupDirectory(_ name: String, dumpBytes: Int = 200_000, tag: String = "",
                         sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try sh(#"""
            set -e
            mkdir -p "$D/db" "$D/etc" "$D/logs"
            head -c "$N" /dev/urandom > "$D/db/dump.sql"
            printf 'listen 8080 %s\n' "$TAG" > "$D/etc/app.conf"
            printf 'backup started %s\n' "$TAG" > "$D/logs/backup.log"
            ln -s ../etc/app.conf "$D/db/app.conf"
            cd "$D"
            find . -type f ! -name MANIFEST.sha256 | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum > MANIFEST.sha256
            """#, environment: ["D": name, "N": "\(dumpBytes)", "TAG": tag])
        try #require(result.status == 0, "\(result)", sourceLocation: sourceLocation)
    }

    /// Sum of the sizes of the regular files under `directory` (recursive).
    func regularFileBytes(_ directory: String) throws -> (files: Int, bytes: Int) {
        let root = sandbox.path(directory)
        var files = 0, bytes = 0
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            let attributes = try FileManager.default.attributesOfItem(atPath: root + "/" + relative)
            if attributes[.type] as? FileAttributeType == .typeRegular {
                files += 1
                bytes += (attributes[.size] as! NSNumber).intValue
            }
        }
        return (files, bytes)
    }

    /// XORs one byte of a file in place with `mask` (so a second call with
    /// the same mask undoes it), without reading the file into memory.
    func flip(_ name: String, at offset: Int, mask: UInt8 = 0x01) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: sandbox.path(name)))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        guard let byte = try handle.read(upToCount: 1)?.first else {
            throw HarnessError("\(name) has no byte at \(offset)")
        }
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: Data([byte ^ mask]))
        try handle.synchronize()
    }

    /// Appends bytes to a file.
    func append(_ name: String, _ bytes: [UInt8]) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: sandbox.path(name)))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(bytes))
    }

    /// Sets a file's modification time.
    func setModificationTime(_ name: String, _ date: Date) throws {
        try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: sandbox.path(name))
    }

    /// The geometry of an archive file from its header and size (FORMAT.md
    /// sections 4–7), reading only the first 8192 bytes.
    func geometry(_ name: String) throws -> ArchiveGeometry {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: sandbox.path(name)))
        defer { try? handle.close() }
        let prefix = Array(try handle.read(upToCount: 65536 + 64) ?? Data())
        let layout = try ArchiveLayout(prefix)
        let size = try sandbox.size(name)
        // The trailer's chunk count (its bytes 8–15).
        try handle.seek(toOffset: UInt64(size - layout.trailerLength + 8))
        let count = Array(try handle.read(upToCount: 8) ?? Data())
        return ArchiveGeometry(version: layout.version, headerLength: layout.headerLength, leadLength: layout.leadLength,
                               chunkSize: layout.chunkSize, groupSize: layout.groupSize,
                               trailerLength: layout.trailerLength, size: size,
                               trailerChunkCount: (0..<8).reduce(0) { $0 | Int(count[$1]) << (8 * $1) },
                               created: layout.created, fields: layout.fields)
    }

    /// The recipient key id of `id` (KEYS.md), as `inspect` and JSON show it.
    var recipientKeyID: String { (try? Recipient(parsing: recipient).keyID.description) ?? "?" }
    /// The signer key id of `host.sk`.
    var signerKeyID: String { (try? SignerKey(parsing: signer).keyID.description) ?? "?" }
}

/// Where the records of an archive are (FORMAT.md sections 5 and 7).
struct ArchiveGeometry {
    let version: Int
    let headerLength: Int
    /// Where record 0 starts (version 2: after the header signature).
    let leadLength: Int
    let chunkSize: Int
    /// Version 2: records per group (1 in version 1).
    let groupSize: Int
    let trailerLength: Int
    let size: Int
    let trailerChunkCount: Int
    let created: UInt64
    let fields: [UInt8: [UInt8]]

    var isVersion2: Bool { version == 2 }
    var recordLength: Int { chunkSize + (isVersion2 ? 16 : 48) }
    /// Version 2: a group's records and its segment.
    private var groupSpan: Int { groupSize * (recordLength + 32) }
    var chunkCount: Int {
        if isVersion2 { return trailerChunkCount }
        return max(1, (size - headerLength - trailerLength + recordLength - 1) / recordLength)
    }
    var trailerStart: Int { size - trailerLength }
    /// What follows the last record: version 2's last segment and group table.
    private var hashesAfterLastRecord: Int {
        isVersion2 ? 32 * ((chunkCount - 1) % groupSize + 1) + 32 * ((chunkCount + groupSize - 1) / groupSize) : 0
    }
    /// The archive size for `fullChunks` full chunks and a last one of
    /// `lastLength` bytes.
    func expectedSize(fullChunks: Int, lastLength: Int) -> Int {
        leadLength + fullChunks * recordLength + lastLength + (recordLength - chunkSize) + hashesAfterLastRecord + trailerLength
    }
    /// Byte range of record `i` (ciphertext, tag, and in version 1 the
    /// record hash), inclusive.
    func record(_ i: Int) -> ClosedRange<Int> {
        let start = leadLength + i * recordLength + (isVersion2 ? (i / groupSize) * 32 * groupSize : 0)
        let end = i == chunkCount - 1 ? trailerStart - hashesAfterLastRecord : start + recordLength
        return start...(end - 1)
    }
    /// The record holding an archive byte.
    func chunk(containing offset: Int) -> Int {
        guard isVersion2 else { return (offset - headerLength) / recordLength }
        let group = (offset - leadLength) / groupSpan
        return group * groupSize + min(groupSize - 1, (offset - leadLength - group * groupSpan) / recordLength)
    }
    /// The sequence field (tag 03), if present.
    var sequence: UInt64? {
        fields[3].map { value in (0..<8).reduce(UInt64(0)) { $0 | UInt64(value[$1]) << (8 * UInt64($1)) } }
    }
}

/// One `OK NAME [DEPTH]: …` or `FAILED NAME [DEPTH]: reason` line of `verify`.
struct VerifyLine: CustomStringConvertible {
    let ok: Bool
    let name: String
    let depth: String
    let detail: String

    init?(_ line: String) {
        guard let match = line.wholeMatch(of: /(OK|FAILED) (.+) \[(keyless|signed|deep|quick)\]: (.*)/) else { return nil }
        ok = match.1 == "OK"
        name = String(match.2)
        depth = String(match.3)
        detail = String(match.4)
    }

    var description: String { "\(ok ? "OK" : "FAILED") \(name) [\(depth)]: \(detail)" }

    /// `chunk N (… A–B)`: the chunk a damage message names and its byte range.
    var damagedChunk: (index: Int, range: ClosedRange<Int>)? {
        guard let match = detail.firstMatch(of: /chunk (\d+)\D[^0-9]*?(\d+)\s*[–-]\s*(\d+)/),
              let index = Int(match.1), let low = Int(match.2), let high = Int(match.3), low <= high else { return nil }
        return (index, low...high)
    }
}

/// The `OK set: …` / `FAILED set: …` line.
struct SetLine {
    let ok: Bool
    let detail: String
    init?(_ line: String) {
        guard let match = line.wholeMatch(of: /(OK|FAILED) set: (.*)/) else { return nil }
        ok = match.1 == "OK"
        detail = String(match.2)
    }
}

/// What a `verify` run printed, split into archive lines and the set line.
struct VerifyOutput {
    let archives: [VerifyLine]
    let set: SetLine?
    /// Lines that are neither.
    let other: [String]

    init(_ result: RunResult) {
        var archives: [VerifyLine] = []
        var set: SetLine?
        var other: [String] = []
        for line in result.stdoutLines {
            if let parsed = VerifyLine(line) {
                archives.append(parsed)
            } else if set == nil, let parsed = SetLine(line) {
                set = parsed
            } else {
                other.append(line)
            }
        }
        self.archives = archives
        self.set = set
        self.other = other
    }
}

/// Keys Spec/CLI.md lists for the JSON objects.
enum SpecJSONKeys {
    static let archive: Set<String> = [
        "schema", "kind", "archive", "depth", "ok", "error", "created", "created_unix", "payload_kind", "recipients",
        "recipient_types", "signer", "signer_key_id", "sequence", "chunks", "archive_bytes", "digest", "signature_verified",
        "plaintext_bytes", "files", "manifest", "sha256",
        // The header fields of inspect --json, and the key that opened it:
        // every output describes an archive with one ArchiveSummary.
        "format_version", "compression", "chunk_size", "group_size", "header_length", "label", "previous_digest", "opened_with_key_id",
    ]
    static let set: Set<String> = ["schema", "kind", "ok", "problems", "problem_details", "notes", "archives", "archives_ok", "newest_archive", "newest_age_seconds"]
    static let drill: Set<String> = [
        "schema", "kind", "archive", "ok", "failures", "error", "created", "recipients", "recipient_types", "signer", "signer_key_id",
        "drilled_at", "age_seconds", "max_age_seconds", "rto_seconds", "archive_bytes", "restore_seconds", "restored_bytes", "restored_files",
        "restore_bytes_per_second", "manifest_files_checked", "opened_with_key_id",
        "format_version", "created_unix", "payload_kind", "compression", "chunk_size", "group_size", "header_length", "label",
        "sequence", "previous_digest",
    ]
}

/// Small free-standing helpers, namespaced so they cannot clash with
/// helpers of other test files.
enum VerifyKit {
    /// Each line of standard output parsed as one JSON object; records an
    /// issue (and drops the line) for a line that is not one.
    static func jsonObjects(_ result: RunResult, sourceLocation: SourceLocation = #_sourceLocation) -> [[String: Any]] {
        result.stdoutLines.compactMap { line in
            let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            if object == nil { Issue.record("not a JSON object: \(line)\n\(result)", sourceLocation: sourceLocation) }
            return object
        }
    }

    static func int(_ value: Any?) -> Int? { (value as? NSNumber)?.intValue }
    static func bool(_ value: Any?) -> Bool? { (value as? NSNumber)?.boolValue }

    /// An environment that sets the CLI's clock (`SEALED_ARCHIVE_NOW`,
    /// Spec/CLI.md) to `time`, an RFC 3339 time: archive ages and creation
    /// times without sleeping.
    static func clock(_ time: String) -> [String: String] { ["SEALED_ARCHIVE_NOW": time] }
}
