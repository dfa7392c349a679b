/// A recipients file (Spec/KEYS.md section 3): the public keys a sealing
/// host seals to, one `age1…` a line, with `#` comments. Parsed and written
/// here, beside each other, so a file this type writes always reads back
/// as the same list (comments included, as single trimmed lines, first).
public struct RecipientsFile: Sendable, Equatable {
    /// In file order; never empty.
    public let recipients: [Recipient]
    /// The comment lines, without `#`.
    public let comments: [String]

    /// A list to write. At least one recipient: a file listing none would
    /// be refused by every reader.
    public init(recipients: [Recipient], comments: [String] = []) throws {
        guard !recipients.isEmpty else { throw SealedArchiveError(.invalidArgument, "a recipients file lists at least one recipient") }
        self.recipients = recipients
        self.comments = comments
    }

    /// Parses the text of a recipients file; `path` names it in messages.
    public init(parsing text: String, path: String) throws {
        let (lines, comments) = KeyListText.split(text)
        let recipients = try lines.map { line in
            do { return try Recipient(parsing: line) } catch let error as SealedArchiveError {
                throw SealedArchiveError(error.code, "'\(path)': \(error.message)", cause: error)
            }
        }
        guard !recipients.isEmpty else { throw SealedArchiveError(.invalidKey, "recipients file '\(path)' lists no recipient") }
        self.recipients = recipients
        self.comments = comments
    }

    /// Reads and parses a recipients file (`-`: standard input).
    public init(path: String) throws {
        try self.init(parsing: try TextFile.readText(path, what: "recipients file", code: .invalidKey), path: path)
    }

    /// The file's text: comments, then one recipient a line.
    public func serialize() -> String {
        KeyListText.join(comments: comments, keys: recipients.map(\.description))
    }
}
