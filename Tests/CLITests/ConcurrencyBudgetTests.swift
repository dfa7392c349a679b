import Foundation
import SealedArchive
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

// Concurrency with a budget (issue 9, deliverable 6): an early error exits
// promptly even while the producer thread is blocked reading a stalled pipe,
// and verifying many archives with large chunks at once stays within a
// bounded memory.

@Suite struct ConcurrencyBudgetTests {
    /// `open -C DEST -` of a tar whose first entry is `../x`, fed through a
    /// pipe that then stalls (stays open, no more bytes): the refusal must end
    /// the process within 2 s of writing that prefix, not when the pipe closes.
    /// (Before the fix the reader's deinit waited for the producer thread,
    /// blocked in `read()` on standard input.)
    @Test func earlyErrorExitsWhileInputStalls() throws {
        signal(SIGPIPE, SIG_IGN)
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        var tar = tarEntry(name: "../x", contents: Array("escape\n".utf8))
        tar += tarEntry(name: "big", contents: randomBytes(4 << 20))
        tar += [UInt8](repeating: 0, count: 1024)
        try sandbox.write("hostile.tar", tar)
        // Format 1: its tar reader gets the first entry from the first
        // batch of records. (Format 2's frame reader waits for a batch of
        // frames, a few MiB, before the tar reader sees anything.)
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "--payload", "tar", "--chunk-size", "64KiB",
                                       "--format-version", "1", "-o", "hostile.sarc", "hostile.tar"]))
        let archive = try sandbox.read("hostile.sarc")

        let errPath = sandbox.path("open.stderr")
        try #require(FileManager.default.createFile(atPath: errPath, contents: nil))
        let stderrHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        defer { try? stderrHandle.close() }
        let input = Pipe()
        let process = Process()
        process.executableURL = try CLI.binary()
        process.arguments = ["open", "-i", "id", "-C", "dest", "-"]
        process.currentDirectoryURL = URL(fileURLWithPath: sandbox.work, isDirectory: true)
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderrHandle
        try process.run()
        let writer = input.fileHandleForWriting

        // The reader checks records a batch at a time (Parallel.batchSize
        // records, the same formula as the library's). Write the header and a
        // bit more than one batch: the first batch, holding the `../x` entry,
        // is complete, and the producer thread is blocked in read() waiting
        // for the rest of the second one when the tar reader refuses the
        // entry. Then the pipe stays open and silent.
        let batch = max(2, min(8, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let headerLength = try ArchiveReader(source: MemorySource(archive)).header.length
        let prefix = headerLength + batch * (64 << 10) + 40_000
        try #require(prefix < archive.count - (128 << 10))
        try writer.write(contentsOf: Data(archive[..<prefix]))
        let deadline = Date().addingTimeInterval(2)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        let exitedInTime = !process.isRunning
        if !exitedInTime {
            // Let the old behaviour finish (its producer sees end of input).
            try? writer.close()
            let cleanup = Date().addingTimeInterval(10)
            while process.isRunning, Date() < cleanup { Thread.sleep(forTimeInterval: 0.05) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        try? writer.close()
        #expect(exitedInTime, "still running 2 s after the failing prefix was written while the input pipe stalled")
        let stderr = String(decoding: try sandbox.read("open.stderr"), as: UTF8.self)
        let lines = RunResult.lines(stderr).filter { !$0.hasPrefix("sealed-archive: warning: ") }
        #expect(process.terminationStatus == 65, "\(stderr)")
        #expect(lines.count == 1 && lines[0].hasPrefix("sealed-archive: error: ") && lines[0].contains("../x"), "\(stderr)")
        #expect(!sandbox.exists("dest"))
    }

    /// 16 archives of 4 MiB chunks verified at once (16 workers forced by the
    /// test hook): without the budget every reader holds its batch buffers
    /// side by side (over 128 MiB); with it the process stays under 64 MiB.
    @Test(.enabled(if: TestTier.full, "16 archives of 8 MiB verified twice: about 10 s"),
          .enabled(if: ExternalTool.gnuTime.enabled, "GNU time measures the peak"),
          arguments: [false, true])
    func sixteenArchivesStayUnder64MiB(deep: Bool) throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try sandbox.write("data", randomBytes(8 << 20))
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "--chunk-size", "4MiB", "-o", "a00.sarc", "data"]))
        let names = (0..<16).map { String(format: "a%02d.sarc", $0) }
        for name in names.dropFirst() {
            try FileManager.default.copyItem(atPath: sandbox.path("a00.sarc"), toPath: sandbox.path(name))
        }
        let binary = try CLI.binary().path
        let arguments = ["verify"] + (deep ? ["-i", sandbox.path("id")] : []) + names.map { sandbox.path($0) }
        let run = try spawnMeasuringMemory(binary, arguments, environment: ["SEALED_ARCHIVE_WORKERS": "16"],
                                           output: sandbox.path("verify.out"))
        let output = String(decoding: try sandbox.read("verify.out"), as: UTF8.self)
        #expect(run.status == 0, "\(output)")
        #expect(RunResult.lines(output).filter { $0.hasPrefix("OK ") }.count == 16, "\(output)")
        #expect(run.peakKiB < 64 * 1024, "peak resident \(run.peakKiB) KiB verifying 16 archives (deep: \(deep))")
    }
}

/// Runs `executable` under GNU time, standard output and error to
/// `output`, and returns its exit status and peak resident size.
///
/// Not `wait4` on a child of this test process: Linux starts a new
/// program's peak (`ru_maxrss`) at the resident size of the process that
/// spawned it, so with the whole suite running in this process the child
/// would report the suite's size. GNU time is a small process, so its
/// child's peak is the child's own.
private func spawnMeasuringMemory(_ executable: String, _ arguments: [String], environment: [String: String],
                                  output: String) throws -> (status: Int32, peakKiB: Int) {
    let peakFile = output + ".peak"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try ExternalTool.gnuTime.path())
    process.arguments = ["-f", "%M", "-o", peakFile, executable] + arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    process.standardInput = FileHandle.nullDevice
    guard FileManager.default.createFile(atPath: output, contents: nil) else { throw HarnessError("cannot create \(output)") }
    let sink = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
    defer { try? sink.close() }
    process.standardOutput = sink
    process.standardError = sink
    try process.run()
    process.waitUntilExit()
    let text = try String(contentsOfFile: peakFile, encoding: .utf8)
    // GNU time writes "Command exited with non-zero status N" before the
    // figure when the command fails; the figure is the last line.
    guard let peak = text.split(separator: "\n").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) else {
        throw HarnessError("GNU time wrote no peak: \(text)")
    }
    return (process.terminationStatus, peak)
}

/// One regular-file entry of a ustar archive.
private func tarEntry(name: String, contents: [UInt8]) -> [UInt8] {
    var header = [UInt8](repeating: 0, count: 512)
    func put(_ text: String, at offset: Int) {
        for (i, byte) in text.utf8.enumerated() { header[offset + i] = byte }
    }
    put(name, at: 0)
    put("0000644", at: 100)
    put("0000000", at: 108)
    put("0000000", at: 116)
    put(String(format: "%011o", contents.count), at: 124)
    put(String(format: "%011o", 1_700_000_000), at: 136)
    header[156] = UInt8(ascii: "0")
    put("ustar", at: 257)
    put("00", at: 263)
    for i in 148..<156 { header[i] = UInt8(ascii: " ") }
    let sum = header.reduce(0) { $0 + Int($1) }
    put(String(format: "%06o", sum), at: 148)
    header[154] = 0
    header[155] = UInt8(ascii: " ")
    let padding = (512 - contents.count % 512) % 512
    return header + contents + [UInt8](repeating: 0, count: padding)
}
