/// A tar stream as format 2's tar payload (Spec/FORMAT-v2.md section 8),
/// unencrypted: what `seal` encrypts for a tar input, for tools that build
/// archives from their own tar (and for the spec's vectors).
public enum TarPayload {
    /// Frames hold at most 1 MiB of tar (FORMAT-v2.md section 10).
    public static let defaultFrameSize = 1 << 20

    /// Reads the tar stream in `tar` (plain or zstd-compressed), keeps its
    /// tar bytes, and writes them to `sink` as zstd frames (raw blocks with
    /// `compression` none) of at most `frameSize` bytes of tar, then the
    /// entry index and the seek table. Returns the number of members. A tar
    /// libarchive cannot read through is refused (`payload`).
    public static func frame(_ tar: ByteSource, into sink: ByteSink, compression: TarCompression = .default,
                             frameSize: Int = TarPayload.defaultFrameSize) throws -> Int {
        let payload = try FramedPayloadWriter(sink: sink, compression: compression, frameSize: frameSize,
                                              memberCut: min(FramedPayloadWriter.defaultMemberCut, frameSize))
        let members = try TarIndexing.reframe(tar, into: payload)
        try payload.finish()
        return members
    }
}
