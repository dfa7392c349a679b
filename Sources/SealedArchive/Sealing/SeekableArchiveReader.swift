import SealedArchiveFormat

/// A format 2 archive in a file, read at offsets (Spec/FORMAT-v2.md
/// section 7.1): the header and its signature (checks 1–9), then the tail
/// (the last record, its segment, the group table and the trailer), whose
/// digest and signature are verified before any record is used; after
/// that any record is authenticated by its segment alone. What `open
/// --list` and `open --only` read, and `verify --quick`.
///
/// What it proves is section 7.1's: each record it returns is exactly that
/// record of what the signer sealed (with a required signer), or of an
/// archive whose digest is intact; nothing about the records it does not
/// read. A version 1 archive has no group table: it is refused here
/// (`invalid-argument`), and callers read it as a stream.
public final class SeekableArchiveReader {
    public let header: ArchiveHeader
    public let decoder: ArchiveDecoder
    /// The group table and trailer, checked.
    public let table: VerifiedGroupTable
    let file: RandomAccessFile

    /// Reads and checks the header (and header signature), then the tail.
    /// `trustedSigners` as ``ArchiveReader``.
    public init(file: RandomAccessFile, trustedSigners: [TrustedSigner]? = nil) throws {
        self.file = file
        var offset: UInt64 = 0
        let (bytes, parsed) = try ArchiveLead.read { count in
            let piece = try file.read(at: offset, count: Int(min(UInt64(count), file.size - offset)))
            offset += UInt64(piece.count)
            return piece
        }
        guard parsed.version == .v2 else {
            throw SealedArchiveError(.invalidArgument, "a version \(parsed.version) archive has no group table to seek by: read it whole")
        }
        let decoder = try ArchiveDecoder(parsing: bytes, trustedSigners: trustedSigners)
        table = try Self.verifyTail(of: file, decoder: decoder)
        self.decoder = decoder
        header = decoder.header
    }

    /// Whether `file` starts as a format 2 archive: what this reader reads
    /// (anything else is read whole, which reports what is wrong with it).
    public static func startsAsVersion2(_ file: RandomAccessFile) throws -> Bool {
        guard file.size > 9 else { return false }
        let prefix = try file.read(at: 0, count: 9)
        return prefix.starts(with: FormatV1.magic) && prefix[8] == FormatVersion.v2.rawValue
    }

    /// Section 7.1 steps 1–3: from the group table and trailer alone when
    /// the file's length splits as a complete archive's does (a signature
    /// check that reads no record); otherwise from the whole tail, which
    /// names what is wrong (cut short, bytes appended, …).
    private static func verifyTail(of file: RandomAccessFile, decoder: ArchiveDecoder) throws -> VerifiedGroupTable {
        if let length = decoder.tableAndTrailerLength(archiveLength: file.size), UInt64(length) <= file.size,
           let table = try? file.read(at: file.size - UInt64(length), count: length).withUnsafeBytes({
               try decoder.verifyGroupTable(archiveLength: file.size, tableAndTrailer: $0)
           }) {
            return table
        }
        let layout = decoder.layout
        let tailStart = min(layout.offset(ofRecord: layout.recordsBeforeTail(archiveLength: file.size)), file.size)
        let tail = try file.read(at: tailStart, count: Int(file.size - tailStart))
        return try tail.withUnsafeBytes { try decoder.verifyGroupTable(archiveLength: file.size, tail: $0) }
    }

    /// Bytes of the file read so far.
    public var bytesRead: UInt64 { file.bytesRead }

    /// What the table and trailer establish, as a read's result: the count,
    /// the archive's length and its digest; nothing was decrypted.
    public var tableResult: ReadResult {
        ReadResult(header: header, chunkCount: table.recordCount, plaintextLength: plaintextLength,
                   archiveLength: file.size, digest: table.digest, decrypted: false)
    }

    /// The plaintext's length: every chunk full but the last.
    public var plaintextLength: UInt64 {
        (table.recordCount - 1) * UInt64(header.chunkSize) + UInt64(table.lastRecordLength - FormatV2.recordOverhead)
    }

    /// Opens the file key with an identity (checks 10–11), reading nothing.
    public func unlock(with identities: [Identity]) throws -> UnlockedSeekableArchive {
        UnlockedSeekableArchive(reader: self, unlocked: try decoder.unlock(with: identities))
    }
}

/// A ``SeekableArchiveReader`` whose file key is open: plaintext at any
/// offset, each record authenticated against its segment before it is
/// decrypted.
public final class UnlockedSeekableArchive {
    public let reader: SeekableArchiveReader
    /// The key that opened the archive.
    public var keyID: KeyID { unlocked.keyID }
    let unlocked: UnlockedArchive
    /// The last segment checked, kept: records of one group are usually
    /// read together.
    private var segment: (group: UInt64, hashes: [[UInt8]])?
    /// The last record opened and its plaintext (wiped when released):
    /// small reads (the footer, the index, a frame) mostly fall in one
    /// record, which is then read and decrypted once.
    private let chunk: UnsafeMutableRawBufferPointer
    private var cached: (index: UInt64, length: Int)?

    init(reader: SeekableArchiveReader, unlocked: UnlockedArchive) {
        self.reader = reader
        self.unlocked = unlocked
        chunk = .allocate(byteCount: reader.header.chunkSize, alignment: 64)
    }

    deinit {
        secureZero(chunk)
        chunk.deallocate()
    }

    public var header: ArchiveHeader { reader.header }
    public var plaintextLength: UInt64 { reader.plaintextLength }

    /// Exactly `count` bytes of plaintext at `offset`, from the records
    /// that hold them, each checked against its segment (which is checked
    /// against the verified group table) and then decrypted.
    public func read(plaintextAt offset: UInt64, count: Int) throws -> [UInt8] {
        let (end, overflow) = offset.addingReportingOverflow(UInt64(count))
        guard !overflow, end <= plaintextLength else {
            throw SealedArchiveError(.damaged, "plaintext bytes \(offset)–\(end) lie past the archive's \(plaintextLength)")
        }
        var output: [UInt8] = []
        output.reserveCapacity(count)
        let chunkSize = UInt64(header.chunkSize)
        var position = offset
        while position < end {
            let index = position / chunkSize
            let opened = try open(record: index)
            let from = Int(position - index * chunkSize)
            let to = min(opened, Int(end - index * chunkSize))
            guard from < to else {
                throw SealedArchiveError(.damaged, "chunk \(index) holds \(opened) bytes, fewer than its place in the plaintext needs")
            }
            output.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[from..<to]))
            position = index * chunkSize + UInt64(to)
        }
        return output
    }

    /// Authenticates record `index` by its segment and decrypts it into
    /// `chunk`; returns its plaintext length.
    private func open(record index: UInt64) throws -> Int {
        if let cached, cached.index == index { return cached.length }
        cached = nil
        let table = reader.table
        let group = index / UInt64(header.groupSize)
        let hashes: [[UInt8]]
        if let segment, segment.group == group {
            hashes = segment.hashes
        } else {
            let range = try table.segmentRange(group)
            let bytes = try reader.file.read(at: range.lowerBound, count: Int(range.count))
            hashes = try bytes.withUnsafeBytes { try table.checkSegment($0, group: group) }
            segment = (group, hashes)
        }
        let (range, isLast) = try table.recordRange(index)
        let record = try reader.file.read(at: range.lowerBound, count: Int(range.count))
        let length = try record.withUnsafeBytes { record in
            // The hash first: a record that is not the one sealed is never
            // decrypted.
            let checked = try reader.decoder.check(record: record, index: index, isLast: isLast)
            try table.authenticate(checked, segmentHashes: hashes)
            return try unlocked.open(record: record, index: index, isLast: isLast, into: chunk).plaintextLength
        }
        cached = (index, length)
        return length
    }
}
