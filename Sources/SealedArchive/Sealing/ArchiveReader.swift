import Foundation

/// Reads an archive from a stream, in the order and with the outcomes of
/// Spec/FORMAT.md section 8. Creating a reader reads and checks the header
/// (checks 1–8); ``unlock(with:)`` finds and opens a stanza (9–11);
/// ``verify()`` and ``decrypt(into:)`` read every record and the trailer
/// (12–17), keyless or decrypting.
///
/// Memory holds one batch of records plus the trailer's length, whatever the
/// archive's size; nothing seeks, so the source can be a pipe. The records of
/// a batch are checked on all cores; a failure names the first bad record in
/// archive order, as a sequential reader would.
public final class ArchiveReader {
    public let header: ArchiveHeader
    private let source: ByteSource
    private var keys: KeySchedule?
    private var consumed = false

    /// Reads and checks the header.
    ///
    /// Reads and checks the header; when `requiredSigners` is not nil the
    /// archive must be signed by one of these keys, at any time.
    public convenience init(source: ByteSource, requiredSigners: [SignerKey]?) throws {
        try self.init(source: source, trustedSigners: requiredSigners?.map { TrustedSigner($0) })
    }

    /// Reads and checks the header.
    ///
    /// - Parameter trustedSigners: when not nil, the archive must be signed
    ///   by one of these keys, inside that key's window (check 8); the
    ///   signature itself is verified after the last record.
    public init(source: ByteSource, trustedSigners: [TrustedSigner]? = nil) throws {
        self.source = source
        var prefix = [UInt8](repeating: 0, count: FormatV1.prefixLength)
        let prefixCount = try prefix.withUnsafeMutableBytes { try source.readFully(into: $0) }
        let length = try prefix.withUnsafeBytes { try ArchiveHeader.headerLength(fromPrefix: UnsafeRawBufferPointer(rebasing: $0[..<prefixCount])) }
        var bytes = prefix + [UInt8](repeating: 0, count: length - prefix.count)
        let restCount = try bytes.withUnsafeMutableBytes { try source.readFully(into: UnsafeMutableRawBufferPointer(rebasing: $0[prefix.count...])) }
        bytes.removeLast(length - prefix.count - restCount)
        header = try ArchiveHeader(parsing: bytes)
        if let trustedSigners {
            guard let signer = header.signer else {
                throw SealedArchiveError(.unsigned, "the archive is not signed, and a signature by a trusted signer is required")
            }
            let trusted = trustedSigners.filter { $0.key == signer }
            guard !trusted.isEmpty else {
                throw SealedArchiveError(.untrustedSigner, "the archive is signed by \(signer) (key id \(signer.keyID)), which is not a trusted signer")
            }
            guard trusted.contains(where: { $0.admits(created: header.created) }) else {
                let created = ISO8601DateFormatter().string(from: header.createdDate)
                throw SealedArchiveError(.untrustedSigner,
                    "the archive was created \(created), outside the window in which signer \(signer.keyID) is trusted (\(trusted.map(\.description).joined(separator: "; ")))")
            }
        }
    }

    /// Opens the file key with the first identity that has a stanza, and
    /// authenticates the header under it.
    /// Returns the key id of the identity that opened the archive, so a
    /// report can name it without guessing from the identities given.
    @discardableResult
    public func unlock(with identities: [Identity]) throws -> KeyID {
        for identity in identities {
            guard let stanza = header.stanzas.first(where: { $0.keyID == identity.recipient.keyID }) else { continue }
            guard let fileKey = try stanza.unwrap(with: identity), fileKey.count == FormatV1.fileKeyLength else {
                throw SealedArchiveError(.damaged, "the stanza for key \(stanza.keyID) does not open: the header is damaged or forged")
            }
            let keys = try KeySchedule(fileKey: fileKey)
            guard try header.hasValidMAC(headerKey: keys.headerKey) else {
                throw SealedArchiveError(.damaged, "the header does not authenticate: it is damaged or forged")
            }
            self.keys = keys
            return stanza.keyID
        }
        let have = identities.map { $0.recipient.keyID.description }.joined(separator: ", ")
        let want = header.stanzas.map { $0.keyID.description }.joined(separator: ", ")
        throw SealedArchiveError(.noIdentity,
            "no identity given can open this archive: it is sealed to key id \(want), the identities given are \(have.isEmpty ? "none" : have)")
    }

    /// Checks every record and the trailer without decrypting (checks
    /// 12–17 without opening chunks).
    public func verify() throws -> ReadResult {
        let records = try RecordStream(reader: self, decrypting: false)
        while try records.next() != nil {}
        return records.result!
    }

    /// Decrypts every record into `sink`, checking everything on the way.
    /// Requires ``unlock(with:)``. The sink receives plaintext as records
    /// authenticate; it is complete and genuine only if this returns.
    public func decrypt(into sink: ByteSink) throws -> ReadResult {
        let records = try RecordStream(reader: self, decrypting: true)
        while let plaintext = try records.next() {
            if !plaintext.isEmpty { try sink.write(plaintext) }
        }
        return records.result!
    }

    /// The plaintext as a byte source that decrypts as it is read, for
    /// consumers that pull (libarchive's reader). Requires
    /// ``unlock(with:)``. Reading it to its end (a read returning 0) means
    /// every check passed; ``PlaintextSource/result`` is then set. A failed
    /// check is thrown from `read(into:)`.
    public func plaintext() throws -> PlaintextSource {
        PlaintextSource(records: try RecordStream(reader: self, decrypting: true),
                        batchCapacity: Parallel.batchSize * header.chunkSize)
    }

    fileprivate func takeSource() throws -> ByteSource {
        precondition(!consumed, "an archive reader reads its records once")
        consumed = true
        return source
    }

    fileprivate var cipher: ChunkCipher? { keys?.cipher }

    /// The key schedule after ``unlock(with:)``, for re-wrapping.
    var unlockedKeys: KeySchedule? { keys }

    /// Every record, checked and opened, passed to `observer` in order with
    /// its stored hash: re-wrapping copies them byte for byte.
    func forEachRecord(_ observer: @escaping (_ record: UnsafeRawBufferPointer, _ hash: UnsafeRawBufferPointer) throws -> Void) throws -> ReadResult {
        let records = try RecordStream(reader: self, decrypting: true)
        records.observer = observer
        while try records.next() != nil {}
        return records.result!
    }
}

/// Checks 12–17 of Spec/FORMAT.md section 8 as an iterator: each call to
/// ``next()`` checks (and, decrypting, opens) one batch of records on all
/// cores and returns its plaintext; the call after the last record checks
/// the trailer and returns nil.
///
/// The window holds one batch of records plus the trailer's length and one
/// byte, whatever the archive's size; nothing seeks.
final class RecordStream {
    private let header: ArchiveHeader
    private let source: ByteSource
    private let cipher: ChunkCipher?
    private let digest: ArchiveDigest
    private let window: UnsafeMutableRawBufferPointer
    private let plaintext: UnsafeMutableRawBufferPointer
    private let recordLength: Int
    private let trailerLength: Int
    private var filled = 0
    private var index: UInt64 = 0
    private var plaintextLength: UInt64 = 0
    private var ended = false
    private(set) var result: ReadResult?
    /// Called with each record and its hash, in order, once checked.
    var observer: ((UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void)?

    init(reader: ArchiveReader, decrypting: Bool) throws {
        header = reader.header
        cipher = decrypting ? reader.cipher : nil
        precondition(!decrypting || cipher != nil, "decrypting before unlock(with:)")
        source = try reader.takeSource()
        digest = try ArchiveDigest(header: header.bytes)
        recordLength = header.recordLength
        trailerLength = header.trailerLength
        window = .allocate(byteCount: Parallel.batchSize * recordLength + trailerLength + 1, alignment: 64)
        // Keyless checks decrypt nothing: no plaintext buffer to commit.
        plaintext = .allocate(byteCount: cipher == nil ? 1 : Parallel.batchSize * header.chunkSize, alignment: 64)
    }

    deinit {
        // Only what held plaintext is wiped (touching the rest would commit
        // pages that were never used).
        secureZero(UnsafeMutableRawBufferPointer(rebasing: plaintext[..<plaintextUsed]))
        plaintext.deallocate()
        window.deallocate()
    }

    /// The largest prefix of `plaintext` ever written.
    private var plaintextUsed = 0

    /// The plaintext of the next batch (valid until the next call; empty for
    /// an empty archive), or nil once the trailer has been checked.
    func next() throws -> UnsafeRawBufferPointer? {
        guard !ended else { return nil }
        filled += try source.readFully(into: UnsafeMutableRawBufferPointer(rebasing: window[filled...]))
        // The window holds more than recordLength + trailerLength bytes until
        // the input ends: only then is what is left the tail.
        if filled > recordLength + trailerLength {
            let count = min(Parallel.batchSize, (filled - trailerLength - 1) / recordLength)
            let produced = try process(count: count, final: false, lastLength: recordLength)
            let used = count * recordLength
            UnsafeMutableRawBufferPointer(rebasing: window[..<(filled - used)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: window[used..<filled]))
            filled -= used
            return UnsafeRawBufferPointer(rebasing: plaintext[..<produced])
        }
        ended = true
        return try finish()
    }

    /// Checks 13–17 on the tail; returns the last chunk's plaintext, or nil
    /// when it is empty.
    private func finish() throws -> UnsafeRawBufferPointer? {
        let minimumRecord = FormatV1.recordOverhead + (index > 0 ? 1 : 0)
        let trailerBytes = UnsafeRawBufferPointer(rebasing: window[max(0, filled - trailerLength)..<filled])
        guard filled >= trailerLength + minimumRecord, Trailer.hasMagic(trailerBytes) else {
            throw missingTrailer(minimumRecord: minimumRecord)
        }
        let trailer = try Trailer(parsing: trailerBytes, signed: header.isSigned)
        let produced = try process(count: 1, final: true, lastLength: filled - trailerLength)
        guard trailer.chunkCount == index else {
            throw SealedArchiveError(.damaged, "the trailer counts \(trailer.chunkCount) \(trailer.chunkCount == 1 ? "chunk" : "chunks") but the archive holds \(index)")
        }
        let computed = digest.finalize()
        guard constantTimeEquals(computed, trailer.digest) else {
            throw SealedArchiveError(.damaged, "the archive digest does not match its trailer: the header or the trailer is damaged")
        }
        if let signer = header.signer, let signature = trailer.signature {
            guard try signer.isValidSignature(signature, of: Trailer.signedMessage(digest: computed)) else {
                throw SealedArchiveError(.signature, "the signature does not verify under the signer key \(signer) named in the header: the archive is forged or damaged")
            }
        }
        result = ReadResult(header: header, chunkCount: index, plaintextLength: plaintextLength,
                            archiveLength: UInt64(header.length) + (index - 1) * UInt64(recordLength) + UInt64(filled),
                            digest: computed, decrypted: cipher != nil)
        return produced > 0 ? UnsafeRawBufferPointer(rebasing: plaintext[..<produced]) : nil
    }

    /// Explains a tail that does not end with a trailer (check 13): if a
    /// complete trailer for this many chunks sits earlier in the tail, bytes
    /// were appended after it (`trailer`); otherwise the archive was cut
    /// short (`truncated`, the same class as a cut inside the header, so an
    /// operator sees one code for every cut archive).
    private func missingTrailer(minimumRecord: Int) -> SealedArchiveError {
        var position = minimumRecord
        while position + trailerLength < filled {
            let candidate = UnsafeRawBufferPointer(rebasing: window[position..<position + trailerLength])
            if Trailer.hasMagic(candidate), let trailer = try? Trailer(parsing: candidate, signed: header.isSigned),
               trailer.chunkCount == index + 1 {
                let extra = filled - position - trailerLength
                return SealedArchiveError(.trailer,
                    "\(extra) \(extra == 1 ? "byte follows" : "bytes follow") the trailer: the file was extended or two files were joined (the archive itself may be intact up to byte \(archiveOffset(position + trailerLength)))")
            }
            position += 1
        }
        return SealedArchiveError(.truncated,
            "the archive is truncated: it ends at byte \(archiveOffset(filled)) without its trailer (an incomplete upload, download or copy?)")
    }

    /// The offset in the archive of a position in the window.
    private func archiveOffset(_ position: Int) -> UInt64 {
        UInt64(header.length) + index * UInt64(recordLength) + UInt64(position)
    }

    /// Checks (and opens) `count` records at the start of the window, the
    /// last of them flagged `final` and `lastLength` bytes long; returns the
    /// plaintext byte count.
    private func process(count: Int, final: Bool, lastLength: Int) throws -> Int {
        let firstIndex = index
        let offset = UInt64(header.length)
        let (window, plaintext, recordLength, chunkSize, cipher) = (self.window, self.plaintext, self.recordLength, header.chunkSize, self.cipher)
        try Parallel.forEach(count) { j in
            let recordIndex = firstIndex + UInt64(j)
            let last = final && j == count - 1
            let length = last ? lastLength : recordLength
            let start = j * recordLength
            let ciphertext = UnsafeRawBufferPointer(rebasing: window[start..<start + length - FormatV1.recordHashLength])
            let stored = UnsafeRawBufferPointer(rebasing: window[start + length - FormatV1.recordHashLength..<start + length])
            let computed = try Records.hash(index: recordIndex, last: last, ciphertext: ciphertext)
            let position = offset + recordIndex * UInt64(recordLength)
            let range = "archive bytes \(position)–\(position + UInt64(length) - 1)"
            guard computed.withUnsafeBytes({ constantTimeEquals($0, stored) }) else {
                throw SealedArchiveError(.damaged, "chunk \(recordIndex) (\(range)) is damaged: its hash does not match")
            }
            if let cipher {
                let output = UnsafeMutableRawBufferPointer(rebasing: plaintext[j * chunkSize..<j * chunkSize + ciphertext.count - ChunkCipher.tagLength])
                let opened = Records.nonce(index: recordIndex, last: last).withUnsafeBytes {
                    cipher.open(ciphertext, nonce: $0, into: output)
                }
                guard opened else {
                    throw SealedArchiveError(.damaged, "chunk \(recordIndex) (\(range)) does not authenticate: it is forged")
                }
            }
        }
        var produced = 0
        for j in 0..<count {
            let length = final && j == count - 1 ? lastLength : recordLength
            let start = j * recordLength
            let hash = UnsafeRawBufferPointer(rebasing: window[start + length - FormatV1.recordHashLength..<start + length])
            digest.add(recordHash: hash)
            try observer?(UnsafeRawBufferPointer(rebasing: window[start..<start + length]), hash)
            produced += length - FormatV1.recordOverhead
        }
        plaintextLength += UInt64(produced)
        index += UInt64(count)
        if cipher != nil { plaintextUsed = max(plaintextUsed, produced) }
        return cipher == nil ? 0 : produced
    }
}

/// What reading an archive found.
public struct ReadResult: Sendable {
    public let header: ArchiveHeader
    public let chunkCount: UInt64
    /// Plaintext bytes (also counted when only verifying).
    public let plaintextLength: UInt64
    public let archiveLength: UInt64
    public let digest: [UInt8]
    /// Whether every chunk was decrypted and authenticated (not just hashed).
    public let decrypted: Bool
    /// The signer whose signature verified, if the archive is signed.
    public var signer: SignerKey? { header.signer }
    /// The digest as lowercase hex, as reports and chain files show it.
    public var digestHex: String { HexCoding.encode(digest) }
}
