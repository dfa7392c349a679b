/// The rule for sealing to post-quantum and classical recipients together
/// (Spec/CLI.md, `seal`): refused unless the caller allows it, because one
/// X25519 stanza beside post-quantum ones voids their protection — whoever
/// can break X25519 later opens the archive through it. age refuses the mix
/// for the same reason.
public enum RecipientMix {
    /// Whether `recipients` hold both kinds.
    public static func isMixed(_ recipients: [Recipient]) -> Bool {
        recipients.contains(where: \.isPostQuantum) && recipients.contains(where: { !$0.isPostQuantum })
    }

    /// Refuses a mix of kinds unless `allowed`.
    public static func check(_ recipients: [Recipient], allowed: Bool) throws {
        guard allowed || !isMixed(recipients) else {
            let classical = recipients.filter { !$0.isPostQuantum }.map(\.keyID.description).joined(separator: ", ")
            throw SealedArchiveError(.invalidArgument,
                "refusing to mix post-quantum and classical recipients: the classical one (key id \(classical)) could be opened by a future quantum computer, voiding the post-quantum protection; seal to post-quantum recipients only, or pass --allow-mixed-recipients")
        }
    }

    /// The warning to show when a mix was allowed.
    public static let warning = "warning: sealing to post-quantum and classical recipients together: the archive is only as safe as X25519, and not protected against a future quantum computer"
}
