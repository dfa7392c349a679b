import Foundation
import SealedArchive

/// What is on disk in a keyring, read once, and every problem found in it.
/// Opening a keyring refuses the problems that stop it from being used;
/// `Keyring.check` reports them all; `Keyring.repair` plans from them.
struct KeyringInspection {
    let files: KeyringFiles
    let policy: KeyringPolicy?
    /// The records of `keyring.json`; nil when it cannot be read.
    let records: [KeyRecord]?
    /// The secret key files in `keys/` by the key id their name gives.
    let secretFiles: [KeyID: String]
    private(set) var problems: [KeyringProblem] = []

    /// Reads the keyring at `files.root`. Throws only when there is no
    /// keyring directory to read; `reviewLog` also parses every line of the
    /// review log (check and repair do; opening does not need to).
    init(_ files: KeyringFiles, reviewLog: Bool) throws {
        self.files = files
        problems = try files.unsafeEntries().map { .unsafeEntry(path: $0.path, fix: $0.fix) }

        var policy: KeyringPolicy?
        do {
            policy = try files.read(KeyringPolicy.self, path: files.policy, what: "keyring policy")
        } catch let error as SealedArchiveError {
            problems.append(.unreadableFile(path: files.policy, reason: Self.reason(error)))
        }
        self.policy = policy

        var records: [KeyRecord]?
        do {
            records = try files.read(KeyringIndex.self, path: files.index, what: "key list").keys
        } catch let error as SealedArchiveError {
            problems.append(.unreadableFile(path: files.index, reason: Self.reason(error)))
        }
        self.records = records

        var secretFiles: [KeyID: String] = [:]
        var strays: [KeyringProblem] = []
        for name in KeyringFiles.names(in: files.keys) {
            let path = KeyringFiles.join(files.keys, name)
            if KeyringFiles.isTemporary(name) {
                strays.append(.temporaryFile(path: path))
            } else if name.hasPrefix(".") {
                continue // hidden: set aside by repair, or not ours
            } else if name.hasSuffix(".key"), name.count == 2 * KeyID.length + 4,
                      let id = try? KeyID(parsing: String(name.dropLast(4))) {
                secretFiles[id] = path
            } else {
                strays.append(.strayFile(path: path))
            }
        }
        self.secretFiles = secretFiles
        let known: Set<String> = [KeyringFiles.policyName, KeyringFiles.indexName, KeyringFiles.keysName,
                                  KeyringFiles.reviewLogName, KeyringFiles.reviewLogName + ".rejected", KeyringFiles.lockName]
        for name in KeyringFiles.names(in: files.root) where !known.contains(name) {
            let path = KeyringFiles.join(files.root, name)
            if KeyringFiles.isTemporary(name) {
                strays.append(.temporaryFile(path: path))
            } else if !name.hasPrefix(".") {
                strays.append(.strayFile(path: path))
            }
        }

        if let records {
            var seen = Set<KeyID>()
            for record in records {
                if !seen.insert(record.keyID).inserted {
                    problems.append(.inconsistentRecord(record.keyID, reason: "it is listed twice in '\(files.index)'"))
                }
                if let problem = record.inconsistency() {
                    problems.append(.inconsistentRecord(record.keyID, reason: problem))
                }
            }
            for purpose in KeyPurpose.allCases {
                let active = records.filter { $0.purpose == purpose && $0.isActive }
                if active.count != 1 { problems.append(.activeKeys(purpose, active.map(\.keyID))) }
            }
            for record in records where record.isHeld && secretFiles[record.keyID] == nil {
                problems.append(.missingSecretFile(record.keyID, path: files.secret(record.keyID)))
            }
            let byID = Dictionary(records.map { ($0.keyID, $0) }, uniquingKeysWith: { first, _ in first })
            for (id, path) in secretFiles.sorted(by: { $0.key < $1.key }) {
                switch byID[id] {
                case nil: problems.append(.orphanSecretFile(path: path))
                case let record? where !record.isHeld: problems.append(.destroyedSecretFile(id, path: path))
                default: break
                }
            }
        }
        problems += strays

        if reviewLog, KeyringFiles.exists(files.reviewLog) {
            if let bad = try? Self.badReviewLogLines(files.reviewLog), !bad.isEmpty {
                problems.append(.reviewLogLines(path: files.reviewLog, lines: bad))
            }
        }
    }

    /// The numbers of the review log's lines that are not review entries.
    static func badReviewLogLines(_ path: String) throws -> [Int] {
        let decoder = JSONDecoder()
        return TextLines.numbered(try TextFile.read(path, what: "review log", limit: 64 << 20, allowStandardInput: false, followLinks: false)).compactMap { line in
            if line.bytes.isEmpty { return nil }
            return (try? decoder.decode(ReviewLogEntry.self, from: Data(line.bytes))) == nil ? line.number : nil
        }
    }

    /// An error's message without the file name it starts with, to follow
    /// the file name in a problem's description.
    private static func reason(_ error: SealedArchiveError) -> String {
        if error.message.contains("has no ") { return "is missing: this is not a keyring, or it is damaged" }
        return "cannot be used: \(error.message)"
    }
}
