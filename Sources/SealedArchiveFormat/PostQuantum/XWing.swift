internal import Crypto
import Foundation

/// X-Wing, the hybrid ML-KEM-768 + X25519 key encapsulation mechanism
/// (draft-connolly-cfrg-xwing-kem), from swift-crypto: the one file that
/// reaches it. Keys are 32-byte seeds, as age's `mlkem768x25519` identities
/// hold them; swift-crypto expands a seed as the draft says.
enum XWing {
    static let seedLength = 32
    static let publicKeyLength = 1216
    static let ciphertextLength = 1120
    static let sharedSecretLength = 32

    /// Whether `publicKey` passes FIPS 203's encapsulation key check (7.2):
    /// every coefficient of ML-KEM's `t` (the first 1152 bytes, 768 12-bit
    /// values) is below q = 3329. Encapsulation refuses a key that fails
    /// it; checking when a recipient is parsed names the bad key at once.
    static func isCanonicalPublicKey(_ publicKey: [UInt8]) -> Bool {
        guard publicKey.count == publicKeyLength else { return false }
        let q: UInt16 = 3329
        for offset in stride(from: 0, to: 1152, by: 3) {
            let (b0, b1, b2) = (UInt16(publicKey[offset]), UInt16(publicKey[offset + 1]), UInt16(publicKey[offset + 2]))
            guard b0 | (b1 & 0x0F) << 8 < q, b1 >> 4 | b2 << 4 < q else { return false }
        }
        return true
    }

    /// The public key of the key pair `seed` expands to.
    static func publicKey(ofSeed seed: SecureBytes) throws -> [UInt8] {
        try [UInt8](privateKey(seed).publicKey.rawRepresentation)
    }

    /// A new random seed, in secure memory.
    static func generateSeed() throws -> SecureBytes {
        try SecureBytes.random(count: seedLength)
    }

    /// Encapsulates a fresh shared secret to `publicKey`.
    static func encapsulate(to publicKey: [UInt8]) throws -> (sharedSecret: SecureBytes, ciphertext: [UInt8]) {
        let key: XWingMLKEM768X25519.PublicKey
        do {
            key = try XWingMLKEM768X25519.PublicKey(rawRepresentation: publicKey)
        } catch {
            throw SealedArchiveError(.invalidKey, "not an X-Wing public key")
        }
        let result: KEM.EncapsulationResult
        do { result = try key.encapsulate() } catch {
            throw SealedArchiveError(.invalidKey, "X-Wing encapsulation failed")
        }
        return (try secure(result.sharedSecret), [UInt8](result.encapsulated))
    }

    /// The shared secret `ciphertext` carries for the key pair of `seed`.
    /// ML-KEM rejects implicitly: a ciphertext made for another key yields
    /// an unrelated secret, which the caller's AEAD then refuses.
    static func decapsulate(_ ciphertext: [UInt8], seed: SecureBytes) throws -> SecureBytes {
        guard ciphertext.count == ciphertextLength else {
            throw SealedArchiveError(.damaged, "an X-Wing ciphertext of \(ciphertext.count) bytes")
        }
        let secret: SymmetricKey
        do { secret = try privateKey(seed).decapsulate(Data(ciphertext)) } catch {
            throw SealedArchiveError(.damaged, "X-Wing decapsulation failed")
        }
        return try secure(secret)
    }

    /// A swift-crypto key for `seed`, made for one use and released.
    ///
    /// Known limit: swift-crypto 4.5 keeps the key (the seed and what it
    /// expands to) in a BoringSSL struct inside a class with no `deinit`,
    /// so that copy is freed without being wiped, unlike our own
    /// ``SecureBytes``. The seed is at least handed over in place (not
    /// copied into a `Data`), and the key lives only for the call.
    private static func privateKey(_ seed: SecureBytes) throws -> XWingMLKEM768X25519.PrivateKey {
        do {
            return try seed.withUnsafeBytes { try XWingMLKEM768X25519.PrivateKey(seedRepresentation: $0, publicKey: nil) }
        } catch {
            throw SealedArchiveError(.invalidKey, "not an X-Wing seed")
        }
    }

    /// Copies a swift-crypto key (wiped when released) into ours.
    private static func secure(_ key: SymmetricKey) throws -> SecureBytes {
        try key.withUnsafeBytes { try SecureBytes(copying: $0) }
    }
}
