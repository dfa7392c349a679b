import Foundation

/// Reading and writing key files (Spec/KEYS.md section 4).
///
/// Secret key files are read into secure memory and refused when group or
/// others have any permission on them; they are written 0600, atomically, and
/// never over an existing file.
public enum KeyFiles {
    /// Larger files are not key files; refusing them bounds memory. About
    /// 120 post-quantum identities with their 2 KB public-key comments.
    static let maximumSize = 256 * 1024

    /// Supplies the passphrase for a protected key file (named by its path):
    /// a prompt at the terminal, a file descriptor, a test's constant.
    public typealias PassphraseProvider = (_ file: String) throws -> SecureBytes

    /// What a secret key file holds.
    public enum SecretKeys {
        case identities([Identity])
        case signingKey(SigningKey)
    }

    /// Reads the identities in an identity file (`-` for standard input).
    public static func readIdentities(path: String, passphrase: PassphraseProvider? = nil) throws -> [Identity] {
        switch try readSecretKeys(path: path, passphrase: passphrase) {
        case .identities(let identities): return identities
        case .signingKey:
            throw SealedArchiveError(.invalidKey, "'\(path)' holds a signing key, not an identity: pass it to --sign-key")
        }
    }

    /// Reads the signing key in a signing-key file (`-` for standard input).
    public static func readSigningKey(path: String, passphrase: PassphraseProvider? = nil) throws -> SigningKey {
        switch try readSecretKeys(path: path, passphrase: passphrase) {
        case .signingKey(let key): return key
        case .identities:
            throw SealedArchiveError(.invalidKey, "'\(path)' holds an identity, not a signing key: make one with 'sealed-archive keygen --signing'")
        }
    }

    /// Reads a secret key file of either kind; a passphrase-protected key
    /// asks `passphrase` (and is refused without one).
    public static func readSecretKeys(path: String, passphrase: PassphraseProvider? = nil) throws -> SecretKeys {
        let contents = try readSecretFile(path: path)
        return try contents.withUnsafeBytes { try parseSecretKeys($0, path: path, passphrase: passphrase) }
    }

    /// Parses the contents of a secret key file (`path` names it in
    /// messages); ``readSecretKeys(path:passphrase:)`` after reading.
    static func parseSecretKeys(_ bytes: UnsafeRawBufferPointer, path: String, passphrase: PassphraseProvider? = nil) throws -> SecretKeys {
        var identities: [Identity] = []
        var signingKeys: [SigningKey] = []
        var lineNumber = 0
        try forEachKeyLine(bytes) { line in
            lineNumber += 1
            if line.starts(with: Array("AGE-SECRET-KEY-1".utf8)) || line.starts(with: Array("AGE-SECRET-KEY-PQ-1".utf8)) {
                identities.append(try Identity(parsing: line))
            } else if line.starts(with: Array("SEALED-SIGNING-KEY-1".utf8)) {
                signingKeys.append(try SigningKey(parsing: line))
            } else if line.starts(with: Array("SEALED-PROTECTED-KEY-1".utf8)) {
                guard let passphrase else {
                    throw SealedArchiveError(.invalidKey, "'\(path)' is protected by a passphrase, and none can be asked for here (no terminal): use --passphrase-fd")
                }
                let (kind, secret) = try ProtectedKey.unprotect(line, passphrase: try passphrase(path), file: path)
                switch kind {
                case .identity: identities.append(try Identity(secret: secret))
                case .postQuantumIdentity: identities.append(try Identity(secret: secret, kind: .postQuantum))
                case .signingKey: signingKeys.append(try SigningKey(seed: secret))
                }
            } else {
                throw SealedArchiveError(.invalidKey, "'\(path)' is not a key file: a line is neither a comment nor a key (expected AGE-SECRET-KEY-1…, AGE-SECRET-KEY-PQ-1…, SEALED-SIGNING-KEY-1… or SEALED-PROTECTED-KEY-1…)")
            }
        }
        switch (identities.isEmpty, signingKeys.count) {
        case (false, 0): return .identities(identities)
        case (true, 1): return .signingKey(signingKeys[0])
        case (true, 0): throw SealedArchiveError(.invalidKey, "'\(path)' holds no key")
        default: throw SealedArchiveError(.invalidKey, "'\(path)' mixes keys: a signing-key file holds exactly one signing key and nothing else")
        }
    }

    /// Reads a recipients file: one `age1…` a line, `#` comments
    /// (``RecipientsFile``).
    public static func readRecipients(path: String) throws -> [Recipient] {
        try RecipientsFile(path: path).recipients
    }

    /// Parses the text of a recipients file (`path` names it in messages).
    static func parseRecipients(_ text: String, path: String) throws -> [Recipient] {
        try RecipientsFile(parsing: text, path: path).recipients
    }

    /// Reads a signers file: one `sealsig1…` a line, optionally with its
    /// validity window (`valid-from=…`, `valid-until=…`), `#` comments
    /// (``SignersFile``).
    public static func readSigners(path: String) throws -> [TrustedSigner] {
        try SignersFile(path: path).signers
    }

    /// Parses the text of a signers file (`path` names it in messages).
    static func parseSigners(_ text: String, path: String) throws -> [TrustedSigner] {
        try SignersFile(parsing: text, path: path).signers
    }

    /// Writes an identity file as `age-keygen` does, 0600, never replacing an
    /// existing file. `path` nil writes to standard output.
    /// With `replacing`, an existing file is replaced atomically (changing
    /// a key file's passphrase); otherwise it is never overwritten.
    public static func write(_ identity: Identity, to path: String?, created: Date, passphrase: SecureBytes? = nil, replacing: Bool = false) throws {
        let kind: ProtectedKey.Kind = identity.kind == .postQuantum ? .postQuantumIdentity : .identity
        let line = try passphrase.map { try ProtectedKey.protect(identity.secret, kind: kind, passphrase: $0) } ?? identity.encoded()
        try writeSecret(line, publicLine: identity.recipient.description, to: path, created: created, replacing: replacing)
    }

    /// Writes a signing-key file, 0600, never replacing an existing file.
    /// `path` nil writes to standard output.
    public static func write(_ key: SigningKey, to path: String?, created: Date, passphrase: SecureBytes? = nil, replacing: Bool = false) throws {
        let line = try passphrase.map { try ProtectedKey.protect(key.seed, kind: .signingKey, passphrase: $0) } ?? key.encoded()
        try writeSecret(line, publicLine: key.signer.description, to: path, created: created, replacing: replacing)
    }

    // MARK: - Internals

    private static func writeSecret(_ secret: SecureBytes, publicLine: String, to path: String?, created: Date, replacing: Bool) throws {
        let timestamp = ISO8601DateFormatter().string(from: created)
        let preamble = Array("# created: \(timestamp)\n# public key: \(publicLine)\n".utf8)
        let text = try SecureBytes(count: preamble.count + secret.count + 1) { out in
            out.copyBytes(from: preamble)
            secret.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: out[preamble.count...]).copyMemory(from: $0) }
            out[out.count - 1] = UInt8(ascii: "\n")
        }
        if let path {
            let sink = try AtomicFileSink(path: path, mode: 0o600, replaceExisting: replacing)
            try text.withUnsafeBytes { try sink.write($0) }
            try sink.commit()
        } else {
            try text.withUnsafeBytes { try StandardOutputSink().write($0) }
        }
    }

    /// Reads a whole secret file into secure memory after checking that it is
    /// a regular file (or standard input) that only its owner can use.
    private static func readSecretFile(path: String) throws -> SecureBytes {
        let source: FileSource
        if path == "-" {
            source = .standardInput()
        } else {
            // The descriptor that is checked is the one read: swapping the
            // file between a check and a second open gains nothing. A FIFO or
            // device is refused without blocking on it.
            let (fd, info) = try POSIX.openRegularFile(path, what: "key file '\(shownPath(path))'", code: .invalidKey)
            source = FileSource(owning: fd, name: "key file '\(shownPath(path))'")
            let loose = info.st_mode & 0o077
            guard loose == 0 else {
                let mode = String(info.st_mode & 0o777, radix: 8)
                throw SealedArchiveError(.unsafeKeyFile,
                    "key file '\(path)' can be used by group or others (mode 0\(mode)); fix it with: chmod 600 '\(path)'")
            }
        }
        let buffer = try SecureBytes(count: maximumSize + 1)
        let count = try buffer.withUnsafeMutableBytes { try source.readFully(into: $0) }
        guard count <= maximumSize else { throw SealedArchiveError(.invalidKey, "'\(path)' is too large to be a key file") }
        guard count > 0 else { throw SealedArchiveError(.invalidKey, "'\(path)' is empty: it holds no key") }
        return try buffer.withUnsafeBytes { try SecureBytes(copying: UnsafeRawBufferPointer(rebasing: $0[..<count])) }
    }

    /// Calls `body` with each line that is not empty and not a comment,
    /// without its line ending.
    private static func forEachKeyLine(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        for line in TextLines.split(bytes) {
            // As age does: only empty lines and comments are skipped; a line
            // of spaces is an error, not silently ignored.
            if !line.isEmpty && line.first != UInt8(ascii: "#") {
                try body(UnsafeRawBufferPointer(rebasing: line))
            }
        }
    }

}
