internal import CSodium

/// Ed25519 signatures: the sealing host's signature over an archive digest.
package enum Ed25519 {
    package static let seedLength = 32
    package static let publicKeyLength = 32
    package static let signatureLength = 64

    /// The key pair of a 32-byte seed: the 64-byte libsodium secret key in
    /// secure memory, and the public key.
    ///
    /// The corresponding C function is `crypto_sign_seed_keypair`.
    package static func keyPair(seed: SecureBytes) throws -> (secret: SecureBytes, publicKey: [UInt8]) {
        try Sodium.ensureInitialized()
        precondition(seed.count == crypto_sign_seedbytes())
        var publicKey = [UInt8](repeating: 0, count: publicKeyLength)
        var result: Int32 = -1
        let secret = try SecureBytes(count: crypto_sign_secretkeybytes()) { sk in
            seed.withUnsafeBytes { s in
                result = crypto_sign_seed_keypair(&publicKey, sk.cBytes,
                                                  s.cBytes)
            }
        }
        try Sodium.check(result, SealedArchiveError(.crypto, "Ed25519 key derivation failed"))
        return (secret, publicKey)
    }

    /// A detached signature of `message`.
    ///
    /// The corresponding C function is `crypto_sign_detached`.
    package static func sign(_ message: [UInt8], secret: SecureBytes) throws -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: signatureLength)
        let result = secret.withUnsafeBytes {
            crypto_sign_detached(&signature, nil, message, UInt64(message.count), $0.cBytes)
        }
        try Sodium.check(result, SealedArchiveError(.crypto, "signing failed"))
        return signature
    }

    /// Whether `signature` is a valid signature of `message` by `publicKey`.
    ///
    /// The corresponding C function is `crypto_sign_verify_detached`.
    package static func verify(_ signature: [UInt8], of message: [UInt8], publicKey: [UInt8]) throws -> Bool {
        try Sodium.ensureInitialized()
        guard signature.count == signatureLength, publicKey.count == publicKeyLength else { return false }
        return crypto_sign_verify_detached(signature, message, UInt64(message.count), publicKey) == 0
    }
}
