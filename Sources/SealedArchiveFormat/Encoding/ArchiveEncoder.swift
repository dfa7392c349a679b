/// The writing side of the format core: makes the header, seals chunks into
/// records by index, and writes the trailer (Spec/FORMAT.md sections 3–6).
/// No IO and no thread: the caller writes the bytes it gets back, and may
/// seal the chunks of a batch on several threads (``seal(_:index:isLast:into:)``
/// changes no state) before adding them in order with ``append(_:)``.
public final class ArchiveEncoder {
    public let header: ArchiveHeader
    private let keys: KeySchedule
    private let signingKey: SigningKey?
    private let digest: ArchiveDigest
    private var sawLast = false
    private var finished = false

    /// The header as written, MAC included.
    public var headerBytes: [UInt8] { header.bytes }
    /// Records appended so far.
    public var recordCount: UInt64 { digest.recordCount }

    /// Starts an archive to `recipients` (1–64 distinct keys), signed by
    /// `signingKey` when given. `created` is Unix seconds, handed in by the
    /// caller.
    public convenience init(recipients: [Recipient], signingKey: SigningKey?, chunkSizeLog2: Int = FormatV1.defaultChunkSizeLog2,
                            payloadKind: PayloadKind, compression: Compression, created: UInt64,
                            label: String? = nil, sequence: UInt64? = nil, previousDigest: [UInt8]? = nil) throws {
        try Self.checkParameters(chunkSizeLog2: chunkSizeLog2, payloadKind: payloadKind, compression: compression,
                                 label: label, previousDigest: previousDigest)
        var unique: [Recipient] = []
        for recipient in recipients where !unique.contains(recipient) { unique.append(recipient) }
        guard !unique.isEmpty else { throw SealedArchiveError(.invalidArgument, "an archive needs at least one recipient") }
        guard unique.count <= FormatV1.maximumRecipients else {
            throw SealedArchiveError(.invalidArgument, "\(unique.count) recipients given; an archive holds at most \(FormatV1.maximumRecipients)")
        }
        let keys = try KeySchedule.random()
        try self.init(keys: keys, signingKey: signingKey, header: ArchiveHeader(
            chunkSizeLog2: chunkSizeLog2, payloadKind: payloadKind, compression: compression, created: created,
            stanzas: try unique.map { try Stanza.wrap(keys.fileKey, to: $0) }, signer: signingKey?.signer,
            label: label, sequence: sequence, previousDigest: previousDigest))
    }

    /// The header fields a new archive may carry (Spec/FORMAT.md section
    /// 5): a chunk size in range, compression only for a tar payload (check
    /// 6 refuses the rest: an opener would write compressed bytes), a label
    /// of 1–255 bytes without C0 controls, a 32-byte previous digest.
    /// Callers with stricter rules (the library's ``SealOptions``) add them
    /// on top of this one check.
    package static func checkParameters(chunkSizeLog2: Int, payloadKind: PayloadKind, compression: Compression,
                                        label: String?, previousDigest: [UInt8]?) throws {
        guard FormatV1.chunkSizeLog2Range.contains(chunkSizeLog2) else {
            throw SealedArchiveError(.invalidArgument,
                "chunk size 2^\(chunkSizeLog2) is outside 2^\(FormatV1.chunkSizeLog2Range.lowerBound)–2^\(FormatV1.chunkSizeLog2Range.upperBound)")
        }
        guard payloadKind == .tar || compression == .none else {
            throw SealedArchiveError(.invalidArgument, "a byte payload is stored uncompressed: only a tar payload can be recorded as zstd")
        }
        if let label {
            let utf8 = Array(label.utf8)
            guard (1...255).contains(utf8.count), !utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) else {
                throw SealedArchiveError(.invalidArgument, "the label must be 1–255 bytes of text without control characters")
            }
        }
        if let previousDigest, previousDigest.count != 32 {
            throw SealedArchiveError(.invalidArgument, "the previous digest must be 32 bytes")
        }
    }

    /// Re-wrapping (Spec/FORMAT.md section 12): the original's file key and
    /// header fields, new stanzas and a new signer. The records are copied,
    /// not sealed: ``append(_:)`` the original's checked records.
    package convenience init(rewrapping original: UnlockedArchive, to recipients: [Recipient], signingKey: SigningKey) throws {
        let old = original.header
        try self.init(keys: original.keys, signingKey: signingKey, header: ArchiveHeader(
            chunkSizeLog2: old.chunkSizeLog2, payloadKind: old.payloadKind, compression: old.compression, created: old.created,
            stanzas: recipients.map { try Stanza.wrap(original.keys.fileKey, to: $0) }, signer: signingKey.signer,
            label: old.label, sequence: old.sequence, previousDigest: old.previousDigest))
    }

    private init(keys: KeySchedule, signingKey: SigningKey?, header unauthenticated: ArchiveHeader) throws {
        self.keys = keys
        self.signingKey = signingKey
        header = try unauthenticated.authenticated(with: keys.headerKey)
        digest = try ArchiveDigest(header: header.bytes)
    }

    /// The bytes a record of `plaintextLength` takes: chunk, tag and hash.
    public static func recordLength(plaintextLength: Int) -> Int { plaintextLength + FormatV1.recordOverhead }

    /// Encrypts chunk `index` and writes the record (ciphertext, tag,
    /// record hash) into `record`, which must hold
    /// ``recordLength(plaintextLength:)`` bytes. Every chunk but the last
    /// is exactly the chunk size; the last is 1 byte to the chunk size (0
    /// only when it is the only one). Changes no state: safe to call for
    /// several chunks at once.
    public func seal(_ plaintext: UnsafeRawBufferPointer, index: UInt64, isLast: Bool,
                     into record: UnsafeMutableRawBufferPointer) throws -> CheckedRecord {
        let length = plaintext.count
        guard length <= header.chunkSize, isLast || length == header.chunkSize, length > 0 || (isLast && index == 0) else {
            throw SealedArchiveError(.invalidArgument, "chunk \(index) of \(length) bytes does not fit chunk size \(header.chunkSize)\(isLast ? " as the last chunk" : "")")
        }
        let stored = Self.recordLength(plaintextLength: length)
        guard record.count >= stored else {
            throw SealedArchiveError(.invalidArgument, "a buffer of \(record.count) bytes cannot hold a record of \(stored)")
        }
        let ciphertext = UnsafeMutableRawBufferPointer(rebasing: record[..<(length + ChunkCipher.tagLength)])
        try Records.nonce(index: index, last: isLast).withUnsafeBytes { nonce in
            try keys.cipher.seal(plaintext, nonce: nonce, into: ciphertext)
        }
        let hash = try Records.hash(index: index, last: isLast, ciphertext: UnsafeRawBufferPointer(ciphertext))
        UnsafeMutableRawBufferPointer(rebasing: record[(length + ChunkCipher.tagLength)..<stored]).copyBytes(from: hash)
        return CheckedRecord(index: index, isLast: isLast, hash: hash, storedLength: stored, opened: false)
    }

    /// Adds the next record to the digest, in archive order.
    public func append(_ record: CheckedRecord) throws {
        guard !sawLast, !finished, record.index == digest.recordCount else {
            throw SealedArchiveError(.invalidArgument,
                "record \(record.index) appended out of order (expected \(sawLast ? "none after the last" : "record \(digest.recordCount)"))")
        }
        record.hash.withUnsafeBytes { digest.add(recordHash: $0) }
        sawLast = record.isLast
    }

    /// The trailer, signed when a signing key was given, after the last
    /// record; and the archive's digest.
    public func finish() throws -> (trailer: [UInt8], digest: [UInt8]) {
        guard sawLast, !finished else {
            throw SealedArchiveError(.invalidArgument, finished ? "the archive was already finished" : "the archive cannot be finished before its last record")
        }
        finished = true
        let finalDigest = digest.finalize()
        let signature = try signingKey.map { try $0.sign(Trailer.signedMessage(digest: finalDigest)) }
        return (Trailer(chunkCount: digest.recordCount, digest: finalDigest, signature: signature).serialize(), finalDigest)
    }
}
