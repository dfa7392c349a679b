import Foundation
import TestSupport
import Testing

/// Every command line option and argument that names a file or directory to
/// read, given a path that is missing, a directory (a regular file where a
/// directory is expected), unreadable, or empty: one `sealed-archive:
/// error:` line (or, for `verify` and `drill`, which report each archive on
/// standard output, one `FAILED` result), the exit code Spec/CLI.md
/// documents, never a Foundation dump, and no output file left behind.
///
/// The paths are enumerated from the command definitions themselves
/// (`--experimental-dump-help`): an option whose value is a path and that
/// is missing from ``roles`` fails ``everyPathArgumentHasARole``, so a new
/// option cannot be forgotten here.
///
/// "Unreadable": the tests run as root, and root reads a file of mode 000,
/// so a permission failure cannot be staged portably. The unreadable case
/// is a path whose open fails for every user: a symbolic link to itself
/// (ELOOP). That exercises the same "cannot open" path as EACCES.
@Suite struct BadPathTests {
    /// What a path argument holds, which decides the documented outcome of
    /// each bad case. nil in a table: that case is valid input (an empty
    /// file sealed, an empty directory of archives), so it is not an error.
    struct Role {
        var missing: Outcome?
        var wrongKind: Outcome?
        var unreadable: Outcome?
        var empty: Outcome?
        /// Names the command may leave beside a failed run by design (the
        /// chain's lock file, which lives beside the state for good).
        var leaves: Set<String> = []
    }

    enum Outcome: Equatable {
        /// One `sealed-archive: error:` line, this exit code.
        case error(Int32)
        /// A `FAILED` result line on standard output, nothing on standard
        /// error, this exit code (verify and drill report each archive).
        case failedResult(Int32)
    }

    enum Case: String, CaseIterable {
        case missing, wrongKind = "wrong kind", unreadable, empty
    }

    // The outcomes, by what the path holds (Spec/CLI.md "Exit codes"): a
    // path that cannot be opened is 74; what is read and refused has the
    // code of what it should have been (65 archive, 77 key or key list,
    // 74 local state). Key-like files that are not regular files are 77.
    static let keyFile = Role(missing: .error(74), wrongKind: .error(77), unreadable: .error(74), empty: .error(77))
    static let archive = Role(missing: .error(74), wrongKind: .error(74), unreadable: .error(74), empty: .error(65))
    static let keyring = Role(missing: .error(74), wrongKind: .error(74), unreadable: .error(74), empty: .error(77))
    static let archivesDirectory = Role(missing: .error(74), wrongKind: .error(74), unreadable: .error(74), empty: nil)
    static let inventory = Role(missing: .error(74), wrongKind: .error(74), unreadable: .error(74), empty: nil)

    /// Placeholder for the bad path in a command line.
    static let bad = "@BAD@"

    /// Each path argument (command path, then the option's long name or the
    /// argument's value name) with a command line that succeeds with a good
    /// path, and its role. Outputs are in ``outputs``.
    static let roles: [String: (arguments: [String], role: Role)] = {
        let b = bad
        let verifyArchive = Role(missing: .failedResult(74), wrongKind: .error(65), unreadable: .failedResult(74), empty: .failedResult(65))
        let drillArchive = Role(missing: .failedResult(74), wrongKind: .failedResult(65), unreadable: .failedResult(74), empty: .failedResult(65))
        let chain = Role(missing: .error(74), wrongKind: .error(74), unreadable: .error(74), empty: .error(74))
        let sealChain = Role(missing: nil, wrongKind: .error(74), unreadable: .error(74), empty: .error(74), leaves: ["\(b).lock"])
        return [
            "seal recipients-file": (["seal", "-R", b, "--sign-key", "sk", "-o", "out.sarc", "plain"], keyFile),
            "seal sign-key": (["seal", "-R", "rcp", "--sign-key", b, "-o", "out.sarc", "plain"], keyFile),
            "seal chain": (["seal", "-R", "rcp", "--sign-key", "sk", "--chain", b, "-o", "out.sarc", "plain"], sealChain),
            // A directory or an empty file is sealed: only an input that
            // cannot be opened is an error.
            "seal INPUT": (["seal", "-R", "rcp", "--sign-key", "sk", "-o", "out.sarc", b],
                           Role(missing: .error(74), wrongKind: nil, unreadable: .error(74), empty: nil)),
            // A regular file where the directory should be is a usage error.
            "pack DIRECTORY": (["pack", "-o", "out.tar", b], Role(missing: .error(74), wrongKind: .error(64), unreadable: .error(74), empty: nil)),
            "open identity": (["open", "-i", b, "--signers", "signers", "-o", "out", "a.sarc"], keyFile),
            "open keyring": (["open", "--keyring", b, "--signers", "signers", "-o", "out", "a.sarc"], keyring),
            "open signers": (["open", "-i", "id", "--signers", b, "-o", "out", "a.sarc"], keyFile),
            "open ARCHIVE": (["open", "-i", "id", "--signers", "signers", "-o", "out", b], archive),
            "verify signers": (["verify", "--signers", b, "a.sarc"], keyFile),
            "verify identity": (["verify", "-i", b, "--signers", "signers", "a.sarc"], keyFile),
            "verify keyring": (["verify", "--keyring", b, "--signers", "signers", "a.sarc"], keyring),
            // An empty checksum file lists no archive: that archive fails.
            "verify checksum-file": (["verify", "--signers", "signers", "--checksum-file", b, "a.sarc"],
                                     Role(missing: .error(74), wrongKind: .error(74), unreadable: .error(74), empty: .failedResult(65))),
            "verify chain": (["verify", "--signers", "signers", "--chain", b, "a.sarc"], chain),
            "verify ARCHIVE": (["verify", "--signers", "signers", b], verifyArchive),
            "inspect ARCHIVE": (["inspect", b], archive),
            "drill identity": (["drill", "-i", b, "--signers", "signers", "a.sarc"], keyFile),
            "drill keyring": (["drill", "--keyring", b, "--signers", "signers", "a.sarc"], keyring),
            "drill signers": (["drill", "-i", "id", "--signers", b, "a.sarc"], keyFile),
            "drill ARCHIVE": (["drill", "-i", "id", "--signers", "signers", b], drillArchive),
            "rewrap identity": (["rewrap", "-i", b, "--signers", "signers", "-R", "rcp", "--sign-key", "sk", "-o", "out.sarc", "a.sarc"], keyFile),
            "rewrap keyring": (["rewrap", "--keyring", b, "--signers", "signers", "-R", "rcp", "--sign-key", "sk", "-o", "out.sarc", "a.sarc"], keyring),
            "rewrap signers": (["rewrap", "-i", "id", "--signers", b, "-R", "rcp", "--sign-key", "sk", "-o", "out.sarc", "a.sarc"], keyFile),
            "rewrap recipients-file": (["rewrap", "-i", "id", "--signers", "signers", "-R", b, "--sign-key", "sk", "-o", "out.sarc", "a.sarc"], keyFile),
            "rewrap sign-key": (["rewrap", "-i", "id", "--signers", "signers", "-R", "rcp", "--sign-key", b, "-o", "out.sarc", "a.sarc"], keyFile),
            "rewrap ARCHIVE": (["rewrap", "-i", "id", "--signers", "signers", "-R", "rcp", "--sign-key", "sk", "-o", "out.sarc", b], archive),
            "recipient FILE": (["recipient", b], keyFile),
            "keys list keyring": (["keys", "list", "--keyring", b], keyring),
            "keys rotate keyring": (["keys", "rotate", "--keyring", b], keyring),
            "keys review keyring": (["keys", "review", "--keyring", b, "--at", "2030-01-01"], keyring),
            "keys review archives": (["keys", "review", "--keyring", "ring", "--at", "2030-01-01", "--archives", b], archivesDirectory),
            "keys review inventory": (["keys", "review", "--keyring", "ring", "--at", "2030-01-01", "--inventory", b], inventory),
            "keys review recipients": (["keys", "review", "--keyring", "ring", "--at", "2030-01-01", "--recipients", b], keyFile),
            // An empty history records no drill: a review result (DRILL
            // OVERDUE, 75), tested in DrillHistoryTests.
            "keys review drills": (["keys", "review", "--keyring", "ring", "--at", "2030-01-01", "--drills", b], inventory),
            "keys prune keyring": (["keys", "prune", "--dry-run", "--keyring", b], keyring),
            "keys prune archives": (["keys", "prune", "--dry-run", "--keyring", "ring", "--archives", b], archivesDirectory),
            "keys prune inventory": (["keys", "prune", "--dry-run", "--keyring", "ring", "--inventory", b], inventory),
            "keys export-recipients keyring": (["keys", "export-recipients", "--keyring", b, "-o", "out.txt"], keyring),
            "keys export-signers keyring": (["keys", "export-signers", "--keyring", b, "-o", "out.txt"], keyring),
            "keys export-signing-key keyring": (["keys", "export-signing-key", "--keyring", b, "-o", "out.key"], keyring),
            "keys passwd keyring": (["keys", "passwd", "--keyring", b, "--remove"], keyring),
            "keys export-paper keyring": (["keys", "export-paper", "--keyring", b, "0123456789abcdef"], keyring),
            "keys import-paper INPUT": (["keys", "import-paper", "-o", "out.key", b],
                                        Role(missing: .error(74), wrongKind: .error(74), unreadable: .error(74), empty: .error(77))),
            "keys check keyring": (["keys", "check", "--keyring", b], keyring),
            // A missing chain state is what resume-chain writes.
            "resume-chain chain": (["resume-chain", "--chain", b, "--signers", "signers", "c.sarc"], sealChain),
            "resume-chain signers": (["resume-chain", "--chain", "rc.json", "--signers", b, "c.sarc"], keyFile),
            "resume-chain ARCHIVE": (["resume-chain", "--chain", "rc.json", "--signers", "signers", b],
                                     Role(missing: .error(74), wrongKind: .error(74), unreadable: .error(74), empty: .error(65), leaves: ["rc.json.lock"])),
            "keys repair keyring": (["keys", "repair", "--dry-run", "--keyring", b], keyring),
        ]
    }()

    /// Path arguments the command writes or creates (an output, a work
    /// directory, a new keyring): a missing path is their normal case.
    static let outputs: Set<String> = [
        "keygen output", "seal checksum-file", "seal output", "pack output", "open output", "open directory",
        "drill work-dir", "rewrap output", "keys init keyring", "keys export-recipients output",
        "keys export-signers output", "keys import-paper output", "keys export-signing-key output",
    ]

    /// Value names that mean "a path" in the command definitions.
    static let pathValueNames: Set<String> = ["FILE", "DIR", "ARCHIVE", "INPUT", "DIRECTORY", "DEST", "PATH", "OUT"]

    /// Every argument whose value is a path, from `--experimental-dump-help`:
    /// "command path + long name" (or the positional's value name).
    static func pathArguments() throws -> [String] {
        let sandbox = try Sandbox()
        let dump = try sandbox.run(["--experimental-dump-help"])
        try #require(dump.status == 0, "\(dump)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(dump.stdout)) as? [String: Any])
        var found: [String] = []
        func walk(_ command: [String: Any], _ path: [String]) {
            for argument in command["arguments"] as? [[String: Any]] ?? [] {
                guard let valueName = argument["valueName"] as? String, pathValueNames.contains(valueName) else { continue }
                let names = (argument["names"] as? [[String: Any]] ?? [])
                let long = names.first { $0["kind"] as? String == "long" }?["name"] as? String
                found.append((path + [long ?? valueName]).joined(separator: " "))
            }
            for sub in command["subcommands"] as? [[String: Any]] ?? [] {
                walk(sub, path + [sub["commandName"] as? String ?? "?"])
            }
        }
        walk(try #require(root["command"] as? [String: Any]), [])
        return found
    }

    @Test func everyPathArgumentHasARole() throws {
        let found = try Self.pathArguments()
        #expect(found.count > 40, "\(found)")
        let unclassified = found.filter { Self.roles[$0] == nil && !Self.outputs.contains($0) }
        #expect(unclassified.isEmpty, "classify these path arguments in BadPathTests.roles or .outputs: \(unclassified)")
        let stale = Set(Self.roles.keys).union(Self.outputs).subtracting(found)
        #expect(stale.isEmpty, "no longer path arguments: \(stale)")
    }

    /// The files the command lines of ``roles`` use, all valid.
    static func makeFixtures() throws -> Sandbox {
        let sandbox = try Sandbox()
        try sandbox.makeIdentity("id")
        let signer = try sandbox.makeSigningKey("sk")
        try sandbox.write("rcp", Array((try sandbox.recipient("id") + "\n").utf8))
        try sandbox.write("signers", Array((signer + "\n").utf8))
        try sandbox.write("plain", Array("a backup\n".utf8))
        expectSuccess(try sandbox.run(["seal", "-R", "rcp", "--sign-key", "sk", "-o", "a.sarc", "plain"]))
        // A chained archive, for resume-chain.
        #expect(try sandbox.run(["seal", "-R", "rcp", "--sign-key", "sk", "--chain", "fixture-chain.json", "-o", "c.sarc", "plain"]).status == 0)
        let ring = try sandbox.run(["keys", "init", "--keyring", "ring", "--retention", "30d"])
        try #require(ring.status == 0, "\(ring)")
        return sandbox
    }

    /// Makes `name` in the work directory the bad path of `kind` for `role`.
    static func stage(_ kind: Case, named name: String, expectingDirectory: Bool, in sandbox: Sandbox) throws {
        let path = sandbox.path(name)
        switch kind {
        case .missing:
            break
        case .wrongKind:
            if expectingDirectory {
                try sandbox.write(name, Array("not a directory\n".utf8), mode: 0o600)
            } else {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            }
        case .unreadable:
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: name)
        case .empty:
            if expectingDirectory {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            } else {
                try sandbox.write(name, [], mode: 0o600)
            }
        }
    }

    static func expectingDirectory(_ argument: String) -> Bool {
        argument.hasSuffix(" keyring") || argument.hasSuffix(" archives") || argument == "pack DIRECTORY"
    }

    static func outcome(of kind: Case, for role: Role) -> Outcome? {
        switch kind {
        case .missing: role.missing
        case .wrongKind: role.wrongKind
        case .unreadable: role.unreadable
        case .empty: role.empty
        }
    }

    /// Checks each path argument of `commands` with every bad kind (full
    /// tier), or each with one kind taken in turn (fast tier: every
    /// argument and every kind still runs).
    static func check(_ commands: [String], in sandbox: Sandbox) throws {
        let all = try commands.map { argument in
            let role = try #require(Self.roles[argument]).role
            return (argument, Case.allCases.filter { outcome(of: $0, for: role) != nil })
        }
        for (index, (argument, kinds)) in all.enumerated() where !kinds.isEmpty {
            let chosen = TestTier.full ? kinds : [kinds[index % kinds.count]]
            try check(argument, kinds: chosen, in: sandbox)
        }
    }

    static func check(_ argument: String, kinds: [Case], in sandbox: Sandbox) throws {
        let (arguments, role) = try #require(Self.roles[argument])
        let baseline = Set(try sandbox.listing())
        for kind in kinds {
            guard let outcome = outcome(of: kind, for: role) else { continue }
            let name = "bad-path"
            try stage(kind, named: name, expectingDirectory: expectingDirectory(argument), in: sandbox)
            let result = try sandbox.run(arguments.map { $0 == bad ? name : $0 })
            let label = "\(argument), \(kind.rawValue): \(result)"
            let errors = result.stderrLinesWithoutWarnings
            #expect(!result.stderr.contains("Error Domain=") && !result.stderr.contains("NSCocoaErrorDomain"), "\(label)")
            switch outcome {
            case .error(let status):
                #expect(result.status == status, "\(label)")
                #expect(errors.count == 1 && errors.allSatisfy { $0.hasPrefix("sealed-archive: error: ") }, "\(label)")
                #expect(!errors.contains { $0.contains("internal error") }, "\(label)")
                // Refused before any result: nothing half-printed.
                #expect(result.stdout.isEmpty, "\(label)")
            case .failedResult(let status):
                #expect(result.status == status, "\(label)")
                #expect(errors.isEmpty, "\(label)")
                #expect(result.stdoutLines.contains { $0.contains("FAILED") }, "\(label)")
            }
            // Nothing new beside the bad path, but what the role allows.
            let allowed = Set(role.leaves.map { $0.replacingOccurrences(of: bad, with: name) })
            let left = Set(try sandbox.listing()).subtracting(baseline).subtracting([name]).subtracting(allowed)
            #expect(left.isEmpty, "\(label): left \(left.sorted())")
            for extra in Set(try sandbox.listing()).subtracting(baseline) { sandbox.removeItem(extra) }
        }
    }

    @Test func sealPackAndRecipientRefuseBadPathsWithOneLine() throws {
        let sandbox = try Self.makeFixtures()
        try Self.check(Self.roles.keys.sorted().filter { ["seal", "pack", "recipient"].contains($0.split(separator: " ")[0]) }, in: sandbox)
    }

    @Test func openInspectAndRewrapRefuseBadPathsWithOneLine() throws {
        let sandbox = try Self.makeFixtures()
        try Self.check(Self.roles.keys.sorted().filter { ["open", "inspect", "rewrap"].contains($0.split(separator: " ")[0]) }, in: sandbox)
    }

    @Test func verifyAndDrillRefuseBadPathsWithOneLineOrResult() throws {
        let sandbox = try Self.makeFixtures()
        try Self.check(Self.roles.keys.sorted().filter { ["verify", "drill"].contains($0.split(separator: " ")[0]) }, in: sandbox)
    }

    @Test func resumeChainRefusesBadPathsWithOneLine() throws {
        let sandbox = try Self.makeFixtures()
        try Self.check(Self.roles.keys.sorted().filter { $0.hasPrefix("resume-chain ") }, in: sandbox)
    }

    @Test func keysCommandsRefuseBadPathsWithOneLine() throws {
        let sandbox = try Self.makeFixtures()
        try Self.check(Self.roles.keys.sorted().filter { $0.hasPrefix("keys ") }, in: sandbox)
    }

    /// The issue's example: it exited 1 with an `NSCocoaErrorDomain` text.
    @Test func theIssuesCaseOfANonexistentChecksumFileIsAnIOErrorLine() throws {
        let sandbox = try Self.makeFixtures()
        let result = try sandbox.run(["verify", "--checksum-file", "/nonexistent", "a.sarc"])
        expectError(result, 74, mentioning: ["/nonexistent"])
        #expect(!result.stderr.contains("NSCocoaErrorDomain"))
    }
}
