import Foundation
import Testing
import TestSupport

/// Every command reads both format versions (Spec/FORMAT.md and
/// Spec/FORMAT-v2.md); `rewrap` keeps the version it was given.
@Suite struct FormatVersionTests {
    @Test(arguments: ["v2-valid-unsigned", "v2-valid-signed-not-required", "v2-valid-g2-5-records-short-last"])
    func everyCommandReadsVersion2(_ name: String) throws {
        let vector = try #require(try TestVector.load(in: PackagePaths.vectors.appendingPathComponent("v2")).first { $0.name == name })
        let sandbox = try Sandbox()
        try sandbox.write("a.sarc", Array(try Data(contentsOf: vector.archiveURL)))
        try sandbox.makeSigningKey("sk")
        try sandbox.makeIdentity("new")
        try sandbox.write("id", Array((vector.identities[0] + "\n").utf8), mode: 0o600)

        let opened = try sandbox.run(["open", "-i", "id", "a.sarc"])
        #expect(opened.status == 0, "\(opened)")
        #expect(sha256Hex(opened.stdout) == vector.plaintext_sha256)

        let inspected = try sandbox.run(["inspect", "--json", "a.sarc"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(inspected.stdout)) as? [String: Any])
        #expect((object["format_version"] as? NSNumber)?.intValue == 2)
        #expect((object["group_size"] as? NSNumber)?.intValue ?? 0 >= 2)
        #expect(try sandbox.run(["inspect", "a.sarc"]).stdoutText.contains("SealedArchive version 2"))

        for depth in [["verify", "a.sarc"], ["verify", "-i", "id", "a.sarc"]] {
            let verified = try sandbox.run(depth)
            #expect(verified.status == 0, "\(verified)")
        }

        let rewrapped = try sandbox.run(["rewrap", "-i", "id", "-r", try sandbox.recipient("new"), "--sign-key", "sk",
                                         "--allow-unsigned-source", "-o", "b.sarc", "a.sarc"])
        #expect(rewrapped.status == 0, "\(rewrapped)")
        let header = try sandbox.run(["inspect", "--json", "b.sarc"])
        #expect(header.stdoutText.contains("\"format_version\":2"), "\(header)")
        let reopened = try sandbox.run(["open", "-i", "new", "b.sarc"])
        #expect(reopened.status == 0 && sha256Hex(reopened.stdout) == vector.plaintext_sha256, "\(reopened)")
    }

    @Test func rewrapOfVersion1WritesVersion1() throws {
        let vector = try #require(try TestVector.load(in: PackagePaths.vectors).first { $0.name == "valid-several-chunks" })
        let sandbox = try Sandbox()
        try sandbox.write("a.sarc", Array(try Data(contentsOf: vector.archiveURL)))
        try sandbox.makeSigningKey("sk")
        try sandbox.makeIdentity("new")
        try sandbox.write("id", Array((vector.identities[0] + "\n").utf8), mode: 0o600)
        let rewrapped = try sandbox.run(["rewrap", "-i", "id", "-r", try sandbox.recipient("new"), "--sign-key", "sk",
                                         "--allow-unsigned-source", "-o", "b.sarc", "a.sarc"])
        #expect(rewrapped.status == 0, "\(rewrapped)")
        #expect(try sandbox.run(["inspect", "--json", "b.sarc"]).stdoutText.contains("\"format_version\":1"))
    }
}
