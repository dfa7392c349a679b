/// A secret key sealed under a passphrase (Spec/KEYS.md section 5): the
/// `SEALED-PROTECTED-KEY-1…` line of a key file.
public enum ProtectedKey {
    package static let humanReadablePart = "SEALED-PROTECTED-KEY-"
    package static let version: UInt8 = 1
    package static let headerLength = 50
    package static let payloadLength = headerLength + 32 + PassphraseKey.tagLength
    /// Argon2id work factors written: libsodium's "moderate" (3 passes,
    /// 256 MiB), meant for an operator's machine, not the sealing host.
    public static let defaultOpsLimit: UInt32 = 3
    public static let defaultMemLimitKiB: UInt32 = 256 * 1024
    /// The most a decoder accepts, so a crafted file cannot exhaust memory.
    package static let maximumOpsLimit: UInt32 = 16
    package static let memLimitRangeKiB: ClosedRange<UInt32> = 8 * 1024...1024 * 1024

    /// What the protected secret is.
    public enum Kind: UInt8, Sendable {
        /// An X25519 identity's secret scalar.
        case identity = 1
        /// An Ed25519 signing key's seed.
        case signingKey = 2
        /// A post-quantum (X-Wing) identity's seed.
        case postQuantumIdentity = 3
    }

    /// The protected line for `secret`, in secure memory.
    package static func protect(_ secret: SecureBytes, kind: Kind, passphrase: SecureBytes,
                        opsLimit: UInt32 = defaultOpsLimit, memLimitKiB: UInt32 = defaultMemLimitKiB) throws -> SecureBytes {
        var header: [UInt8] = [version, kind.rawValue]
        var salt = [UInt8](repeating: 0, count: PassphraseKey.saltLength)
        try salt.withUnsafeMutableBytes { try randomBytes($0) }
        var nonce = [UInt8](repeating: 0, count: PassphraseKey.nonceLength)
        try nonce.withUnsafeMutableBytes { try randomBytes($0) }
        header += salt
        header.appendLittleEndian(opsLimit)
        header.appendLittleEndian(memLimitKiB)
        header += nonce
        let key = try PassphraseKey.derive(passphrase: passphrase, salt: salt, opsLimit: opsLimit, memLimitKiB: memLimitKiB)
        let payload = header + (try PassphraseKey.seal(secret, key: key, nonce: nonce, additionalData: header))
        return try SecureBytes(count: Bech32.encodedLength(hrp: humanReadablePart, dataCount: payload.count)) { out in
            payload.withUnsafeBytes { Bech32.encode(hrp: humanReadablePart, data: $0, uppercase: true, into: out) }
        }
    }

    /// The kind and secret in a protected line. A wrong passphrase is an
    /// `invalidKey` error that says so.
    package static func unprotect(_ line: UnsafeRawBufferPointer, passphrase: SecureBytes, file: String) throws -> (Kind, SecureBytes) {
        var payload = [UInt8](repeating: 0, count: payloadLength)
        try payload.withUnsafeMutableBytes {
            try Bech32.decode(line, hrp: humanReadablePart, uppercase: true, what: "protected key (SEALED-PROTECTED-KEY-1…)", into: $0)
        }
        func invalid(_ why: String) -> SealedArchiveError { SealedArchiveError(.invalidKey, "protected key in '\(file)' \(why)") }
        guard payload[0] == version else { throw invalid("has version \(payload[0]); this sealed-archive reads version \(version)") }
        guard let kind = Kind(rawValue: payload[1]) else { throw invalid("is of unknown kind \(payload[1])") }
        let header = Array(payload[..<headerLength])
        let (opsLimit, memLimit) = try header.withUnsafeBytes { raw -> (UInt32, UInt32) in
            var reader = ByteReader(raw, offset: 18) { invalid("is truncated") }
            return (try reader.u32(), try reader.u32())
        }
        guard (1...maximumOpsLimit).contains(opsLimit), memLimitRangeKiB.contains(memLimit) else {
            throw invalid("asks for Argon2id work outside the accepted limits")
        }
        let salt = Array(payload[2..<18]), nonce = Array(payload[26..<50])
        let key = try PassphraseKey.derive(passphrase: passphrase, salt: salt, opsLimit: opsLimit, memLimitKiB: memLimit)
        guard let secret = try PassphraseKey.open(Array(payload[headerLength...]), key: key, nonce: nonce, additionalData: header) else {
            throw SealedArchiveError(.invalidKey, "wrong passphrase for '\(file)' (or the protected key is damaged)")
        }
        return (kind, secret)
    }
}
