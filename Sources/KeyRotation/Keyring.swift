import Foundation
import Glibc
import SealedArchive

/// A keyring: a directory holding the encryption identities and signing keys
/// of a backup setup across rotations, with per-key metadata, a policy and
/// an append-only review log (Spec/KEYRING.md).
///
/// After every operation the keyring has exactly one active encryption key
/// and one active signing key. Time is always handed in (`now:`, `at:`),
/// never read, so tests drive a keyring across years. Secrets are written and
/// read only through SealedArchive's ``KeyFiles`` and stay in ``Identity``
/// and ``SigningKey``.
///
/// A `Keyring` is not safe to use from two threads at once, and two
/// processes changing one keyring at once are not coordinated.
public final class Keyring {
    /// The keyring directory.
    public let path: String
    public let policy: KeyringPolicy
    /// Every key the keyring has had, destroyed ones as tombstones, ordered
    /// by purpose, then activation, then key id.
    public private(set) var keys: [KeyRecord]
    private let files: KeyringFiles

    private init(path: String, policy: KeyringPolicy, keys: [KeyRecord]) {
        self.path = path
        self.policy = policy
        self.keys = Self.ordered(keys)
        files = KeyringFiles(root: path)
    }

    // MARK: Creating and opening

    /// Creates a keyring at `path`: the directory (0700; an existing one must
    /// be empty), `keys/`, `policy.json`, and one active encryption identity
    /// and one active signing key with their metadata, activated at `now`.
    /// On failure, whatever it wrote is removed again.
    public static func create(at path: String, policy: KeyringPolicy, now: Date) throws -> Keyring {
        guard !path.isEmpty else { throw SealedArchiveError(.invalidArgument, "the keyring path is empty") }
        let now = KeyringTime.wholeSeconds(now)
        let files = KeyringFiles(root: path)
        var info = stat()
        let madeRoot: Bool
        if stat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw SealedArchiveError(.io, "'\(path)' already exists and is not a directory; choose another path for the keyring")
            }
            let contents: [String]
            do {
                contents = try FileManager.default.contentsOfDirectory(atPath: path)
            } catch {
                throw SealedArchiveError(.io, "cannot list '\(path)': \(error.localizedDescription)")
            }
            guard contents.isEmpty else {
                throw SealedArchiveError(.io, "'\(path)' already exists and is not empty; a keyring is created in a new or empty directory")
            }
            guard chmod(path, 0o700) == 0 else { throw KeyringFiles.error("cannot set the mode of '\(path)'") }
            madeRoot = false
        } else {
            guard errno == ENOENT else { throw KeyringFiles.error("cannot examine '\(path)'") }
            try KeyringFiles.makeDirectory(path)
            madeRoot = true
        }
        var done = false
        defer {
            if !done {
                // Nothing here was ever used: remove it, so a retry starts clean.
                if madeRoot {
                    try? FileManager.default.removeItem(atPath: path)
                } else {
                    try? FileManager.default.removeItem(atPath: files.keys)
                    unlink(files.policy)
                }
            }
        }
        try KeyringFiles.makeDirectory(files.keys)
        try files.write(policy, path: files.policy, replace: false)
        var records: [KeyRecord] = []
        for purpose in KeyPurpose.allCases {
            records.append(try Self.addKey(purpose, files: files, avoiding: Set(records.map(\.keyID)), now: now, comment: nil))
        }
        KeyringFiles.syncDirectory(files.keys)
        KeyringFiles.syncDirectory(path)
        // Read back what was written: the keyring on disk is the truth.
        let keyring = try Keyring(opening: path)
        done = true
        return keyring
    }

    /// Opens the keyring at `path`.
    ///
    /// Refuses a directory or file that group or others can use (naming it
    /// and the `chmod` that fixes it), symbolic links and other non-regular
    /// files, metadata that does not parse or contradicts itself, a held key
    /// whose secret file is missing, and anything but exactly one active key
    /// per purpose.
    public convenience init(opening path: String) throws {
        let (policy, records) = try Self.load(path)
        try Self.checkOneActivePerPurpose(records, path: path)
        self.init(path: path, policy: policy, keys: records)
    }

    /// Finishes a rotation that was interrupted after the new key's metadata
    /// was written but before the old key was marked retired, which leaves
    /// two active keys of one purpose. For each such purpose the most
    /// recently activated key stays active and the others are retired at its
    /// activation time. Then opens the keyring.
    public static func finishInterruptedRotation(at path: String) throws -> Keyring {
        let (policy, records) = try load(path)
        let files = KeyringFiles(root: path)
        for purpose in KeyPurpose.allCases {
            let active = records.filter { $0.purpose == purpose && $0.isActive }
            guard active.count > 1, let newest = active.max(by: { ($0.activated, $0.keyID) < ($1.activated, $1.keyID) }) else { continue }
            for var record in active where record.keyID != newest.keyID {
                record.retired = max(newest.activated, record.activated)
                record.retainUntil = record.retired?.addingTimeInterval(policy.keyRetention)
                try files.write(record, path: files.metadata(record.keyID), replace: true)
            }
        }
        KeyringFiles.syncDirectory(files.keys)
        return try Keyring(opening: path)
    }

    // MARK: Keys

    /// The record of a key, or nil if the keyring never had it.
    public func key(_ id: KeyID) -> KeyRecord? {
        keys.first { $0.keyID == id }
    }

    /// The active key of `purpose`; there is always exactly one.
    public func activeKey(_ purpose: KeyPurpose) -> KeyRecord {
        guard let record = keys.first(where: { $0.purpose == purpose && $0.isActive }) else {
            preconditionFailure("a keyring always has an active \(purpose) key: checked when opened, kept by every operation")
        }
        return record
    }

    /// The recipients new archives are sealed to: the active encryption key.
    public var activeRecipients: [Recipient] {
        activeKey(.encryption).recipient.map { [$0] } ?? []
    }

    /// Every signing key's window, destroyed ones included (their public
    /// keys stay in the metadata), for verifiers to export: archives signed
    /// by a key are expected to be created inside its window.
    public var signerWindows: [SignerWindow] {
        keys.compactMap { record in
            record.signer.map { SignerWindow(signer: $0, from: record.activated, until: record.retired) }
        }
    }

    /// Reads the identity of encryption key `keyID` from its secret file, to
    /// open an archive whose stanza names that key id.
    public func identity(for keyID: KeyID, passphrase: KeyFiles.PassphraseProvider? = nil) throws -> Identity {
        let record = try heldRecord(keyID, purpose: .encryption)
        let path = files.secret(keyID)
        let identities = try KeyFiles.readIdentities(path: path, passphrase: passphrase)
        guard identities.count == 1, identities[0].recipient.keyID == keyID else {
            throw SealedArchiveError(.invalidKey, "the secret key file '\(path)' does not hold \(record): the keyring is damaged")
        }
        return identities[0]
    }

    /// Reads the signing key `keyID` from its secret file.
    public func signingKey(for keyID: KeyID, passphrase: KeyFiles.PassphraseProvider? = nil) throws -> SigningKey {
        let record = try heldRecord(keyID, purpose: .signing)
        let path = files.secret(keyID)
        let key = try KeyFiles.readSigningKey(path: path, passphrase: passphrase)
        guard key.signer.keyID == keyID else {
            throw SealedArchiveError(.invalidKey, "the secret key file '\(path)' does not hold \(record): the keyring is damaged")
        }
        return key
    }

    /// The active signing key, to sign new archives with.
    public func activeSigningKey() throws -> SigningKey {
        try signingKey(for: activeKey(.signing).keyID)
    }

    /// The identities the keyring holds for an archive's stanzas, to unlock
    /// it with; only those keys are read, so only a needed protected key
    /// asks for its passphrase. Throws `.noIdentity` when it holds none.
    public func identities(opening header: ArchiveHeader, passphrase: KeyFiles.PassphraseProvider? = nil) throws -> [Identity] {
        let held = header.stanzas.map(\.keyID).filter { id in key(id).map { $0.purpose == .encryption && $0.isHeld } ?? false }
        guard !held.isEmpty else {
            let wanted = header.stanzas.map { stanza in
                guard let record = key(stanza.keyID) else { return "\(stanza.keyID) (not in this keyring)" }
                return "\(stanza.keyID) (\(record.isHeld ? "a signing key" : "destroyed \(record.destroyed.map(KeyringTime.format) ?? "")"))"
            }.joined(separator: ", ")
            throw SealedArchiveError(.noIdentity, "the keyring '\(path)' holds none of the keys this archive is sealed to: \(wanted)")
        }
        // The first held key is enough to open the archive: asking for more
        // passphrases than that would be noise.
        return [try identity(for: held[0], passphrase: passphrase)]
    }

    // MARK: Passphrases

    /// Protects the secret file of `keyID` with `newPassphrase`, or removes
    /// the protection when it is nil; the file is replaced atomically, 0600.
    /// `current` answers for a file that is protected now.
    public func setPassphrase(of keyID: KeyID, current: KeyFiles.PassphraseProvider?, new newPassphrase: SecureBytes?, now: Date) throws {
        guard let record = key(keyID), record.isHeld else {
            throw SealedArchiveError(.invalidArgument, "the keyring holds no key \(keyID)")
        }
        let path = files.secret(keyID)
        switch record.purpose {
        case .encryption:
            try KeyFiles.write(try identity(for: keyID, passphrase: current), to: path, created: now, passphrase: newPassphrase, replacing: true)
        case .signing:
            try KeyFiles.write(try signingKey(for: keyID, passphrase: current), to: path, created: now, passphrase: newPassphrase, replacing: true)
        }
    }

    // MARK: Rotation

    /// Makes a new active key of `purpose` and retires the current one at
    /// `now`, with retain-until `now + retention + grace`. Returns the new
    /// key's record.
    ///
    /// Writes, in order: the new secret file, the new metadata (active), the
    /// old metadata (retired). If the last write fails, the new key (never
    /// used) is removed again; if the process dies just before it,
    /// ``finishInterruptedRotation(at:)`` completes the rotation.
    @discardableResult
    public func rotate(_ purpose: KeyPurpose, now: Date, comment: String? = nil) throws -> KeyRecord {
        let now = KeyringTime.wholeSeconds(now)
        let old = activeKey(purpose)
        guard now >= old.activated else {
            throw SealedArchiveError(.invalidArgument,
                "cannot rotate at \(KeyringTime.format(now)): the active \(purpose) key \(old.keyID) was activated later, at \(KeyringTime.format(old.activated)); check the clock")
        }
        let new = try Self.addKey(purpose, files: files, avoiding: Set(keys.map(\.keyID)), now: now, comment: comment)
        var retired = old
        retired.retired = now
        retired.retainUntil = now.addingTimeInterval(policy.keyRetention)
        do {
            try files.write(retired, path: files.metadata(old.keyID), replace: true)
        } catch {
            let metadataRemoved = (try? files.remove(files.metadata(new.keyID))) != nil
            try? files.remove(files.secret(new.keyID))
            KeyringFiles.syncDirectory(files.keys)
            guard metadataRemoved, let failure = error as? SealedArchiveError else { throw error }
            throw SealedArchiveError(failure.code, "the rotation was undone: \(failure.message)", cause: failure)
        }
        KeyringFiles.syncDirectory(files.keys)
        keys = Self.ordered(keys.map { $0.keyID == old.keyID ? retired : $0 } + [new])
        return new
    }

    // MARK: Review and prune

    /// Reviews the keyring at `at` (now, or a future date to see what will
    /// be due then) against an optional inventory of archives. Pure: reads
    /// and writes nothing.
    public func review(inventory: ArchiveInventory?, at: Date) -> ReviewReport {
        KeyringReview.review(keys: keys, policy: policy, inventory: inventory, at: at)
    }

    /// Appends a dated entry for `report` to `review.log` (O_APPEND, 0600).
    public func appendReviewLog(_ report: ReviewReport, now: Date) throws {
        try files.appendToReviewLog(try KeyringJSON.line(ReviewLogEntry(report, logged: now)))
    }

    /// The entries of `review.log`, oldest first; none if there is no log.
    public func reviewLog() throws -> [ReviewLogEntry] {
        guard KeyringFiles.exists(files.reviewLog) else { return [] }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: files.reviewLog))
        } catch {
            throw SealedArchiveError(.io, "cannot read the review log '\(files.reviewLog)': \(error.localizedDescription)")
        }
        let decoder = JSONDecoder()
        return try data.split(separator: UInt8(ascii: "\n")).enumerated().map { index, line in
            do {
                return try decoder.decode(ReviewLogEntry.self, from: Data(line))
            } catch {
                throw SealedArchiveError(.invalidKey, "line \(index + 1) of the review log '\(files.reviewLog)' is not a review entry: \(KeyringFiles.describe(error))")
            }
        }
    }

    /// Destroys the keys that a review at `now` says to destroy: expired,
    /// and (encryption keys) needed by no archive inside retention in
    /// `inventory`. Without an inventory the plan states what it assumes.
    /// With `dryRun` nothing changes.
    ///
    /// For each key: its metadata is rewritten with `destroyed` (atomically),
    /// then its secret file is removed; the metadata stays as a tombstone.
    /// Secret files left behind by an interrupted prune are removed too.
    @discardableResult
    public func prune(inventory: ArchiveInventory?, now: Date, dryRun: Bool) throws -> PrunePlan {
        let now = KeyringTime.wholeSeconds(now)
        let report = review(inventory: inventory, at: now)
        let doomed = report.actions(.destroy).compactMap { action in action.keyID.flatMap(key) }
        let plan = PrunePlan(at: now, dryRun: dryRun, destroy: doomed, keep: report.actions(.keep),
                             inventory: report.inventory, assumption: report.assumption)
        guard !dryRun else { return plan }
        for record in doomed {
            precondition(!record.isActive, "review never says to destroy an active key")
            var destroyed = record
            destroyed.destroyed = now
            try files.write(destroyed, path: files.metadata(record.keyID), replace: true)
            keys = keys.map { $0.keyID == record.keyID ? destroyed : $0 }
            try files.remove(files.secret(record.keyID))
        }
        for record in keys where !record.isHeld && KeyringFiles.exists(files.secret(record.keyID)) {
            try files.remove(files.secret(record.keyID))
        }
        KeyringFiles.syncDirectory(files.keys)
        return plan
    }

    // MARK: Internals

    private func heldRecord(_ keyID: KeyID, purpose: KeyPurpose) throws -> KeyRecord {
        guard let record = key(keyID) else {
            throw SealedArchiveError(.noIdentity, "key \(keyID) is not in the keyring '\(path)'")
        }
        guard record.purpose == purpose else {
            throw SealedArchiveError(.invalidArgument, "key \(keyID) is \(record.purpose == .encryption ? "an encryption" : "a signing") key, not \(purpose == .encryption ? "an encryption" : "a signing") key")
        }
        guard let destroyed = record.destroyed else { return record }
        throw SealedArchiveError(.noIdentity,
            "\(record) was destroyed on \(KeyringTime.format(destroyed)) (retain-until \(record.retainUntil.map(KeyringTime.format) ?? "?")); the keyring no longer holds it")
    }

    /// Generates a key of `purpose`, writes its secret file and then its
    /// metadata (active from `now`), and returns the metadata. A key id
    /// already used in the keyring (64-bit ids: in practice never) is
    /// regenerated.
    private static func addKey(_ purpose: KeyPurpose, files: KeyringFiles, avoiding used: Set<KeyID>, now: Date, comment: String?) throws -> KeyRecord {
        if let comment, comment.contains(where: \.isNewline) {
            throw SealedArchiveError(.invalidArgument, "a key comment is one line of text")
        }
        for _ in 0..<4 {
            let keyID: KeyID
            let publicKey: String
            switch purpose {
            case .encryption:
                let identity = try Identity.generate()
                keyID = identity.recipient.keyID
                publicKey = identity.recipient.description
                guard !used.contains(keyID), !KeyringFiles.exists(files.metadata(keyID)), !KeyringFiles.exists(files.secret(keyID)) else { continue }
                try KeyFiles.write(identity, to: files.secret(keyID), created: now)
            case .signing:
                let key = try SigningKey.generate()
                keyID = key.signer.keyID
                publicKey = key.signer.description
                guard !used.contains(keyID), !KeyringFiles.exists(files.metadata(keyID)), !KeyringFiles.exists(files.secret(keyID)) else { continue }
                try KeyFiles.write(key, to: files.secret(keyID), created: now)
            }
            let record = KeyRecord(keyID: keyID, purpose: purpose, publicKey: publicKey, created: now, activated: now, comment: comment)
            do {
                try files.write(record, path: files.metadata(keyID), replace: false)
            } catch {
                try? files.remove(files.secret(keyID))
                throw error
            }
            return record
        }
        throw SealedArchiveError(.crypto, "could not generate a \(purpose) key with an unused key id")
    }

    /// Reads and checks everything but the number of active keys.
    private static func load(_ path: String) throws -> (KeyringPolicy, [KeyRecord]) {
        let files = KeyringFiles(root: path)
        try files.checkModes()
        let policy = try files.read(KeyringPolicy.self, path: files.policy, what: "keyring policy")
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: files.keys).sorted()
        } catch {
            throw SealedArchiveError(.io, "cannot list '\(files.keys)': \(error.localizedDescription)")
        }
        var records: [KeyRecord] = []
        for name in names where name.hasSuffix(".json") && !name.hasPrefix(".") {
            let metadataPath = KeyringFiles.join(files.keys, name)
            let record = try files.read(KeyRecord.self, path: metadataPath, what: "key metadata file")
            guard name == "\(record.keyID).json" else {
                throw SealedArchiveError(.invalidKey, "'\(metadataPath)' describes key \(record.keyID): the file name and key_id disagree")
            }
            if let problem = record.inconsistency() {
                throw SealedArchiveError(.invalidKey, "'\(metadataPath)' is inconsistent: \(problem)")
            }
            if record.isHeld && !KeyringFiles.exists(files.secret(record.keyID)) {
                throw SealedArchiveError(.invalidKey,
                    "the secret key file '\(files.secret(record.keyID))' of \(record) is missing, but its metadata says the keyring holds it: restore the file from a copy of the keyring")
            }
            records.append(record)
        }
        return (policy, records)
    }

    private static func checkOneActivePerPurpose(_ records: [KeyRecord], path: String) throws {
        for purpose in KeyPurpose.allCases {
            let active = records.filter { $0.purpose == purpose && $0.isActive }
            if active.isEmpty {
                throw SealedArchiveError(.invalidKey, "the keyring '\(path)' has no active \(purpose) key: it is damaged or not a keyring")
            }
            if active.count > 1 {
                let ids = active.map(\.keyID.description).joined(separator: ", ")
                throw SealedArchiveError(.invalidKey,
                    "the keyring '\(path)' has \(active.count) active \(purpose) keys (\(ids)): a rotation was interrupted; finish it (Keyring.finishInterruptedRotation) to keep the newest active and retire the others")
            }
        }
    }

    private static func ordered(_ records: [KeyRecord]) -> [KeyRecord] {
        records.sorted {
            ($0.purpose == .encryption ? 0 : 1, $0.activated, $0.keyID) < ($1.purpose == .encryption ? 0 : 1, $1.activated, $1.keyID)
        }
    }
}
