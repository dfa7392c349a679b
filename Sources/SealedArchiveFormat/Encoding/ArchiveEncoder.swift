/// The writing side of the format core: makes the header, seals chunks into
/// records by index, and writes the trailer (Spec/FORMAT.md sections 3–6).
/// Version 2 (Spec/FORMAT-v2.md): the header is followed by its signature
/// when signed, ``append(_:)`` returns each group's segment when the group
/// closes, and ``finish()`` the group table before the trailer; the encoder
/// holds at most one group's hashes and the list of segment hashes.
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
    /// Version 2: the current group's record hashes and the `r_j` so far.
    private var groupHashes: [UInt8] = []
    private var segmentHashes: [[UInt8]] = []

    /// What is written before record 0: the header, MAC included, and in a
    /// signed version 2 archive the header signature.
    public var headerBytes: [UInt8] { header.leadBytes }
    /// Records appended so far.
    public var recordCount: UInt64 { digest.recordCount }

    /// Starts an archive to `recipients` (1–64 distinct keys), signed by
    /// `signingKey` when given. `created` is Unix seconds, handed in by the
    /// caller.
    ///
    /// `version` 2 writes Spec/FORMAT-v2.md; its groups hold
    /// `1 << groupSizeLog2` records (default `30 − chunkSizeLog2`, one GiB
    /// of chunks; tests write small groups to cover their boundaries).
    public convenience init(recipients: [Recipient], signingKey: SigningKey?, chunkSizeLog2: Int = FormatV1.defaultChunkSizeLog2,
                            payloadKind: PayloadKind, compression: Compression, created: UInt64,
                            label: String? = nil, sequence: UInt64? = nil, previousDigest: [UInt8]? = nil,
                            version: FormatVersion = .v1, groupSizeLog2: Int? = nil) throws {
        try self.init(recipients: recipients, signingKey: signingKey, chunkSizeLog2: chunkSizeLog2, payloadKind: payloadKind,
                      compression: compression, created: created, label: label, sequence: sequence, previousDigest: previousDigest,
                      version: version, groupSizeLog2: groupSizeLog2, reproducible: nil)
    }

    /// Secrets handed in instead of drawn, so that test vectors come out
    /// the same on every run. Never used for a real archive.
    package struct Reproducible {
        package let fileKey: SecureBytes
        /// The ephemeral X25519 secret of each stanza, by recipient index.
        package let ephemeralSecret: (Int) throws -> SecureBytes
        package init(fileKey: SecureBytes, ephemeralSecret: @escaping (Int) throws -> SecureBytes) {
            self.fileKey = fileKey
            self.ephemeralSecret = ephemeralSecret
        }
    }

    package convenience init(recipients: [Recipient], signingKey: SigningKey?, chunkSizeLog2: Int,
                             payloadKind: PayloadKind, compression: Compression, created: UInt64,
                             label: String?, sequence: UInt64?, previousDigest: [UInt8]?,
                             version: FormatVersion, groupSizeLog2: Int?, reproducible: Reproducible?) throws {
        try Self.checkParameters(chunkSizeLog2: chunkSizeLog2, payloadKind: payloadKind, compression: compression,
                                 label: label, previousDigest: previousDigest, version: version)
        let groupLog2 = version == .v1 ? 0 : groupSizeLog2 ?? FormatV2.defaultGroupSizeLog2(chunkSizeLog2: chunkSizeLog2)
        if version == .v2 {
            let groups = FormatV2.groupSizeLog2Range(chunkSizeLog2: chunkSizeLog2)
            guard groups.contains(groupLog2) else {
                throw SealedArchiveError(.invalidArgument, "group size 2^\(groupLog2) is outside 2^\(groups.lowerBound)–2^\(groups.upperBound)")
            }
        }
        var unique: [Recipient] = []
        for recipient in recipients where !unique.contains(recipient) { unique.append(recipient) }
        guard !unique.isEmpty else { throw SealedArchiveError(.invalidArgument, "an archive needs at least one recipient") }
        guard unique.count <= FormatV1.maximumRecipients else {
            throw SealedArchiveError(.invalidArgument, "\(unique.count) recipients given; an archive holds at most \(FormatV1.maximumRecipients)")
        }
        try Self.checkRecipients(unique, version: version)
        let keys = try reproducible.map { try KeySchedule(fileKey: $0.fileKey, version: version) } ?? KeySchedule.random(version: version)
        let stanzas = try unique.enumerated().map { index, recipient in
            try Stanza.wrap(keys.fileKey, to: recipient, ephemeralSecret: try reproducible.map { try $0.ephemeralSecret(index) })
        }
        try self.init(keys: keys, signingKey: signingKey, header: ArchiveHeader(
            version: version, groupSizeLog2: groupLog2, chunkSizeLog2: chunkSizeLog2, payloadKind: payloadKind, compression: compression, created: created,
            stanzas: stanzas, signer: signingKey?.signer,
            label: label, sequence: sequence, previousDigest: previousDigest))
    }

    /// The header fields a new archive may carry (Spec/FORMAT.md section
    /// 5): a chunk size in range, compression only for a tar payload (check
    /// 6 refuses the rest: an opener would write compressed bytes), a label
    /// of 1–255 bytes without C0 controls, a 32-byte previous digest.
    /// Callers with stricter rules (the library's ``SealOptions``) add them
    /// on top of this one check.
    package static func checkParameters(chunkSizeLog2: Int, payloadKind: PayloadKind, compression: Compression,
                                        label: String?, previousDigest: [UInt8]?, version: FormatVersion = .v1) throws {
        guard FormatV1.chunkSizeLog2Range.contains(chunkSizeLog2) else {
            throw SealedArchiveError(.invalidArgument,
                "chunk size 2^\(chunkSizeLog2) is outside 2^\(FormatV1.chunkSizeLog2Range.lowerBound)–2^\(FormatV1.chunkSizeLog2Range.upperBound)")
        }
        guard payloadKind == .tar || compression == .none else {
            throw SealedArchiveError(.invalidArgument, "a byte payload is stored uncompressed: only a tar payload can be recorded as zstd")
        }
        // Version 2 tar payloads are zstd frames (FORMAT-v2.md section 3).
        guard version == .v1 || payloadKind == .bytes || compression == .zstd else {
            throw SealedArchiveError(.invalidArgument, "a version 2 tar payload is always recorded as zstd frames")
        }
        if let label {
            // Version 2 also refuses C1, bidirectional and format controls
            // (FORMAT-v2.md section 3.2).
            guard ArchiveHeader.validLabel(Array(label.utf8), version: version) != nil else {
                throw SealedArchiveError(.invalidArgument, version == .v1
                    ? "the label must be 1–255 bytes of text without control characters"
                    : "the label must be 1–255 bytes of text without control or bidirectional format characters")
            }
        }
        if let previousDigest, previousDigest.count != 32 {
            throw SealedArchiveError(.invalidArgument, "the previous digest must be 32 bytes")
        }
    }

    /// Version 1 headers hold X25519 stanzas only (FORMAT.md 4.1): the one
    /// place the rule is stated, which callers use to refuse early.
    public static func checkRecipients(_ recipients: [Recipient], version: FormatVersion) throws {
        guard version == .v2 || !recipients.contains(where: \.isPostQuantum) else {
            throw SealedArchiveError(.invalidArgument,
                "format version 1 holds X25519 recipients only: a post-quantum recipient (age1pq1…) needs format version 2")
        }
    }

    /// Re-wrapping (Spec/FORMAT.md section 12, FORMAT-v2.md section 11):
    /// the original's file key, version and header fields, new stanzas and a
    /// new signer (and in version 2 a new header signature). The records
    /// are copied, not sealed: ``append(_:)`` the original's checked
    /// records; in version 2 the segments it returns equal the original's
    /// (same hashes) and ``finish()`` writes the same group table and a new
    /// trailer.
    package convenience init(rewrapping original: UnlockedArchive, to recipients: [Recipient], signingKey: SigningKey) throws {
        let old = original.header
        try Self.checkRecipients(recipients, version: old.version)
        try self.init(keys: original.keys, signingKey: signingKey, header: ArchiveHeader(
            version: old.version, groupSizeLog2: old.groupSizeLog2, chunkSizeLog2: old.chunkSizeLog2, payloadKind: old.payloadKind, compression: old.compression, created: old.created,
            stanzas: recipients.map { try Stanza.wrap(original.keys.fileKey, to: $0) }, signer: signingKey.signer,
            label: old.label, sequence: old.sequence, previousDigest: old.previousDigest))
    }

    private init(keys: KeySchedule, signingKey: SigningKey?, header unauthenticated: ArchiveHeader) throws {
        self.keys = keys
        self.signingKey = signingKey
        let authenticated = try unauthenticated.authenticated(with: keys.headerKey)
        // Version 2: the same key signs the header (FORMAT-v2.md 3.3).
        if authenticated.hasHeaderSignature, let signingKey {
            header = authenticated.with(signature: try signingKey.sign(authenticated.headerSignatureMessage))
        } else {
            header = authenticated
        }
        digest = try ArchiveDigest(header: header.bytes, version: header.version, headerSignature: header.signature)
    }

    /// The bytes a version 1 record of `plaintextLength` takes: chunk, tag
    /// and hash.
    public static func recordLength(plaintextLength: Int) -> Int { plaintextLength + FormatV1.recordOverhead }

    /// The bytes a record of `plaintextLength` takes in this archive's
    /// version: chunk and tag, and in version 1 the hash.
    public func storedLength(plaintextLength: Int) -> Int { plaintextLength + header.version.recordOverhead }

    /// Encrypts chunk `index` and writes the record (ciphertext, tag,
    /// record hash) into `record`, which must hold
    /// ``storedLength(plaintextLength:)`` bytes. Every chunk but the last
    /// is exactly the chunk size; the last is 1 byte to the chunk size (0
    /// only when it is the only one). Changes no state: safe to call for
    /// several chunks at once.
    public func seal(_ plaintext: UnsafeRawBufferPointer, index: UInt64, isLast: Bool,
                     into record: UnsafeMutableRawBufferPointer) throws -> CheckedRecord {
        let length = plaintext.count
        guard length <= header.chunkSize, isLast || length == header.chunkSize, length > 0 || (isLast && index == 0) else {
            throw SealedArchiveError(.invalidArgument, "chunk \(index) of \(length) bytes does not fit chunk size \(header.chunkSize)\(isLast ? " as the last chunk" : "")")
        }
        let stored = storedLength(plaintextLength: length)
        guard record.count >= stored else {
            throw SealedArchiveError(.invalidArgument, "a buffer of \(record.count) bytes cannot hold a record of \(stored)")
        }
        let ciphertext = UnsafeMutableRawBufferPointer(rebasing: record[..<(length + ChunkCipher.tagLength)])
        try Records.nonce(index: index, last: isLast).withUnsafeBytes { nonce in
            try keys.cipher.seal(plaintext, nonce: nonce, into: ciphertext)
        }
        let hash = try Records.hash(index: index, last: isLast, ciphertext: UnsafeRawBufferPointer(ciphertext), version: header.version)
        if header.version == .v1 {
            UnsafeMutableRawBufferPointer(rebasing: record[(length + ChunkCipher.tagLength)..<stored]).copyBytes(from: hash)
        }
        return CheckedRecord(index: index, isLast: isLast, hash: hash, storedLength: stored, opened: false, version: header.version)
    }

    /// Adds the next record to the digest, in archive order, and returns
    /// the bytes to write after it: in version 2 the group's segment when
    /// this record closes its group (or is the last), else nothing.
    public func append(_ record: CheckedRecord) throws -> [UInt8] {
        guard !sawLast, !finished, record.index == digest.recordCount, record.version == header.version else {
            throw SealedArchiveError(.invalidArgument,
                "record \(record.index) appended out of order (expected \(sawLast ? "none after the last" : "record \(digest.recordCount)"))")
        }
        sawLast = record.isLast
        guard header.version == .v2 else {
            record.hash.withUnsafeBytes { digest.add(recordHash: $0) }
            return []
        }
        digest.countRecord()
        groupHashes.append(contentsOf: record.hash)
        guard record.isLast || groupHashes.count == header.groupSize * FormatV2.hashLength else { return [] }
        let segment = groupHashes
        let r = try segment.withUnsafeBytes { try Records.segmentHash(group: UInt64(segmentHashes.count), segment: $0) }
        digest.add(segmentHash: r)
        segmentHashes.append(r)
        groupHashes.removeAll(keepingCapacity: true)
        return segment
    }

    /// The trailer, signed when a signing key was given, after the last
    /// record (version 2: the group table and the trailer, after the last
    /// segment); and the archive's digest.
    public func finish() throws -> (trailer: [UInt8], digest: [UInt8]) {
        guard sawLast, !finished else {
            throw SealedArchiveError(.invalidArgument, finished ? "the archive was already finished" : "the archive cannot be finished before its last record")
        }
        finished = true
        let finalDigest = digest.finalize()
        let signature = try signingKey.map { try $0.sign(Trailer.signedMessage(digest: finalDigest, version: header.version)) }
        let trailer = Trailer(chunkCount: digest.recordCount, digest: finalDigest, signature: signature).serialize()
        return (Array(segmentHashes.joined()) + trailer, finalDigest)
    }
}
