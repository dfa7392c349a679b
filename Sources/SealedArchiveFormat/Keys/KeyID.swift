/// The short public id of a key: the first 8 bytes of a domain-separated
/// BLAKE2b-256 of the public key (Spec/KEYS.md), shown as 16 hex digits.
/// Stanzas carry it so an opener knows which identity to use.
public struct KeyID: Hashable, Sendable, CustomStringConvertible, Comparable {
    public static let length = 8
    public let bytes: [UInt8]

    package init(bytes: [UInt8]) {
        precondition(bytes.count == Self.length)
        self.bytes = bytes
    }

    package static func of(publicKey: [UInt8], domain: StaticString) throws -> KeyID {
        let digest = try publicKey.withUnsafeBytes { try BLAKE2b.hash(domain: domain, $0) }
        return KeyID(bytes: Array(digest.prefix(length)))
    }

    /// Parses 16 lowercase hex digits.
    public init(parsing text: String) throws {
        guard let bytes = HexCoding.decode(text), bytes.count == Self.length, HexCoding.encode(bytes) == text else {
            throw SealedArchiveError(.invalidArgument, "'\(text)' is not a key id (16 lowercase hex digits)")
        }
        self.bytes = bytes
    }

    public var description: String { HexCoding.encode(bytes) }

    public static func < (lhs: KeyID, rhs: KeyID) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}

/// Lowercase hexadecimal, for public values only.
package enum HexCoding {
    package static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    package static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }
}
