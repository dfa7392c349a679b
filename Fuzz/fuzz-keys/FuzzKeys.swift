import Foundation
import FuzzSupport
@testable import SealedArchive

// Key strings (age1…, age1pq1…, AGE-SECRET-KEY-1…, AGE-SECRET-KEY-PQ-1…,
// sealsig1…, SEALED-SIGNING-KEY-1…, SEALED-PROTECTED-KEY-1…, key ids,
// signers-file lines) and whole secret key files. Every accepted key string is canonical: it re-encodes to the input.

let passphrase = "fuzz"

func secure(_ text: String) -> SecureBytes {
    Array(text.utf8).withUnsafeBytes { try! SecureBytes(copying: $0) }
}

func string(_ secure: SecureBytes) -> String {
    secure.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: OpaquePointer?, _ argv: OpaquePointer?) -> Int32 {
    Fuzz.writeSeedsIfAsked { vectors in
        var seeds: [(name: String, bytes: [UInt8])] = []
        // Both kinds of identity: the vectors' X25519 ones and the
        // post-quantum ones of vectors/pq.
        let identityLines = try Fuzz.vectorStrings(vectors, field: "identities")
            + Fuzz.vectorStrings(vectors.appendingPathComponent("pq"), field: "identities")
        for (index, line) in identityLines.enumerated() {
            seeds.append(("identity-\(index)", Array(line.utf8)))
            let identity = try Array(line.utf8).withUnsafeBytes { try Identity(parsing: $0) }
            seeds.append(("recipient-\(index)", Array(identity.recipient.description.utf8)))
            seeds.append(("keyid-\(index)", Array(identity.recipient.keyID.description.utf8)))
            seeds.append(("keyfile-\(index)", Array("# created: 2026-01-01T00:00:00Z\n# public key: \(identity.recipient)\n\(line)\n".utf8)))
        }
        for (index, line) in try Fuzz.vectorStrings(vectors, field: "signers").enumerated() {
            seeds.append(("signer-\(index)", Array(line.utf8)))
            seeds.append(("signer-window-\(index)", Array("\(line) valid-from=2026-01-01T00:00:00Z valid-until=2027-01-01T00:00:00Z".utf8)))
        }
        // A fixed signing key, and protected keys of both kinds with the
        // cheapest work factors the decoder accepts.
        let seed = try SecureBytes(count: 32) { $0.initializeMemory(as: UInt8.self, repeating: 7) }
        let signing = try SigningKey(seed: seed)
        seeds.append(("signing-key", Array(string(try signing.encoded()).utf8)))
        seeds.append(("signing-keyfile", Array("# public key: \(signing.signer)\n\(string(try signing.encoded()))\r\n".utf8)))
        let identity = try Array(identityLines[0].utf8).withUnsafeBytes { try Identity(parsing: $0) }
        let postQuantum = try Identity(secret: seed, kind: .postQuantum)
        for (name, secret, kind) in [("identity", identity.secret, ProtectedKey.Kind.identity), ("signing", seed, .signingKey),
                                     ("post-quantum", postQuantum.secret, .postQuantumIdentity)] {
            let line = try ProtectedKey.protect(secret, kind: kind, passphrase: secure(passphrase), opsLimit: 1, memLimitKiB: 8 * 1024)
            seeds.append(("protected-\(name)", Array(string(line).utf8)))
        }
        return seeds
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Fuzz.bytes(data, size)
    let text = String(decoding: bytes, as: UTF8.self)
    let isUTF8 = String(validating: bytes, as: UTF8.self) != nil

    if let recipient = try? Recipient(parsing: text) {
        Fuzz.check(isUTF8 && recipient.description == text, "recipient does not re-encode to its text")
        Fuzz.check((try? Recipient(parsing: recipient.description)) == recipient, "recipient round trip")
    }
    if let signer = try? SignerKey(parsing: text) {
        Fuzz.check(isUTF8 && signer.description == text, "signer key does not re-encode to its text")
    }
    if let keyID = try? KeyID(parsing: text) {
        Fuzz.check(keyID.description == text, "key id does not re-encode to its text")
    }
    if let trusted = try? TrustedSigner(parsing: text) {
        let again = try? TrustedSigner(parsing: trusted.description)
        Fuzz.check(again == trusted, "signers line '\(trusted)' does not parse back to itself")
    }
    bytes.withUnsafeBytes { raw in
        if let identity = try? Identity(parsing: raw) {
            Fuzz.check((try? identity.encoded()).map(string) == text, "identity does not re-encode to its text")
        }
        if let key = try? SigningKey(parsing: raw) {
            Fuzz.check((try? key.encoded()).map(string) == text, "signing key does not re-encode to its text")
        }
        // Argon2id runs only for a line with a valid checksum and limits.
        if let (kind, secret) = try? ProtectedKey.unprotect(raw, passphrase: secure(passphrase), file: "fuzz") {
            switch kind {
            case .identity: Fuzz.check((try? Identity(secret: secret)) != nil, "protected identity does not load")
            case .postQuantumIdentity:
                Fuzz.check((try? Identity(secret: secret, kind: .postQuantum)) != nil, "protected post-quantum identity does not load")
            case .signingKey: Fuzz.check((try? SigningKey(seed: secret)) != nil, "protected signing key does not load")
            }
        }
        do {
            _ = try KeyFiles.parseSecretKeys(raw, path: "fuzz", passphrase: { _ in secure(passphrase) })
        } catch is SealedArchiveError {
        } catch {
            Fuzz.check(false, "key file parser threw a non-SealedArchiveError: \(error)")
        }
    }
    return 0
}
