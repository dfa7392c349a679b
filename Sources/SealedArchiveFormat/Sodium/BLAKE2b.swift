internal import CSodium

/// Incremental BLAKE2b with a 32-byte output, unkeyed or keyed with a
/// 32-byte key. The state is wiped when the hasher is released, since a keyed
/// state holds key material.
///
/// The corresponding C functions are `crypto_generichash_init`,
/// `crypto_generichash_update` and `crypto_generichash_final`.
package final class BLAKE2b {
    package static let outputLength = 32
    private let state: UnsafeMutableRawPointer
    private let stateSize: Int
    private var finished = false

    /// An unkeyed hasher.
    package init() throws {
        try Sodium.ensureInitialized()
        stateSize = crypto_generichash_blake2b_statebytes()
        state = UnsafeMutableRawPointer.allocate(byteCount: stateSize, alignment: 64)
        try Sodium.check(
            crypto_generichash_init(typed, nil, 0, BLAKE2b.outputLength),
            SealedArchiveError(.crypto, "BLAKE2b initialisation failed"))
    }

    /// A hasher keyed with `key` (32 bytes).
    package init(key: SecureBytes) throws {
        try Sodium.ensureInitialized()
        stateSize = crypto_generichash_blake2b_statebytes()
        state = UnsafeMutableRawPointer.allocate(byteCount: stateSize, alignment: 64)
        let result = key.withUnsafeBytes {
            crypto_generichash_init(typed, $0.cBytes, $0.count, BLAKE2b.outputLength)
        }
        try Sodium.check(result, SealedArchiveError(.crypto, "keyed BLAKE2b initialisation failed"))
    }

    deinit {
        sodium_memzero(state, stateSize)
        state.deallocate()
    }

    /// The state type is 64-byte aligned in C and imports as opaque.
    private var typed: OpaquePointer { OpaquePointer(state) }

    package func update(_ bytes: UnsafeRawBufferPointer) {
        precondition(!finished, "BLAKE2b used after finalize")
        guard bytes.count > 0 else { return }
        // Only fails for a NULL state, which this class cannot hold.
        _ = crypto_generichash_update(typed, bytes.cBytes, UInt64(bytes.count))
    }

    package func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }
    package func update(_ text: StaticString) {
        update(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// The digest. The hasher cannot be used afterwards.
    package func finalize() -> [UInt8] {
        precondition(!finished, "BLAKE2b finalized twice")
        finished = true
        var out = [UInt8](repeating: 0, count: BLAKE2b.outputLength)
        _ = crypto_generichash_final(typed, &out, out.count)
        return out
    }

    /// Writes the digest into secure memory (for derived keys).
    package func finalizeSecret() throws -> SecureBytes {
        precondition(!finished, "BLAKE2b finalized twice")
        finished = true
        return try SecureBytes(count: BLAKE2b.outputLength) {
            _ = crypto_generichash_final(typed, $0.cBytes, $0.count)
        }
    }

    /// One-shot unkeyed hash of a domain string followed by `bytes`.
    package static func hash(domain: StaticString, _ bytes: UnsafeRawBufferPointer) throws -> [UInt8] {
        let hasher = try BLAKE2b()
        hasher.update(domain)
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// One-shot keyed hash of a domain string, kept in secure memory: the key
    /// derivation of Spec/FORMAT.md section 3.
    package static func deriveKey(from key: SecureBytes, domain: StaticString) throws -> SecureBytes {
        let hasher = try BLAKE2b(key: key)
        hasher.update(domain)
        return try hasher.finalizeSecret()
    }
}
