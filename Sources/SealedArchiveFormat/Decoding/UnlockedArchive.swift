/// An archive whose file key was opened and whose header authenticated:
/// the only type that decrypts records. ``ArchiveDecoder/unlock(with:)``
/// makes it, so nothing can decrypt before the header is authenticated.
///
/// Holds the key schedule in secure memory; safe to share between the
/// threads of one batch (opening a record changes no state).
public final class UnlockedArchive: Sendable {
    public let decoder: ArchiveDecoder
    /// The key id of the identity that opened the archive.
    public let keyID: KeyID
    package let keys: KeySchedule

    public var header: ArchiveHeader { decoder.header }

    package init(decoder: ArchiveDecoder, keys: KeySchedule, keyID: KeyID) {
        self.decoder = decoder
        self.keys = keys
        self.keyID = keyID
    }

    /// Checks record `index` (its hash, check 12; in version 2 computes it)
    /// and decrypts it under the version's payload key into
    /// `plaintext`, which must hold ``CheckedRecord/plaintextLength`` bytes
    /// (a chunk, at most). Only the caller's buffer ever holds plaintext.
    public func open(record: UnsafeRawBufferPointer, index: UInt64, isLast: Bool,
                     into plaintext: UnsafeMutableRawBufferPointer) throws -> CheckedRecord {
        let checked = try decoder.check(record: record, index: index, isLast: isLast)
        guard plaintext.count >= checked.plaintextLength else {
            throw SealedArchiveError(.invalidArgument,
                "a buffer of \(plaintext.count) bytes cannot hold chunk \(index) (\(checked.plaintextLength) bytes)")
        }
        // Version 1 stores the hash after the ciphertext; version 2 does not.
        let hashLength = header.version == .v1 ? FormatV1.recordHashLength : 0
        let ciphertext = UnsafeRawBufferPointer(rebasing: record[..<(record.count - hashLength)])
        let output = UnsafeMutableRawBufferPointer(rebasing: plaintext[..<checked.plaintextLength])
        let opened = Records.nonce(index: index, last: isLast).withUnsafeBytes {
            keys.cipher.open(ciphertext, nonce: $0, into: output)
        }
        guard opened else {
            let position = decoder.layout.offset(ofRecord: index)
            throw SealedArchiveError(.damaged,
                "chunk \(index) (archive bytes \(position)–\(position + UInt64(record.count) - 1)) does not authenticate: it is forged")
        }
        return CheckedRecord(index: index, isLast: isLast, hash: checked.hash, storedLength: checked.storedLength, opened: true,
                             version: checked.version)
    }
}
