import Foundation

/// The keyless side of reading an archive, over bytes the caller holds: it
/// does no IO and starts no thread, so a streaming reader, a seeking reader
/// and a fuzzer drive the same checks (Spec/FORMAT.md section 8).
///
/// Making one performs checks 1–8 on the header bytes. It can then check
/// any record by index without a key (check 12's hash), split the tail into
/// the last record and the trailer (check 13), and start a
/// ``RecordAccumulator`` that digests records in order and checks the
/// trailer (14–17). Decrypting needs ``unlock(with:)``, whose
/// ``UnlockedArchive`` is the only type that opens chunks: the call order is
/// in the types, not in run-time assertions.
public struct ArchiveDecoder: Sendable {
    public let header: ArchiveHeader
    public var layout: RecordLayout { RecordLayout(header: header) }

    /// Bytes to hand to ``headerLength(fromPrefix:)``: magic, version and
    /// `header_length`.
    public static let prefixLength = FormatV1.prefixLength

    /// Checks 1–3 on the first ``prefixLength`` bytes (fewer when the input
    /// is shorter) and returns the header's full length.
    public static func headerLength(fromPrefix prefix: UnsafeRawBufferPointer) throws -> Int {
        try ArchiveHeader.headerLength(fromPrefix: prefix)
    }

    /// Parses the header at the start of `bytes` (checks 1–7; what follows
    /// is ignored) and applies the signer policy (check 8). A signed
    /// version 2 header is followed by its header signature: `bytes` must
    /// then hold ``ArchiveHeader/leadLength`` bytes, and the signature is
    /// verified here (Spec/FORMAT-v2.md check 9), whether or not a signer
    /// is required, so no identity is used on a header the signer did not
    /// make.
    ///
    /// - Parameter trustedSigners: when not nil, the archive must be signed
    ///   by one of these keys, inside that key's window; the trailer's
    ///   signature is verified by ``RecordAccumulator/finish(trailer:)``.
    public init(parsing bytes: [UInt8], trustedSigners: [TrustedSigner]? = nil) throws {
        var header = try ArchiveHeader(parsing: bytes)
        try Self.checkSigner(of: header, trustedSigners: trustedSigners)
        if header.hasHeaderSignature, let signer = header.signer {
            guard bytes.count >= header.leadLength else {
                throw SealedArchiveError(.truncated,
                    "the archive is truncated: it ends at byte \(bytes.count), inside its header signature (bytes \(header.length)–\(header.leadLength - 1))")
            }
            let signature = Array(bytes[header.length..<header.leadLength])
            guard try signer.isValidSignature(signature, of: header.headerSignatureMessage) else {
                throw SealedArchiveError(.signature,
                    "the header signature does not verify under the signer key \(signer) named in the header: the header is forged or damaged")
            }
            header = header.with(signature: signature)
        }
        self.header = header
    }

    /// Check 8 alone, for a header parsed elsewhere.
    public static func checkSigner(of header: ArchiveHeader, trustedSigners: [TrustedSigner]?) throws {
        guard let trustedSigners else { return }
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

    /// Opens the file key with the first identity that has a stanza and
    /// authenticates the header under it (checks 9–11).
    public func unlock(with identities: [Identity]) throws -> UnlockedArchive {
        for identity in identities {
            // Only stanzas of the identity's kind match it (FORMAT-v2.md
            // check 10); a stanza of an unknown type is skipped.
            guard let stanza = header.stanzas.first(where: { $0.isFor(identity) }) else { continue }
            guard let fileKey = try stanza.unwrap(with: identity), fileKey.count == FormatV1.fileKeyLength else {
                throw SealedArchiveError(.damaged, "the stanza for key \(stanza.keyID) does not open: the header is damaged or forged")
            }
            let keys = try KeySchedule(fileKey: fileKey, version: header.version)
            guard try header.hasValidMAC(headerKey: keys.headerKey) else {
                throw SealedArchiveError(.damaged, "the header does not authenticate: it is damaged or forged")
            }
            return UnlockedArchive(decoder: self, keys: keys, keyID: stanza.keyID)
        }
        let have = identities.map { $0.recipient.keyID.description }.joined(separator: ", ")
        let want = header.stanzas.map { $0.keyID.description }.joined(separator: ", ")
        throw SealedArchiveError(.noIdentity,
            "no identity given can open this archive: it is sealed to key id \(want), the identities given are \(have.isEmpty ? "none" : have)")
    }

    /// Checks record `index` without a key (check 12): its length fits its
    /// place and its stored hash matches. `record` is the whole stored
    /// record (chunk ciphertext, tag, and in version 1 the hash). In
    /// version 2 the record holds no hash: this computes `h_i` (check 13
    /// or 15), which the segment is checked against
    /// (``checkSegment(_:group:hashes:)``). Safe to call concurrently.
    public func check(record: UnsafeRawBufferPointer, index: UInt64, isLast: Bool) throws -> CheckedRecord {
        let length = record.count
        let version = header.version
        let position = layout.offset(ofRecord: index)
        let range = "archive bytes \(position)–\(position &+ UInt64(max(length, 1)) &- 1)"
        let minimum = version.recordOverhead + (isLast && index == 0 ? 0 : 1)
        guard length <= header.recordLength, length >= minimum, isLast || length == header.recordLength else {
            throw SealedArchiveError(length < header.recordLength ? .truncated : .damaged,
                "chunk \(index) (\(range)) is \(length) bytes long, which a\(isLast ? " last" : "") record cannot be")
        }
        if version == .v2 {
            let computed = try Records.hash(index: index, last: isLast, ciphertext: record, version: .v2)
            return CheckedRecord(index: index, isLast: isLast, hash: computed, storedLength: length, opened: false, version: .v2)
        }
        let ciphertext = UnsafeRawBufferPointer(rebasing: record[..<(length - FormatV1.recordHashLength)])
        let stored = UnsafeRawBufferPointer(rebasing: record[(length - FormatV1.recordHashLength)...])
        let computed = try Records.hash(index: index, last: isLast, ciphertext: ciphertext)
        guard computed.withUnsafeBytes({ constantTimeEquals($0, stored) }) else {
            throw SealedArchiveError(.damaged, "chunk \(index) (\(range)) is damaged: its hash does not match")
        }
        return CheckedRecord(index: index, isLast: isLast, hash: computed, storedLength: length, opened: false)
    }

    /// Version 2: checks segment `group` against the hashes computed from
    /// its records, in order (checks 13 and 15 of Spec/FORMAT-v2.md),
    /// naming the first record that differs, and returns `r_j`.
    public func checkSegment(_ segment: UnsafeRawBufferPointer, group: UInt64, hashes: [[UInt8]]) throws -> [UInt8] {
        try Records.checkSegment(segment, group: group, hashes: hashes, header: header)
    }

    /// Check 13 (version 2: 14) on the tail, the bytes after the first
    /// `recordsBefore` records when at most one record, in version 2 the
    /// last segment and the group table, and the trailer remain (see
    /// ``RecordLayout/recordsBeforeTail(archiveLength:)``): returns the
    /// length of the last record; the trailer is what follows it.
    ///
    /// A tail that does not end with a trailer is explained: if a complete
    /// trailer for this many chunks sits earlier in the tail, bytes were
    /// appended after it (`trailer`); otherwise the archive was cut short
    /// (`truncated`, the same class as a cut inside the header, so an
    /// operator sees one code for every cut archive).
    public func lastRecordLength(inTail tail: UnsafeRawBufferPointer, recordsBefore: UInt64) throws -> Int {
        let trailerLength = header.trailerLength
        // Version 2: the last segment and the group table sit between the
        // last record and the trailer (FORMAT-v2.md check 14).
        let hashes = Int(clamping: layout.tailHashesLength(recordsBefore: recordsBefore))
        let minimumRecord = header.version.recordOverhead + (recordsBefore > 0 ? 1 : 0)
        let filled = tail.count
        if filled >= trailerLength + hashes + minimumRecord, filled - trailerLength - hashes <= header.recordLength,
           Trailer.hasMagic(UnsafeRawBufferPointer(rebasing: tail[(filled - trailerLength)...])) {
            return filled - trailerLength - hashes
        }
        let tailOffset = layout.offset(ofRecord: recordsBefore)
        var position = minimumRecord + hashes
        while position + trailerLength < filled {
            let candidate = UnsafeRawBufferPointer(rebasing: tail[position..<position + trailerLength])
            if Trailer.hasMagic(candidate), let trailer = try? Trailer(parsing: candidate, signed: header.isSigned),
               trailer.chunkCount == recordsBefore + 1 {
                let extra = filled - position - trailerLength
                throw SealedArchiveError(.trailer,
                    "\(extra) \(extra == 1 ? "byte follows" : "bytes follow") the trailer: the file was extended or two files were joined (the archive itself may be intact up to byte \(tailOffset + UInt64(position + trailerLength)))")
            }
            position += 1
        }
        throw SealedArchiveError(.truncated,
            "the archive is truncated: it ends at byte \(tailOffset + UInt64(filled)) without its trailer (an incomplete upload, download or copy?)")
    }

    /// A digest over this header, to feed checked records in order and
    /// finish with the trailer.
    public func makeAccumulator() throws -> RecordAccumulator {
        try RecordAccumulator(header: header)
    }
}
