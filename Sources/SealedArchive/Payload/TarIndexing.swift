import SealedArchiveFormat

/// Index entries made from a tar stream as libarchive reads it: the same
/// reader extraction uses, so the entries a sealer stores and those a
/// reader of the whole payload derives to check them agree by construction
/// (Spec/FORMAT-v2.md 8.1).
enum TarIndexing {
    /// Reads the tar stream in `source` and calls `body` with each member's
    /// index entry (header offset, content SHA-256), in tar order; then
    /// reads `source` to its end, so whatever follows the end-of-archive
    /// marker is read too (through a ``TeeSource``, copied), and must be
    /// zeros, or `refusal` is thrown (`damaged` for an archive, `payload`
    /// for an input to seal). Runs in the UTF-8 locale, as extraction does.
    static func forEachEntry(in source: ByteSource, subject: String = "the archive's",
                             refusal: SealedArchiveError = Restore.dataAfterEnd,
                             hashing: Bool = true, _ body: (IndexEntry) throws -> Void) throws {
        try UTF8Locale.run {
            let tar = try TarStreamReader(source: source, subject: subject, decompressing: false)
            while let entry = try tar.next() {
                var sha256: [UInt8]?
                if entry.kind == .file && hashing {
                    let content = try ContentHasher(size: entry.size, path: entry.path)
                    while let block = try tar.nextBlock() { try content.add(block.bytes, at: block.offset) }
                    sha256 = try content.finish()
                }
                try body(IndexEntry(entry, sha256: sha256))
            }
            try tar.requireOnlyZerosAfterEnd(of: source, orThrow: refusal)
            try tar.close()
        }
    }

    /// `seal` of a tar stream (plain or zstd-compressed) in format 2: its
    /// tar bytes are kept, its compression is not (FORMAT-v2.md section 8).
    /// The tar is decompressed and passed on byte for byte to `payload`,
    /// which frames and compresses it, and parsed on the way for the index.
    /// One pass; memory bounded by libarchive's buffers and the writer's
    /// batch. A tar libarchive cannot read, or whose members the index
    /// cannot describe, is refused (`payload`). The caller finishes
    /// `payload`; returns the number of members.
    static func reframe(_ source: ByteSource, into payload: FramedPayloadWriter) throws -> Int {
        let decompressed = try TarStreamReader(source: source, raw: true, subject: "the input")
        guard try decompressed.next() != nil else { throw SealedArchiveError(.payload, "the input tar stream is empty") }
        var members = 0
        try forEachEntry(in: TeeSource(RawBlockSource(decompressed), copyingTo: payload), subject: "the input",
                         refusal: inputDataAfterEnd) { entry in
            do {
                try payload.append(entry)
            } catch let error as SealedArchiveError where error.code == .invalidArgument {
                throw SealedArchiveError(.payload, "the input tar stream has a member the entry index cannot describe: \(error.message)")
            }
            members += 1
        }
        try decompressed.close()
        return members
    }

    /// `seal` of a tar stream in format 1, which keeps the input's bytes as
    /// they are (compressed or not): they go to `sink` as they come, and
    /// their tar is parsed on the way for format 2's input check (nothing
    /// but zeros after the end-of-archive marker), without hashing. A tar
    /// libarchive cannot read is refused (`payload`).
    static func copyCheckingTar(_ source: ByteSource, into sink: ByteSink) throws {
        let tee = TeeSource(source, copyingTo: sink)
        let decompressed = try TarStreamReader(source: tee, raw: true, subject: "the input")
        guard try decompressed.next() != nil else { throw SealedArchiveError(.payload, "the input tar stream is empty") }
        try forEachEntry(in: RawBlockSource(decompressed), subject: "the input", refusal: inputDataAfterEnd, hashing: false) { _ in }
        try decompressed.close()
        // Whatever the decompressor left unread (a zstd frame's end) is
        // sealed too.
        try tee.readToEnd()
    }

    /// Anything but zeros after an input tar's end-of-archive marker: every
    /// reader stops at the marker, so it would be sealed and never restored.
    static let inputDataAfterEnd = SealedArchiveError(.payload,
        "the input has data after the end of its tar (two tar files joined with cat?): no reader would restore it, so nothing was sealed; unpack the tars and seal the directory, or join them with 'tar -A'")
}
