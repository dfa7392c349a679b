internal import CSodium

/// ChaCha20-Poly1305 (IETF, 12-byte nonce) under one payload key: the chunk
/// AEAD of Spec/FORMAT.md section 5. The key is shared read-only, so chunks
/// can be sealed and opened on several threads at once.
package final class ChunkCipher: @unchecked Sendable {
    package static let keyLength = 32
    package static let nonceLength = 12
    package static let tagLength = 16
    private let key: SecureBytes

    package init(key: SecureBytes) throws {
        try Sodium.ensureInitialized()
        precondition(key.count == crypto_aead_chacha20poly1305_ietf_keybytes())
        precondition(Self.tagLength == crypto_aead_chacha20poly1305_ietf_abytes())
        self.key = key
    }

    /// Encrypts `plaintext` into `output`, which must hold
    /// `plaintext.count + 16` bytes.
    ///
    /// The corresponding C function is `crypto_aead_chacha20poly1305_ietf_encrypt`.
    package func seal(_ plaintext: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        precondition(output.count == plaintext.count + Self.tagLength && nonce.count == Self.nonceLength)
        var written: UInt64 = 0
        let result = key.withUnsafeBytes { k in
            crypto_aead_chacha20poly1305_ietf_encrypt(
                output.cBytes, &written,
                plaintext.cBytes, UInt64(plaintext.count),
                nil, 0, nil,
                nonce.cBytes, k.cBytes)
        }
        try Sodium.check(result, SealedArchiveError(.crypto, "chunk encryption failed"))
    }

    /// Decrypts and authenticates `ciphertext` into `output`, which must hold
    /// `ciphertext.count - 16` bytes. Returns false when the tag does not
    /// verify; `output` then holds nothing meaningful.
    ///
    /// The corresponding C function is `crypto_aead_chacha20poly1305_ietf_decrypt`.
    package func open(_ ciphertext: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Bool {
        precondition(ciphertext.count >= Self.tagLength && output.count == ciphertext.count - Self.tagLength)
        precondition(nonce.count == Self.nonceLength)
        var written: UInt64 = 0
        let result = key.withUnsafeBytes { k in
            crypto_aead_chacha20poly1305_ietf_decrypt(
                output.cBytes, &written, nil,
                ciphertext.cBytes, UInt64(ciphertext.count),
                nil, 0,
                nonce.cBytes, k.cBytes)
        }
        return result == 0
    }
}
