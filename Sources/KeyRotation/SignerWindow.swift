import Foundation
import SealedArchive

/// When a signing key was the keyring's active signing key: from its
/// activation up to (not including) its retirement, open-ended while it is
/// active. An archive whose header says it was created outside the window of
/// the key that signed it was signed by a key that should no longer (or not
/// yet) have been in use.
public struct SignerWindow: Sendable, Equatable {
    public let signer: SignerKey
    public var keyID: KeyID { signer.keyID }
    /// The first instant of the window.
    public let from: Date
    /// The first instant after the window; nil while the key is active.
    public let until: Date?

    public init(signer: SignerKey, from: Date, until: Date?) {
        self.signer = signer
        self.from = from
        self.until = until
    }

    /// Whether `date` lies inside the window (`from <= date < until`).
    public func contains(_ date: Date) -> Bool {
        Self.contains(date, from: from, until: until)
    }

    /// The window as a person reads it.
    public var text: String { Self.text(from: from, until: until) }

    static func contains(_ date: Date, from: Date, until: Date?) -> Bool {
        date >= from && until.map { date < $0 } ?? true
    }

    static func text(from: Date, until: Date?) -> String {
        "\(KeyringTime.format(from)) to \(until.map(KeyringTime.format) ?? "now (still active)")"
    }
}
