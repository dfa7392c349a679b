import Testing
import SealedArchive

/// The library owns the rule on mixing post-quantum and classical
/// recipients (``RecipientMix``): `Sealer` refuses before reading anything
/// unless the request allows it, and format 1 takes no post-quantum key.
@Suite struct RecipientMixTests {
    let pq = try! Identity.generate(.postQuantum).recipient
    let classical = try! Identity.generate().recipient

    @Test func aMixIsRefusedUnlessAllowed() throws {
        #expect(RecipientMix.isMixed([pq, classical]))
        #expect(!RecipientMix.isMixed([pq, pq]) && !RecipientMix.isMixed([classical]))
        var request = Sealer.Request(recipients: [classical, pq])
        let refused = #expect(throws: SealedArchiveError.self) { try request.validate() }
        #expect(refused?.code == .invalidArgument)
        #expect(refused?.message.contains(classical.keyID.description) == true, "names the classical key")
        request.allowMixedRecipients = true
        try request.validate()
    }

    @Test func formatOneRefusesAPostQuantumRecipient() throws {
        var request = Sealer.Request(recipients: [pq])
        request.formatVersion = .v1
        #expect(throws: SealedArchiveError.self) { try request.validate() }
        request.formatVersion = .v2
        try request.validate()
    }
}
