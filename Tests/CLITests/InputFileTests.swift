import Foundation
import TestSupport
import Glibc
import Testing

/// Every file the tool parses reads the same with LF or CRLF line endings
/// (issue 8, defect 3: a recipients file whose comment line ended in CRLF
/// swallowed the escrow recipient on the next line, silently).
@Suite struct LineEndingTests {
    enum Ending: String, CaseIterable, CustomTestStringConvertible {
        case lf = "\n", crlf = "\r\n", mixed = "mixed", bom = "bom+crlf", noFinalNewline = "no final newline"
        var testDescription: String { rawValue == "\n" ? "LF" : rawValue == "\r\n" ? "CRLF" : rawValue }

        /// `lines` joined with this ending.
        func join(_ lines: [String]) -> [UInt8] {
            switch self {
            case .lf, .crlf: return Array((lines.joined(separator: rawValue) + rawValue).utf8)
            case .mixed: return Array(lines.enumerated().map { $0.element + ($0.offset % 2 == 0 ? "\r\n" : "\n") }.joined().utf8)
            case .bom: return [0xEF, 0xBB, 0xBF] + Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
            case .noFinalNewline: return Array(lines.joined(separator: "\r\n").utf8)
            }
        }
    }

    /// Converts a file written by the CLI (LF) to `ending`.
    static func rewrite(_ sandbox: Sandbox, _ name: String, _ ending: Ending, mode: Int = 0o600) throws {
        let lines = String(decoding: try sandbox.read(name), as: UTF8.self).split(separator: "\n").map(String.init)
        try sandbox.write(name, ending.join(lines), mode: mode)
    }

    @Test(arguments: Ending.allCases)
    func recipientsAndSignersFiles(_ ending: Ending) throws {
        let sandbox = try Sandbox()
        let main = try sandbox.makeIdentity("main")
        let escrow = try sandbox.makeIdentity("escrow")
        let signer = try sandbox.makeSigningKey("sig")
        try sandbox.write("recipients", ending.join(["# the identity in service", main, "# escrow, kept in the safe", escrow]))
        try sandbox.write("signers", ending.join(["# the sealing host", signer, "# end"]))
        try sandbox.write("plain", randomBytes(10_000))

        let seal = try sandbox.run(["seal", "-R", "recipients", "--sign-key", "sig", "-o", "a.sarc", "--json", "plain"])
        try #require(seal.status == 0, "\(seal)")
        let report = try JSONSerialization.jsonObject(with: Data(seal.stdout)) as? [String: Any]
        #expect((report?["recipients"] as? [String]) == [main, escrow], "\(seal)")
        for identity in ["main", "escrow"] {
            let open = try sandbox.run(["open", "-i", identity, "--signers", "signers", "-o", "out-\(identity)", "a.sarc"])
            #expect(open.status == 0, "\(identity): \(open)")
            #expect(try sandbox.read("out-\(identity)") == sandbox.read("plain"))
        }
        expectVerifyOK(try sandbox.run(["verify", "--signers", "signers", "a.sarc"]), name: "a.sarc")
    }

    /// Seal says how many recipients it sealed to, in text and JSON.
    @Test func sealReportsItsRecipients() throws {
        let sandbox = try Sandbox()
        let main = try sandbox.makeIdentity("main")
        let escrow = try sandbox.makeIdentity("escrow")
        try sandbox.write("plain", randomBytes(1000))
        let seal = try sandbox.run(["seal", "-r", main, "-r", escrow, "-o", "a.sarc", "plain"])
        #expect(seal.status == 0)
        #expect(seal.stderrLines.contains { $0.hasPrefix("sealed 'a.sarc' to 2 recipients") }, "\(seal)")
        let toStdout = try sandbox.run(["seal", "-r", main, "--json", "plain"])
        #expect(toStdout.status == 0)
        let json = try #require(toStdout.stderrLines.last)
        let report = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(report?["schema"] as? Int == 1 && report?["kind"] as? String == "seal" && (report?["recipients"] as? [String])?.count == 1, "\(toStdout)")
    }

    @Test(arguments: Ending.allCases)
    func keyFilesAndChecksumFiles(_ ending: Ending) throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        let signer = try sandbox.makeSigningKey("sig")
        try Self.rewrite(sandbox, "id", ending)
        try Self.rewrite(sandbox, "sig", ending)
        try sandbox.write("plain", randomBytes(10_000))
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "--sign-key", "sig", "--checksum", "-o", "a.sarc", "plain"]))
        try Self.rewrite(sandbox, "a.sarc.sha256", ending, mode: 0o644)
        let open = try sandbox.run(["open", "-i", "id", "--signer", signer, "-o", "out", "a.sarc"])
        #expect(open.status == 0, "\(open)")
        #expect(try sandbox.recipient("id") == recipient)
        let verify = try sandbox.run(["verify", "--checksum-file", "a.sarc.sha256", "a.sarc"])
        expectVerifyOK(verify, name: "a.sarc")
        #expect(verify.stdoutText.contains("SHA-256 matches"), "\(verify)")
    }

    /// A lone CR (old Mac line endings) is not a line break: refused, not
    /// misread.
    @Test func loneCarriageReturnsAreRefused() throws {
        let sandbox = try Sandbox()
        let main = try sandbox.makeIdentity("main")
        let escrow = try sandbox.makeIdentity("escrow")
        try sandbox.write("recipients", Array("# comment\r\(main)\r\(escrow)\r".utf8))
        try sandbox.write("plain", randomBytes(100))
        let seal = try sandbox.run(["seal", "-R", "recipients", "-o", "a.sarc", "plain"])
        expectError(seal, 77)
        expectNoOutput(sandbox, "a.sarc")
    }
}

/// Names from archives and directory listings never reach the terminal raw
/// (issue 8, defect 8).
@Suite struct TerminalEscapeTests {
    static let hostile = "x\u{1b}]0;owned\u{07}\u{1b}[2J\u{9b}31m\u{202e}gpj.sarc"

    @Test func archiveNamesInVerifyDrillAndInspect() throws {
        let sandbox = try Sandbox()
        defer { makeTreeRemovable(sandbox.root.path) }
        let recipient = try sandbox.makeIdentity("id")
        try FileManager.default.createDirectory(atPath: sandbox.path("pulled"), withIntermediateDirectories: false)
        try sandbox.write("plain", randomBytes(1000))
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "-o", "pulled/" + Self.hostile, "plain"]))
        // A damaged copy, so a failure message names it too.
        var bytes = try sandbox.read("pulled/" + Self.hostile)
        bytes[bytes.count - 40] ^= 1
        try sandbox.write("pulled/damaged-" + Self.hostile, bytes)

        let runs = [
            try sandbox.run(["verify", "pulled/" + Self.hostile, "pulled/damaged-" + Self.hostile]),
            try sandbox.run(["verify", "--json", "pulled/" + Self.hostile, "pulled/damaged-" + Self.hostile]),
            try sandbox.run(["drill", "-i", "id", "pulled"]),
            try sandbox.run(["drill", "-i", "id", "--json", "pulled"]),
            try sandbox.run(["inspect", "pulled/" + Self.hostile]),
            try sandbox.run(["open", "-i", "id", "-o", "out", "pulled/damaged-" + Self.hostile]),
            try sandbox.run(["keys", "review", "--keyring", "no-such-ring", "--archives", "pulled"]),
        ]
        for result in runs {
            #expect(!containsRawControl(result.stdout) && !containsRawControl(result.stderrBytes), "\(result)")
            #expect(!result.stdoutText.contains("\u{202e}") && !result.stderr.contains("\u{202e}"), "\(result)")
        }
        // JSON stays JSON, with the name intact once decoded.
        for line in runs[1].stdoutLines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect((object?["archive"] as? String)?.hasSuffix(Self.hostile) == true, "\(line)")
        }
    }

    /// A format 1 header label with C1 and bidirectional controls (which
    /// readers accept, Spec/FORMAT.md) is escaped by inspect; format 2
    /// forbids them (FORMAT-v2.md 3.2), so its readers refuse such a header;
    /// seal refuses to write one.
    @Test func hostileLabel() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try sandbox.write("plain", randomBytes(100))
        expectError(try sandbox.run(["seal", "-r", recipient, "--label", "a\u{9b}2J", "-o", "x.sarc", "plain"]), 64)
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "--label", "label éé", "-o", "v2.sarc", "plain"]))
        var version2 = try sandbox.read("v2.sarc")
        let at = try #require(version2.firstRange(of: Array("label éé".utf8))).lowerBound + 6
        version2.replaceSubrange(at..<at + 4, with: [0xC2, 0x9B, 0xC2, 0x85])
        try sandbox.write("hostile-v2.sarc", version2)
        let refused = try sandbox.run(["inspect", "hostile-v2.sarc"])
        expectError(refused, 65)
        #expect(!containsRawControl(refused.stdout) && !containsRawControl(refused.stderrBytes), "\(refused)")

        expectSuccess(try sandbox.run(["seal", "-r", recipient, "--label", "label éé", "--format-version", "1", "-o", "a.sarc", "plain"]))
        // inspect shows the header unauthenticated: patch "éé" (C3 A9 C3 A9)
        // into U+009B (CSI) and U+0085 (NEL), both C2 xx.
        var bytes = try sandbox.read("a.sarc")
        let label = Array("label éé".utf8)
        let start = try #require(bytes.firstRange(of: label)).lowerBound + 6
        bytes.replaceSubrange(start..<start + 4, with: [0xC2, 0x9B, 0xC2, 0x85])
        try sandbox.write("hostile.sarc", bytes)
        for arguments in [["inspect", "hostile.sarc"], ["inspect", "--json", "hostile.sarc"]] {
            let result = try sandbox.run(arguments)
            #expect(result.status == 0, "\(result)")
            #expect(!containsRawControl(result.stdout), "\(result)")
        }
        let json = try sandbox.run(["inspect", "--json", "hostile.sarc"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout)) as? [String: Any]
        #expect(object?["label"] as? String == "label \u{9b}\u{85}")
    }
}

/// Files the tool reads that are missing, directories, unreadable, empty
/// or not text: one line and the documented code (issue 8, defect 9:
/// `verify --checksum-file` exited 1 with an NSCocoaErrorDomain dump).
@Suite struct UnreadableInputTests {
    @Test func checksumFileProblems() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try sandbox.write("plain", randomBytes(100))
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "-o", "a.sarc", "plain"]))
        try sandbox.write("latin1", [0x61, 0xE9, 0x0A])
        try FileManager.default.createDirectory(atPath: sandbox.path("dir"), withIntermediateDirectories: false)
        for file in ["/nonexistent", "dir", "latin1"] {
            let result = try sandbox.run(["verify", "--checksum-file", file, "a.sarc"])
            expectError(result, 74)
            #expect(!result.stderr.contains("NSCocoaErrorDomain") && !result.stderr.contains("Error Domain"), "\(result)")
        }
    }
}
