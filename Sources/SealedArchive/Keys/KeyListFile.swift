/// What a key-list file lists, one a line: recipients (`age1…`) or trusted
/// signers (`sealsig1…` and an optional window).
public protocol KeyListEntry: Sendable, Equatable, CustomStringConvertible {
    /// Parses one line of a list (trimmed, not a comment).
    init(parsing line: String) throws
    /// What one entry is called in messages: "recipient", "signer".
    static var entryName: String { get }
}

extension Recipient: KeyListEntry {
    public static var entryName: String { "recipient" }
}

extension TrustedSigner: KeyListEntry {
    public static var entryName: String { "signer" }
}

/// A recipients or signers file (Spec/KEYS.md section 3): one key a line,
/// with `#` comments. Parsed and written here, beside each other, so a file
/// this type writes always reads back as the same list (comments included,
/// as single trimmed lines, first).
public struct KeyListFile<Entry: KeyListEntry>: Sendable, Equatable {
    /// In file order; never empty.
    public let entries: [Entry]
    /// The comment lines, without `#`.
    public let comments: [String]

    /// "recipients file", "signers file".
    public static var fileName: String { Entry.entryName + "s file" }

    /// A list to write. At least one entry: a file listing none would be
    /// refused by every reader.
    public init(_ entries: [Entry], comments: [String] = []) throws {
        guard !entries.isEmpty else {
            throw SealedArchiveError(.invalidArgument, "a \(Self.fileName) lists at least one \(Entry.entryName)")
        }
        self.entries = entries
        self.comments = comments
    }

    /// Parses the text of a list; `path` names it in messages.
    public init(parsing text: String, path: String) throws {
        let (lines, comments) = KeyListText.split(text)
        let entries = try lines.map { line in
            do { return try Entry(parsing: line) } catch let error as SealedArchiveError {
                throw SealedArchiveError(error.code, "'\(path)': \(error.message)", cause: error)
            }
        }
        guard !entries.isEmpty else {
            throw SealedArchiveError(.invalidKey, "\(Self.fileName) '\(path)' lists no \(Entry.entryName)")
        }
        self.entries = entries
        self.comments = comments
    }

    /// Reads and parses a list (`-`: standard input).
    public init(path: String) throws {
        try self.init(parsing: try TextFile.readText(path, what: Self.fileName, code: .invalidKey), path: path)
    }

    /// The file's text: comments, then one entry a line.
    public func serialize() -> String {
        KeyListText.join(comments: comments, keys: entries.map(\.description))
    }
}

/// The public keys a sealing host seals to.
public typealias RecipientsFile = KeyListFile<Recipient>
/// The signing keys a verifier trusts, each with its window.
public typealias SignersFile = KeyListFile<TrustedSigner>

extension KeyListFile where Entry == Recipient {
    public init(recipients: [Recipient], comments: [String] = []) throws { try self.init(recipients, comments: comments) }
    public var recipients: [Recipient] { entries }
}

extension KeyListFile where Entry == TrustedSigner {
    public init(signers: [TrustedSigner], comments: [String] = []) throws { try self.init(signers, comments: comments) }
    public var signers: [TrustedSigner] { entries }
}
