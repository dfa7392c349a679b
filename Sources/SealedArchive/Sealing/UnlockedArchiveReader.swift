import Foundation

/// A streaming archive whose header an identity opened and authenticated
/// (Spec/FORMAT.md checks 9–11): made only by ``ArchiveReader/unlock(with:)``,
/// and the only reader type that decrypts. Decrypting "before unlock" is
/// thereby not a run-time error but code that does not compile.
///
/// It reads the stream of the ``ArchiveReader`` it came from, once: a second
/// pass (another `decrypt`, `plaintext`, or a `verify` on the locked reader)
/// throws `invalid-argument`.
public final class UnlockedArchiveReader {
    public let header: ArchiveHeader
    /// The key of the identity that opened the archive.
    public let keyID: KeyID
    /// The format core's unlocked archive: what opens each record.
    public let unlocked: UnlockedArchive
    /// Holds the stream, shared with the locked reader so either takes it
    /// once.
    private let reader: ArchiveReader

    init(reader: ArchiveReader, unlocked: UnlockedArchive) {
        self.reader = reader
        self.unlocked = unlocked
        header = reader.header
        keyID = unlocked.keyID
    }

    /// Decrypts every record into `sink`, checking everything on the way
    /// (checks 12–17). The sink receives plaintext as records authenticate;
    /// it is complete and genuine only if this returns.
    public func decrypt(into sink: ByteSink) throws -> ReadResult {
        let records = try RecordStream(source: reader.takeSource(), opener: .decrypting(unlocked))
        while let plaintext = try records.next() {
            if !plaintext.isEmpty { try sink.write(plaintext) }
        }
        return try records.finalResult()
    }

    /// The plaintext as a byte source that decrypts as it is read, for
    /// consumers that pull (libarchive's reader). Reading it to its end (a
    /// read returning 0) means every check passed; ``PlaintextSource/result``
    /// is then set. A failed check is thrown from `read(into:)`.
    public func plaintext() throws -> PlaintextSource {
        PlaintextSource(records: try RecordStream(source: reader.takeSource(), opener: .decrypting(unlocked)),
                        batchCapacity: Parallel.batchSize * header.chunkSize)
    }

    /// Every record, checked and opened, passed to `observer` in order with
    /// its check (and in version 2 the segment after it, checked, when it
    /// closes a group): re-wrapping copies them byte for byte.
    func forEachRecord(_ observer: @escaping (_ record: UnsafeRawBufferPointer, _ checked: CheckedRecord,
                                              _ segment: UnsafeRawBufferPointer) throws -> Void) throws -> ReadResult {
        let records = try RecordStream(source: reader.takeSource(), opener: .decrypting(unlocked))
        records.observer = observer
        return try records.drain()
    }
}
