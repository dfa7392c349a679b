import Foundation
import TestSupport
import Testing

// Runs the built `sealed-archive` executable in a fresh temporary directory
// per test and captures what it does. Standard output and standard error go
// to files (never pipes), so a large output cannot fill a pipe buffer and
// deadlock the test; standard input is /dev/null, a file, or bytes written to
// a file first.

/// What one run of a process did.
struct RunResult: CustomStringConvertible {
    let command: [String]
    /// The exit status, or 128 + the signal number when killed by a signal.
    let status: Int32
    let killedBySignal: Bool
    let stdout: [UInt8]
    let stderrBytes: [UInt8]

    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderr: String { String(decoding: stderrBytes, as: UTF8.self) }
    var stdoutLines: [String] { Self.lines(stdoutText) }
    var stderrLines: [String] { Self.lines(stderr) }

    /// Standard error without `sealed-archive: warning:` lines and the
    /// report `seal` gives of what it sealed (`sealed 'OUT' to N recipients…`).
    var stderrLinesWithoutWarnings: [String] {
        stderrLines.filter { !$0.hasPrefix("sealed-archive: warning: ") && !$0.hasPrefix("sealed ") }
    }

    static func lines(_ text: String) -> [String] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    var description: String {
        let out = stdout.count > 2000 ? "<\(stdout.count) bytes>" : stdoutText
        return "`\(command.joined(separator: " "))` exited \(status)\(killedBySignal ? " (signal)" : "")\n"
            + "stdout: \(out)\nstderr: \(stderr)"
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Where the `sealed-archive` executable is.
enum CLI {
    /// `SEALED_ARCHIVE_BIN` if set, else `sealed-archive` beside the running
    /// test executable (on Linux `swift test` runs
    /// `.build/<triple>/debug/SealedArchivePackageTests.xctest`, an executable
    /// in the same directory as the product; on macOS the test bundle's
    /// executable is inside `….xctest/Contents/MacOS/`).
    static let located: Result<URL, HarnessError> = {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["SEALED_ARCHIVE_BIN"], !path.isEmpty {
            let url = URL(fileURLWithPath: path).standardizedFileURL
            guard FileManager.default.isExecutableFile(atPath: url.path) else {
                return .failure(HarnessError("SEALED_ARCHIVE_BIN=\(path) is not an executable file"))
            }
            return .success(url)
        }
        var candidates: [URL] = []
        if let url = Bundle.main.executableURL { candidates.append(url) }
        if let first = CommandLine.arguments.first, !first.isEmpty {
            candidates.append(URL(fileURLWithPath: first))
        }
        #if os(Linux)
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: path))
        }
        #endif
        var tried: [String] = []
        for candidate in candidates {
            var directory = candidate.resolvingSymlinksInPath().standardizedFileURL.deletingLastPathComponent()
            // Leave a macOS .xctest bundle (X.xctest/Contents/MacOS/X).
            while directory.path.contains(".xctest"), directory.path != "/" {
                directory = directory.deletingLastPathComponent()
            }
            let binary = directory.appendingPathComponent("sealed-archive")
            tried.append(binary.path)
            if FileManager.default.isExecutableFile(atPath: binary.path) { return .success(binary) }
        }
        return .failure(HarnessError(
            "cannot find the sealed-archive executable (tried \(tried.joined(separator: ", "))): "
            + "run `swift build` first or set SEALED_ARCHIVE_BIN"))
    }()

    static func binary() throws -> URL { try located.get() }
}

/// What a process reads on standard input.
enum Input {
    case none
    case bytes([UInt8])
    /// A file, relative to the sandbox's work directory or absolute.
    case file(String)
}

/// `SEALED_TEST_TRACE=FILE` appends one line per command a test runs (its
/// seconds, when it started, the test, the command) to FILE: what to read when a suite gets
/// slow, since swift-testing's own per-test times arrive only at the end.
enum CommandTrace {
    private static let file: FileHandle? = ProcessInfo.processInfo.environment["SEALED_TEST_TRACE"].flatMap { path in
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        let handle = FileHandle(forWritingAtPath: path)
        _ = try? handle?.seekToEnd()
        return handle
    }
    private static let lock = NSLock()

    private static let processStart = ContinuousClock.now

    static func record(_ command: [String], started: ContinuousClock.Instant) {
        guard let file else { return }
        func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
        let test = Test.current.map { "\($0.id)" } ?? "?"
        let line = String(format: "%.3f\t%.3f\t", seconds(.now - started), seconds(started - processStart))
            + test + "\t" + command.joined(separator: " ").prefix(200) + "\n"
        lock.withLock { file.write(Data(line.utf8)) }
    }
}

/// A fresh temporary directory for one test, removed when released. Commands
/// run with `work/` as their current directory, so tests name files by their
/// bare names; captured output lives in a sibling directory, so `work/`
/// holds only what the commands and the test put there.
final class Sandbox {
    let root: URL
    /// The directory commands run in.
    let work: String
    private let captures: String
    private var runs = 0

    init() throws {
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("sealed-archive-cli-\(UUID().uuidString)", isDirectory: true)
        work = root.appendingPathComponent("work").path
        captures = root.appendingPathComponent("captures").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: captures, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: root)
    }

    /// The absolute path of `name` in the work directory.
    func path(_ name: String) -> String {
        name.hasPrefix("/") ? name : work + "/" + name
    }

    // MARK: Running

    /// Runs `sealed-archive` with `arguments`.
    @discardableResult
    func run(_ arguments: [String], stdin: Input = .none, environment: [String: String] = [:]) throws -> RunResult {
        try execute(CLI.binary().path, arguments, stdin: stdin, environment: environment,
                    display: ["sealed-archive"] + arguments)
    }

    /// Runs `/bin/sh -c script`. `$SA` is the sealed-archive executable;
    /// `environment` adds variables (pass values this way, not by
    /// interpolating them into the script).
    @discardableResult
    func shell(_ script: String, environment: [String: String] = [:]) throws -> RunResult {
        var environment = environment
        environment["SA"] = try CLI.binary().path
        return try execute("/bin/sh", ["-c", script], environment: environment, display: ["sh", "-c", script])
    }

    /// Runs any executable.
    @discardableResult
    func execute(_ executable: String, _ arguments: [String], stdin: Input = .none,
                 environment: [String: String] = [:], display: [String]? = nil) throws -> RunResult {
        runs += 1
        let outPath = "\(captures)/\(runs).stdout"
        let errPath = "\(captures)/\(runs).stderr"
        guard FileManager.default.createFile(atPath: outPath, contents: nil),
              FileManager.default.createFile(atPath: errPath, contents: nil) else {
            throw HarnessError("cannot create capture files in \(captures)")
        }
        let stdoutHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let stderrHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        defer {
            try? stdoutHandle.close()
            try? stderrHandle.close()
        }
        let stdinHandle: FileHandle
        switch stdin {
        case .none:
            stdinHandle = FileHandle(forReadingAtPath: "/dev/null")!
        case .bytes(let bytes):
            let inPath = "\(captures)/\(runs).stdin"
            guard FileManager.default.createFile(atPath: inPath, contents: Data(bytes)) else {
                throw HarnessError("cannot write \(inPath)")
            }
            stdinHandle = try FileHandle(forReadingFrom: URL(fileURLWithPath: inPath))
        case .file(let name):
            guard let handle = FileHandle(forReadingAtPath: path(name)) else {
                throw HarnessError("cannot open \(path(name)) for standard input")
            }
            stdinHandle = handle
        }
        defer { try? stdinHandle.close() }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: work, isDirectory: true)
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = stdinHandle
        process.standardOutput = stdoutHandle
        process.standardError = stderrHandle
        let started = ContinuousClock.now
        try process.run()
        process.waitUntilExit()
        CommandTrace.record(display ?? ([executable] + arguments), started: started)

        let signaled = process.terminationReason == .uncaughtSignal
        let result = RunResult(
            command: display ?? ([executable] + arguments),
            status: signaled ? 128 + process.terminationStatus : process.terminationStatus,
            killedBySignal: signaled,
            stdout: try Array(Data(contentsOf: URL(fileURLWithPath: outPath))),
            stderrBytes: try Array(Data(contentsOf: URL(fileURLWithPath: errPath))))
        try? FileManager.default.removeItem(atPath: outPath)
        try? FileManager.default.removeItem(atPath: errPath)
        try? FileManager.default.removeItem(atPath: "\(captures)/\(runs).stdin")
        return result
    }

    // MARK: Keys, made by the CLI itself

    /// `keygen -o name`, or the same file as `keygen` made it earlier (see
    /// ``MadeKeys``); returns the recipient (`age1…`).
    @discardableResult
    func makeIdentity(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try placeKey(.identity, at: name, sourceLocation: sourceLocation)
    }

    /// `keygen --signing -o name`, or the same file as `keygen` made it
    /// earlier; returns the signer key (`sealsig1…`).
    @discardableResult
    func makeSigningKey(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try placeKey(.signing, at: name, sourceLocation: sourceLocation)
    }

    private var keysPlaced: [MadeKeys.Kind: Int] = [:]

    private func placeKey(_ kind: MadeKeys.Kind, at name: String, sourceLocation: SourceLocation) throws -> String {
        let index = keysPlaced[kind, default: 0]
        keysPlaced[kind] = index + 1
        let key = try MadeKeys.shared.key(kind, index, sourceLocation: sourceLocation)
        try #require(!exists(name), "\(name) already exists: keygen would refuse it", sourceLocation: sourceLocation)
        try write(name, key.file, mode: 0o600)
        return key.publicKey
    }

    /// `recipient name`: the public key(s), one a line.
    func recipient(_ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let result = try run(["recipient", name])
        try #require(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        return result.stdoutText.trimmingCharacters(in: .newlines)
    }

    // MARK: Files

    func write(_ name: String, _ bytes: [UInt8], mode: Int = 0o644) throws {
        guard FileManager.default.createFile(atPath: path(name), contents: Data(bytes),
                                             attributes: [.posixPermissions: mode]) else {
            throw HarnessError("cannot write \(path(name))")
        }
        try setMode(name, mode)
    }

    func read(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }

    func exists(_ name: String) -> Bool {
        // attributesOfItem does not follow symlinks (fileExists does).
        (try? FileManager.default.attributesOfItem(atPath: path(name))) != nil
    }

    /// The permission bits of a file.
    func mode(_ name: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path(name))
        return (attributes[.posixPermissions] as! NSNumber).intValue & 0o7777
    }

    func setMode(_ name: String, _ mode: Int) throws {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path(name))
    }

    func size(_ name: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path(name))
        return (attributes[.size] as! NSNumber).intValue
    }

    /// The names in the work directory, hidden ones included.
    func listing() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: work).sorted()
    }

    /// Hidden temporary files of `-o name` (`.name.<random>.partial`).
    func partialFiles(for name: String) throws -> [String] {
        try listing().filter { $0.hasPrefix(".\(name).") && $0.hasSuffix(".partial") }
    }

    func removeItem(_ name: String) {
        try? FileManager.default.removeItem(atPath: path(name))
    }
}

// MARK: - Expectations shared by the tests

/// The command succeeded: exit 0, nothing on standard error but warnings.
func expectSuccess(_ result: RunResult, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
    #expect(result.stderrLinesWithoutWarnings.isEmpty, "\(result)", sourceLocation: sourceLocation)
}

/// The command failed with `status` and reported it as Spec/CLI.md says:
/// exactly one `sealed-archive: error: …` line on standard error (warnings
/// aside), no stack trace, and the error line contains every string in
/// `mentioning`.
func expectError(_ result: RunResult, _ status: Int32, mentioning: [String] = [],
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == status, "expected exit \(status): \(result)", sourceLocation: sourceLocation)
    expectOneErrorLine(result, mentioning: mentioning, sourceLocation: sourceLocation)
}

/// Standard error is exactly one `sealed-archive: error:` line, besides
/// `sealed-archive: warning:` lines.
func expectOneErrorLine(_ result: RunResult, mentioning: [String] = [],
                        sourceLocation: SourceLocation = #_sourceLocation) {
    let lines = result.stderrLinesWithoutWarnings
    #expect(lines.count == 1, "expected one error line on stderr: \(result)", sourceLocation: sourceLocation)
    #expect(lines.first?.hasPrefix("sealed-archive: error: ") == true,
            "expected `sealed-archive: error: …`: \(result)", sourceLocation: sourceLocation)
    #expect(!result.killedBySignal, "\(result)", sourceLocation: sourceLocation)
    for text in mentioning {
        #expect(lines.first?.contains(text) == true, "error should mention \(text): \(result)",
                sourceLocation: sourceLocation)
    }
}

/// `verify` of one archive failed with `status`: one `FAILED NAME [DEPTH]: reason`
/// line on standard output, and on standard error at most one error line
/// (no stack trace, no help text).
func expectVerifyFailure(_ result: RunResult, _ status: Int32, name: String,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == status, "expected exit \(status): \(result)", sourceLocation: sourceLocation)
    #expect(result.stdoutLines.count == 1, "\(result)", sourceLocation: sourceLocation)
    #expect(result.stdoutLines.first?.hasPrefix("FAILED \(name) [") == true, "\(result)",
            sourceLocation: sourceLocation)
    let errors = result.stderrLinesWithoutWarnings
    #expect(errors.count <= 1, "\(result)", sourceLocation: sourceLocation)
    #expect(errors.allSatisfy { $0.hasPrefix("sealed-archive: error: ") }, "\(result)",
            sourceLocation: sourceLocation)
    #expect(!result.killedBySignal, "\(result)", sourceLocation: sourceLocation)
}

/// `verify` of one archive passed: exit 0 and one `OK NAME [DEPTH]: …` line.
func expectVerifyOK(_ result: RunResult, name: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
    #expect(result.stdoutLines.count == 1, "\(result)", sourceLocation: sourceLocation)
    #expect(result.stdoutLines.first?.hasPrefix("OK \(name) [") == true, "\(result)", sourceLocation: sourceLocation)
    #expect(result.stderrLinesWithoutWarnings.isEmpty, "\(result)", sourceLocation: sourceLocation)
}

/// Nothing under `name` and no `.name.*.partial` beside it.
func expectNoOutput(_ sandbox: Sandbox, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(!sandbox.exists(name), "\(name) should not exist", sourceLocation: sourceLocation)
    let partial = (try? sandbox.partialFiles(for: name)) ?? ["<cannot list>"]
    #expect(partial.isEmpty, "temporary files left: \(partial)", sourceLocation: sourceLocation)
}

/// Key files made by `keygen` once per test process and handed out by
/// index: a sandbox's first identity is key 0, its second key 1, so keys
/// within a sandbox are distinct, while sandboxes, which never meet, share
/// them. A `keygen` process per key was a fifth of all the commands the
/// suites ran. The tests of `keygen` itself run it directly.
final class MadeKeys: @unchecked Sendable {
    enum Kind: Hashable {
        case identity, signing
        var arguments: [String] { self == .identity ? ["keygen"] : ["keygen", "--signing"] }
        var prefix: String { self == .identity ? "age1" : "sealsig1" }
    }

    struct Key {
        let file: [UInt8]
        let publicKey: String
    }

    static let shared = MadeKeys()
    private let lock = NSLock()
    private var keys: [Kind: [Key]] = [:]

    func key(_ kind: Kind, _ index: Int, sourceLocation: SourceLocation) throws -> Key {
        lock.lock()
        defer { lock.unlock() }
        while keys[kind, default: []].count <= index {
            keys[kind, default: []].append(try Self.make(kind, sourceLocation: sourceLocation))
        }
        return keys[kind]![index]
    }

    private static func make(_ kind: Kind, sourceLocation: SourceLocation) throws -> Key {
        let sandbox = try Sandbox()
        let result = try sandbox.run(kind.arguments + ["-o", "key"])
        try #require(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        let line = try #require(result.stderrLines.first { $0.hasPrefix("Public key: ") },
                                "\(result)", sourceLocation: sourceLocation)
        let publicKey = String(line.dropFirst("Public key: ".count))
        try #require(publicKey.hasPrefix(kind.prefix), "\(result)", sourceLocation: sourceLocation)
        try #require(try sandbox.mode("key") == 0o600, "keygen wrote a key file that is not 0600", sourceLocation: sourceLocation)
        return Key(file: try sandbox.read("key"), publicKey: publicKey)
    }
}
