import Foundation
import Testing
import KeyRotation
import SealedArchive

/// The keyring picks the key for an archive the way the decoder does: by
/// key id and kind (FORMAT-v2.md check 10).
@Suite struct PostQuantumKeyringTests {
    @Test func aStanzaOfAnotherKindCarryingAHeldKeyIDDoesNotHideTheRealOne() throws {
        let dir = try TemporaryDirectory()
        let keyring = try Keyring.create(at: dir.file("k"), policy: try standardPolicy(), now: days(0), postQuantum: true)
        // Two held keys: a retired one and the one in service.
        let retired = try #require(keyring.activeKey(.encryption).recipient)
        try keyring.rotate(.encryption, now: days(1))
        let held = try #require(keyring.activeKey(.encryption).recipient)
        #expect(held.isPostQuantum && retired.isPostQuantum && held != retired)
        let keys = try KeySchedule.random(version: .v2)
        // An unknown type may carry any key id (FORMAT-v2.md 3.1): here the
        // retired key's, before the real stanza for the key in service.
        let unknown = try #require(Stanza(type: 0x42, body: retired.keyID.bytes + [1, 2, 3]))
        let classicalTyped = try #require(Stanza(type: Stanza.x25519Type, body: held.keyID.bytes + [UInt8](repeating: 9, count: 80)))
        let header = try ArchiveHeader(version: .v2, groupSizeLog2: 1, chunkSizeLog2: 12, payloadKind: .bytes, compression: .none, created: 1,
                                       stanzas: [unknown, try Stanza.wrap(keys.fileKey, to: held)], signer: nil,
                                       label: nil, sequence: nil, previousDigest: nil).authenticated(with: keys.headerKey)
        let identities = try keyring.identities(opening: try ArchiveHeader(parsing: header.bytes))
        #expect(identities.map(\.recipient) == [held])
        #expect(try ArchiveDecoder(parsing: header.bytes).unlock(with: identities).keyID == held.keyID)
        // The impostors alone name no key the keyring holds.
        let alone = try ArchiveHeader(version: .v2, groupSizeLog2: 1, chunkSizeLog2: 12, payloadKind: .bytes, compression: .none, created: 1,
                                      stanzas: [unknown, classicalTyped], signer: nil, label: nil, sequence: nil, previousDigest: nil)
            .authenticated(with: keys.headerKey)
        #expect(errorCode { _ = try keyring.identities(opening: try ArchiveHeader(parsing: alone.bytes)) } == .noIdentity)
    }
}
