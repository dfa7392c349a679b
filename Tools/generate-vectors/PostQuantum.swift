import Foundation
import SealedArchive

// Post-quantum (X-Wing, stanza type 02) vectors, in DIRECTORY/pq. Their
// keys are fixed (from the seed below) but X-Wing encapsulation takes its
// randomness from the system, not from a seed: writing them again changes
// every archive. So `--only-v2` leaves them alone, and `--only-pq` writes
// them alone.

@MainActor var pqRandom = SplitMix64(state: 0x5051_5741_4E47_3032)
@MainActor func pqSecret() throws -> SecureBytes { try pqRandom.bytes(32).withUnsafeBytes { try SecureBytes(copying: $0) } }

@MainActor enum PQKeys {
    static let alice = try! Identity(secret: pqSecret(), kind: .postQuantum)
    static let mallory = try! Identity(secret: pqSecret(), kind: .postQuantum)
    static let bob = try! Identity(secret: pqSecret())
    static let host = try! SigningKey(seed: pqSecret())
}

@MainActor func writePostQuantum() throws {
    let (alice, mallory, bob, host) = (PQKeys.alice, PQKeys.mallory, PQKeys.bob, PQKeys.host)
    directory = baseDirectory.appendingPathComponent("pq", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let plaintext = pqRandom.bytes(2 * chunk + 500)
    func pq(_ name: String, _ description: String, archive: [UInt8], identities: [Identity] = [alice], signers: [SigningKey] = [],
            expect: String, keyless: String? = nil) throws {
        try emit(name, description, archive: archive, identities: identities, signers: signers, expect: expect, keyless: keyless,
                 plaintext: expect == "ok" ? plaintext : nil)
    }

    // MARK: Valid
    let one = try sealV2(plaintext, to: [alice], signedBy: host)
    try pq("pq-valid-one-recipient", "one post-quantum recipient, signed and required", archive: one.bytes, signers: [host], expect: "ok")
    let mixed = try sealV2(plaintext, to: [bob, alice], signedBy: nil)
    try pq("pq-valid-mixed-opened-post-quantum", "an X25519 and a post-quantum stanza, opened with the post-quantum identity",
           archive: mixed.bytes, expect: "ok")
    try pq("pq-valid-mixed-opened-classical", "the same archive opened with the X25519 identity",
           archive: mixed.bytes, identities: [bob], expect: "ok")

    // MARK: Keys
    try pq("pq-invalid-wrong-key", "sealed to alice's post-quantum key, opened with mallory's", archive: one.bytes,
           identities: [mallory], expect: "no-identity", keyless: "ok")
    try pq("pq-invalid-classical-identity", "post-quantum stanza only, opened with an X25519 identity", archive: one.bytes,
           identities: [bob], expect: "no-identity", keyless: "ok")

    // MARK: Tampered stanza (unsigned, so check 11 is the first to see it)
    let unsigned = try sealV2(plaintext, to: [alice], signedBy: nil)
    let body = FormatV2Layout.firstStanzaBody
    try pq("pq-invalid-ciphertext-bit", "a bit of the X-Wing ciphertext flipped (check 11)",
           archive: flipping(unsigned.bytes, at: body + 8 + 500), expect: "damaged")
    try pq("pq-invalid-wrapped-key-bit", "a bit of the wrapped file key flipped (check 11)",
           archive: flipping(unsigned.bytes, at: body + 8 + 1120 + 10), expect: "damaged")
    // Keyless, each changed header is found by the digest (check 16).
    try pq("pq-invalid-key-id-bit", "a bit of the stanza's key id flipped: no identity matches (check 10)",
           archive: flipping(unsigned.bytes, at: body + 1), expect: "no-identity", keyless: "damaged")
    try pq("pq-invalid-truncated-encapsulation", "the X-Wing ciphertext one byte short, lengths adjusted: body_length 1175 (check 7)",
           archive: resizingFirstStanza(unsigned.bytes, by: -1), expect: "header")
    try pq("pq-invalid-long-stanza", "one byte added to the stanza, lengths adjusted: body_length 1177 (check 7)",
           archive: resizingFirstStanza(unsigned.bytes, by: 1), expect: "header")
    // Two post-quantum stanzas for one key: check 7.
    try pq("pq-invalid-duplicate-stanza", "the post-quantum stanza twice, lengths adjusted (check 7)",
           archive: duplicatingFirstStanza(unsigned.bytes), expect: "header")
}

/// Offsets of a version 2 header (Spec/FORMAT-v2.md section 3).
enum FormatV2Layout {
    static let headerLength = 9
    static let stanzaCount = 25
    static let firstStanza = 27
    static let firstStanzaBodyLength = 28
    static let firstStanzaBody = 30
}

func u16(_ bytes: [UInt8], _ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
func u32(_ bytes: [UInt8], _ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
func put16(_ bytes: inout [UInt8], _ at: Int, _ value: Int) { bytes[at] = UInt8(value & 0xff); bytes[at + 1] = UInt8(value >> 8) }
func put32(_ bytes: inout [UInt8], _ at: Int, _ value: Int) { for k in 0..<4 { bytes[at + k] = UInt8((value >> (8 * k)) & 0xff) } }

/// The first stanza's body made `delta` bytes longer (a zero byte added at
/// its end) or shorter (its last byte removed), with body_length and
/// header_length changed to match, so the header still parses up to check 7.
func resizingFirstStanza(_ archive: [UInt8], by delta: Int) -> [UInt8] {
    var bytes = archive
    let length = u16(bytes, FormatV2Layout.firstStanzaBodyLength)
    let end = FormatV2Layout.firstStanzaBody + length
    if delta < 0 { bytes.removeSubrange(end + delta..<end) } else { bytes.insert(contentsOf: [UInt8](repeating: 0, count: delta), at: end) }
    put16(&bytes, FormatV2Layout.firstStanzaBodyLength, length + delta)
    put32(&bytes, FormatV2Layout.headerLength, u32(archive, FormatV2Layout.headerLength) + delta)
    return bytes
}

/// The first stanza written twice, stanza_count and header_length adjusted.
func duplicatingFirstStanza(_ archive: [UInt8]) -> [UInt8] {
    var bytes = archive
    let stanza = Array(bytes[FormatV2Layout.firstStanza..<FormatV2Layout.firstStanzaBody + u16(bytes, FormatV2Layout.firstStanzaBodyLength)])
    bytes.insert(contentsOf: stanza, at: FormatV2Layout.firstStanza)
    put16(&bytes, FormatV2Layout.stanzaCount, u16(archive, FormatV2Layout.stanzaCount) + 1)
    put32(&bytes, FormatV2Layout.headerLength, u32(archive, FormatV2Layout.headerLength) + stanza.count)
    return bytes
}
