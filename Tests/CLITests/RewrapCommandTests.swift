import Foundation
import TestSupport
import Testing

/// `sealed-archive rewrap` end to end.
@Suite struct RewrapCommandTests {
    @Test func rewrapMovesAnArchiveOntoANewKeyAndCopiesTheChunks() throws {
        let sandbox = try Sandbox()
        let oldRecipient = try sandbox.makeIdentity("old")
        let newRecipient = try sandbox.makeIdentity("new")
        let host = try sandbox.makeSigningKey("host")
        let operatorKey = try sandbox.makeSigningKey("operator")
        try sandbox.write("plain", (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        #expect(try sandbox.run(["seal", "-r", oldRecipient, "--sign-key", "host", "--chunk-size", "64KiB", "-o", "a.sarc", "plain"]).status == 0)

        let rewrap = try sandbox.run(["rewrap", "-i", "old", "--signer", host, "-r", newRecipient, "--sign-key", "operator", "-o", "b.sarc", "a.sarc"])
        #expect(rewrap.status == 0, "\(rewrap)")
        let opened = try sandbox.run(["open", "-i", "new", "--signer", operatorKey, "-o", "out", "b.sarc"])
        #expect(opened.status == 0, "\(opened)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: sandbox.path("out"))) == Data(contentsOf: URL(fileURLWithPath: sandbox.path("plain"))))
        #expect(try sandbox.run(["open", "-i", "old", "-o", "out2", "b.sarc"]).status == 77)
        // The host's signature no longer vouches for it: the re-wrapper's does.
        #expect(try sandbox.run(["verify", "--signer", host, "b.sarc"]).status == 65)

        // The records are copied byte for byte: the two files share their
        // middle, only header and trailer differ.
        let a = try [UInt8](Data(contentsOf: URL(fileURLWithPath: sandbox.path("a.sarc"))))
        let b = try [UInt8](Data(contentsOf: URL(fileURLWithPath: sandbox.path("b.sarc"))))
        // (Format 2: records, segments and group table; the header
        // signature is the re-wrapper's.)
        let headerA = try ArchiveLayout(a).leadLength, headerB = try ArchiveLayout(b).leadLength
        #expect(Array(a[headerA..<(a.count - 112)]) == Array(b[headerB..<(b.count - 112)]))

        // A damaged archive is refused, and nothing is written.
        var damaged = a
        damaged[headerA + 70_000] ^= 1
        try sandbox.write("damaged.sarc", damaged)
        let refused = try sandbox.run(["rewrap", "-i", "old", "--signer", host, "-r", newRecipient, "--sign-key", "operator", "-o", "c.sarc", "damaged.sarc"])
        #expect(refused.status == 65, "\(refused)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("c.sarc")))
    }

    /// Re-wrapping re-signs: an archive anybody could have made (unsigned)
    /// is not laundered into one the operator's key vouches for.
    @Test func rewrapRequiresATrustedOriginal() throws {
        let sandbox = try Sandbox()
        let oldRecipient = try sandbox.makeIdentity("old")
        let newRecipient = try sandbox.makeIdentity("new")
        _ = try sandbox.makeSigningKey("operator")
        try sandbox.write("plain", Array("planted".utf8))
        #expect(try sandbox.run(["seal", "-r", oldRecipient, "-o", "forged.sarc", "plain"]).status == 0)
        let refused = try sandbox.run(["rewrap", "-i", "old", "-r", newRecipient, "--sign-key", "operator", "-o", "out.sarc", "forged.sarc"])
        #expect(refused.status == 64, "\(refused)")
        #expect(refused.stderrLines.contains { $0.contains("--signer") }, "\(refused)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("out.sarc")))
        let allowed = try sandbox.run(["rewrap", "-i", "old", "-r", newRecipient, "--sign-key", "operator", "--allow-unsigned-source", "-o", "out.sarc", "forged.sarc"])
        #expect(allowed.status == 0, "\(allowed)")
        #expect(allowed.stderrLines.contains { $0.contains("warning") }, "\(allowed)")
    }
}
