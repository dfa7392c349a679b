/// Re-wrapping: moving an archive onto new recipient keys without
/// re-encrypting its payload (Spec/FORMAT.md section 12); the archive keeps
/// its format version (a version 1 archive is re-wrapped as version 1).
///
/// The file key is unwrapped with an old identity and wrapped anew to each
/// new recipient; the header (and its MAC), the digest, the trailer and the
/// signature are made anew; every record is checked, opened, and copied
/// byte for byte. The payload therefore still proves it comes from the
/// original sealing (only the file key's holders could have made chunks that
/// open), while the signature now vouches for the re-wrapper. A file key
/// that may have leaked (a compromised identity) is not fixed by this:
/// re-encrypt the payload instead.
public enum Rewrap {
    /// Reads the archive from `reader` (unlocked with an old identity) and
    /// writes the re-wrapped archive to `sink`, if `origin` admits the
    /// original: with trusted signers, an original that is unsigned, signed
    /// by another key or outside its signer's window is refused before
    /// anything is written, and one whose signature does not verify fails
    /// before the new trailer is written (the sink is then not to be kept).
    /// Post-quantum and classical recipients together are refused unless
    /// `allowMixedRecipients` (``RecipientMix``).
    public static func rewrap(_ reader: UnlockedArchiveReader, origin: RewrapOrigin, to recipients: [Recipient], signingKey: SigningKey,
                              allowMixedRecipients: Bool = false, into sink: ByteSink) throws -> SealResult {
        try RecipientMix.check(recipients, allowed: allowMixedRecipients)
        try ArchiveEncoder.checkRecipients(recipients, version: reader.header.version)
        try origin.admit(reader.header)
        let original = reader.unlocked
        var unique: [Recipient] = []
        for recipient in recipients where !unique.contains(recipient) { unique.append(recipient) }
        guard (1...FormatV1.maximumRecipients).contains(unique.count) else {
            throw SealedArchiveError(.invalidArgument, "an archive needs 1 to \(FormatV1.maximumRecipients) recipients; \(unique.count) given")
        }
        let encoder = try ArchiveEncoder(rewrapping: original, to: unique, signingKey: signingKey)

        var written: UInt64 = 0
        func emit(_ bytes: UnsafeRawBufferPointer) throws {
            try sink.write(bytes)
            written += UInt64(bytes.count)
        }
        try encoder.headerBytes.withUnsafeBytes { try emit($0) }
        // The records are the original's, checked and opened by the reader,
        // copied byte for byte: their hashes do not depend on the header, so
        // (version 2) the segments the encoder makes are the original's too.
        let result = try reader.forEachRecord { record, checked, _ in
            try emit(record)
            let segment = try encoder.append(checked)
            try segment.withUnsafeBytes { try emit($0) }
        }
        let (trailer, finalDigest) = try encoder.finish()
        try trailer.withUnsafeBytes { try emit($0) }
        return SealResult(header: encoder.header, chunkCount: result.chunkCount, plaintextLength: result.plaintextLength,
                          archiveLength: written, digest: finalDigest)
    }
}
