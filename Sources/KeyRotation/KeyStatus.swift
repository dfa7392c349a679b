/// Where a key is in its lifecycle at a given time (Spec/KEYRING.md
/// section 4): `active` → `retired` (on rotation) → `expired` (at
/// retain-until) → `destroyed` (by prune).
///
/// Only `destroyed` is a stored fact; the others follow from a key's
/// `retired` and `retain_until` dates and the time asked about.
public enum KeyStatus: String, Sendable, Codable, CustomStringConvertible {
    /// The key new archives are sealed to (encryption) or signed with
    /// (signing). Exactly one per purpose.
    case active
    /// Replaced by a newer key, kept so that archives sealed before the
    /// rotation stay openable for their retention.
    case retired
    /// Retired and past its retain-until date: prune may destroy it unless an
    /// archive still inside retention needs it.
    case expired
    /// The secret key file was removed; the metadata stays as a tombstone.
    case destroyed

    public var description: String { rawValue }
}
