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
    /// - Parameter requiredSigners: when not nil, the archive must be signed
    ///   by one of these keys (check 8); the signature itself is verified
    ///   after the last record.
    public init(source: ByteSource, requiredSigners: [SignerKey]? = nil) throws {
        self.source = source
        var prefix = [UInt8](repeating: 0, count: FormatV1.prefixLength)
        let prefixCount = try prefix.withUnsafeMutableBytes { try source.readFully(into: $0) }
        let length = try prefix.withUnsafeBytes { try ArchiveHeader.headerLength(fromPrefix: UnsafeRawBufferPointer(rebasing: $0[..<prefixCount])) }
        var bytes = prefix + [UInt8](repeating: 0, count: length - prefix.count)
        let restCount = try bytes.withUnsafeMutableBytes { try source.readFully(into: UnsafeMutableRawBufferPointer(rebasing: $0[prefix.count...])) }
        bytes.removeLast(length - prefix.count - restCount)
        header = try ArchiveHeader(parsing: bytes)
        if let requiredSigners {
            guard let signer = header.signer else {
                throw SealedArchiveError(.unsigned, "the archive is not signed, and a signature by a trusted signer is required")
            }
            guard requiredSigners.contains(signer) else {
                throw SealedArchiveError(.untrustedSigner, "the archive is signed by \(signer) (key id \(signer.keyID)), which is not a trusted signer")
            }
        }
    }

    /// Opens the file key with the first identity that has a stanza, and
    /// authenticates the header under it.
    public func unlock(with identities: [Identity]) throws {
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
            return
        }
        let have = identities.map { $0.recipient.keyID.description }.joined(separator: ", ")
        let want = header.stanzas.map { $0.keyID.description }.joined(separator: ", ")
        throw SealedArchiveError(.noIdentity,
            "no identity given can open this archive: it is sealed to key id \(want), the identities given are \(have.isEmpty ? "none" : have)")
    }

    /// Checks every record and the trailer without decrypting (checks
    /// 12–17 without opening chunks).
    public func verify() throws -> ReadResult {
        try readRecords(into: nil)
    }

    /// Decrypts every record into `sink`, checking everything on the way.
    /// Requires ``unlock(with:)``. The sink receives plaintext as records
    /// authenticate; it is complete and genuine only if this returns.
    public func decrypt(into sink: ByteSink) throws -> ReadResult {
        precondition(keys != nil, "decrypt(into:) before unlock(with:)")
        return try readRecords(into: sink)
    }

    private func readRecords(into sink: ByteSink?) throws -> ReadResult {
        precondition(!consumed, "an archive reader reads its records once")
        consumed = true
        let cipher = sink == nil ? nil : keys?.cipher
        let chunkSize = header.chunkSize
        let recordLength = header.recordLength
        let trailerLength = header.trailerLength
        let batch = Parallel.batchSize
        let window = UnsafeMutableRawBufferPointer.allocate(byteCount: batch * recordLength + trailerLength + 1, alignment: 64)
        let plaintext = UnsafeMutableRawBufferPointer.allocate(byteCount: batch * chunkSize, alignment: 64)
        defer {
            secureZero(plaintext)
            plaintext.deallocate()
            window.deallocate()
        }
        let digest = try ArchiveDigest(header: header.bytes)
        var index: UInt64 = 0
        var plaintextLength: UInt64 = 0
        var filled = 0

        /// Checks (and opens) `count` records at the start of `window`, the
        /// last of them flagged `final`, `lastLength` bytes long.
        func process(count: Int, final: Bool, lastLength: Int) throws {
            let firstIndex = index
            let offset = UInt64(header.length)
            try Parallel.forEach(count) { j in
                let recordIndex = firstIndex + UInt64(j)
                let last = final && j == count - 1
                let length = last ? lastLength : recordLength
                let start = j * recordLength
                let ciphertext = UnsafeRawBufferPointer(rebasing: window[start..<start + length - FormatV1.recordHashLength])
                let stored = UnsafeRawBufferPointer(rebasing: window[start + length - FormatV1.recordHashLength..<start + length])
                let computed = try Records.hash(index: recordIndex, last: last, ciphertext: ciphertext)
                let position = offset + recordIndex * UInt64(recordLength)
                guard computed.withUnsafeBytes({ constantTimeEquals($0, stored) }) else {
                    throw SealedArchiveError(.damaged,
                        "chunk \(recordIndex) (archive bytes \(position)–\(position + UInt64(length) - 1)) is damaged: its hash does not match")
                }
                if let cipher {
                    let output = UnsafeMutableRawBufferPointer(rebasing: plaintext[j * chunkSize..<j * chunkSize + ciphertext.count - ChunkCipher.tagLength])
                    let opened = Records.nonce(index: recordIndex, last: last).withUnsafeBytes {
                        cipher.open(ciphertext, nonce: $0, into: output)
                    }
                    guard opened else {
                        throw SealedArchiveError(.damaged,
                            "chunk \(recordIndex) (archive bytes \(position)–\(position + UInt64(length) - 1)) does not authenticate: it is forged")
                    }
                }
            }
            var produced = 0
            for j in 0..<count {
                let length = final && j == count - 1 ? lastLength : recordLength
                let start = j * recordLength
                digest.add(recordHash: UnsafeRawBufferPointer(rebasing: window[start + length - FormatV1.recordHashLength..<start + length]))
                produced += length - FormatV1.recordOverhead
            }
            if let sink, produced > 0 {
                try sink.write(UnsafeRawBufferPointer(rebasing: plaintext[..<produced]))
            }
            plaintextLength += UInt64(produced)
            index += UInt64(count)
        }

        while true {
            filled += try source.readFully(into: UnsafeMutableRawBufferPointer(rebasing: window[filled...]))
            // The window holds more than recordLength + trailerLength bytes
            // until the input ends: only then is what is left the tail.
            guard filled > recordLength + trailerLength else { break }
            let count = min(batch, (filled - trailerLength - 1) / recordLength)
            try process(count: count, final: false, lastLength: recordLength)
            let used = count * recordLength
            UnsafeMutableRawBufferPointer(rebasing: window[..<(filled - used)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: window[used..<filled]))
            filled -= used
        }

        // Check 13: the tail is the last record and the trailer.
        let minimumRecord = FormatV1.recordOverhead + (index > 0 ? 1 : 0)
        guard filled >= trailerLength + minimumRecord,
              Trailer.hasMagic(UnsafeRawBufferPointer(rebasing: window[(filled - trailerLength)..<filled])) else {
            throw SealedArchiveError(.trailer,
                "the archive does not end with a trailer: it was cut short (an incomplete download or copy?) or has extra bytes at its end")
        }
        let trailer = try Trailer(parsing: UnsafeRawBufferPointer(rebasing: window[(filled - trailerLength)..<filled]), signed: header.isSigned)
        try process(count: 1, final: true, lastLength: filled - trailerLength)

        guard trailer.chunkCount == index else {
            throw SealedArchiveError(.damaged, "the trailer counts \(trailer.chunkCount) chunks but the archive holds \(index)")
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
        return ReadResult(header: header, chunkCount: index, plaintextLength: plaintextLength,
                          archiveLength: UInt64(header.length) + (index - 1) * UInt64(recordLength) + UInt64(filled),
                          digest: computed, decrypted: sink != nil)
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
}
