import Foundation
import TestSupport
import SealedArchive
import Testing

/// `inspect` reads only the header (Spec/CLI.md).
@Suite struct InspectTests {
    struct Fixture {
        let sandbox: Sandbox
        let layout: ArchiveLayout
        let keyIDs: [String]
        let signer: String
        let sealedAt: (UInt64, UInt64)
    }

    /// A signed, labelled archive well over 64 KiB, to two recipients; `head`
    /// holds its first 64 KiB.
    static func makeFixture() throws -> Fixture {
        let sandbox = try Sandbox()
        let alice = try sandbox.makeIdentity("alice")
        let bob = try sandbox.makeIdentity("bob")
        let signer = try sandbox.makeSigningKey("sk")
        try sandbox.write("plain", randomBytes(300_000))
        // Sealed at a set time (the CLI's clock, SEALED_ARCHIVE_NOW), so the
        // creation time is known exactly.
        let sealedAt: UInt64 = 1_803_902_400  // 2027-03-01T12:00:00Z
        expectSuccess(try sandbox.run(["seal", "-r", alice, "-r", bob, "--sign-key", "sk", "--chunk-size", "64KiB",
                                       "--label", "nightly db", "-o", "archive", "plain"],
                                      environment: ["SEALED_ARCHIVE_NOW": "2027-03-01T12:00:00Z"]))
        let cut = try sandbox.shell("head -c 65536 archive > head")
        try #require(cut.status == 0, "\(cut)")
        try #require(try sandbox.size("head") == 65536)
        let layout = try ArchiveLayout(sandbox.read("archive"))
        let keyIDs = [try Recipient(parsing: alice).keyID.description, try Recipient(parsing: bob).keyID.description]
        // The key ids in the header are those of the recipients (KEYS.md).
        try #require([layout.stanzaKeyID(0), layout.stanzaKeyID(1)] == keyIDs)
        return Fixture(sandbox: sandbox, layout: layout, keyIDs: keyIDs, signer: signer, sealedAt: (sealedAt, sealedAt))
    }

    @Test func textShowsTheHeaderFromTheFirst64KiB() throws {
        let fixture = try Self.makeFixture()
        // From standard input and from a file argument.
        for result in [try fixture.sandbox.run(["inspect"], stdin: .file("head")),
                       try fixture.sandbox.run(["inspect", "head"])] {
            #expect(result.status == 0, "\(result)")
            #expect(result.stderr.isEmpty, "\(result)")
            let text = result.stdoutText
            #expect(text.contains(Self.rfc3339(fixture.layout.created)), "creation time: \(result)")
            #expect(fixture.sealedAt.0 <= fixture.layout.created && fixture.layout.created <= fixture.sealedAt.1)
            for id in fixture.keyIDs { #expect(text.contains(id), "key id \(id): \(result)") }
            #expect(text.contains(fixture.signer), "signer: \(result)")
            #expect(text.contains(try SignerKey(parsing: fixture.signer).keyID.description), "signer key id: \(result)")
            #expect(text.contains("nightly db"), "label: \(result)")
            #expect(text.contains("65536"), "chunk size: \(result)")
        }
    }

    @Test func jsonIsOneObjectWithSchema1() throws {
        let fixture = try Self.makeFixture()
        let result = try fixture.sandbox.run(["inspect", "--json"], stdin: .file("head"))
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr.isEmpty, "\(result)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any],
                                  "not a JSON object: \(result)")
        #expect((object["schema"] as? NSNumber)?.intValue == 1)
        #expect((object["format_version"] as? NSNumber)?.intValue == 2)
        #expect(object["recipients"] as? [String] == fixture.keyIDs)
        #expect(object["signer"] as? String == fixture.signer)
        #expect(object["signer_key_id"] as? String == (try SignerKey(parsing: fixture.signer).keyID.description))
        #expect((object["created_unix"] as? NSNumber)?.uint64Value == fixture.layout.created)
        #expect(object["created"] as? String == Self.rfc3339(fixture.layout.created))
        #expect((object["chunk_size"] as? NSNumber)?.intValue == 65536)
        #expect((object["header_length"] as? NSNumber)?.intValue == fixture.layout.headerLength)
        #expect(object["payload_kind"] as? String == "bytes")
        #expect(object["compression"] as? String == "none")
        #expect(object["label"] as? String == "nightly db")
        #expect(object["sequence"] == nil)
        #expect(object["previous_digest"] == nil)
    }

    @Test func unsignedArchiveHasNoSignerInJSON() throws {
        let sandbox = try Sandbox()
        let recipient = try sandbox.makeIdentity("id")
        let seal = try sandbox.run(["seal", "-r", recipient], stdin: .bytes(Array("hi".utf8)))
        #expect(seal.status == 0, "\(seal)")
        let result = try sandbox.run(["inspect", "--json"], stdin: .bytes(seal.stdout))
        #expect(result.status == 0, "\(result)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any])
        #expect(object["signer"] == nil)
        #expect(object["signer_key_id"] == nil)
        #expect(object["label"] == nil)
        #expect(object["recipients"] as? [String] == [try Recipient(parsing: recipient).keyID.description])
    }

    /// The header alone (in a signed format 2 archive, with the header
    /// signature that follows it) is enough; a cut inside it is
    /// `truncated` (65).
    @Test func headerAloneIsEnoughAndLessIsRefused() throws {
        let fixture = try Self.makeFixture()
        let header = Array(fixture.layout.bytes.prefix(fixture.layout.leadLength))
        let exact = try fixture.sandbox.run(["inspect", "--json"], stdin: .bytes(header))
        #expect(exact.status == 0, "\(exact)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(exact.stdout)) as? [String: Any])
        #expect(object["recipients"] as? [String] == fixture.keyIDs)

        let short = try fixture.sandbox.run(["inspect"], stdin: .bytes(Array(header.dropLast())))
        expectError(short, 65)
        #expect(short.stdout.isEmpty)
    }

    /// "reading nothing past it": from a file on standard input, the file
    /// offset after `inspect` is exactly the end of the header (format 2,
    /// signed: of the header signature after it), so whatever reads next
    /// gets the records.
    @Test func inspectReadsNothingPastTheHeader() throws {
        let fixture = try Self.makeFixture()
        let result = try fixture.sandbox.shell(#"{ "$SA" inspect > shown && cat > rest; } < archive"#)
        #expect(result.status == 0, "\(result)")
        #expect(try fixture.sandbox.read("rest") == Array(fixture.layout.bytes[fixture.layout.leadLength...]))
    }

    @Test func notAnArchiveIs65() throws {
        let sandbox = try Sandbox()
        let result = try sandbox.run(["inspect"], stdin: .bytes(Array("hello, world, this is not an archive".utf8)))
        expectError(result, 65)
        #expect(result.stdout.isEmpty)
    }

    static func rfc3339(_ seconds: UInt64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'"
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}
