import Foundation
import SealedArchive

/// The one way the keyring writes and reads times: RFC 3339 in UTC with
/// whole seconds (`2027-01-15T08:00:00Z`), as Spec/KEYRING.md section 2
/// requires. Times handed in are truncated to whole seconds before they are
/// recorded, so a keyring read back from disk equals the one in memory.
public enum KeyringTime {
    /// `date` truncated to a whole second.
    public static func wholeSeconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }

    /// The RFC 3339 UTC form of `date`, whole seconds.
    public static func format(_ date: Date) -> String {
        wholeSeconds(date).formatted(Date.ISO8601FormatStyle())
    }

    /// Parses an RFC 3339 time (`2027-01-15T08:00:00Z`, any offset) or a
    /// date alone (`2027-01-15`, meaning midnight UTC), as an operator types
    /// it for `keys review --at DATE`.
    public static func parse(_ text: String) throws -> Date {
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return wholeSeconds(date) }
        if let date = try? Date.ISO8601FormatStyle().year().month().day().parse(text) { return date }
        throw SealedArchiveError(.invalidArgument, "'\(text)' is not a time such as 2027-01-15T08:00:00Z or a date such as 2027-01-15")
    }

    /// Parses a time stored in a keyring file: exactly the form ``format(_:)``
    /// writes (UTC, `Z`, whole seconds). Anything else (an offset, a
    /// fraction, a lower-case `z`) was not written by a keyring and is
    /// refused rather than read as some nearby time.
    static func parseStored(_ text: String) -> Date? {
        guard let date = try? Date.ISO8601FormatStyle().parse(text), format(date) == text else { return nil }
        return date
    }

    /// A duration as a person reads it: `95d 3h`, `4h 10m`.
    static func describe(_ seconds: TimeInterval) -> String {
        SealedArchive.Duration.describe(seconds)
    }
}

extension KeyedEncodingContainer {
    /// Writes a time as RFC 3339 text.
    mutating func encodeTime(_ date: Date, forKey key: Key) throws {
        try encode(KeyringTime.format(date), forKey: key)
    }

    /// Writes a time as RFC 3339 text, or omits the key when nil.
    mutating func encodeTimeIfPresent(_ date: Date?, forKey key: Key) throws {
        if let date { try encodeTime(date, forKey: key) }
    }

    /// Writes a time as RFC 3339 text, or `null` when nil.
    mutating func encodeTimeOrNull(_ date: Date?, forKey key: Key) throws {
        if let date { try encodeTime(date, forKey: key) } else { try encodeNil(forKey: key) }
    }
}

extension KeyedDecodingContainer {
    /// Reads an RFC 3339 time.
    func decodeTime(forKey key: Key) throws -> Date {
        let text = try decode(String.self, forKey: key)
        guard let date = KeyringTime.parseStored(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "'\(text)' is not an RFC 3339 time")
        }
        return date
    }

    /// Reads an RFC 3339 time that may be absent or null.
    func decodeTimeIfPresent(forKey key: Key) throws -> Date? {
        guard let text = try decodeIfPresent(String.self, forKey: key) else { return nil }
        guard let date = KeyringTime.parseStored(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "'\(text)' is not an RFC 3339 time")
        }
        return date
    }

    /// Reads a key id (16 lowercase hex digits).
    func decodeKeyID(forKey key: Key) throws -> KeyID {
        let text = try decode(String.self, forKey: key)
        guard let id = try? KeyID(parsing: text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "'\(text)' is not a key id")
        }
        return id
    }

    /// Reads a key id that may be absent or null.
    func decodeKeyIDIfPresent(forKey key: Key) throws -> KeyID? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decodeKeyID(forKey: key)
    }
}
