import Foundation
import SealedArchive

/// What archives exist and which keys they need, without any archive being
/// read past its header (Spec/KEYRING.md section 6). Review and prune use it
/// to tell which keys retained archives still need, which archives can no
/// longer be opened, and which were signed outside their signer's window.
public struct ArchiveInventory: Sendable, Equatable {
    /// One archive: its name, its header's creation time, the key ids of its
    /// stanzas and the key id of its signer.
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let created: Date
        /// Recipient key ids, one per stanza.
        public let recipients: [KeyID]
        /// The signer key id; nil for an unsigned archive.
        public let signer: KeyID?
        /// Whether any stanza is classical (X25519): whoever breaks X25519
        /// later opens the archive through it, post-quantum stanzas or not.
        public let hasClassicalStanza: Bool

        /// `hasClassicalStanza` defaults to true: an archive described
        /// without stanza types (an older tool's JSON) is taken to be
        /// classical, the kind every archive was before post-quantum ones.
        public init(name: String, created: Date, recipients: [KeyID], signer: KeyID?, hasClassicalStanza: Bool = true) {
            self.name = name
            self.created = KeyringTime.wholeSeconds(created)
            self.recipients = recipients
            self.signer = signer
            self.hasClassicalStanza = hasClassicalStanza
        }

        /// The entry of an archive with this header.
        public init(name: String, header: ArchiveHeader) {
            self.init(name: name, created: header.createdDate, recipients: header.stanzas.map(\.keyID), signer: header.signer?.keyID,
                      hasClassicalStanza: header.stanzas.contains(where: \.isX25519))
        }

        /// Whether the archive is still kept at `date` under `retention`:
        /// `created + retention > date`.
        public func isInsideRetention(_ retention: TimeInterval, at date: Date) -> Bool {
            created.addingTimeInterval(retention) > date
        }
    }

    public var entries: [Entry]
    /// Where the entries came from, for reports.
    public let source: String
    /// Files of a scanned directory that are not archives (no SEALARC magic),
    /// and so were left out.
    public let skipped: [String]

    public init(entries: [Entry], source: String = "entries given by the caller", skipped: [String] = []) {
        self.entries = entries
        self.source = source
        self.skipped = skipped
    }

    /// The archives (or header-only prefixes of archives) in `directory`,
    /// chosen as `verify` and `drill` choose them (``ArchiveDirectory``).
    /// Files that do not start with the archive magic are skipped; a file
    /// that starts with it but whose header does not parse is an error,
    /// since the keys it needs would be unknown.
    public init(directory: String) throws {
        var entries: [Entry] = []
        var skipped: [String] = []
        for name in try ArchiveDirectory.archiveNames(in: directory) {
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            guard try Self.startsWithMagic(path) else {
                skipped.append(name)
                continue
            }
            do {
                let header = try ArchiveReader(source: FileSource(path: path)).header
                entries.append(Entry(name: name, header: header))
            } catch let error as SealedArchiveError {
                throw SealedArchiveError(error.code,
                    "archive '\(path)' in the inventory has a header that cannot be read, so the keys it needs are unknown: \(error.message)",
                    cause: error)
            }
        }
        self.init(entries: entries, source: "directory '\(directory)'", skipped: skipped)
    }

    /// The archives described in a file of JSON lines as
    /// `sealed-archive inspect --json` (or `verify --json`) prints them.
    public init(inspectLines path: String) throws {
        // A FIFO or device here would block or never end: refused at once.
        let bytes = try TextFile.read(path, what: "inventory file", limit: 64 << 20, allowStandardInput: false)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SealedArchiveError(.invalidArgument, "the inventory file '\(path)' is not UTF-8 text")
        }
        try self.init(parsingInspectLines: text, source: "file '\(path)'")
    }

    /// Parses JSON lines, one ``ArchiveSummary`` a line, as `inspect
    /// --json` and `verify --json` print them: `created_unix` (required),
    /// `recipients` (required, key ids), `recipient_types` (optional, one
    /// per recipient; absent means X25519), `signer_key_id` (optional) and
    /// `archive` (optional: the name; the line number otherwise). Blank
    /// lines are skipped, and so are objects whose `kind` is present and not
    /// `archive` (the set summary of `verify --json`).
    public init(parsingInspectLines text: String, source: String) throws {
        var entries: [Entry] = []
        let decoder = JSONDecoder()
        // By bytes, not Characters: Swift makes "\r\n" one Character, so a
        // CRLF file would not split at "\n".
        for line in TextLines.numbered(Array(text.utf8)) {
            let lineNumber = line.number
            let trimmed = String(decoding: line.bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            func bad(_ why: String) -> SealedArchiveError {
                SealedArchiveError(.invalidArgument, "line \(lineNumber) of the inventory \(source) \(why)")
            }
            let object: ArchiveSummary
            do {
                object = try decoder.decode(ArchiveSummary.self, from: Data(trimmed.utf8))
            } catch {
                throw bad("is not an inspect --json object")
            }
            if let kind = object.kind, kind != "archive" { continue }
            let name = object.archive ?? "line \(lineNumber)"
            guard let created = object.created_unix, let recipientTexts = object.recipients, !recipientTexts.isEmpty else {
                throw bad("(\(name)) has no created_unix or recipients: its header was not read, so the keys it needs are unknown")
            }
            guard created <= UInt64(Int64.max) else { throw bad("(\(name)) has an impossible created_unix") }
            var recipients: [KeyID] = []
            for recipient in recipientTexts {
                guard let id = try? KeyID(parsing: recipient) else { throw bad("(\(name)) lists '\(recipient)', which is not a key id") }
                recipients.append(id)
            }
            var signer: KeyID?
            if let signerText = object.signer_key_id {
                guard let id = try? KeyID(parsing: signerText) else { throw bad("(\(name)) has signer_key_id '\(signerText)', which is not a key id") }
                signer = id
            }
            // `recipient_types` (one per stanza) came with post-quantum
            // recipients; without it every stanza was X25519.
            let types = object.recipient_types
            if let types, types.count != recipients.count {
                throw bad("(\(name)) has \(types.count) recipient_types for \(recipients.count) recipients")
            }
            // Only the names inspect writes: a misspelt type must not pass
            // for post-quantum and drop the archive from the classical ones.
            if let unknown = types?.first(where: { !Self.isStanzaTypeName($0) }) {
                throw bad("(\(name)) has recipient type '\(unknown)', which is not x25519, post-quantum or unknown-NN")
            }
            entries.append(Entry(name: name, created: Date(timeIntervalSince1970: TimeInterval(created)),
                                 recipients: recipients, signer: signer,
                                 hasClassicalStanza: types.map { $0.contains("x25519") } ?? true))
        }
        self.init(entries: entries, source: source)
    }

    /// A stanza type as `inspect --json` names it (ArchiveSummary):
    /// `x25519`, `post-quantum`, or `unknown-` and two lowercase hex digits.
    static func isStanzaTypeName(_ name: String) -> Bool {
        if name == "x25519" || name == "post-quantum" { return true }
        guard name.hasPrefix("unknown-") else { return false }
        let digits = name.dropFirst("unknown-".count)
        return digits.count == 2 && digits.allSatisfy { "0123456789abcdef".contains($0) }
    }

    /// The entries inside retention at `date`.
    public func insideRetention(_ retention: TimeInterval, at date: Date) -> [Entry] {
        entries.filter { $0.isInsideRetention(retention, at: date) }
    }

    /// Whether the file begins with the 8-byte archive magic `SEALARC\0`
    /// (Spec/FORMAT.md), read from its first bytes only.
    private static func startsWithMagic(_ path: String) throws -> Bool {
        let magic: [UInt8] = Array("SEALARC".utf8) + [0]
        let source = try FileSource(path: path)
        var prefix = [UInt8](repeating: 0, count: magic.count)
        var filled = 0
        while filled < prefix.count {
            let n = try prefix.withUnsafeMutableBytes {
                try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...]))
            }
            if n == 0 { break }
            filled += n
        }
        return filled == magic.count && prefix == magic
    }
}
