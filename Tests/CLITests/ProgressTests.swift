import Foundation
import Testing
import TestSupport

/// `--progress auto|always|never` (issue 12): bytes, rate and time left on
/// standard error for seal, open, verify and drill; on a terminal by
/// default, silent when standard error is not one unless asked.
@Suite struct ProgressTests {
    /// A directory of 3 MiB + 1 MiB (and a hard link to the 1 MiB file,
    /// stored as a link: counted once), sealed to `a.sarc`.
    func fixture() throws -> (Sandbox, String) {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try FileManager.default.createDirectory(atPath: sandbox.path("dir"), withIntermediateDirectories: false)
        try sandbox.write("dir/big", randomBytes(3 << 20))
        try sandbox.write("dir/small", randomBytes(1 << 20))
        try FileManager.default.linkItem(atPath: sandbox.path("dir/small"), toPath: sandbox.path("dir/linked"))
        return (sandbox, recipient)
    }

    /// The lines of standard error that are progress lines of `label`.
    func progressLines(_ result: RunResult, _ label: String) -> [String] {
        result.stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("\(label): ") }
    }

    @Test func alwaysWritesAFinalLineWithTheWholeTotal() throws {
        let (sandbox, recipient) = try fixture()
        let sealed = try sandbox.run(["seal", "--progress", "always", "-r", recipient, "-o", "a.sarc", "dir"])
        #expect(sealed.status == 0, "\(sealed)")
        let lines = progressLines(sealed, "sealing")
        #expect(lines.last?.hasPrefix("sealing: 4.0 MiB of 4.0 MiB (100%), ") == true, "\(sealed)")
        #expect(lines.last?.contains("/s, ") == true && lines.last?.hasSuffix(" elapsed") == true, "\(sealed)")
        // Before the result line, which stays the last line.
        #expect(sealed.stderr.split(separator: "\n").last?.hasPrefix("sealed 'a.sarc'") == true, "\(sealed)")

        let size = try sandbox.size("a.sarc")
        let shown = String(format: "%.1f MiB", Double(size) / 1_048_576)
        let opened = try sandbox.run(["open", "--progress", "always", "-i", "id", "-C", "out", "a.sarc"])
        #expect(opened.status == 0, "\(opened)")
        #expect(progressLines(opened, "opening").last?.hasPrefix("opening: \(shown) of \(shown) (100%)") == true, "\(opened)")

        try FileManager.default.copyItem(atPath: sandbox.path("a.sarc"), toPath: sandbox.path("b.sarc"))
        let both = String(format: "%.1f MiB", Double(2 * size) / 1_048_576)
        let verified = try sandbox.run(["verify", "--progress", "always", "-i", "id", "a.sarc", "b.sarc"])
        #expect(verified.status == 0, "\(verified)")
        #expect(progressLines(verified, "verifying").last?.hasPrefix("verifying: \(both) of \(both) (100%)") == true, "\(verified)")

        // The drill reads the archive twice: verification, then restore.
        let drilled = try sandbox.run(["drill", "--progress", "always", "-i", "id", "a.sarc"])
        #expect(drilled.status == 0, "\(drilled)")
        #expect(progressLines(drilled, "drill").last?.hasPrefix("drill: \(both) of \(both) (100%)") == true, "\(drilled)")
    }

    /// A pipe has no size: bytes and rate, no percentage or time left.
    @Test func aStreamShowsBytesWithoutATotal() throws {
        let (sandbox, recipient) = try fixture()
        try sandbox.write("plain", randomBytes(2 << 20))
        let sealed = try sandbox.run(["seal", "--progress", "always", "-r", recipient, "-o", "p.sarc", "-"], stdin: .file("plain"))
        #expect(sealed.status == 0, "\(sealed)")
        let line = try #require(progressLines(sealed, "sealing").last, "\(sealed)")
        #expect(line.hasPrefix("sealing: 2.0 MiB, ") && !line.contains("%") && !line.contains("left"), "\(line)")
    }

    /// Not a terminal (a log, a pipe): nothing by default, nothing with
    /// never; a quick verification, which reads a few KiB, shows nothing.
    @Test func silentUnlessAskedWhenNotATerminal() throws {
        let (sandbox, recipient) = try fixture()
        for (index, when) in [[], ["--progress", "auto"], ["--progress", "never"]].enumerated() {
            let sealed = try sandbox.run(["seal"] + when + ["-r", recipient, "-o", "a\(index).sarc", "dir"])
            #expect(sealed.status == 0 && progressLines(sealed, "sealing").isEmpty, "\(sealed)")
        }
        let quick = try sandbox.run(["verify", "--quick", "--progress", "always", "a0.sarc"])
        #expect(quick.status == 0 && progressLines(quick, "verifying").isEmpty, "\(quick)")
        // A failed operation ends with its error line, no last progress line.
        var damaged = try sandbox.read("a0.sarc")
        damaged[damaged.count / 2] ^= 1
        try sandbox.write("damaged.sarc", damaged)
        let failed = try sandbox.run(["open", "--progress", "always", "-i", "id", "-C", "out", "damaged.sarc"])
        expectError(failed, 65)
        #expect(progressLines(failed, "opening").isEmpty, "\(failed)")
        expectError(try sandbox.run(["seal", "--progress", "sometimes", "-r", recipient, "-o", "x.sarc", "dir"]), 64)
        expectNoOutput(sandbox, "x.sarc")
    }

    /// On a terminal (a pseudo-terminal from script(1)) the default draws
    /// one line in place (carriage return, erase to end of line) while the
    /// work runs, and wipes it before the result line. The input is a pipe
    /// that pauses, so the run lasts past the first redraw.
    @Test(.enabled(if: ExternalTool.script.enabled, "needs script(1) (Debian package bsdutils)"))
    func aTerminalGetsOneLineRedrawnInPlace() throws {
        let script = try ExternalTool.script.path()
        let (sandbox, recipient) = try fixture()
        let binary = try CLI.binary().path
        let command = "(head -c 1048576 /dev/zero; sleep 1.5; head -c 1048576 /dev/zero) | '\(binary)' seal -r \(recipient) -o s.sarc -"
        let result = try sandbox.execute(script, ["-qec", command, "/dev/null"])
        #expect(result.status == 0, "\(result)")
        let text = result.stdoutText
        #expect(text.contains("\rsealing: 1.0 MiB, "), "\(text.debugDescription)")
        #expect(text.contains("\u{1B}[K"), "\(text.debugDescription)")
        // Wiped, then the result line on a clean line.
        #expect(text.contains("\r\u{1B}[Ksealed 's.sarc'"), "\(text.debugDescription)")
        // Nothing drawn after it: no last progress line on a terminal.
        let resultLine = try #require(text.range(of: "sealed 's.sarc'"), "\(text.debugDescription)")
        #expect(!text[resultLine.upperBound...].contains("sealing:"), "\(text.debugDescription)")
    }

    /// A passphrase asked on the terminal while progress is on: the line is
    /// held off for the prompt, and the passphrase typed there opens the key
    /// (the prompt shares the progress line's lock).
    @Test(.enabled(if: ExternalTool.script.enabled, "needs script(1) (Debian package bsdutils)"))
    func aPassphrasePromptOnTheTerminalWorksWithProgress() throws {
        let script = try ExternalTool.script.path()
        let sandbox = try Sandbox()
        try sandbox.write("pass", Array("correct horse\n".utf8))
        let made = try sandbox.shell("exec \"$SA\" keygen --passphrase --passphrase-fd 3 -o protected.key 3<pass")
        #expect(made.status == 0, "\(made)")
        let recipient = try #require(made.stderr.split(separator: "\n").lazy.compactMap { $0.firstMatch(of: /age1[0-9a-z]+/) }.first.map { String($0.0) },
                                     "\(made)")
        try sandbox.write("plain", randomBytes(1 << 20))
        #expect(try sandbox.run(["seal", "-r", recipient, "-o", "a.sarc", "plain"]).status == 0)
        let binary = try CLI.binary().path
        // script(1) gives the command a terminal; what it reads there is
        // this pipe: the passphrase, typed once the prompt is up (echo off
        // flushes what was typed before).
        let typed = try sandbox.shell("(sleep 1; printf 'correct horse\\n') | '\(script)' -qec \"'\(binary)' open --progress always -i protected.key -o out a.sarc\" /dev/null")
        #expect(typed.status == 0, "\(typed)")
        #expect(typed.stdoutText.contains("Passphrase for "), "\(typed)")
        #expect(try sandbox.read("out") == sandbox.read("plain"))
    }

    /// No terminal to ask on (setsid: no controlling terminal) and no
    /// --passphrase-fd: a one-line refusal, 77, not a crash.
    @Test(.enabled(if: ExternalTool.setsid.enabled, "needs setsid (util-linux)"))
    func aPassphraseWithoutATerminalIsRefused() throws {
        let sandbox = try Sandbox()
        try sandbox.write("pass", Array("pw\n".utf8))
        #expect(try sandbox.shell("exec \"$SA\" keygen --passphrase --passphrase-fd 3 -o protected.key 3<pass").status == 0)
        try sandbox.write("plain", Array("x".utf8))
        let result = try sandbox.execute(try ExternalTool.setsid.path(), ["-w", try CLI.binary().path, "recipient", "protected.key"])
        expectError(result, 77, mentioning: ["no terminal", "--passphrase-fd"])
    }
}
