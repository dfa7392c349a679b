import Foundation
import Testing
import TestSupport

/// `verify --quick` (Spec/CLI.md, FORMAT-v2.md 7.1): a format 2 archive in
/// a file is checked by its header signature, group table and trailer,
/// reading a few hundred bytes; the records are not read, which the output
/// says. Anything else gets the whole keyless or signed read.
@Suite struct QuickVerifyTests {
    struct Fixture {
        let sandbox: Sandbox
        let signer: String
        let layout: ArchiveLayout
    }

    static func makeFixture() throws -> Fixture {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        let signer = try sandbox.makeSigningKey("sk")
        try sandbox.write("plain", randomBytes(3 << 20))
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "--sign-key", "sk", "-o", "a.sarc", "plain"]))
        expectSuccess(try sandbox.run(["seal", "-r", recipient, "--sign-key", "sk", "--format-version", "1", "-o", "v1.sarc", "plain"]))
        return Fixture(sandbox: sandbox, signer: signer, layout: try ArchiveLayout(sandbox.read("a.sarc")))
    }

    @Test func aSignedArchiveIsCheckedFromItsEnds() throws {
        let fixture = try Self.makeFixture()
        let result = try fixture.sandbox.run(["verify", "--quick", "--signer", fixture.signer, "a.sarc"])
        expectVerifyOK(result, name: "a.sarc")
        let line = try #require(VerifyLine(result.stdoutLines.first ?? ""))
        #expect(line.depth == "quick" && line.detail.contains("records not read"), "\(result)")
        let match = try #require(line.detail.firstMatch(of: /read (\d+) bytes of (\d+)/))
        #expect(Int(match.1)! < 1 << 20 && Int(match.1)! < 4096, "\(result)")
        #expect(Int(match.2) == fixture.layout.bytes.count)
    }

    @Test func damageToWhatItReadsIsFoundAndRecordsAreNotRead() throws {
        let fixture = try Self.makeFixture()
        let sandbox = fixture.sandbox
        let layout = fixture.layout
        for (what, offset) in [("header", 20), ("header signature", layout.headerSignature!.lowerBound + 3),
                               ("group table", layout.groupTable.lowerBound + 1), ("trailer signature", layout.signature.lowerBound + 9)] {
            var bytes = layout.bytes
            bytes[offset] ^= 0x04
            try sandbox.write("bad.sarc", bytes)
            let result = try sandbox.run(["verify", "--quick", "--signer", fixture.signer, "bad.sarc"])
            expectVerifyFailure(result, 65, name: "bad.sarc")
            #expect(result.stdoutText.contains("[quick]"), "\(what): \(result)")
        }
        // Cut short or extended: the tail is read to say which.
        try sandbox.write("cut.sarc", Array(layout.bytes.dropLast(10)))
        let cut = try sandbox.run(["verify", "--quick", "cut.sarc"])
        expectVerifyFailure(cut, 65, name: "cut.sarc")
        #expect(cut.stdoutText.contains("truncated"), "\(cut)")

        // A record body is not read: quick passes, the keyless read fails.
        var record = layout.bytes
        record[layout.record(1).lowerBound + 100] ^= 0x04
        try sandbox.write("record.sarc", record)
        expectVerifyOK(try sandbox.run(["verify", "--quick", "--signer", fixture.signer, "record.sarc"]), name: "record.sarc")
        expectVerifyFailure(try sandbox.run(["verify", "--signer", fixture.signer, "record.sarc"]), 65, name: "record.sarc")
    }

    @Test func format1AndPipesGetTheWholeRead() throws {
        let fixture = try Self.makeFixture()
        let sandbox = fixture.sandbox
        for (arguments, stdin) in [(["v1.sarc"], Input.none), (["-"], .file("a.sarc"))] {
            let result = try sandbox.run(["verify", "--quick", "--signer", fixture.signer] + arguments, stdin: stdin)
            #expect(result.status == 0, "\(result)")
            let line = try #require(VerifyLine(result.stdoutLines.first ?? ""))
            #expect(line.depth == "signed" && line.detail.contains("chunks and digest intact"), "\(result)")
        }
        expectError(try sandbox.run(["verify", "--quick", "-i", "id", "a.sarc"]), 64)
        expectError(try sandbox.run(["verify", "--quick", "--checksum-file", "x.sha256", "a.sarc"]), 64)
    }
}
