import Foundation

/// Whose original a re-wrap may re-sign.
///
/// Re-wrapping signs the archive anew with the re-wrapper's key. An archive
/// sealed to a recipient can be made by anyone holding that recipient's
/// *public* key, so re-signing an original that no trusted signer vouches
/// for would turn a forgery into an archive the re-wrapper vouches for.
/// The policy is therefore an explicit argument of ``Rewrap``, with no
/// default that re-signs anything.
public enum RewrapOrigin: Sendable, Equatable {
    /// The original must be signed by one of these keys, inside that key's
    /// window (Spec/FORMAT.md check 8), and its signature must verify. Never
    /// empty: ``init(trustedSigners:allowUnsigned:)`` and ``Rewrap`` refuse
    /// an empty list.
    case trustedSigners([TrustedSigner])
    /// The caller accepts re-signing an original whatever signed it (or
    /// nothing did): the operator's explicit choice, never a default.
    case allowUnsigned

    /// The policy for what a caller was given: trusted signers when there
    /// are any, otherwise `allowUnsigned` only when the caller asked for it.
    /// Neither is an error (`invalid-argument`), so a caller that forgot to
    /// pass its signers is refused instead of re-signing anything.
    public init(trustedSigners: [TrustedSigner]?, allowUnsigned: Bool) throws {
        if let trustedSigners, !trustedSigners.isEmpty {
            self = .trustedSigners(trustedSigners)
        } else if allowUnsigned {
            self = .allowUnsigned
        } else {
            throw Self.noTrustedSigner
        }
    }

    /// The signers to hand an ``ArchiveReader`` for the original, so an
    /// original the policy refuses is refused when its header is read,
    /// before any identity is looked up; nil for `allowUnsigned`.
    public var requiredSigners: [TrustedSigner]? {
        guard case .trustedSigners(let signers) = self else { return nil }
        return signers
    }

    static let noTrustedSigner = SealedArchiveError(
        .invalidArgument,
        "rewrap signs the archive with --sign-key: give the original sealing host's key with --signer or --signers, so only a genuine archive is re-signed (or --allow-unsigned-source)")

    /// Checks the original's header against the policy: the reader's own
    /// check 8 (``ArchiveDecoder/checkSigner(of:trustedSigners:)``, errors
    /// `unsigned`, `untrusted-signer`), again here because the reader handed
    /// to ``Rewrap`` may have been made with other signers or none. The
    /// signature itself is checked by the reader after the last record,
    /// before the re-wrapped trailer is written.
    func admit(_ header: ArchiveHeader) throws {
        guard case .trustedSigners(let trustedSigners) = self else { return }
        guard !trustedSigners.isEmpty else { throw Self.noTrustedSigner }
        // The reader's check 8, not a copy of it: one place decides whom a
        // trusted-signer list admits, with one set of errors.
        try ArchiveDecoder.checkSigner(of: header, trustedSigners: trustedSigners)
    }
}
