import Foundation
import SystemCalls
import SealedArchive

/// A keyring: a directory holding the encryption identities and signing keys
/// of a backup setup across rotations, with their records, a policy and
/// an append-only review log (Spec/KEYRING.md).
///
/// After every operation the keyring has exactly one active encryption key
/// and one active signing key. Time is always handed in (`now:`, `at:`),
/// never read, so tests drive a keyring across years. Secrets are written and
/// read only through SealedArchive's ``KeyFiles`` and stay in ``Identity``
/// and ``SigningKey``.
///
/// Every change takes the keyring's lock (`.lock`, flock) and re-reads the
/// keyring under it, so two processes changing one keyring take turns and
/// each works from the other's result; a second writer waits up to 30 s.
/// Every change to the key records is one rename of `keyring.json`, written
/// after any new secret file, so a crash leaves the old records or the new
/// ones, and at most a secret file without a record (``check(at:)``,
/// ``repair(at:now:dryRun:)``). A `Keyring` object is not safe to use from
/// two threads at once.
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
    /// and one active signing key with their records in `keyring.json`,
    /// activated at `now`. On failure, whatever it wrote is removed again.
    /// The identity is post-quantum (X-Wing) when `postQuantum`.
    public static func create(at path: String, policy: KeyringPolicy, now: Date, postQuantum: Bool = false) throws -> Keyring {
        guard !path.isEmpty else { throw SealedArchiveError(.invalidArgument, "the keyring path is empty") }
        let now = KeyringTime.wholeSeconds(now)
        let existing: System.FileStatus?
        do {
            existing = try System.status(path)
        } catch where error.isNoEntry {
            existing = nil
        } catch {
            throw POSIX.error("cannot examine '\(path)'", error)
        }
        if let info = existing {
            guard info.st_mode & S_IFMT == S_IFDIR else {
                throw SealedArchiveError(.io, "'\(path)' already exists and is not a directory; choose another path for the keyring")
            }
            guard KeyringFiles.names(in: path).isEmpty else {
                throw SealedArchiveError(.io, "'\(path)' already exists and is not empty; a keyring is created in a new or empty directory")
            }
        }
        // The keyring is built in a hidden directory beside its final place
        // and renamed there (over an empty directory, if one was given) as
        // the last step: an interrupted init leaves nothing at `path`, and
        // of two inits at once exactly one succeeds.
        let staging = try KeyringFiles.makeStagingDirectory(beside: path)
        var done = false
        defer { if !done { KeyringFiles.removeTree(staging) } }
        let files = KeyringFiles(root: staging)
        let lock = try files.lock(exclusive: true)
        defer { lock?.release() }
        try KeyringFiles.makeDirectory(files.keys)
        try files.write(policy, path: files.policy, replace: false)
        var records: [KeyRecord] = []
        for purpose in KeyPurpose.allCases {
            records.append(try Self.addKey(purpose, files: files, avoiding: Set(records.map(\.keyID)), now: now, comment: nil,
                                           postQuantum: postQuantum))
        }
        try files.write(KeyringIndex(keys: Self.ordered(records)), path: files.index, replace: false)
        KeyringFiles.syncDirectory(files.keys)
        KeyringFiles.syncDirectory(staging)
        do {
            try System.rename(staging, path)
        } catch where [ENOTEMPTY, EEXIST, ENOTDIR].contains(error.errno) {
            throw SealedArchiveError(.io, "'\(path)' already exists and is not empty; a keyring is created in a new or empty directory")
        } catch {
            throw POSIX.error("cannot move the new keyring into place at '\(path)'", error)
        }
        done = true
        KeyringFiles.syncDirectory(KeyringFiles.parent(of: path))
        // Read back what was written: the keyring on disk is the truth.
        return try Keyring(opening: path)
    }

    /// Opens the keyring at `path`.
    ///
    /// Refuses a directory or file that group or others can use (naming it
    /// and the `chmod` that fixes it), symbolic links and other non-regular
    /// files, metadata that does not parse or contradicts itself, a held key
    /// whose secret file is missing, and anything but exactly one active key
    /// per purpose.
    ///
    /// Takes no lock: a reader never blocks a writer. What it reads is
    /// consistent because every change is one rename; only a reader that
    /// finds a problem waits (shared lock) for a writer that may be between
    /// two steps, and looks again before refusing.
    public convenience init(opening path: String) throws {
        let (policy, records): (KeyringPolicy, [KeyRecord])
        do {
            (policy, records) = try Self.load(path)
        } catch let first as SealedArchiveError where first.code == .invalidKey {
            guard let lock = try? KeyringFiles(root: path).lock(exclusive: false) else { throw first }
            defer { lock.release() }
            (policy, records) = try Self.load(path)
        }
        self.init(path: path, policy: policy, keys: records)
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
            record.signer.map { SignerWindow(signer: $0, from: record.activated, until: record.signsUntil ?? record.retired) }
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
        // A stanza names a held key only if it is of that key's kind: the
        // decoder's rule (Stanza.recipientKind), so a stanza of an unknown
        // type carrying a held key's id does not hide the real one.
        let held = header.stanzas.filter { stanza in
            key(stanza.keyID).map { $0.purpose == .encryption && $0.isHeld && $0.recipient?.kind == stanza.recipientKind } ?? false
        }.map(\.keyID)
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
        // The key is read, and the current passphrase asked for, before the
        // lock is taken: a prompt waits on a person, and holding the lock
        // meanwhile would stall every other writer of the keyring (the
        // nightly rotation) until they typed.
        guard let before = key(keyID), before.isHeld else {
            throw SealedArchiveError(.invalidArgument, "the keyring holds no key \(keyID)")
        }
        enum Secret { case identity(Identity), signing(SigningKey) }
        let secret: Secret = before.purpose == .encryption
            ? .identity(try identity(for: keyID, passphrase: current))
            : .signing(try signingKey(for: keyID, passphrase: current))
        let lock = try reloadLocked()
        defer { lock?.release() }
        guard let record = key(keyID), record.isHeld, record.publicKey == before.publicKey else {
            throw SealedArchiveError(.state, "key \(keyID) was destroyed or replaced while its passphrase was asked for: nothing was changed")
        }
        let path = files.secret(keyID)
        switch secret {
        case .identity(let identity):
            try KeyFiles.write(identity, to: path, created: now, passphrase: newPassphrase, replacing: true)
        case .signing(let signingKey):
            try KeyFiles.write(signingKey, to: path, created: now, passphrase: newPassphrase, replacing: true)
        }
    }

    // MARK: Rotation

    /// Makes a new active key of `purpose` and retires the current one at
    /// `now`, with retain-until `now + retention + grace`. Returns the new
    /// key's record. A new encryption key is of the kind of the one it
    /// replaces, or post-quantum (X-Wing) with `postQuantum`: rotating a
    /// classical keyring with it migrates it, and a post-quantum keyring
    /// stays post-quantum.
    ///
    /// Under the keyring's lock, from the keyring as it is on disk then:
    /// writes the new secret file, then `keyring.json` with the new key
    /// active and the old one retired (the commit point). If that write
    /// fails the new secret file is removed again; if the process dies
    /// before it, only the secret file remains, with no record
    /// (``KeyringProblem/orphanSecretFile(path:)``).
    @discardableResult
    /// A retired signing key keeps signing trustworthily for `overlap`
    /// (``KeyRecord/signsUntil``): a host that switches to the new key a few
    /// days late does not turn good archives into ones signed outside their
    /// window.
    public func rotate(_ purpose: KeyPurpose, now: Date, comment: String? = nil, postQuantum: Bool = false,
                       overlap: TimeInterval? = nil) throws -> KeyRecord {
        guard purpose == .encryption || !postQuantum else {
            throw SealedArchiveError(.invalidArgument, "signing keys are Ed25519: only an encryption key can be post-quantum")
        }
        if let overlap {
            guard purpose == .signing else {
                throw SealedArchiveError(.invalidArgument, "an overlap is for signing keys: an old identity keeps opening archives without one")
            }
            guard overlap >= 0, overlap <= policy.keyRetention else {
                throw SealedArchiveError(.invalidArgument, "the overlap must be between 0 and the keys' retention plus grace (\(KeyringPolicy.format(policy.keyRetention)))")
            }
        }
        let requested = KeyringTime.wholeSeconds(now)
        let lock = try reloadLocked()
        defer { lock?.release() }
        let old = activeKey(purpose)
        // A rotation that waited for the lock can find one made meanwhile,
        // activated a moment after the time this one was given: it then
        // happens at that activation, right after it. A larger gap is a
        // clock problem.
        let waited = old.activated.timeIntervalSince(requested)
        guard waited <= KeyringFiles.lockTimeout + 1 else {
            throw SealedArchiveError(.invalidArgument,
                "cannot rotate at \(KeyringTime.format(requested)): the active \(purpose) key \(old.keyID) was activated later, at \(KeyringTime.format(old.activated)); check the clock")
        }
        let now = max(requested, old.activated)
        let staysPostQuantum = purpose == .encryption && old.recipient?.isPostQuantum == true
        let new = try Self.addKey(purpose, files: files, avoiding: Set(keys.map(\.keyID)), now: now, comment: comment,
                                  postQuantum: postQuantum || staysPostQuantum)
        var retired = old
        retired.retired = now
        retired.retainUntil = now.addingTimeInterval(policy.keyRetention)
        retired.signsUntil = overlap.map { now.addingTimeInterval($0) }
        let updated = keys.map { $0.keyID == old.keyID ? retired : $0 } + [new]
        do {
            try writeIndex(updated)
        } catch {
            try? files.remove(files.secret(new.keyID))
            KeyringFiles.syncDirectory(files.keys)
            guard let failure = error as? SealedArchiveError else { throw error }
            throw SealedArchiveError(failure.code, "the rotation was undone: \(failure.message)", cause: failure)
        }
        keys = Self.ordered(updated)
        return new
    }

    // MARK: Review and prune

    /// Reviews the keyring at `at` (now, or a future date to see what will
    /// be due then) against an optional inventory of archives. Pure: reads
    /// and writes nothing.
    /// With `sealingRecipients`, the sealing host's recipients file is
    /// checked too: it must list the identity in service and no other
    /// identity of the keyring.
    public func review(inventory: ArchiveInventory?, at: Date, sealingRecipients: [Recipient]? = nil,
                       drills: DrillHistory? = nil, maxDrillAge: TimeInterval = DrillHistory.defaultMaxAge) -> ReviewReport {
        KeyringReview.review(keys: keys, policy: policy, inventory: inventory, at: at, sealingRecipients: sealingRecipients,
                             drills: drills, maxDrillAge: maxDrillAge)
    }

    /// Appends a dated entry for `report` to `review.log` (O_APPEND, 0600).
    public func appendReviewLog(_ report: ReviewReport, now: Date) throws {
        let lock = try files.lock(exclusive: true)
        defer { lock?.release() }
        try files.appendToReviewLog(try KeyringJSON.line(ReviewLogEntry(report, logged: now)))
    }

    /// The entries of `review.log`, oldest first; none if there is no log.
    public func reviewLog() throws -> [ReviewLogEntry] {
        guard KeyringFiles.exists(files.reviewLog) else { return [] }
        let bytes = try TextFile.read(files.reviewLog, what: "review log", limit: 64 << 20, allowStandardInput: false, followLinks: false)
        let decoder = JSONDecoder()
        // LF or CRLF (a log copied through another system), blank lines
        // skipped, a last line without its newline read as a line.
        return try TextLines.numbered(bytes).filter { !$0.bytes.isEmpty }.map { line in
            do {
                return try decoder.decode(ReviewLogEntry.self, from: Data(line.bytes))
            } catch {
                throw SealedArchiveError(.state, "line \(line.number) of the review log '\(files.reviewLog)' is not a review entry: \(KeyringFiles.describe(error)); run 'sealed-archive keys repair'")
            }
        }
    }

    /// Destroys the keys that a review at `now` says to destroy: expired,
    /// and (encryption keys) needed by no archive inside retention in
    /// `inventory`. Without an inventory the plan states what it assumes.
    /// With `dryRun` nothing changes.
    ///
    /// Under the keyring's lock, from the keyring as it is on disk then:
    /// `keyring.json` is rewritten with every doomed key `destroyed` (the
    /// commit point), then their secret files are removed; the records stay
    /// as tombstones. Secret files left behind by an interrupted prune are
    /// removed too.
    @discardableResult
    public func prune(inventory: ArchiveInventory?, now: Date, dryRun: Bool) throws -> PrunePlan {
        let now = KeyringTime.wholeSeconds(now)
        let lock = dryRun ? nil : try reloadLocked()
        defer { lock?.release() }
        let report = review(inventory: inventory, at: now)
        let doomed = report.actions(.destroy).compactMap { action in action.keyID.flatMap(key) }
        let plan = PrunePlan(at: now, dryRun: dryRun, destroy: doomed, keep: report.actions(.keep),
                             inventory: report.inventory, assumption: report.assumption)
        guard !dryRun else { return plan }
        let ids = Set(doomed.map(\.keyID))
        precondition(!doomed.contains(where: \.isActive), "review never says to destroy an active key")
        let updated = keys.map { record in
            guard ids.contains(record.keyID) else { return record }
            var destroyed = record
            destroyed.destroyed = now
            return destroyed
        }
        if !ids.isEmpty { try writeIndex(updated) }
        keys = Self.ordered(updated)
        for record in keys where !record.isHeld && KeyringFiles.exists(files.secret(record.keyID)) {
            try files.remove(files.secret(record.keyID))
        }
        KeyringFiles.syncDirectory(files.keys)
        return plan
    }

    // MARK: Internals

    /// Takes the keyring's lock for a change and re-reads the keyring under
    /// it, so the change starts from what another process may just have
    /// written. The caller releases the lock when its change is complete.
    private func reloadLocked() throws -> FileLock? {
        let lock = try files.lock(exclusive: true)
        do {
            let (_, records) = try Self.load(path)
            keys = Self.ordered(records)
        } catch {
            lock?.release()
            throw error
        }
        return lock
    }

    /// Replaces `keyring.json` with `records`: the single commit point of
    /// every change to the records.
    func writeIndex(_ records: [KeyRecord]) throws {
        try files.write(KeyringIndex(keys: Self.ordered(records)), path: files.index, replace: true)
    }

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

    /// Generates a key of `purpose`, writes its secret file, and returns its
    /// record (active from `now`) for the caller to commit to
    /// `keyring.json`. A key id already used in the keyring (64-bit ids: in
    /// practice never) is regenerated.
    private static func addKey(_ purpose: KeyPurpose, files: KeyringFiles, avoiding used: Set<KeyID>, now: Date, comment: String?,
                               postQuantum: Bool) throws -> KeyRecord {
        if let comment, comment.contains(where: \.isNewline) {
            throw SealedArchiveError(.invalidArgument, "a key comment is one line of text")
        }
        for _ in 0..<4 {
            let keyID: KeyID
            let publicKey: String
            switch purpose {
            case .encryption:
                let identity = try Identity.generate(postQuantum ? .postQuantum : .x25519)
                keyID = identity.recipient.keyID
                publicKey = identity.recipient.description
                guard !used.contains(keyID), !KeyringFiles.exists(files.secret(keyID)) else { continue }
                try KeyFiles.write(identity, to: files.secret(keyID), created: now)
            case .signing:
                let key = try SigningKey.generate()
                keyID = key.signer.keyID
                publicKey = key.signer.description
                guard !used.contains(keyID), !KeyringFiles.exists(files.secret(keyID)) else { continue }
                try KeyFiles.write(key, to: files.secret(keyID), created: now)
            }
            return KeyRecord(keyID: keyID, purpose: purpose, publicKey: publicKey, created: now, activated: now, comment: comment)
        }
        throw SealedArchiveError(.crypto, "could not generate a \(purpose) key with an unused key id")
    }

    /// Reads the keyring and refuses it if it has any problem that stops
    /// it from being used (``KeyringProblem/preventsUse``); leftovers of
    /// interrupted writes are ignored.
    static func load(_ path: String) throws -> (KeyringPolicy, [KeyRecord]) {
        let files = KeyringFiles(root: path)
        try files.checkModes()
        let inspection = try KeyringInspection(files, reviewLog: false)
        if let problem = inspection.problems.first(where: \.preventsUse) { throw problem.error }
        guard let policy = inspection.policy, let records = inspection.records else {
            throw SealedArchiveError(.invalidKey, "the keyring '\(path)' cannot be read")
        }
        return (policy, records)
    }

    static func ordered(_ records: [KeyRecord]) -> [KeyRecord] {
        records.sorted {
            ($0.purpose == .encryption ? 0 : 1, $0.activated, $0.keyID) < ($1.purpose == .encryption ? 0 : 1, $1.activated, $1.keyID)
        }
    }
}
