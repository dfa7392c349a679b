import Foundation

/// The bytes one ``Verifier`` run over an archive holds in batch buffers, so
/// ``WorkerPool`` can take them from the ``WorkBudget`` before it starts.
///
/// The header is read once more, here, because the chunk size decides the
/// buffers and the pool must decide before the reader allocates. If the file
/// changes in between, only this estimate is off, never a check. A file whose
/// header cannot be read (or that does not exist) is estimated small: its
/// verification fails at the header, before any batch buffer exists.
enum ReaderMemory {
    /// What a header that cannot be read is charged.
    static let unreadable = 64 << 10

    static func bytes(path: String, depth: VerificationDepth) -> Int {
        // Standard input, a FIFO or a device cannot be read twice (peeking
        // would take the header from the verification): charge a whole
        // budget, so such a reader runs beside nothing large.
        guard path != "-", let size = POSIX.regularFileSize(path) else {
            return path == "-" || FileManager.default.fileExists(atPath: path) ? WorkBudget.shared.capacity : unreadable
        }
        guard let source = try? FileSource(path: path),
              let header = try? ArchiveReader(source: source).header else { return unreadable }
        return bytes(header: header, depth: depth, archiveLength: size)
    }

    /// Buffers are allocated at full size but pages are touched only as far
    /// as the archive reaches, so a small archive costs its size.
    static func bytes(header: ArchiveHeader, depth: VerificationDepth, archiveLength: Int?) -> Int {
        let batch = Parallel.batchSize
        let touched = { (bytes: Int) in archiveLength.map { min(bytes, $0 + 1) } ?? bytes }
        // A quick check reads the header, the group table and the trailer.
        if depth == .quick { return header.leadLength + header.trailerLength + (64 << 10) }
        // RecordStream: a batch of records, the trailer and one byte; in
        // format 2 a segment and the group table's look-ahead as well.
        let segment = header.version == .v2 ? FormatV2.hashLength * header.groupSize : 0
        var total = touched(batch * header.recordLength + 2 * segment + header.trailerLength + 1)
        if depth == .deep {
            // RecordStream's plaintext batch.
            total += touched(batch * header.chunkSize)
            if header.payloadKind == .tar {
                // PlaintextSource's two batches, and libarchive with zstd.
                total += 2 * touched(batch * header.chunkSize) + (2 << 20)
                // Format 2: a batch of frames in and out, and the input
                // buffer of the frame reader.
                // (Frames of the reference encoder: 1 MiB of tar.)
                if header.version == .v2 { total += touched(batch * 2 * TarPayload.defaultFrameSize + FramedPayloadReader.readSize) }
            }
        }
        return total
    }
}
