/// A 32-byte public key (`SignerKey`'s) written in
/// lowercase Bech32 under a human-readable part, and a key id derived from
/// it under a domain string (Spec/KEYS.md).
protocol PublicKeyText: CustomStringConvertible {
    static var humanReadablePart: String { get }
    static var keyIDDomain: StaticString { get }
    /// How error messages name the kind of key.
    static var kindName: String { get }
    var publicKey: [UInt8] { get }
    init(publicKey: [UInt8]) throws
}

extension PublicKeyText {
    /// Decodes the Bech32 text into the 32-byte key.
    package static func decodePublicKey(_ text: String) throws -> [UInt8] {
        var key = [UInt8](repeating: 0, count: 32)
        let utf8 = Array(text.utf8)
        try utf8.withUnsafeBytes { source in
            try key.withUnsafeMutableBytes {
                try Bech32.decode(source, hrp: humanReadablePart, uppercase: false, what: kindName, into: $0)
            }
        }
        return key
    }

    public var description: String { Bech32.encode(hrp: Self.humanReadablePart, data: publicKey) }
}

extension Bech32 {
    /// Decodes an uppercase secret key line straight into secure memory.
    package static func decodeSecret(_ text: UnsafeRawBufferPointer, hrp: String, what: String, count: Int) throws -> SecureBytes {
        try SecureBytes(count: count) { try decode(text, hrp: hrp, uppercase: true, what: what, into: $0) }
    }

    /// Encodes a secret key as its uppercase line, in secure memory.
    package static func encodeSecret(_ secret: SecureBytes, hrp: String) throws -> SecureBytes {
        try secret.withUnsafeBytes { key in
            try SecureBytes(count: encodedLength(hrp: hrp, dataCount: key.count)) {
                encode(hrp: hrp, data: key, uppercase: true, into: $0)
            }
        }
    }
}
