import Foundation
import Testing
import TestSupport

/// Format version 2 (Spec/FORMAT-v2.md) is read by the format core but not
/// yet by the commands: each of them refuses a version 2 archive at once,
/// as a `version` error (65) naming the version, before any record is
/// opened, so no plaintext reaches standard output.
@Suite struct FormatVersionTests {
    @Test(arguments: ["v2-valid-unsigned", "v2-valid-signed-not-required"])
    func version2ArchivesAreRefusedBeforeAnyPlaintext(_ name: String) throws {
        let vector = try #require(try TestVector.load(in: PackagePaths.vectors.appendingPathComponent("v2")).first { $0.name == name })
        let sandbox = try Sandbox()
        try sandbox.write("a.sarc", Array(try Data(contentsOf: vector.archiveURL)))
        try sandbox.makeSigningKey("sk")
        try sandbox.write("id", Array((vector.identities[0] + "\n").utf8), mode: 0o600)
        for arguments in [["open", "-i", "id", "a.sarc"], ["inspect", "a.sarc"], ["rewrap", "-i", "id", "-r", try sandbox.recipient("id"),
                          "--sign-key", "sk", "--allow-unsigned-source", "-o", "b.sarc", "a.sarc"]] {
            let result = try sandbox.run(arguments)
            expectError(result, 65, mentioning: ["version 2"])
            #expect(result.stdout.isEmpty, "\(arguments[0]) wrote to standard output: \(result)")
        }
        expectVerifyFailure(try sandbox.run(["verify", "-i", "id", "a.sarc"]), 65, name: "a.sarc")
        #expect(!sandbox.exists("b.sarc"))
    }
}
