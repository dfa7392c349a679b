internal import CSodium

/// X25519 key agreement keys and libsodium sealed boxes (anonymous-sender
/// public-key encryption), used to wrap each archive's file key.
package enum X25519 {
    package static let keyLength = 32

    /// A fresh key pair: the secret scalar in secure memory, the public key.
    ///
    /// The corresponding C function is `crypto_box_keypair`.
    package static func generate() throws -> (secret: SecureBytes, publicKey: [UInt8]) {
        try Sodium.ensureInitialized()
        var publicKey = [UInt8](repeating: 0, count: keyLength)
        var result: Int32 = -1
        let secret = try SecureBytes(count: keyLength) {
            result = crypto_box_keypair(&publicKey, $0.cBytes)
        }
        try Sodium.check(result, SealedArchiveError(.crypto, "X25519 key generation failed"))
        return (secret, publicKey)
    }

    /// The public key of a secret scalar.
    ///
    /// The corresponding C function is `crypto_scalarmult_base`.
    package static func publicKey(of secret: SecureBytes) throws -> [UInt8] {
        try Sodium.ensureInitialized()
        var publicKey = [UInt8](repeating: 0, count: keyLength)
        let result = secret.withUnsafeBytes {
            crypto_scalarmult_base(&publicKey, $0.cBytes)
        }
        try Sodium.check(result, SealedArchiveError(.invalidKey, "the identity is not a usable X25519 key"))
        return publicKey
    }

    /// Length of a sealed box around `plaintextLength` bytes (48 bytes more).
    package static func sealedLength(_ plaintextLength: Int) -> Int {
        plaintextLength + crypto_box_sealbytes()
    }

    /// Encrypts `message` to `publicKey` so only its secret key opens it.
    ///
    /// The corresponding C function is `crypto_box_seal`.
    package static func seal(_ message: SecureBytes, to publicKey: [UInt8]) throws -> [UInt8] {
        try Sodium.ensureInitialized()
        var out = [UInt8](repeating: 0, count: sealedLength(message.count))
        let result = message.withUnsafeBytes {
            crypto_box_seal(&out, $0.cBytes, UInt64($0.count), publicKey)
        }
        try Sodium.check(result, SealedArchiveError(.crypto, "sealing the file key failed"))
        return out
    }

    /// `crypto_box_seal` with the ephemeral secret given instead of drawn:
    /// the same bytes libsodium's sealed box makes (the ephemeral public
    /// key, then `crypto_box` under the nonce `H_24(epk || pk)`). Only for
    /// reproducible test vectors: a real archive never reuses an ephemeral.
    ///
    /// The corresponding C functions are `crypto_generichash` and
    /// `crypto_box_easy`.
    package static func seal(_ message: SecureBytes, to publicKey: [UInt8], ephemeralSecret: SecureBytes) throws -> [UInt8] {
        try Sodium.ensureInitialized()
        let ephemeralPublic = try self.publicKey(of: ephemeralSecret)
        var nonce = [UInt8](repeating: 0, count: Int(crypto_box_NONCEBYTES))
        let input = ephemeralPublic + publicKey
        _ = crypto_generichash(&nonce, nonce.count, input, UInt64(input.count), nil, 0)
        var box = [UInt8](repeating: 0, count: message.count + Int(crypto_box_MACBYTES))
        let result = message.withUnsafeBytes { m in
            ephemeralSecret.withUnsafeBytes { sk in
                crypto_box_easy(&box, m.cBytes, UInt64(m.count), nonce, publicKey, sk.cBytes)
            }
        }
        try Sodium.check(result, SealedArchiveError(.crypto, "sealing the file key failed"))
        return ephemeralPublic + box
    }

    /// Opens a sealed box, into secure memory; nil when it does not open
    /// (wrong key or damaged box: the two cannot be told apart).
    ///
    /// The corresponding C function is `crypto_box_seal_open`.
    package static func open(_ box: UnsafeRawBufferPointer, publicKey: [UInt8], secret: SecureBytes) throws -> SecureBytes? {
        let overhead = crypto_box_sealbytes()
        guard box.count > overhead else { return nil }
        var result: Int32 = -1
        let opened = try SecureBytes(count: box.count - overhead) { out in
            secret.withUnsafeBytes { sk in
                result = crypto_box_seal_open(
                    out.cBytes,
                    box.cBytes, UInt64(box.count),
                    publicKey, sk.cBytes)
            }
        }
        return result == 0 ? opened : nil
    }
}
