/// A recipient: the X25519 public key an archive is encrypted to, written as
/// age writes it (`age1…`, Spec/KEYS.md section 2).
public struct Recipient: Hashable, Sendable, CustomStringConvertible {
    static let humanReadablePart = "age"
    static let keyIDDomain: StaticString = "SealedArchive/v1/recipient-id"

    let publicKey: [UInt8]
    /// The recipient key id that stanzas carry.
    public let keyID: KeyID

    init(publicKey: [UInt8]) throws {
        precondition(publicKey.count == X25519.keyLength)
        self.publicKey = publicKey
        self.keyID = try KeyID.of(publicKey: publicKey, domain: Self.keyIDDomain)
    }

    /// Parses an `age1…` recipient.
    public init(parsing text: String) throws {
        var key = [UInt8](repeating: 0, count: X25519.keyLength)
        let utf8 = Array(text.utf8)
        try utf8.withUnsafeBytes { source in
            try key.withUnsafeMutableBytes {
                try Bech32.decode(source, hrp: Self.humanReadablePart, uppercase: false, what: "recipient (age1…)", into: $0)
            }
        }
        try self.init(publicKey: key)
    }

    /// The `age1…` form.
    public var description: String { Bech32.encode(hrp: Self.humanReadablePart, data: publicKey) }
}
