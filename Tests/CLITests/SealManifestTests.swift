import Foundation
import SealedArchive
import Testing
import TestSupport

/// `seal DIRECTORY` checks the directory's MANIFEST.sha256 against what it
/// packs (issue 12: a broken local backup must not be sealed and reported
/// fine every day): every listed file must be there with its digest, every
/// file must be listed, and the manifest must parse; otherwise nothing is
/// written (65) and the file is named. In both formats.
@Suite struct SealManifestTests {
    /// The auth service's backup directory, with a correct manifest.
    func backup(_ sandbox: Sandbox, skipMarker: Bool = false) throws {
        try FileManager.default.createDirectory(atPath: sandbox.path("backup"), withIntermediateDirectories: false)
        let files: [(String, [UInt8])] = [
            ("authentik.sql", randomBytes(30_000)), ("silver-auth.sql", randomBytes(20_000)), ("env.backup", Array("SECRET=1\n".utf8)),
            (skipMarker ? "authentik-files.skip" : "authentik-files.tgz", skipMarker ? [] : randomBytes(5_000)),
        ]
        var manifest = ""
        for (name, bytes) in files {
            try sandbox.write("backup/\(name)", bytes)
            manifest += "\(sha256Hex(bytes))  ./\(name)\n"
        }
        try sandbox.write("backup/MANIFEST.sha256", Array(manifest.utf8))
    }

    func manifest(_ sandbox: Sandbox) throws -> String { String(decoding: try sandbox.read("backup/MANIFEST.sha256"), as: UTF8.self) }

    @Test(arguments: ["1", "2"])
    func aMatchingManifestIsCheckedAndReported(format: String) throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try backup(sandbox)
        let sealed = try sandbox.run(["seal", "--format-version", format, "--require-manifest", "--json", "-r", recipient, "-o", "a.sarc", "backup"])
        #expect(sealed.status == 0, "\(sealed)")
        let report = try JSONDecoder().decode(SealReport.self, from: Data(sealed.stdout))
        #expect(report.manifest == "matched")
        #expect((report.duration_seconds ?? -1) >= 0, "seal --json says how long it took")
        let text = try sandbox.run(["seal", "--format-version", format, "-r", recipient, "-o", "b.sarc", "backup"])
        #expect(text.stderr.contains("MANIFEST.sha256 matched"), "\(text)")
        // CRLF lines and paths without ./ are sha256sum output too.
        try sandbox.write("backup/MANIFEST.sha256", Array(try manifest(sandbox).replacingOccurrences(of: "  ./", with: "  ").replacingOccurrences(of: "\n", with: "\r\n").utf8))
        #expect(try sandbox.run(["seal", "--format-version", format, "-r", recipient, "-o", "c.sarc", "backup"]).status == 0)
    }

    /// The failures the issue saw, and their kin: each refused with the
    /// file named and no archive written, whatever the format.
    @Test(arguments: ["1", "2"])
    func aManifestThatDoesNotVouchForTheDirectoryIsRefused(format: String) throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        let cases: [(name: String, change: (String) throws -> Void, mentioning: [String])] = [
            ("a file changed", { _ in try sandbox.write("backup/env.backup", Array("SECRET=2\n".utf8)) }, ["env.backup", "does not match"]),
            ("the .skip marker unlisted", { good in
                try sandbox.write("backup/MANIFEST.sha256", Array(good.split(separator: "\n").filter { !$0.contains(".skip") }.map { $0 + "\n" }.joined().utf8))
            }, ["authentik-files.skip", "not listed"]),
            ("an absolute path", { good in
                try sandbox.write("backup/MANIFEST.sha256", Array(good.replacingOccurrences(of: "./env.backup", with: "/srv/backup/env.backup").utf8))
            }, ["MANIFEST.sha256 line", "unsafe"]),
            ("a listed file missing", { _ in try FileManager.default.removeItem(atPath: sandbox.path("backup/silver-auth.sql")) },
             ["silver-auth.sql", "does not hold"]),
            ("a line that is not sha256sum's", { good in
                try sandbox.write("backup/MANIFEST.sha256", Array((good + "garbage\n").utf8))
            }, ["MANIFEST.sha256 line 5"]),
            ("an extra file", { _ in try sandbox.write("backup/notes.txt", Array("x".utf8)) }, ["notes.txt", "not listed"]),
        ]
        for (name, change, mentioning) in cases {
            // Each case starts from a good directory.
            if sandbox.exists("backup") { try FileManager.default.removeItem(atPath: sandbox.path("backup")) }
            try backup(sandbox, skipMarker: true)
            #expect(try sandbox.run(["seal", "--format-version", format, "-r", recipient, "-o", "ok.sarc", "--force", "backup"]).status == 0, "\(name): the good directory")
            try change(try manifest(sandbox))
            let refused = try sandbox.run(["seal", "--format-version", format, "-r", recipient, "-o", "a.sarc", "backup"])
            expectError(refused, 65, mentioning: mentioning + ["refusing to seal"])
            #expect(!sandbox.exists("a.sarc"), "\(name): nothing written")
            // To standard output, the stream stops before its trailer: no
            // reader takes it for an archive.
            let piped = try sandbox.shell("\"$SA\" seal --format-version \(format) -r \(recipient) backup > piped.sarc")
            #expect(piped.status == 65, "\(name): \(piped)")
            #expect(try sandbox.run(["verify", "--allow-unsigned", "piped.sarc"]).status == 65, "\(name): the piped stream is incomplete")
            // --no-manifest seals it anyway.
            let skipped = try sandbox.run(["seal", "--no-manifest", "--json", "--format-version", format, "-r", recipient, "-o", "a.sarc", "backup"])
            #expect(skipped.status == 0, "\(name): \(skipped)")
            #expect(try JSONDecoder().decode(SealReport.self, from: Data(skipped.stdout)).manifest == "skipped")
            try FileManager.default.removeItem(atPath: sandbox.path("a.sarc"))
        }
    }

    @Test func requireManifestRefusesADirectoryWithoutOneAndAFile() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        try backup(sandbox)
        try FileManager.default.removeItem(atPath: sandbox.path("backup/MANIFEST.sha256"))
        let plain = try sandbox.run(["seal", "--json", "-r", recipient, "-o", "a.sarc", "backup"])
        #expect(plain.status == 0, "\(plain)")
        #expect(try JSONDecoder().decode(SealReport.self, from: Data(plain.stdout)).manifest == "absent")
        expectError(try sandbox.run(["seal", "--require-manifest", "-r", recipient, "-o", "b.sarc", "backup"]), 65,
                    mentioning: ["no MANIFEST.sha256", "--require-manifest"])
        #expect(!sandbox.exists("b.sarc"))
        try sandbox.write("file", Array("x".utf8))
        expectError(try sandbox.run(["seal", "--require-manifest", "-r", recipient, "-o", "c.sarc", "file"]), 64, mentioning: ["not a directory"])
        expectError(try sandbox.run(["seal", "--require-manifest", "--no-manifest", "-r", recipient, "-o", "c.sarc", "backup"]), 64)
        #expect(!sandbox.exists("c.sarc"))
    }
}
