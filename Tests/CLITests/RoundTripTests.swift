import Foundation
import TestSupport
import Testing

/// Sealing and opening real amounts of data, through files and pipes, and
/// the memory that takes (Spec/CLI.md, Spec/FORMAT.md section 7).
@Suite struct RoundTripTests {
    /// A 200 MB random file (8 MB in the fast tier: still many chunks)
    /// sealed to two recipients and signed opens byte-identical with either
    /// identity, to a file and through pipes.
    @Test func largeFileRoundTripsWithEitherIdentity() throws {
        let sandbox = try Sandbox()
        let alice = try sandbox.makeIdentity("alice")
        let bob = try sandbox.makeIdentity("bob")
        let signer = try sandbox.makeSigningKey("sk")
        let size = TestTier.scaled(fast: 8_000_000, full: 200_000_000)
        let made = try sandbox.shell(#"head -c "$SIZE" /dev/urandom > plain"#, environment: ["SIZE": "\(size)"])
        try #require(made.status == 0, "\(made)")
        try #require(try sandbox.size("plain") == size)

        // Files in, files out.
        let seal = try sandbox.run(["seal", "-r", alice, "-r", bob, "--sign-key", "sk", "-o", "archive", "plain"])
        expectSuccess(seal)
        #expect(seal.stdout.isEmpty)
        #expect(try sandbox.mode("archive") == 0o644)
        for identity in ["alice", "bob"] {
            let open = try sandbox.run(["open", "-i", identity, "--signer", signer, "-o", "out", "archive"])
            expectSuccess(open)
            #expect(open.stdout.isEmpty)
            #expect(try sandbox.mode("out") == 0o600)
            let same = try sandbox.execute("/usr/bin/cmp", ["plain", "out"])
            #expect(same.status == 0, "opened with \(identity): \(same)")
            sandbox.removeItem("out")
        }

        // Archive through a pipe into open, plaintext through a pipe into cmp.
        for identity in ["alice", "bob"] {
            let piped = try sandbox.shell("""
                cat archive | { "$SA" open -i "$ID" --signer "$SIGNER"; echo $? > open.rc; } | cmp - plain
                echo $? > cmp.rc
                """, environment: ["ID": identity, "SIGNER": signer])
            #expect(piped.stderrLinesWithoutWarnings.isEmpty, "\(piped)")
            #expect(try sandbox.read("open.rc") == Array("0\n".utf8), "open via pipe with \(identity): \(piped)")
            #expect(try sandbox.read("cmp.rc") == Array("0\n".utf8), "cmp via pipe with \(identity): \(piped)")
        }

        // Sealing from a pipe to a pipe, opened with the other identity, and
        // the streamed archive is the same size as the file one.
        let archiveSize = try sandbox.size("archive")
        sandbox.removeItem("archive")  // bound the disk space the test takes
        let stream = try sandbox.shell("""
            cat plain | { "$SA" seal -r "$A" -r "$B" --sign-key sk; echo $? > seal.rc; } | tee streamed \
              | { "$SA" open -i bob; echo $? > open.rc; } | cmp - plain
            echo $? > cmp.rc
            """, environment: ["A": alice, "B": bob])
        #expect(stream.stderrLinesWithoutWarnings.isEmpty, "\(stream)")
        #expect(try sandbox.read("seal.rc") == Array("0\n".utf8), "\(stream)")
        #expect(try sandbox.read("open.rc") == Array("0\n".utf8), "\(stream)")
        #expect(try sandbox.read("cmp.rc") == Array("0\n".utf8), "\(stream)")
        #expect(try sandbox.size("streamed") == archiveSize)
        expectVerifyOK(try sandbox.run(["verify", "--signer", signer, "-i", "alice", "streamed"]), name: "streamed")
    }

    /// Small and edge-sized inputs round-trip through standard input and
    /// output, including the empty input and exact multiples of the chunk.
    @Test(arguments: [0, 1, 4095, 4096, 4097, 3 * 4096, 100_000])
    func edgeSizesRoundTripThroughPipes(length: Int) throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try sandbox.makeSigningKey("sk")
        let plain = randomBytes(length)
        let seal = try sandbox.run(["seal", "-r", recipient, "--sign-key", "sk", "--chunk-size", "4KiB"],
                                   stdin: .bytes(plain))
        expectSuccess(seal)
        let layout = try ArchiveLayout(seal.stdout)
        #expect(layout.chunkCount == max(1, (length + 4095) / 4096))
        let open = try sandbox.run(["open", "-i", "id", "-"], stdin: .bytes(seal.stdout))
        expectSuccess(open)
        #expect(open.stdout == plain)
    }

    /// Sealing and opening a 1 GiB stream through pipes keeps each process
    /// under 64 MiB of peak RSS, and nothing is lost. Full tier: a gigabyte
    /// through two debug processes is slow, and it needs GNU time.
    @Test(.enabled(if: TestTier.full, "full tier: pushes 1 GiB through seal and open"))
    func gigabyteStreamRunsInBoundedMemory() throws {
        _ = try ExternalTool.gnuTime.path()
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try sandbox.makeSigningKey("sk")
        let result = try sandbox.shell("""
            head -c 1073741824 /dev/zero \
              | { /usr/bin/time -f %M -o seal.rss "$SA" seal -r "$R" --sign-key sk; echo $? > seal.rc; } \
              | { /usr/bin/time -f %M -o open.rss "$SA" open -i id; echo $? > open.rc; } \
              | wc -c > count
            """, environment: ["R": recipient])
        #expect(result.stderrLinesWithoutWarnings.isEmpty, "\(result)")
        #expect(try sandbox.read("seal.rc") == Array("0\n".utf8), "\(result)")
        #expect(try sandbox.read("open.rc") == Array("0\n".utf8), "\(result)")
        let count = String(decoding: try sandbox.read("count"), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(count == "1073741824")

        let limitKiB = 64 * 1024
        for process in ["seal", "open"] {
            let report = String(decoding: try sandbox.read("\(process).rss"), as: UTF8.self)
            // The last line is %M, maximum resident set size in KiB.
            let kib = try #require(RunResult.lines(report).last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) },
                                   "cannot read \(process).rss: \(report)")
            #expect(kib > 0)
            #expect(kib < limitKiB, "\(process) peak RSS \(kib) KiB, limit \(limitKiB) KiB")
        }
    }
}
