import Foundation
import Testing
@testable import SealedArchive

@Suite struct KeyTests {
    /// age's own test identity and recipient (from age's documentation of
    /// the X25519 recipient type): the encoding must match age's exactly.
    @Test func identityRoundTripsThroughItsText() throws {
        let identity = try Identity.generate()
        let text = try identity.encoded()
        let parsed = try text.withUnsafeBytes { try Identity(parsing: $0) }
        #expect(parsed.recipient == identity.recipient)
        #expect(text.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }.hasPrefix("AGE-SECRET-KEY-1"))
        #expect(text.count == 74)
        #expect(identity.recipient.description.hasPrefix("age1"))
        #expect(identity.recipient.description.count == 62)
        #expect(try Recipient(parsing: identity.recipient.description) == identity.recipient)
    }

    @Test func signingKeyRoundTripsAndSigns() throws {
        let key = try SigningKey.generate()
        let parsed = try key.encoded().withUnsafeBytes { try SigningKey(parsing: $0) }
        #expect(parsed.signer == key.signer)
        #expect(key.signer.description.hasPrefix("sealsig1"))
        #expect(try SignerKey(parsing: key.signer.description) == key.signer)
        let message = Array("message".utf8)
        let signature = try key.sign(message)
        #expect(try key.signer.isValidSignature(signature, of: message))
        #expect(try !key.signer.isValidSignature(signature, of: Array("massage".utf8)))
    }

    @Test func descriptionsNeverShowSecrets() throws {
        let identity = try Identity.generate()
        let secret = try identity.encoded().withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        #expect(!"\(identity)".contains(secret.dropFirst(16).prefix(20)))
        #expect("\(identity.secret)".contains("redacted"))
        let key = try SigningKey.generate()
        #expect("\(key)".contains("redacted"))
    }

    /// A known vector: the recipient of age's documented example identity.
    @Test func knownAgeKeyPair() throws {
        let identityText = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX"
        let identity = try Array(identityText.utf8).withUnsafeBytes { try Identity(parsing: $0) }
        #expect(identity.recipient.description == "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj")
    }

    @Test(arguments: [
        ("age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwJ", "mixed case"),
        ("age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwk", "bad checksum"),
        ("age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujw", "too short"),
        ("agf1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj", "wrong prefix"),
        ("AGE1ZVKYG2LQZRAA2LNJVQEJ32NKUU0UES2S82HZRYE869XEEXVN73EQUNUJWJ", "upper case recipient"),
        ("age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujbj", "alphabet"),
        ("", "empty"),
    ])
    func malformedRecipientsAreRejected(_ text: String, _ why: String) {
        #expect(errorCode { _ = try Recipient(parsing: text) } == .invalidKey, "\(why)")
    }

    @Test func nonZeroPaddingIsRejected() throws {
        // 32 bytes are 256 bits: 52 five-bit groups carry 260 bits, 4 of
        // them padding. Encode a valid key, then set a padding bit and
        // recompute the checksum, so only the padding is wrong.
        let recipient = try Identity.generate().recipient
        var values = Array(recipient.description.utf8)
        let alphabet = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
        let lastDataIndex = values.count - 7
        let value = alphabet.firstIndex(of: values[lastDataIndex])!
        values[lastDataIndex] = alphabet[value | 1]
        // Recompute the checksum over the modified data.
        let hrp = Array("age".utf8)
        var chk: UInt32 = 1
        func add(_ v: UInt32) {
            let top = chk >> 25
            chk = (chk & 0x1ffffff) << 5 ^ v
            let gen: [UInt32] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
            for i in 0..<5 where (top >> UInt32(i)) & 1 == 1 { chk ^= gen[i] }
        }
        for c in hrp { add(UInt32(c >> 5)) }
        add(0)
        for c in hrp { add(UInt32(c & 31)) }
        for c in values[4...lastDataIndex] { add(UInt32(alphabet.firstIndex(of: c)!)) }
        for _ in 0..<6 { add(0) }
        let checksum = chk ^ 1
        for i in 0..<6 { values[lastDataIndex + 1 + i] = alphabet[Int((checksum >> UInt32(5 * (5 - i))) & 31)] }
        let tampered = String(decoding: values, as: UTF8.self)
        #expect(value & 1 == 0, "the last data group of a 32-byte key ends in padding")
        #expect(errorCode { _ = try Recipient(parsing: tampered) } == .invalidKey)
    }

    @Test func keyIDsAreStableAndDistinguishKeyKinds() throws {
        let identity = try Identity.generate()
        #expect(identity.recipient.keyID == (try Recipient(parsing: identity.recipient.description)).keyID)
        #expect(identity.recipient.keyID.description.count == 16)
        let signing = try SigningKey.generate()
        #expect(try KeyID(parsing: signing.signer.keyID.description) == signing.signer.keyID)
    }
}

@Suite struct KeyFileTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("keyfiles-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! NSNumber).intValue
    }

    @Test func identityFilesAreWritten0600AndReadBack() throws {
        let identity = try Identity.generate()
        try KeyFiles.write(identity, to: path("id"), created: fixedDate)
        #expect(try mode(path("id")) == 0o600)
        let text = try String(contentsOfFile: path("id"), encoding: .utf8)
        #expect(text.hasPrefix("# created: 2026-"))
        #expect(text.contains("# public key: \(identity.recipient)\n"))
        let read = try KeyFiles.readIdentities(path: path("id"))
        #expect(read.map(\.recipient) == [identity.recipient])
    }

    @Test func existingKeyFilesAreNeverOverwritten() throws {
        try KeyFiles.write(try Identity.generate(), to: path("id"), created: fixedDate)
        let before = try Data(contentsOf: URL(fileURLWithPath: path("id")))
        #expect(errorCode { try KeyFiles.write(try Identity.generate(), to: path("id"), created: fixedDate) } == .io)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path("id"))) == before)
    }

    @Test(arguments: [0o644, 0o640, 0o604, 0o620, 0o700 | 0o010])
    func looseKeyFilesAreRefusedWithTheFix(_ looseMode: Int) throws {
        try KeyFiles.write(try SigningKey.generate(), to: path("sig"), created: fixedDate)
        chmod(path("sig"), mode_t(looseMode))
        do {
            _ = try KeyFiles.readSigningKey(path: path("sig"))
            Issue.record("a key file with mode \(String(looseMode, radix: 8)) was read")
        } catch let error as SealedArchiveError {
            #expect(error.code == .unsafeKeyFile)
            #expect(error.message.contains("chmod 600 '\(path("sig"))'"))
            #expect(!error.message.contains("\n"))
        }
    }

    @Test func signingKeyAndIdentityFilesAreNotConfused() throws {
        try KeyFiles.write(try SigningKey.generate(), to: path("sig"), created: fixedDate)
        try KeyFiles.write(try Identity.generate(), to: path("id"), created: fixedDate)
        #expect(errorCode { _ = try KeyFiles.readIdentities(path: path("sig")) } == .invalidKey)
        #expect(errorCode { _ = try KeyFiles.readSigningKey(path: path("id")) } == .invalidKey)
    }

    @Test func identityFilesMayHoldSeveralKeysAndComments() throws {
        let a = try Identity.generate(), b = try Identity.generate()
        let text = "# two keys\r\n\n" + (try a.encoded().withUnsafeBytes { String(decoding: $0, as: UTF8.self) }) + "\r\n\n# next\n"
            + (try b.encoded().withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
        #expect(FileManager.default.createFile(atPath: path("ids"), contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]))
        #expect(try KeyFiles.readIdentities(path: path("ids")).map(\.recipient) == [a.recipient, b.recipient])
    }

    @Test func aLineOfSpacesIsNotABlankLine() throws {
        let text = "   \n" + (try Identity.generate().encoded().withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
        #expect(FileManager.default.createFile(atPath: path("spaces"), contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]))
        #expect(errorCode { _ = try KeyFiles.readIdentities(path: path("spaces")) } == .invalidKey)
    }

    @Test func garbageInAKeyFileIsRejectedWithoutEchoingIt() throws {
        #expect(FileManager.default.createFile(atPath: path("bad"), contents: Data("AGE-SECRET-KEY-1NOTAKEYATALL\n".utf8), attributes: [.posixPermissions: 0o600]))
        do {
            _ = try KeyFiles.readIdentities(path: path("bad"))
            Issue.record("garbage accepted")
        } catch let error as SealedArchiveError {
            #expect(error.code == .invalidKey)
            #expect(!error.message.contains("NOTAKEY"))
        }
    }

    @Test func recipientsFilesSkipCommentsAndBlankLines() throws {
        let a = try Identity.generate().recipient, b = try Identity.generate().recipient
        try "# offsite\n\(a)\n\n  \(b)  \n".write(toFile: path("recipients"), atomically: false, encoding: .utf8)
        #expect(try KeyFiles.readRecipients(path: path("recipients")) == [a, b])
        try "# nothing\n".write(toFile: path("empty"), atomically: false, encoding: .utf8)
        #expect(errorCode { _ = try KeyFiles.readRecipients(path: path("empty")) } == .invalidKey)
    }
}

@Suite struct ProtectedKeyTests {
    /// Cheap Argon2id settings: the format is the same, the tests fast.
    func protect(_ identity: Identity, _ passphrase: String) throws -> SecureBytes {
        let secret = try Array(passphrase.utf8).withUnsafeBytes { try SecureBytes(copying: $0) }
        return try ProtectedKey.protect(identity.secret, kind: .identity, passphrase: secret, opsLimit: 1, memLimitKiB: 8192)
    }

    func pass(_ text: String) throws -> SecureBytes { try Array(text.utf8).withUnsafeBytes { try SecureBytes(copying: $0) } }

    @Test func theRightPassphraseOpensTheKey() throws {
        let identity = try Identity.generate()
        let line = try protect(identity, "correct horse")
        let (kind, secret) = try line.withUnsafeBytes { try ProtectedKey.unprotect($0, passphrase: try pass("correct horse"), file: "k") }
        #expect(kind == .identity)
        #expect(try Identity(secret: secret).recipient == identity.recipient)
    }

    @Test func aWrongPassphraseOrTamperingIsRefused() throws {
        let line = try protect(try Identity.generate(), "correct horse")
        #expect(errorCode { _ = try line.withUnsafeBytes { try ProtectedKey.unprotect($0, passphrase: try pass("battery staple"), file: "k") } } == .invalidKey)
        // Raising the memory limit in the header breaks the authenticated data.
        var text = line.withUnsafeBytes { Array($0) }
        text[40] = text[40] == UInt8(ascii: "Q") ? UInt8(ascii: "P") : UInt8(ascii: "Q")
        #expect(errorCode { _ = try text.withUnsafeBytes { try ProtectedKey.unprotect($0, passphrase: try pass("correct horse"), file: "k") } } == .invalidKey)
    }

    @Test func protectedKeyFilesAskForThePassphrase() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("protected-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("id").path
        let identity = try Identity.generate()
        try KeyFiles.write(identity, to: path, created: fixedDate, passphrase: try pass("pw"))
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("SEALED-PROTECTED-KEY-1"))
        #expect(errorCode { _ = try KeyFiles.readIdentities(path: path) } == .invalidKey)
        var asked: [String] = []
        let read = try KeyFiles.readIdentities(path: path) { file in asked.append(file); return try pass("pw") }
        #expect(read.map(\.recipient) == [identity.recipient])
        #expect(asked == [path])
    }
}

@Suite struct PaperKeyTests {
    @Test func aPaperKeyTypedBackInRestoresTheKey() throws {
        let identity = try Identity.generate()
        let paper = try PaperKey.export(try identity.encoded(), title: ["test"])
        let text = paper.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        // Typed back in lower case and with extra spaces: still the same key.
        let typed = Array(text.lowercased().replacingOccurrences(of: "sealed-archive paper key 1", with: "SEALED-ARCHIVE PAPER KEY 1")
            .replacingOccurrences(of: "end", with: "END").utf8)
        let line = try typed.withUnsafeBytes { try PaperKey.import($0) }
        guard case .identities(let restored) = try KeyFiles.parseSecretKeyLine(line) else { Issue.record("not an identity"); return }
        #expect(restored.map(\.recipient) == [identity.recipient])
    }

    @Test func theFirstMistypedLineIsNamed() throws {
        let key = try SigningKey.generate()
        let text = try PaperKey.export(try key.encoded(), title: []).withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        var lines = text.split(separator: "\n").map(String.init)
        let third = lines.firstIndex { $0.hasPrefix("03 ") }!
        var characters = Array(lines[third])
        characters[3] = characters[3] == "Q" ? "P" : "Q"
        lines[third] = String(characters)
        do {
            _ = try Array(lines.joined(separator: "\n").utf8).withUnsafeBytes { try PaperKey.import($0) }
            Issue.record("a mistyped line was accepted")
        } catch let error as SealedArchiveError {
            #expect(error.code == .invalidKey)
            #expect(error.message.contains("line 3 is mistyped"))
        }
        let missingEnd = text.replacingOccurrences(of: "END\n", with: "")
        #expect(errorCode { _ = try Array(missingEnd.utf8).withUnsafeBytes { try PaperKey.import($0) } } == .invalidKey)
    }
}
