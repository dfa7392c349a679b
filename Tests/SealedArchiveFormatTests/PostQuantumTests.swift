import Testing
import SealedArchiveFormat
import TestSupport

/// Post-quantum (X-Wing) recipients through the core: age's key encoding,
/// the type 02 stanza, and what a decoder does with a wrong key, a tampered
/// or cut stanza and mixed headers (Spec/FORMAT-v2.md 3.1, Spec/KEYS.md 2).
@Suite struct PostQuantumTests {

    func identity(_ text: String) throws -> Identity {
        try Array(text.utf8).withUnsafeBytes { try Identity(parsing: $0) }
    }

    @Test func anAgeKeygenPQIdentityYieldsAgesRecipient() throws {
        let identity = try identity(AgeTestKeys.postQuantumIdentity)
        #expect(identity.kind == .postQuantum)
        let recipient = identity.recipient.description
        #expect(recipient.utf8.count == 1959, "1216 bytes of key in Bech32 under age1pq")
        #expect(recipient == AgeTestKeys.postQuantumRecipient)
        #expect(try Recipient(parsing: recipient) == identity.recipient)
        #expect(String(decoding: try identity.encoded().withUnsafeBytes { Array($0) }, as: UTF8.self) == AgeTestKeys.postQuantumIdentity)
    }

    @Test func keysRoundTripAndAreRefusedInTheWrongCaseOrLength() throws {
        let made = try Identity.generate(.postQuantum)
        let line = String(decoding: try made.encoded().withUnsafeBytes { Array($0) }, as: UTF8.self)
        #expect(line.hasPrefix("AGE-SECRET-KEY-PQ-1"))
        #expect(try identity(line).recipient == made.recipient)
        #expect(made.recipient.keyID != (try Identity.generate(.postQuantum)).recipient.keyID)
        #expect(errorCode { _ = try identity(line.lowercased()) } == .invalidKey)
        #expect(errorCode { _ = try Recipient(parsing: made.recipient.description.uppercased()) } == .invalidKey)
        // A classical key under the post-quantum prefix, and the reverse,
        // each with a valid checksum: only the length is wrong.
        let classical = try Identity.generate()
        #expect(errorCode { _ = try Recipient(parsing: Bech32.encode(hrp: "age1pq", data: classical.recipient.publicKey)) } == .invalidKey)
        #expect(errorCode { _ = try Recipient(parsing: Bech32.encode(hrp: "age", data: made.recipient.publicKey)) } == .invalidKey)
        #expect(!String(describing: made).contains(line), "the secret is never printed")
    }

    /// FIPS 203's check of the encapsulation key: a coefficient of 3329
    /// or more makes the recipient invalid when parsed.
    @Test func aRecipientWithAnOutOfRangeCoefficientIsRefused() throws {
        let good = try Identity.generate(.postQuantum).recipient
        var key = good.publicKey
        key[0] = 0xFF
        key[1] |= 0x0F    // the first 12-bit value is 4095
        let bad = Bech32.encode(hrp: "age1pq", data: key)
        #expect(errorCode { _ = try Recipient(parsing: bad) } == .invalidKey)
        var high = good.publicKey
        high[1149] = 0xFF   // the last triple of the 1152 bytes: its first value is 4095
        high[1150] = 0xFF
        #expect(errorCode { _ = try Recipient(parsing: Bech32.encode(hrp: "age1pq", data: high)) } == .invalidKey)
        // The X25519 half and rho are not constrained.
        var tail = good.publicKey
        tail[1200] ^= 0xFF
        #expect(try Recipient(parsing: Bech32.encode(hrp: "age1pq", data: tail)).isPostQuantum)
    }

    @Test func anArchiveSealedToAPostQuantumRecipientOpensOnlyWithItsIdentity() throws {
        let alice = try Identity.generate(.postQuantum)
        let bob = try Identity.generate(.postQuantum)
        let plaintext = deterministicBytes(10_000)
        let sealed = try encodeV2(plaintext, to: [alice.recipient, bob.recipient])
        let image = try ArchiveImage(sealed.bytes)
        #expect(image.header.stanzas.map(\.type) == [Stanza.postQuantumType, Stanza.postQuantumType])
        #expect(image.header.stanzas.map(\.recipientKind) == [.postQuantum, .postQuantum])
        for identity in [alice, bob] {
            #expect(try decode(image, with: image.decoder.unlock(with: [identity])).plaintext == plaintext)
        }
        let stranger = try Identity.generate(.postQuantum)
        #expect(errorCode { _ = try image.decoder.unlock(with: [stranger]) } == .noIdentity)
        // A classical identity never matches a post-quantum stanza, even
        // one carrying its key id.
        #expect(errorCode { _ = try image.decoder.unlock(with: [try Identity.generate()]) } == .noIdentity)
    }

    /// Check 10 matches the kind as well as the key id: a stanza of one type
    /// carrying the key id of an identity of the other kind is not that
    /// identity's, in both directions, whatever its body.
    @Test func aStanzaOfTheOtherKindNeverMatchesEvenWithTheKeyID() throws {
        let pq = try Identity.generate(.postQuantum)
        let classical = try Identity.generate()
        let keys = try KeySchedule.random(version: .v2)
        func header(_ stanzas: [Stanza]) throws -> [UInt8] {
            try ArchiveHeader(version: .v2, groupSizeLog2: 1, chunkSizeLog2: 12, payloadKind: .bytes, compression: .none, created: 1,
                              stanzas: stanzas, signer: nil, label: nil, sequence: nil, previousDigest: nil)
                .authenticated(with: keys.headerKey).bytes
        }
        // An X25519-typed stanza with the post-quantum identity's key id.
        let x25519Typed = try #require(Stanza(type: Stanza.x25519Type, body: pq.recipient.keyID.bytes + [UInt8](repeating: 7, count: 80)))
        #expect(errorCode { _ = try ArchiveDecoder(parsing: header([x25519Typed])).unlock(with: [pq]) } == .noIdentity)
        // A post-quantum-typed stanza with the X25519 identity's key id.
        let pqTyped = try #require(Stanza(type: Stanza.postQuantumType, body: classical.recipient.keyID.bytes + [UInt8](repeating: 7, count: 1168)))
        #expect(errorCode { _ = try ArchiveDecoder(parsing: header([pqTyped])).unlock(with: [classical]) } == .noIdentity)
        // (Beside the real stanza it could not stand: known types share no
        // key id, check 7.)
        let real = try Stanza.wrap(keys.fileKey, to: pq.recipient)
        #expect(errorCode { _ = try ArchiveDecoder(parsing: header([x25519Typed, real])) } == .header)
    }

    @Test func aMixedHeaderOpensWithEitherKind() throws {
        let pq = try Identity.generate(.postQuantum)
        let classical = try Identity.generate()
        let sealed = try encodeV2([1, 2, 3], to: [classical.recipient, pq.recipient])
        let image = try ArchiveImage(sealed.bytes)
        #expect(image.header.stanzas.map(\.type) == [Stanza.x25519Type, Stanza.postQuantumType])
        for identity in [pq, classical] {
            #expect(try decode(image, with: image.decoder.unlock(with: [identity])).plaintext == [1, 2, 3])
        }
    }

    /// Every byte of the stanza body is covered: the key id (no identity),
    /// the X-Wing ciphertext and the wrapped key (the stanza does not open).
    @Test(arguments: [0, 8, 600, 8 + 1119, 8 + 1120, 8 + 1120 + 47])
    func aTamperedStanzaDoesNotOpen(at offset: Int) throws {
        let alice = try Identity.generate(.postQuantum)
        let sealed = try encodeV2([9, 9, 9], to: [alice.recipient])
        var bytes = sealed.bytes
        bytes[FormatV2Offsets.firstStanzaBody + offset] ^= 0x01
        let expected: SealedArchiveError.Code = offset < 8 ? .noIdentity : .damaged
        #expect(errorCode { _ = try ArchiveImage(bytes).decoder.unlock(with: [alice]) } == expected)
    }

    @Test func aStanzaOfAnotherLengthIsAMalformedHeader() throws {
        #expect(Stanza(type: Stanza.postQuantumType, body: [UInt8](repeating: 0, count: 1175)) == nil)
        #expect(Stanza(type: Stanza.postQuantumType, body: [UInt8](repeating: 0, count: 1177)) == nil)
        #expect(Stanza(type: Stanza.postQuantumType, body: [UInt8](repeating: 0, count: 1176)) != nil)
    }

    @Test func formatVersionOneRefusesAPostQuantumRecipient() throws {
        let alice = try Identity.generate(.postQuantum)
        let error = thrown {
            _ = try ArchiveEncoder(recipients: [alice.recipient], signingKey: nil, chunkSizeLog2: 12, payloadKind: .bytes,
                                   compression: .none, created: 1, label: nil, version: .v1, groupSizeLog2: nil)
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("format version 2") == true)
    }

    @Test func aHeaderOfMoreStanzasThanFitIsRefused() throws {
        // 64 KiB holds 55 post-quantum stanzas (3 + 1176 bytes each).
        let recipients = try (0..<56).map { _ in try Identity.generate(.postQuantum).recipient }
        #expect(errorCode { _ = try encodeV2([1], to: recipients) } == .limit)
        #expect(try ArchiveImage(encodeV2([1], to: Array(recipients.prefix(55))).bytes).header.stanzas.count == 55)
    }
}
