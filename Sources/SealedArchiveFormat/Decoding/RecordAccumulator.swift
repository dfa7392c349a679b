/// The reading side's running digest (Spec/FORMAT.md section 6): checked
/// records go in, in archive order, and ``finish(trailer:)`` checks the
/// trailer against them (checks 14–17: count, digest, signature).
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

    /// Records added so far.
    public var count: UInt64 { digest.recordCount }

    package init(header: ArchiveHeader) throws {
        self.header = header
        digest = try ArchiveDigest(header: header.bytes)
    }

    /// Adds the next record. A record out of order, or one after the last,
    /// is a caller's mistake and throws `invalid-argument`.
    public func add(_ record: CheckedRecord) throws {
        guard !sawLast, !finished, record.index == digest.recordCount else {
            throw SealedArchiveError(.invalidArgument,
                "record \(record.index) added out of order (expected \(sawLast ? "none after the last" : "record \(digest.recordCount)"))")
        }
        record.hash.withUnsafeBytes { digest.add(recordHash: $0) }
        plaintextLength += UInt64(record.plaintextLength)
        storedLength += UInt64(record.storedLength)
        allOpened = allOpened && record.opened
        sawLast = record.isLast
    }

    /// Checks the trailer (exactly the trailer's bytes) after the last
    /// record: the count (check 15), the digest (16) and the signature
    /// under the header's signer key (17).
    public func finish(trailer bytes: UnsafeRawBufferPointer) throws -> ReadResult {
        guard sawLast, !finished else {
            throw SealedArchiveError(.invalidArgument,
                finished ? "the trailer was already checked" : "the trailer can be checked only after the last record")
        }
        guard bytes.count == header.trailerLength, Trailer.hasMagic(bytes) else {
            throw SealedArchiveError(.truncated, "the archive does not end with a complete trailer")
        }
        let trailer = try Trailer(parsing: bytes, signed: header.isSigned)
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
            guard try signer.isValidSignature(signature, of: Trailer.signedMessage(digest: computed)) else {
                throw SealedArchiveError(.signature, "the signature does not verify under the signer key \(signer) named in the header: the archive is forged or damaged")
            }
        }
        return ReadResult(header: header, chunkCount: index, plaintextLength: plaintextLength,
                          archiveLength: UInt64(header.length) + storedLength + UInt64(bytes.count),
                          digest: computed, decrypted: allOpened)
    }
}
