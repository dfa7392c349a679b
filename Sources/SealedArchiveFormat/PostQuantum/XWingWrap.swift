/// The file key wrapped to a post-quantum recipient: the body of a type
/// `02` stanza after its key id (Spec/FORMAT-v2.md section 3.1).
///
///     enc         = X-Wing ciphertext (1120 bytes) encapsulating ss to pk
///     wrap_key    = H_ss("SealedArchive/v2/xwing-wrap" || enc || pk)
///     wrapped_key = ChaCha20-Poly1305(wrap_key, nonce 0^12, file_key)  (48 bytes)
///
/// The wrap key is used once (a fresh encapsulation each time), so the zero
/// nonce is safe; binding `enc` and `pk` makes the stanza a commitment to
/// the recipient, not only to the shared secret.
enum XWingWrap {
    static let wrappedKeyLength = FormatV1.fileKeyLength + ChunkCipher.tagLength
    /// What follows the key id: `enc || wrapped_key`.
    static let length = XWing.ciphertextLength + wrappedKeyLength
    static let domain: StaticString = "SealedArchive/v2/xwing-wrap"

    /// Wraps `fileKey` (exactly 32 bytes) to the X-Wing `publicKey`.
    static func wrap(_ fileKey: SecureBytes, to publicKey: [UInt8]) throws -> [UInt8] {
        precondition(fileKey.count == FormatV1.fileKeyLength)
        let (sharedSecret, enc) = try XWing.encapsulate(to: publicKey)
        let cipher = try ChunkCipher(key: wrapKey(sharedSecret, enc: enc, publicKey: publicKey))
        var wrapped = [UInt8](repeating: 0, count: wrappedKeyLength)
        try fileKey.withUnsafeBytes { key in
            try zeroNonce.withUnsafeBytes { nonce in
                try wrapped.withUnsafeMutableBytes { try cipher.seal(key, nonce: nonce, into: $0) }
            }
        }
        return enc + wrapped
    }

    /// The file key in `body` (``length`` bytes: `enc || wrapped_key`) for
    /// the key pair of `seed`, whose public key is `publicKey`; nil when it
    /// does not open (another recipient's stanza, or a forged one).
    static func unwrap(_ body: ArraySlice<UInt8>, seed: SecureBytes, publicKey: [UInt8]) throws -> SecureBytes? {
        precondition(body.count == length)
        let enc = Array(body.prefix(XWing.ciphertextLength))
        let sharedSecret = try XWing.decapsulate(enc, seed: seed)
        let cipher = try ChunkCipher(key: wrapKey(sharedSecret, enc: enc, publicKey: publicKey))
        let fileKey = try SecureBytes(count: FormatV1.fileKeyLength)
        let opened = Array(body.suffix(wrappedKeyLength)).withUnsafeBytes { wrapped in
            zeroNonce.withUnsafeBytes { nonce in
                fileKey.withUnsafeMutableBytes { cipher.open(wrapped, nonce: nonce, into: $0) }
            }
        }
        return opened ? fileKey : nil
    }

    private static func wrapKey(_ sharedSecret: SecureBytes, enc: [UInt8], publicKey: [UInt8]) throws -> SecureBytes {
        let hasher = try BLAKE2b(key: sharedSecret)
        hasher.update(domain)
        hasher.update(enc)
        hasher.update(publicKey)
        return try hasher.finalizeSecret()
    }

    private static let zeroNonce = [UInt8](repeating: 0, count: ChunkCipher.nonceLength)
}
