/// A signers file (Spec/KEYS.md section 3): the signing keys a verifier
/// trusts, one `sealsig1…` a line with its optional window (`valid-from=`,
/// `valid-until=`), and `#` comments. Parsed and written here, beside each
/// other, so a file this type writes always reads back as the same list,
/// windows and comments (single trimmed lines, first) included.
public struct SignersFile: Sendable, Equatable {
    /// In file order; never empty.
    public let signers: [TrustedSigner]
    /// The comment lines, without `#`.
    public let comments: [String]

    /// A list to write. At least one signer: a file listing none would be
    /// refused by every reader.
    public init(signers: [TrustedSigner], comments: [String] = []) throws {
        guard !signers.isEmpty else { throw SealedArchiveError(.invalidArgument, "a signers file lists at least one signer") }
        self.signers = signers
        self.comments = comments
    }

    /// Parses the text of a signers file; `path` names it in messages.
    public init(parsing text: String, path: String) throws {
        let (lines, comments) = KeyListText.split(text)
        let signers = try lines.map { line in
            do { return try TrustedSigner(parsing: line) } catch let error as SealedArchiveError {
                throw SealedArchiveError(error.code, "'\(path)': \(error.message)", cause: error)
            }
        }
        guard !signers.isEmpty else { throw SealedArchiveError(.invalidKey, "signers file '\(path)' lists no signer") }
        self.signers = signers
        self.comments = comments
    }

    /// Reads and parses a signers file (`-`: standard input).
    public init(path: String) throws {
        try self.init(parsing: try TextFile.readText(path, what: "signers file", code: .invalidKey), path: path)
    }

    /// The file's text: comments, then one signer (and its window) a line.
    public func serialize() -> String {
        KeyListText.join(comments: comments, keys: signers.map(\.description))
    }
}
