import Foundation
import Testing
@testable import SealedArchive

/// Recipients and signers files are parsed and written by the same types
/// (Spec/KEYS.md section 3): what is written reads back the same.
@Suite struct KeyListFileTests {
    @Test func aWrittenRecipientsFileParsesToTheSameListAndComments() throws {
        let recipients = try (0..<3).map { _ in try Identity.generate().recipient }
        let file = try RecipientsFile(recipients: recipients, comments: ["sealed-archive recipients, exported 2026-01-01T00:00:00Z", "escrow: the safe"])
        let text = file.serialize()
        #expect(text.hasPrefix("# sealed-archive recipients, exported 2026-01-01T00:00:00Z\n# escrow: the safe\n"))
        #expect(text.hasSuffix("\n"))
        let parsed = try RecipientsFile(parsing: text, path: "r.txt")
        #expect(parsed == file)
        #expect(parsed.recipients == recipients)
        // The reader every command uses agrees.
        #expect(try KeyFiles.parseRecipients(text, path: "r.txt") == recipients)
    }

    @Test func aWrittenSignersFileKeepsEveryWindow() throws {
        let keys = try (0..<3).map { _ in try SigningKey.generate().signer }
        let rotated = Date(timeIntervalSince1970: 1_775_001_600)
        let signers = [
            TrustedSigner(keys[0], validUntil: rotated),
            TrustedSigner(keys[1], validFrom: rotated),
            TrustedSigner(keys[2], validFrom: Date(timeIntervalSince1970: 1_700_000_000), validUntil: rotated),
        ]
        let file = try SignersFile(signers: signers, comments: ["sealing host, rotated 2026-04-01"])
        let parsed = try SignersFile(parsing: file.serialize(), path: "s.txt")
        #expect(parsed == file)
        #expect(parsed.signers.map(\.validFrom) == signers.map(\.validFrom))
        #expect(parsed.signers.map(\.validUntil) == signers.map(\.validUntil))
        #expect(try KeyFiles.parseSigners(file.serialize(), path: "s.txt") == signers)
    }

    @Test func commentsAnywhereAreKeptAndALineBreakInOneBecomesTwoLines() throws {
        let recipient = try Identity.generate().recipient
        let parsed = try RecipientsFile(parsing: "\r\n  # first  \r\n\(recipient)  \n#second\n\n", path: "r.txt")
        #expect(parsed.comments == ["first", "second"])
        #expect(parsed.recipients == [recipient])
        let split = try RecipientsFile(recipients: [recipient], comments: ["one\ntwo"])
        #expect(try RecipientsFile(parsing: split.serialize(), path: "r.txt").comments == ["one", "two"])
    }

    @Test func emptyListsAreNeitherWrittenNorRead() throws {
        #expect(errorCode { _ = try RecipientsFile(recipients: []) } == .invalidArgument)
        #expect(errorCode { _ = try SignersFile(signers: []) } == .invalidArgument)
        #expect(errorCode { _ = try RecipientsFile(parsing: "# only a comment\n", path: "r.txt") } == .invalidKey)
        #expect(errorCode { _ = try SignersFile(parsing: "\n", path: "s.txt") } == .invalidKey)
    }
}
