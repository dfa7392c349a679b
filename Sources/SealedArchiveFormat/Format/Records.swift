/// Record construction (Spec/FORMAT.md section 5): the chunk nonce and the
/// keyless record hash, shared by the sealing and the opening side.
package enum Records {
    /// `nonce_i`: 3 zero bytes, the index as 8 big-endian bytes, the flag.
    package static func nonce(index: UInt64, last: Bool) -> [UInt8] {
        var nonce = [UInt8](repeating: 0, count: ChunkCipher.nonceLength)
        for byte in 0..<8 { nonce[3 + byte] = UInt8(truncatingIfNeeded: index >> (8 * (7 - UInt64(byte)))) }
        nonce[11] = last ? 1 : 0
        return nonce
    }

    /// `h_i = H("SealedArchive/v1/chunk" || u64(i) || u8(last) || c_i)`.
    package static func hash(index: UInt64, last: Bool, ciphertext: UnsafeRawBufferPointer) throws -> [UInt8] {
        let hasher = try BLAKE2b()
        hasher.update(FormatV1.chunkHashDomain)
        var prefix: [UInt8] = []
        prefix.appendLittleEndian(index)
        prefix.append(last ? 1 : 0)
        hasher.update(prefix)
        hasher.update(ciphertext)
        return hasher.finalize()
    }
}

/// The running keyless digest of section 6: the domain string, the header,
/// each record hash in order, then the chunk count.
package final class ArchiveDigest {
    private let hasher: BLAKE2b
    package private(set) var recordCount: UInt64 = 0

    package init(header: [UInt8]) throws {
        hasher = try BLAKE2b()
        hasher.update(FormatV1.digestDomain)
        hasher.update(header)
    }

    package func add(recordHash: UnsafeRawBufferPointer) {
        hasher.update(recordHash)
        recordCount += 1
    }

    package func finalize() -> [UInt8] {
        var count: [UInt8] = []
        count.appendLittleEndian(recordCount)
        hasher.update(count)
        return hasher.finalize()
    }
}

/// The file key and the keys derived from it (Spec/FORMAT.md section 3).
package final class KeySchedule: Sendable {
    package let fileKey: SecureBytes
    package let headerKey: SecureBytes
    package let cipher: ChunkCipher

    package init(fileKey: SecureBytes) throws {
        precondition(fileKey.count == FormatV1.fileKeyLength)
        self.fileKey = fileKey
        self.headerKey = try BLAKE2b.deriveKey(from: fileKey, domain: FormatV1.headerKeyDomain)
        self.cipher = try ChunkCipher(key: BLAKE2b.deriveKey(from: fileKey, domain: FormatV1.payloadKeyDomain))
    }

    package static func random() throws -> KeySchedule {
        try KeySchedule(fileKey: SecureBytes.random(count: FormatV1.fileKeyLength))
    }
}
