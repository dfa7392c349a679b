/// Where the records of an archive lie (Spec/FORMAT.md sections 4–6): every
/// record but the last is a full chunk plus its tag and hash, so record `i`
/// starts at a fixed offset and a reader that can seek finds any record
/// without reading the ones before it.
public struct RecordLayout: Sendable, Equatable {
    /// Bytes before record 0.
    public let headerLength: Int
    /// A full record: chunk, tag, record hash.
    public let recordLength: Int
    /// The trailer's length (longer when the archive is signed).
    public let trailerLength: Int

    public init(header: ArchiveHeader) {
        headerLength = header.length
        recordLength = header.recordLength
        trailerLength = header.trailerLength
    }

    /// The archive offset of record `index`.
    public func offset(ofRecord index: UInt64) -> UInt64 {
        UInt64(headerLength) + index * UInt64(recordLength)
    }

    /// How many records precede the tail of an archive of `archiveLength`
    /// bytes: the records that are known to be full and not last because
    /// more than a record and a trailer follow them. The tail (at most one
    /// record and the trailer) holds the last record and the trailer, which
    /// ``ArchiveDecoder/lastRecordLength(inTail:recordsBefore:)`` separates.
    /// A streaming reader draws the same line: it checks a record as
    /// not-last only once more than a trailer's bytes follow it.
    public func recordsBeforeTail(archiveLength: UInt64) -> UInt64 {
        guard archiveLength > UInt64(headerLength) else { return 0 }
        let rest = archiveLength - UInt64(headerLength)
        guard rest > UInt64(trailerLength) else { return 0 }
        return (rest - UInt64(trailerLength) - 1) / UInt64(recordLength)
    }
}
