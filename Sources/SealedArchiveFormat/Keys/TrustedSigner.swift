import Foundation

/// A signer key a verifier trusts, optionally only for archives created
/// inside a window: a retired signing key keeps vouching for the archives
/// it signed while it was in service, and for nothing after.
public struct TrustedSigner: Hashable, Sendable, CustomStringConvertible {
    public let key: SignerKey
    /// Archives created before this are not trusted to this key.
    public let validFrom: Date?
    /// Archives created at or after this are not trusted to this key.
    public let validUntil: Date?

    public init(_ key: SignerKey, validFrom: Date? = nil, validUntil: Date? = nil) {
        self.key = key
        self.validFrom = validFrom
        self.validUntil = validUntil
    }

    /// Whether this key vouches for an archive created at `created` (Unix
    /// seconds).
    public func admits(created: UInt64) -> Bool {
        let time = TimeInterval(created)
        if let validFrom, time < validFrom.timeIntervalSince1970 { return false }
        if let validUntil, time >= validUntil.timeIntervalSince1970 { return false }
        return true
    }

    /// Parses a signers-file line: `sealsig1…` followed by optional
    /// `valid-from=TIME` and `valid-until=TIME` (RFC 3339, UTC).
    public init(parsing line: String) throws {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let first = fields.first else { throw SealedArchiveError(.invalidKey, "empty signer line") }
        var validFrom: Date?
        var validUntil: Date?
        let formatter = ISO8601DateFormatter()
        for field in fields.dropFirst() {
            let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
            // Only the canonical form, the one `description` writes back:
            // the formatter alone accepts trailing junk and years past 9999
            // (found by fuzz-keys), which would not read back the same.
            guard parts.count == 2, let date = formatter.date(from: parts[1]), formatter.string(from: date) == parts[1] else {
                throw SealedArchiveError(.invalidKey, "signer option '\(field)' is not valid-from=TIME or valid-until=TIME (RFC 3339, e.g. 2026-01-01T00:00:00Z)")
            }
            switch parts[0] {
            case "valid-from": validFrom = date
            case "valid-until": validUntil = date
            default: throw SealedArchiveError(.invalidKey, "unknown signer option '\(parts[0])' (valid-from, valid-until)")
            }
        }
        self.init(try SignerKey(parsing: first), validFrom: validFrom, validUntil: validUntil)
    }

    /// The signers-file line.
    public var description: String {
        let formatter = ISO8601DateFormatter()
        var line = key.description
        if let validFrom { line += " valid-from=\(formatter.string(from: validFrom))" }
        if let validUntil { line += " valid-until=\(formatter.string(from: validUntil))" }
        return line
    }
}
