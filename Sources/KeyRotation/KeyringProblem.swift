import Foundation
import SealedArchive

/// One inconsistency `Keyring.check` finds in a keyring (Spec/KEYRING.md
/// section 8), with a one-line explanation for a person. Whether it stops the
/// keyring from being used and whether `Keyring.repair` can fix it are
/// properties, so callers (the CLI's exit codes) decide what to do with them.
public enum KeyringProblem: Sendable, Equatable, CustomStringConvertible {
    /// Not exactly one active key of a purpose: two or more (an interrupted
    /// or concurrent rotation of an older version, or a hand edit), or none.
    case activeKeys(KeyPurpose, [KeyID])
    /// A record says the keyring holds a key whose secret file is missing.
    case missingSecretFile(KeyID, path: String)
    /// A secret key file with no record: the remainder of a rotation or key
    /// generation interrupted before its commit point.
    case orphanSecretFile(path: String)
    /// The secret file of a destroyed key: a prune interrupted after its
    /// commit point.
    case destroyedSecretFile(KeyID, path: String)
    /// A hidden `.partial` file of a write that never completed.
    case temporaryFile(path: String)
    /// A keyring file that is missing or does not parse (`policy.json`,
    /// `keyring.json`).
    case unreadableFile(path: String, reason: String)
    /// A record that contradicts itself or its place in the keyring.
    case inconsistentRecord(KeyID?, reason: String)
    /// A loose permission, a symbolic link or a non-regular file: `fix` is
    /// the sentence that says what to do.
    case unsafeEntry(path: String, fix: String)
    /// A file that is no part of a keyring.
    case strayFile(path: String)
    /// Lines of the review log that are not review entries (a write cut
    /// short by a full disk or a crash), by line number.
    case reviewLogLines(path: String, lines: [Int])

    /// Whether commands refuse a keyring with this problem.
    public var preventsUse: Bool {
        switch self {
        case .activeKeys, .missingSecretFile, .unreadableFile, .inconsistentRecord, .unsafeEntry: true
        case .orphanSecretFile, .destroyedSecretFile, .temporaryFile, .strayFile, .reviewLogLines: false
        }
    }

    /// Whether `Keyring.repair` fixes it; the others need the operator (a
    /// copy of the keyring, a chmod).
    public var isRepairable: Bool {
        switch self {
        case .activeKeys(_, let ids): ids.count > 1
        case .orphanSecretFile, .destroyedSecretFile, .temporaryFile, .reviewLogLines: true
        case .missingSecretFile, .unreadableFile, .inconsistentRecord, .unsafeEntry, .strayFile: false
        }
    }

    public var description: String {
        switch self {
        case .activeKeys(let purpose, let ids) where ids.isEmpty:
            return "no active \(purpose) key: the keyring is damaged; restore it from a copy"
        case .activeKeys(let purpose, let ids):
            return "\(ids.count) active \(purpose) keys (\(ids.map(\.description).joined(separator: ", "))): "
                + "a rotation was interrupted or two ran at once; repair keeps the most recently activated one and retires the others at its activation time"
        case .missingSecretFile(let id, let path):
            return "the secret key file '\(path)' of key \(id) is missing, but its record says the keyring holds it: restore the file from a copy of the keyring"
        case .orphanSecretFile(let path):
            return "'\(path)' is a secret key file with no record (left by an interrupted rotation): repair adopts it as a retired key"
        case .destroyedSecretFile(let id, let path):
            return "'\(path)' is the secret key file of destroyed key \(id) (an interrupted prune): repair removes it"
        case .temporaryFile(let path):
            return "'\(path)' is a temporary file of an interrupted write: repair removes it"
        case .unreadableFile(let path, let reason):
            return "'\(path)' \(reason): restore it from a copy of the keyring"
        case .inconsistentRecord(let id, let reason):
            return "\(id.map { "the record of key \($0)" } ?? "a key record") is inconsistent: \(reason); restore the keyring from a copy"
        case .unsafeEntry(_, let fix):
            return fix
        case .strayFile(let path):
            return "'\(path)' is not a keyring file: move it out of the keyring"
        case .reviewLogLines(let path, let lines):
            let shown = lines.prefix(10).map(String.init).joined(separator: ", ") + (lines.count > 10 ? ", …" : "")
            return "line\(lines.count == 1 ? "" : "s") \(shown) of the review log '\(path)' \(lines.count == 1 ? "is not a review entry" : "are not review entries") (a write cut short): repair moves \(lines.count == 1 ? "it" : "them") to '\(path).rejected'"
        }
    }

    /// The error a command that refuses the keyring throws for it.
    var error: SealedArchiveError {
        switch self {
        case .unsafeEntry: SealedArchiveError(.unsafeKeyFile, description)
        default: SealedArchiveError(.invalidKey, description)
        }
    }
}
