import Foundation
import FuzzSupport
@testable import SealedArchive

// Line-based lists: recipients files, signers files, checksum files and
// MANIFEST.sha256 (sha256sum lines, escapes included). What parses
// serialises to text that parses to the same value.

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: OpaquePointer?, _ argv: OpaquePointer?) -> Int32 {
    Fuzz.writeSeedsIfAsked { vectors in
        var seeds: [(name: String, bytes: [UInt8])] = []
        let recipients = try Fuzz.vectorStrings(vectors, field: "identities").map { line in
            try Array(line.utf8).withUnsafeBytes { try Identity(parsing: $0) }.recipient.description
        }
        seeds.append(("recipients", Array(("# recipients\n" + recipients.joined(separator: "\n") + "\n").utf8)))
        let signers = try Fuzz.vectorStrings(vectors, field: "signers")
        seeds.append(("signers", Array(("# signers\r\n" + signers.map { "\($0) valid-from=2026-01-01T00:00:00Z" }.joined(separator: "\r\n")).utf8)))
        let digest = String(repeating: "0123456789abcdef", count: 4)
        seeds.append(("checksum", ChecksumLine.serialize(digest: digest, name: Array("backup.sarc".utf8))))
        seeds.append(("manifest", ChecksumLine.serialize(digest: digest, name: Array("./a/b.txt".utf8))
            + ChecksumLine.serialize(digest: digest, name: Array("odd\\name\nwith\rbreaks".utf8))
            + Array("\(digest.uppercased()) *binary\r\n".utf8)))
        return seeds
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Fuzz.bytes(data, size)
    let text = String(decoding: bytes, as: UTF8.self)

    if let recipients = try? KeyFiles.parseRecipients(text, path: "fuzz") {
        let again = try? KeyFiles.parseRecipients(recipients.map(\.description).joined(separator: "\n"), path: "fuzz")
        Fuzz.check(again == recipients, "recipients do not round-trip")
    }
    if let signers = try? KeyFiles.parseSigners(text, path: "fuzz") {
        let again = try? KeyFiles.parseSigners(signers.map(\.description).joined(separator: "\n"), path: "fuzz")
        Fuzz.check(again == signers, "signers do not round-trip")
    }
    for line in TextLines.split(bytes) {
        guard let parsed = try? ChecksumLine(parsing: line) else { continue }
        Fuzz.check(parsed.digest.utf8.count == 64, "digest of \(parsed.digest.utf8.count) characters")
        let serialized = ChecksumLine.serialize(digest: parsed.digest, name: parsed.name)
        Fuzz.check(serialized.last == UInt8(ascii: "\n") && !serialized.dropLast().contains(UInt8(ascii: "\n")),
                   "a serialised checksum line holds a line break")
        let again = try? ChecksumLine(parsing: serialized.dropLast())
        Fuzz.check(again?.digest == parsed.digest && again?.name == parsed.name, "checksum line does not round-trip")
    }
    if let digests = try? ChecksumFile.parse(text, path: "fuzz") {
        for (name, digest) in digests {
            Fuzz.check(ChecksumFile.baseName(name) == name, "checksum file key '\(name)' is not a base name")
            Fuzz.check(digest.utf8.count == 64, "digest of \(digest.utf8.count) characters")
        }
    }
    do {
        let manifest = try Manifest(parsing: bytes)
        var serialized: [UInt8] = []
        for (path, digest) in manifest.digests.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            Fuzz.check((try? EntryPolicy.normalize(path)) == path, "manifest path is not normalised")
            serialized += ChecksumLine.serialize(digest: digest, name: path)
        }
        let again = try Manifest(parsing: serialized)
        Fuzz.check(again.digests == manifest.digests, "manifest does not round-trip")
    } catch is SealedArchiveError {
    } catch {
        Fuzz.check(false, "manifest parser threw a non-SealedArchiveError: \(error)")
    }
    return 0
}
