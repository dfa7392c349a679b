import Foundation
import TestSupport
import Glibc
import Testing

/// `seal`, `open -C` and `open -o` killed at random moments never leave
/// anything under the final name (Spec/CLI.md: output files and staged
/// extraction): after SIGKILL a hidden `.NAME.*.partial` or
/// `.DEST.staging.*` may remain, never a partial OUT or DEST; a run that
/// finished before the kill left a complete, valid output. SIGTERM removes
/// the temporary files.
///
/// A process killed after it moved its output into place (between the
/// rename and its exit) legitimately leaves a complete output under the
/// final name: so the check after a kill is "nothing at the final name, or
/// something complete and valid".
///
/// Kill moments are drawn from a seeded generator over [0, T), T the
/// measured time of an uninterrupted run (the second one, with warm
/// caches), so a failure can be replayed.
@Suite(.serialized) struct CrashSafetyTests {
    /// Random kill moments per command: 8 in the full tier, 3 in the fast one.
    static let kills = TestTier.scaled(fast: 3, full: 8)

    /// The size of each of the twelve files of `makeLargeDirectory`: 25 MB
    /// in the full tier, 2 MB in the fast one (the runs are then shorter,
    /// and the kill moments scale with the measured run time).
    static let partSize = TestTier.scaled(fast: 2_000_000, full: 25_000_000)
    /// About 12 × `partSize`: the size of the directory and of the stream.
    static let largeSize = 12 * partSize

    /// About 300 MB (24 MB in the fast tier): twelve random files and a few
    /// small entries.
    static func makeLargeDirectory(_ sandbox: Sandbox, _ name: String) throws {
        let made = try sandbox.shell("""
            set -e
            mkdir -p "$D/sub dir" "$D/empty"
            i=1
            while [ $i -le 12 ]; do head -c "$PART" /dev/urandom > "$D/part $i.bin"; i=$((i + 1)); done
            echo small > "$D/sub dir/small.txt"
            ln -s "../part 1.bin" "$D/sub dir/link"
            ln "$D/part 2.bin" "$D/sub dir/hard"
            """, environment: ["D": name, "PART": "\(partSize)"])
        try #require(made.status == 0, "\(made)")
    }

    /// Delays in [0, limit) from a fixed seed.
    static func delays(seed: UInt64, limit: Double, count: Int = kills) -> [Double] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Double.random(in: 0..<max(limit, 0.01), using: &rng) }
    }

    /// Runs `body` twice (each must leave things as they were) and returns
    /// the seconds the second run took.
    static func measure(_ body: () throws -> Void) rethrows -> Double {
        try body()
        let started = Date()
        try body()
        return Date().timeIntervalSince(started)
    }

    /// The names in the work directory other than `expected` and the hidden
    /// leftovers of `name` a SIGKILL may leave (`.name.*.partial`,
    /// `.name.staging.*`).
    static func unexpectedNames(_ sandbox: Sandbox, expected: Set<String>, leftoversOf name: String) throws -> [String] {
        try sandbox.listing().filter { entry in
            !expected.contains(entry)
                && !(entry.hasPrefix(".\(name).") && (entry.hasSuffix(".partial") || entry.hasPrefix(".\(name).staging.")))
        }
    }

    /// Removes `name` and its hidden leftovers, which must not be readable
    /// by others: a staging directory is 0700 (Spec/CLI.md), a temporary
    /// file 0600 (it may hold plaintext from `open -o`) or, once it is being
    /// committed (flushed to disk), the output's final mode.
    static func clean(_ sandbox: Sandbox, _ name: String, finalMode: Int = 0o600,
                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        for entry in try sandbox.listing() where entry == name || entry.hasPrefix(".\(name).") {
            if entry.hasPrefix(".\(name).staging.") {
                #expect(try sandbox.mode(entry) == 0o700, "\(entry)", sourceLocation: sourceLocation)
            } else if entry.hasSuffix(".partial") {
                let mode = try sandbox.mode(entry)
                #expect(mode == 0o600 || mode == finalMode, "\(entry) has mode \(String(mode, radix: 8))",
                        sourceLocation: sourceLocation)
            }
            makeTreeRemovable(sandbox.path(entry))
            sandbox.removeItem(entry)
        }
    }

    /// How the killed runs ended, printed for the record.
    struct Tally: CustomStringConvertible {
        var killed = 0
        var completed = 0
        var completeAfterKill = 0
        var description: String {
            "\(killed) killed (\(completeAfterKill) of them after the output was in place), \(completed) finished first"
        }
    }

    /// Starts `arguments` `kills` times, SIGKILLs each after a random delay,
    /// and checks the outcome: `checkComplete` when the output is under its
    /// final name, nothing there otherwise.
    static func killRepeatedly(_ sandbox: Sandbox, seed: UInt64, runTime: Double, output: String, finalMode: Int,
                               expected: Set<String>,
                               start: () throws -> BackgroundCommand, afterExit: () throws -> Void = {},
                               checkComplete: (String) throws -> Void,
                               sourceLocation: SourceLocation = #_sourceLocation) throws -> Tally {
        var tally = Tally()
        func attempt(_ delay: Double, _ label: String) throws {
            let command = try start()
            sleepSeconds(delay)
            command.send(SIGKILL)
            let result = try command.wait()
            try afterExit()
            let context = "\(label), SIGKILL after \(String(format: "%.3f", delay)) s of \(String(format: "%.3f", runTime)) s"
            if result.killedBySignal {
                tally.killed += 1
                #expect(result.status == 128 + SIGKILL, "\(context): \(result)", sourceLocation: sourceLocation)
                if sandbox.exists(output) {
                    tally.completeAfterKill += 1
                    try checkComplete(context)
                }
            } else {
                tally.completed += 1
                expectCompleted(result, sourceLocation: sourceLocation)
                #expect(sandbox.exists(output), "\(context): \(result)", sourceLocation: sourceLocation)
                try checkComplete(context)
            }
            let unexpected = try unexpectedNames(sandbox, expected: expected.union([output]), leftoversOf: output)
            #expect(unexpected.isEmpty, "\(context): unexpected \(unexpected) in \(sandbox.listingDescription)",
                    sourceLocation: sourceLocation)
            try clean(sandbox, output, finalMode: finalMode, sourceLocation: sourceLocation)
        }
        for (index, delay) in delays(seed: seed, limit: runTime).enumerated() {
            try attempt(delay, "run \(index)")
        }
        // Runs can go faster than the measured one (less load): make sure
        // some were really killed mid-way, with early kills if need be.
        var extra = 0
        while tally.killed < 2 && extra < 4 {
            try attempt(min(0.15, runTime / 4), "extra run \(extra)")
            extra += 1
        }
        print("\(Test.current?.name ?? "kill test"): \(tally)")
        return tally
    }

    /// Waits (up to 60 s) until `condition` holds or `command` exits;
    /// whether the condition held.
    static func waitUntil(_ command: BackgroundCommand, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if condition() { return true }
            if !command.process.isRunning { return false }
            usleep(1_000)
        }
        return false
    }

    /// The size of the hidden temporary file of `-o name`, if there is one.
    static func partialSize(_ sandbox: Sandbox, _ name: String) -> Int? {
        guard let partial = (try? sandbox.partialFiles(for: name))?.first else { return nil }
        return try? sandbox.size(partial)
    }

    // MARK: seal

    /// `seal -o OUT DIR` of `makeLargeDirectory`, SIGKILLed at `kills` random moments.
    @Test func sealOfDirectoryKilled() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try Self.makeLargeDirectory(sandbox, "data")
        let arguments = ["seal", "-r", recipient, "-o", "out.sarc", "data"]
        let runTime = try Self.measure {
            expectSuccess(try sandbox.run(arguments))
            expectVerifyOK(try sandbox.run(["verify", "-i", "id", "out.sarc"]), name: "out.sarc")
            sandbox.removeItem("out.sarc")
        }
        let tally = try Self.killRepeatedly(
            sandbox, seed: 0xC0FFEE, runTime: runTime, output: "out.sarc", finalMode: 0o644, expected: ["id", "data"],
            start: { try sandbox.startBackground(arguments) },
            checkComplete: { context in
                let verify = try sandbox.run(["verify", "-i", "id", "out.sarc"])
                expectVerifyOK(verify, name: "out.sarc")
                #expect(verify.status == 0, "\(context)")
            })
        #expect(tally.killed > 0, "no run was killed: \(tally)")
    }

    /// `seal -o OUT` of a 300 MB stream on standard input (a FIFO fed by
    /// `cat`), SIGKILLed at `kills` random moments.
    @Test func sealOfStreamKilled() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        let made = try sandbox.shell(#"head -c "$SIZE" /dev/urandom > stream.bin && mkfifo stream.fifo"#,
                                     environment: ["SIZE": "\(Self.largeSize)"])
        try #require(made.status == 0, "\(made)")
        let arguments = ["seal", "-r", recipient, "-o", "out.sarc"]

        var writer: BackgroundCommand?
        /// Starts `cat stream.bin > stream.fifo` and seal reading the FIFO.
        func start() throws -> BackgroundCommand {
            writer = try sandbox.startBackground(executable: "/bin/sh", ["-c", "exec cat stream.bin > stream.fifo"])
            // Blocks until the writer has opened the FIFO.
            let reader = try #require(FileHandle(forReadingAtPath: sandbox.path("stream.fifo")))
            defer { try? reader.close() }
            return try sandbox.startBackground(arguments, stdin: reader)
        }
        /// cat ends when seal read everything, or dies of SIGPIPE.
        func reapWriter() throws {
            _ = try writer?.wait()
            writer = nil
        }
        func checkComplete(_ context: String) throws {
            let verify = try sandbox.run(["verify", "-i", "id", "out.sarc"])
            expectVerifyOK(verify, name: "out.sarc")
            #expect(verify.stdoutText.contains("\(Self.largeSize) bytes"), "\(context): \(verify)")
        }

        let runTime = try Self.measure {
            let command = try start()
            expectSuccess(try command.wait())
            try reapWriter()
            try checkComplete("uninterrupted run")
            sandbox.removeItem("out.sarc")
        }
        let tally = try Self.killRepeatedly(
            sandbox, seed: 0x57DE_A11, runTime: runTime, output: "out.sarc", finalMode: 0o644,
            expected: ["id", "stream.bin", "stream.fifo"],
            start: start, afterExit: reapWriter, checkComplete: checkComplete)
        #expect(tally.killed > 0, "no run was killed: \(tally)")
    }

    /// SIGTERM while `seal -o OUT DIR` writes (its temporary file holds 1 to
    /// 250 MB of the about 300 MB archive; scaled in the fast tier): the handler removes
    /// `.OUT.*.partial` and nothing appears at OUT.
    @Test func sealTerminatedRemovesItsTemporaryFile() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try Self.makeLargeDirectory(sandbox, "data")
        let arguments = ["seal", "-r", recipient, "-o", "out.sarc", "data"]
        var rng = SeededGenerator(seed: 0x7E4)
        for index in 0..<4 {
            let threshold = Int.random(in: (Self.largeSize / 300)...(Self.largeSize * 5 / 6), using: &rng)
            let command = try sandbox.startBackground(arguments)
            let reached = Self.waitUntil(command) { (Self.partialSize(sandbox, "out.sarc") ?? 0) >= threshold }
            command.send(SIGTERM)
            let result = try command.wait()
            let context = "run \(index), SIGTERM once the temporary file held \(threshold) bytes"
            #expect(reached, "\(context): never got there: \(result)")
            #expect(result.killedBySignal && result.status == 128 + SIGTERM, "\(context): \(result)")
            #expect(!sandbox.exists("out.sarc"), "\(context): \(sandbox.listingDescription)")
            #expect(try sandbox.partialFiles(for: "out.sarc").isEmpty, "\(context): temporary file left: \(sandbox.listingDescription)")
            #expect(try sandbox.listing() == ["data", "id"], "\(context): \(sandbox.listingDescription)")
            try Self.clean(sandbox, "out.sarc")
        }
    }

    // MARK: open

    /// `open -C DEST` of a 300 MB directory archive, SIGKILLed at `kills` random
    /// moments: DEST is absent (a hidden staging directory may remain), or
    /// the whole tree when the run finished.
    @Test func openToDirectoryKilled() throws {
        let sandbox = try Sandbox()
        defer { makeTreeRemovable(sandbox.root.path) }
        let recipient = try sandbox.makeIdentity("id")
        try Self.makeLargeDirectory(sandbox, "data")
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "-o", "a.sarc", "data"]))
        let arguments = ["open", "-i", "id", "-C", "dest", "a.sarc"]
        var firstRun = true
        let runTime = try Self.measure {
            expectCompleted(try sandbox.run(arguments))
            if firstRun { try expectSameTree(sandbox, source: "data", copy: "dest") }
            firstRun = false
            try Self.clean(sandbox, "dest")
        }
        let tally = try Self.killRepeatedly(
            sandbox, seed: 0x0BE7, runTime: runTime, output: "dest", finalMode: 0o700, expected: ["id", "data", "a.sarc"],
            start: { try sandbox.startBackground(arguments) },
            checkComplete: { _ in try expectSameTree(sandbox, source: "data", copy: "dest") })
        #expect(tally.killed > 0, "no run was killed: \(tally)")
    }

    /// `open -o FILE` (the tar stream of a 300 MB directory), SIGKILLed at `kills`
    /// random moments: FILE is absent, or complete when the run finished.
    /// Then SIGTERM in the middle removes the temporary file.
    @Test func openToFileKilled() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try Self.makeLargeDirectory(sandbox, "data")
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "-o", "a.sarc", "data"]))
        expectSuccess(try sandbox.run(["open", "-i", "id", "-o", "reference.tar", "a.sarc"]))
        let arguments = ["open", "-i", "id", "-o", "out.tar", "a.sarc"]
        func checkComplete(_ context: String) throws {
            let same = try sandbox.execute("/usr/bin/cmp", ["reference.tar", "out.tar"])
            #expect(same.status == 0, "\(context): \(same)")
            #expect(try sandbox.mode("out.tar") == 0o600, "\(context)")
        }
        let runTime = try Self.measure {
            expectSuccess(try sandbox.run(arguments))
            try checkComplete("uninterrupted run")
            sandbox.removeItem("out.tar")
        }
        let tally = try Self.killRepeatedly(
            sandbox, seed: 0xF11E, runTime: runTime, output: "out.tar", finalMode: 0o600,
            expected: ["id", "data", "a.sarc", "reference.tar"],
            start: { try sandbox.startBackground(arguments) }, checkComplete: checkComplete)
        #expect(tally.killed > 0, "no run was killed: \(tally)")

        let command = try sandbox.startBackground(arguments)
        let reached = Self.waitUntil(command) { (Self.partialSize(sandbox, "out.tar") ?? 0) >= Self.largeSize / 3 }
        command.send(SIGTERM)
        let result = try command.wait()
        #expect(reached, "\(result)")
        #expect(result.killedBySignal && result.status == 128 + SIGTERM, "\(result)")
        expectNoOutput(sandbox, "out.tar")
    }

    /// SIGTERM during `open -C DEST`, once files are being written into the
    /// staging directory: nothing at DEST, and the staging directory, which
    /// holds decrypted plaintext, is removed (Spec/CLI.md lets it remain
    /// only after SIGKILL; output files are removed on SIGTERM).
    @Test func openToDirectoryTerminatedRemovesStaging() throws {
        let sandbox = try Sandbox()
        defer { makeTreeRemovable(sandbox.root.path) }
        let recipient = try sandbox.makeIdentity("id")
        try Self.makeLargeDirectory(sandbox, "data")
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "-o", "a.sarc", "data"]))

        let command = try sandbox.startBackground(["open", "-i", "id", "-C", "dest", "a.sarc"])
        let reached = Self.waitUntil(command) {
            guard let staging = (try? sandbox.stagingDirectories(for: "dest"))?.first else { return false }
            return ((try? sandbox.size(staging + "/part 3.bin")) ?? 0) > 0
        }
        command.send(SIGTERM)
        let result = try command.wait()
        try #require(reached, "open never wrote 'part 3.bin' into a staging directory: \(result)")
        #expect(result.killedBySignal && result.status == 128 + SIGTERM, "\(result)")
        #expect(!sandbox.exists("dest"), "\(sandbox.listingDescription)")
        let staging = try sandbox.stagingDirectories(for: "dest")
        #expect(staging.isEmpty, "SIGTERM of open -C left its staging directory (decrypted files) behind: \(staging)")
    }

    // MARK: Truncated archives

    /// An archive truncated inside its last chunk: `open -C` fails (65)
    /// with nothing at DEST and no staging directory left, though every
    /// earlier chunk authenticated and was extracted; an existing empty DEST
    /// stays empty; `open -o` writes nothing; `verify -i` fails.
    @Test func truncatedInLastChunkLeavesNothing() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        let made = try sandbox.shell("""
            mkdir -p data/sub && head -c 3000000 /dev/urandom > data/one && head -c 3000000 /dev/urandom > data/sub/two \
              && echo tail > data/zzz-last
            """)
        try #require(made.status == 0, "\(made)")
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "-o", "a.sarc", "data"]))
        let layout = try ArchiveLayout(try sandbox.read("a.sarc"))
        try #require(layout.chunkCount >= 5, "chunks: \(layout.chunkCount)")
        let last = layout.record(layout.chunkCount - 1)
        try sandbox.write("cut.sarc", Array(layout.bytes[..<(last.lowerBound + last.count / 2)]))

        let open = try sandbox.run(["open", "-i", "id", "-C", "dest", "cut.sarc"])
        expectError(open, 65, mentioning: ["truncated"])
        #expect(!sandbox.exists("dest"))
        #expect(try sandbox.stagingDirectories(for: "dest").isEmpty, "\(sandbox.listingDescription)")

        try FileManager.default.createDirectory(atPath: sandbox.path("empty"), withIntermediateDirectories: false)
        let intoEmpty = try sandbox.run(["open", "-i", "id", "-C", "empty", "cut.sarc"])
        expectError(intoEmpty, 65, mentioning: ["truncated"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.path("empty")).isEmpty)
        #expect(try sandbox.stagingDirectories(for: "empty").isEmpty, "\(sandbox.listingDescription)")

        let toFile = try sandbox.run(["open", "-i", "id", "-o", "out.tar", "cut.sarc"])
        expectError(toFile, 65, mentioning: ["truncated"])
        expectNoOutput(sandbox, "out.tar")

        expectVerifyFailure(try sandbox.run(["verify", "-i", "id", "cut.sarc"]), 65, name: "cut.sarc")
        #expect(try sandbox.listing() == ["a.sarc", "cut.sarc", "data", "empty", "id"], "\(sandbox.listingDescription)")
    }
}
