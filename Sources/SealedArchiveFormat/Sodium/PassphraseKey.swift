internal import CSodium

/// A key derived from a passphrase with Argon2id, and the XChaCha20-Poly1305
/// sealing of a secret under it: the protection of secret key files
/// (Spec/KEYS.md section 5).
package enum PassphraseKey {
    package static let saltLength = 16
    package static let nonceLength = 24
    package static let tagLength = 16

    /// Derives a 32-byte key in secure memory.
    ///
    /// The corresponding C function is `crypto_pwhash` (Argon2id v1.3).
    package static func derive(passphrase: SecureBytes, salt: [UInt8], opsLimit: UInt32, memLimitKiB: UInt32) throws -> SecureBytes {
        try Sodium.ensureInitialized()
        precondition(salt.count == crypto_pwhash_saltbytes())
        var result: Int32 = -1
        let key = try SecureBytes(count: 32) { out in
            passphrase.withUnsafeBytes { pass in
                result = crypto_pwhash(out.cBytes, UInt64(out.count),
                                       pass.baseAddress!.assumingMemoryBound(to: CChar.self), UInt64(pass.count),
                                       salt, UInt64(opsLimit), Int(memLimitKiB) * 1024, crypto_pwhash_alg_argon2id13())
            }
        }
        try Sodium.check(result, SealedArchiveError(.resources, "deriving a key from the passphrase failed: Argon2id could not get the memory it needs"))
        return key
    }

    /// Encrypts `secret` with `additionalData` authenticated alongside.
    ///
    /// The corresponding C function is `crypto_aead_xchacha20poly1305_ietf_encrypt`.
    package static func seal(_ secret: SecureBytes, key: SecureBytes, nonce: [UInt8], additionalData: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: secret.count + tagLength)
        var written: UInt64 = 0
        let result = secret.withUnsafeBytes { m in
            key.withUnsafeBytes { k in
                crypto_aead_xchacha20poly1305_ietf_encrypt(&out, &written, m.cBytes, UInt64(m.count),
                                                          additionalData, UInt64(additionalData.count), nil, nonce, k.cBytes)
            }
        }
        try Sodium.check(result, SealedArchiveError(.crypto, "protecting the key failed"))
        return out
    }

    /// Decrypts into secure memory; nil when the passphrase (or the data) is
    /// wrong.
    ///
    /// The corresponding C function is `crypto_aead_xchacha20poly1305_ietf_decrypt`.
    package static func open(_ ciphertext: [UInt8], key: SecureBytes, nonce: [UInt8], additionalData: [UInt8]) throws -> SecureBytes? {
        guard ciphertext.count > tagLength else { return nil }
        var result: Int32 = -1
        let secret = try SecureBytes(count: ciphertext.count - tagLength) { out in
            key.withUnsafeBytes { k in
                var written: UInt64 = 0
                result = crypto_aead_xchacha20poly1305_ietf_decrypt(out.cBytes, &written, nil, ciphertext, UInt64(ciphertext.count),
                                                                   additionalData, UInt64(additionalData.count), nonce, k.cBytes)
            }
        }
        return result == 0 ? secret : nil
    }
}
