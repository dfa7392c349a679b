import SealedArchiveFormat

/// The lead of an archive: its header and, when a version 2 header names
/// a signer, the header signature after it (FORMAT-v2.md check 9), read in
/// the steps the format allows and no further: the fixed prefix (which
/// gives the header's length), the header (which says whether a signature
/// follows), then the signature. Both readers start here: the streaming
/// ``ArchiveReader`` and the ``SeekableArchiveReader``.
enum ArchiveLead {
    /// Reads the lead through `next`, which returns the following `count`
    /// bytes, fewer only where the input ends (the decoder then names what
    /// is missing).
    static func read(_ next: (_ count: Int) throws -> [UInt8]) throws -> (bytes: [UInt8], header: ArchiveHeader) {
        var bytes = try next(ArchiveDecoder.prefixLength)
        let length = try bytes.withUnsafeBytes { try ArchiveDecoder.headerLength(fromPrefix: $0) }
        bytes += try next(length - bytes.count)
        let header = try ArchiveHeader(parsing: bytes)
        if header.leadLength > bytes.count {
            bytes += try next(header.leadLength - bytes.count)
        }
        return (bytes, header)
    }
}
