// Writes the test vectors of Spec/vectors/: valid archives, and archives
// damaged in one precise way each, with the outcome Spec/FORMAT.md section 8
// prescribes beside each one.
//
//     swift run generate-vectors Spec/vectors
//
// The expected outcomes are stated here from the spec, not computed by the
// reader: the Swift tests and the independent Python reference decoder both
// check that they agree with them.
import Foundation
import SealedArchive
import TestSupport

struct Vector: Encodable {
    let name: String
    let description: String
    let archive: String
    let identities: [String]
    let signers: [String]
    let expect: String
    let keyless_expect: String
    let plaintext_sha256: String?
    let plaintext_length: Int?
    /// A tar payload: the SHA-256 of the tar it holds.
    var tar_sha256: String? = nil
}

func secretText(_ bytes: SecureBytes) -> String {
    bytes.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
}


// `--only-v2` writes the version 2 vectors (into DIRECTORY/v2) and leaves
// the version 1 ones as they are: keys and file keys are random, so
// writing version 1 again changes every one of its files. `--only-pq`
// writes the post-quantum vectors (DIRECTORY/pq) alone, for the same
// reason (PostQuantum.swift).
var arguments = CommandLine.arguments
let only = arguments.count == 3 ? arguments[1] : nil
let onlyV2 = only == "--only-v2", onlyPQ = only == "--only-pq"
if onlyV2 || onlyPQ { arguments.remove(at: 1) }
guard arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: generate-vectors [--only-v2 | --only-pq] OUTPUT-DIRECTORY\n".utf8))
    exit(64)
}
let baseDirectory = URL(fileURLWithPath: arguments[1], isDirectory: true)
var directory = baseDirectory
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)

let alice = try Identity.generate()
let bob = try Identity.generate()
let carol = try Identity.generate()
let mallory = try Identity.generate()
let host = try SigningKey.generate()
let otherHost = try SigningKey.generate()
let created = Date(timeIntervalSince1970: 1_795_900_000)
let chunkLog2 = 12
let chunk = 1 << chunkLog2
let record = chunk + 48

func seal(_ plaintext: [UInt8], to recipients: [Identity] = [alice], signedBy key: SigningKey? = host,
          configure: (inout SealOptions) -> Void = { _ in }) throws -> [UInt8] {
    var options = SealOptions(created: created)
    options.chunkSizeLog2 = chunkLog2
    configure(&options)
    let sink = MemorySink()
    let writer = try ArchiveWriter(sink: sink, recipients: recipients.map(\.recipient), signingKey: key, options: options)
    try plaintext.withUnsafeBytes { try writer.write($0) }
    _ = try writer.finish()
    return sink.bytes
}

func headerLength(_ archive: [UInt8]) throws -> Int { try ArchiveHeader(parsing: archive).length }

var written: [String] = []
@MainActor func emit(_ name: String, _ description: String, archive: [UInt8], identities: [Identity] = [alice],
          signers: [SigningKey] = [], expect: String, keyless: String? = nil, plaintext: [UInt8]? = nil, tar: [UInt8]? = nil) throws {
    let file = "\(name).sarc"
    try Data(archive).write(to: directory.appendingPathComponent(file))
    let vector = Vector(
        name: name, description: description, archive: file,
        identities: try identities.map { secretText(try $0.encoded()) },
        signers: signers.map { $0.signer.description },
        expect: expect, keyless_expect: keyless ?? expect,
        plaintext_sha256: plaintext.map(sha256Hex), plaintext_length: plaintext?.count, tar_sha256: tar.map(sha256Hex))
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    try encoder.encode(vector).write(to: directory.appendingPathComponent("\(name).json"))
    written.append(name)
}

func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255) } }
func flipping(_ archive: [UInt8], at offset: Int, bit: UInt8 = 0x01) -> [UInt8] {
    var copy = archive
    copy[offset] ^= bit
    return copy
}

@MainActor func writeVersion1() throws {
// MARK: Valid archives

let several = randomBytes(3 * chunk + 1234)
let valid = try seal(several)
try emit("valid-empty", "empty plaintext: one empty last chunk", archive: try seal([]), signers: [host], expect: "ok", plaintext: [])
let one = randomBytes(1)
try emit("valid-one-byte", "one byte of plaintext", archive: try seal(one), expect: "ok", plaintext: one)
let exact = randomBytes(chunk)
try emit("valid-exactly-one-chunk", "exactly one chunk: no empty chunk follows", archive: try seal(exact), expect: "ok", plaintext: exact)
let onePlus = randomBytes(chunk + 1)
try emit("valid-one-chunk-plus-one", "one full chunk and a last chunk of one byte", archive: try seal(onePlus), expect: "ok", plaintext: onePlus)
try emit("valid-several-chunks", "four chunks, signed, the signer required", archive: valid, signers: [host], expect: "ok", plaintext: several)
let multiple = randomBytes(2 * chunk)
try emit("valid-three-recipients", "three recipients, opened by the third", archive: try seal(multiple, to: [alice, bob, carol]),
         identities: [carol], expect: "ok", plaintext: multiple)
try emit("valid-unsigned", "an unsigned archive, no signer required", archive: try seal(several, signedBy: nil), expect: "ok", plaintext: several)
try emit("valid-metadata", "label, sequence and previous digest fields", archive: try seal(one) {
    $0.label = "authentik nightly ✓"
    $0.sequence = 42
    $0.previousDigest = randomBytes(32)
}, signers: [host], expect: "ok", plaintext: one)
try emit("valid-second-identity", "several identities given; the second is the recipient", archive: try seal(one),
         identities: [mallory, alice], expect: "ok", plaintext: one)

// MARK: Header damage

let h = try headerLength(valid)
try emit("invalid-empty-file", "zero bytes", archive: [], expect: "header")
try emit("invalid-magic", "first magic byte changed", archive: flipping(valid, at: 0), expect: "header")
// Version 2 exists (Spec/FORMAT-v2.md): byte 2 would be a malformed version
// 2 header, so the unknown version is 3.
try emit("invalid-version", "version byte 3", archive: { var a = valid; a[8] = 3; return a }(), expect: "version")
try emit("invalid-header-too-large", "header_length 8193", archive: { var a = valid; a[9] = 0x01; a[10] = 0x20; a[11] = 0; a[12] = 0; return a }(), expect: "limit")
try emit("invalid-too-many-recipients", "recipient_count 65", archive: { var a = valid; a[24] = 65; a[25] = 0; return a }(), expect: "limit")
try emit("invalid-truncated-header", "the input ends inside the header", archive: Array(valid[..<(h - 10)]), expect: "truncated")
try emit("invalid-header-bit", "a bit flipped in the created field", archive: flipping(valid, at: 16), expect: "damaged")
try emit("invalid-stanza-bit", "a bit flipped in the wrapped file key of the only stanza", archive: flipping(valid, at: 26 + 8 + 40), expect: "damaged")
try emit("invalid-header-mac", "a bit flipped in the header MAC", archive: flipping(valid, at: h - 1), expect: "damaged")
try emit("invalid-chunk-size", "chunk_size_log2 25", archive: { var a = valid; a[13] = 25; return a }(), expect: "header")

// MARK: Record damage

try emit("invalid-first-chunk", "a bit flipped in chunk 0's ciphertext", archive: flipping(valid, at: h + 100), expect: "damaged")
try emit("invalid-middle-chunk", "a bit flipped in chunk 1's ciphertext", archive: flipping(valid, at: h + record + 100), expect: "damaged")
try emit("invalid-last-chunk", "a bit flipped in the last chunk's ciphertext", archive: flipping(valid, at: h + 3 * record + 10), expect: "damaged")
try emit("invalid-record-hash", "a bit flipped in chunk 2's stored hash", archive: flipping(valid, at: h + 3 * record - 1), expect: "damaged")
let trailerStart = valid.count - 112
try emit("invalid-trailer-digest", "a bit flipped in the trailer digest", archive: flipping(valid, at: trailerStart + 20), expect: "damaged")
try emit("invalid-trailer-count", "chunk_count in the trailer says 5", archive: { var a = valid; a[trailerStart + 8] = 5; return a }(), expect: "damaged")
try emit("invalid-signature", "a bit flipped in the signature", archive: flipping(valid, at: valid.count - 1), expect: "signature")

// MARK: Structure

try emit("invalid-truncated-at-boundary", "cut after chunk 1: the rest and the trailer are gone",
         archive: Array(valid[..<(h + 2 * record)]), expect: "truncated")
try emit("invalid-truncated-in-chunk", "cut in the middle of chunk 2", archive: Array(valid[..<(h + 2 * record + 1000)]), expect: "truncated")
try emit("invalid-truncated-trailer", "the last byte is missing", archive: Array(valid.dropLast()), expect: "truncated")
try emit("invalid-final-chunk-dropped", "the last chunk removed, the trailer kept",
         archive: Array(valid[..<(h + 3 * record)]) + Array(valid[trailerStart...]), expect: "damaged")
try emit("invalid-chunks-swapped", "chunks 0 and 1 swapped",
         archive: Array(valid[..<h]) + Array(valid[(h + record)..<(h + 2 * record)]) + Array(valid[h..<(h + record)]) + Array(valid[(h + 2 * record)...]),
         expect: "damaged")
try emit("invalid-chunk-duplicated", "chunk 1 repeated after itself",
         archive: Array(valid[..<(h + 2 * record)]) + Array(valid[(h + record)...]), expect: "damaged")
try emit("invalid-appended-bytes", "seven bytes after the trailer", archive: valid + Array("garbage".utf8), expect: "trailer")

// MARK: Keys and signers

try emit("invalid-wrong-identity", "sealed to alice only, opened with mallory's identity",
         archive: valid, identities: [mallory], expect: "no-identity", keyless: "ok")
try emit("invalid-untrusted-signer", "validly signed by another host than the one required",
         archive: try seal(several, signedBy: otherHost), signers: [host], expect: "untrusted-signer")
try emit("invalid-unsigned-required", "unsigned, but a signer is required",
         archive: try seal(several, signedBy: nil), signers: [host], expect: "unsigned")

}

if only == nil { try writeVersion1() }
if !onlyPQ { try writeVersion2() }
if !onlyV2 { try writePostQuantum() }

FileHandle.standardError.write(Data("wrote \(written.count) vectors to \(directory.path)\n".utf8))
