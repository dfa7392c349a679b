/// The reading side's running digest (Spec/FORMAT.md section 6,
/// Spec/FORMAT-v2.md section 6): checked records go in, in archive order,
/// and ``finish(trailer:)`` checks the trailer against them (FORMAT.md
/// checks 14–17: count, digest, signature).
///
/// Version 2: after the last record of each group (and after the last
/// record), ``add(segment:)`` checks the group's segment against the hashes
/// computed from its records and keeps `r_j`; ``finish(trailer:)`` then
/// takes the group table and the trailer (checks 15–17). The accumulator
/// holds at most one group's hashes and the `r_j` list.
///
/// Records may be checked in any order or on several threads; they are
/// added here one by one in order, which is what makes the digest that of
/// this archive and not of some reordering of its records.
public final class RecordAccumulator {
    public let header: ArchiveHeader
    private let digest: ArchiveDigest
    private var plaintextLength: UInt64 = 0
    private var storedLength: UInt64 = 0
    private var allOpened = true
    private var sawLast = false
    private var finished = false
    /// Version 2: hashes of the current group's records, and the `r_j` of
    /// the groups whose segment was checked.
    private var groupHashes: [UInt8] = []
    private var segmentHashes: [[UInt8]] = []
    private var segmentPending = false
    /// The stored length of the last record added (names a damaged one).
    private var lastRecordLength = 0

    /// Records added so far.
    public var count: UInt64 { digest.recordCount }
    /// Version 2: whether the next thing to add is a segment.
    public var needsSegment: Bool { segmentPending }

    package init(header: ArchiveHeader) throws {
        self.header = header
        digest = try ArchiveDigest(header: header.bytes, version: header.version, headerSignature: header.signature)
        storedLength = UInt64(header.leadLength)
    }

    /// Adds the next record. A record out of order, or one after the last,
    /// or (version 2) one before the segment that closes its group, is a
    /// caller's mistake and throws `invalid-argument`.
    public func add(_ record: CheckedRecord) throws {
        guard !sawLast, !finished, !segmentPending, record.index == digest.recordCount, record.version == header.version else {
            throw SealedArchiveError(.invalidArgument,
                "record \(record.index) added out of order (expected \(sawLast ? "none after the last" : segmentPending ? "a segment" : "record \(digest.recordCount)"))")
        }
        if header.version == .v1 {
            record.hash.withUnsafeBytes { digest.add(recordHash: $0) }
        } else {
            digest.countRecord()
            groupHashes.append(contentsOf: record.hash)
            segmentPending = record.isLast || groupHashes.count == header.groupSize * FormatV2.hashLength
        }
        plaintextLength += UInt64(record.plaintextLength)
        storedLength += UInt64(record.storedLength)
        lastRecordLength = record.storedLength
        allOpened = allOpened && record.opened
        sawLast = record.isLast
    }

    /// Version 2: the segment that closes the current group, `32·g` bytes:
    /// each entry must equal the computed hash [`damaged`, naming the first
    /// record that differs].
    public func add(segment: UnsafeRawBufferPointer) throws {
        guard header.version == .v2, segmentPending, !finished else {
            throw SealedArchiveError(.invalidArgument, "no segment is due after record \(digest.recordCount)")
        }
        let group = UInt64(segmentHashes.count)
        let r = try Records.checkSegment(segment, group: group, concatenatedHashes: groupHashes, header: header,
                                         lastRecordLength: lastRecordLength)
        digest.add(segmentHash: r)
        segmentHashes.append(r)
        storedLength += UInt64(segment.count)
        groupHashes.removeAll(keepingCapacity: true)
        segmentPending = false
    }

    /// The `r_j` computed so far (version 2).
    public var groupTable: [[UInt8]] { segmentHashes }

    /// Checks what follows the last record (after, in version 2, its
    /// segment): version 1 the trailer, exactly; version 2 the group table
    /// and the trailer. Checks the group table against `r_0 …` (version 2,
    /// check 15), the count (FORMAT.md 15, FORMAT-v2.md 16), the digest (16)
    /// and the signature under the header's signer key (17).
    public func finish(trailer bytes: UnsafeRawBufferPointer) throws -> ReadResult {
        guard sawLast, !finished, !segmentPending else {
            throw SealedArchiveError(.invalidArgument,
                finished ? "the trailer was already checked" : "the trailer can be checked only after the last record\(header.version == .v2 ? " and its segment" : "")")
        }
        let tableLength = segmentHashes.count * FormatV2.hashLength
        guard bytes.count == tableLength + header.trailerLength,
              Trailer.hasMagic(UnsafeRawBufferPointer(rebasing: bytes[tableLength...])) else {
            throw SealedArchiveError(.truncated, "the archive does not end with a complete trailer")
        }
        if header.version == .v2 {
            try Records.checkGroupTable(UnsafeRawBufferPointer(rebasing: bytes[..<tableLength]), against: segmentHashes)
        }
        let trailer = try Trailer(parsing: UnsafeRawBufferPointer(rebasing: bytes[tableLength...]), signed: header.isSigned)
        let index = digest.recordCount
        guard trailer.chunkCount == index else {
            throw SealedArchiveError(.damaged, "the trailer counts \(trailer.chunkCount) \(trailer.chunkCount == 1 ? "chunk" : "chunks") but the archive holds \(index)")
        }
        finished = true
        let computed = digest.finalize()
        guard constantTimeEquals(computed, trailer.digest) else {
            throw SealedArchiveError(.damaged, "the archive digest does not match its trailer: the header or the trailer is damaged")
        }
        if let signer = header.signer, let signature = trailer.signature {
            guard try signer.isValidSignature(signature, of: Trailer.signedMessage(digest: computed, version: header.version)) else {
                throw SealedArchiveError(.signature, "the signature does not verify under the signer key \(signer) named in the header: the archive is forged or damaged")
            }
        }
        return ReadResult(header: header, chunkCount: index, plaintextLength: plaintextLength,
                          archiveLength: storedLength + UInt64(bytes.count),
                          digest: computed, decrypted: allOpened)
    }
}
