/// Chunk sizes as operators write them (`1MiB`, `64KiB`, `65536`), checked
/// against the one range the format allows (``FormatV1``), so the CLI's
/// validation and the header parser cannot disagree about it.
public enum ChunkSize {
    /// The smallest and largest chunk size, as powers of two.
    public static var log2Range: ClosedRange<Int> { FormatV1.chunkSizeLog2Range }

    /// The default chunk size, as a power of two (1 MiB).
    public static var defaultLog2: Int { FormatV1.defaultChunkSizeLog2 }

    /// The power of two `text` names: a positive power of two, optionally
    /// followed by `K`/`KiB` or `M`/`MiB`, inside ``log2Range``.
    public static func parseLog2(_ text: String) throws -> Int {
        let units: [(String, Int)] = [("KiB", 10), ("MiB", 20), ("K", 10), ("M", 20), ("", 0)]
        for (suffix, shift) in units where text.hasSuffix(suffix) {
            guard let value = Int(text.dropLast(suffix.count)), value > 0, value & (value - 1) == 0 else { break }
            let log = value.trailingZeroBitCount + shift
            guard log2Range.contains(log) else { break }
            return log
        }
        throw SealedArchiveError(.invalidArgument,
            "chunk size '\(text)' must be a power of two from \(describe(log2: log2Range.lowerBound)) to \(describe(log2: log2Range.upperBound)), such as 64KiB or 1MiB")
    }

    /// `2^log2` bytes in the largest binary unit that divides it: `4KiB`, `16MiB`.
    public static func describe(log2: Int) -> String {
        if log2 >= 20 { return "\(1 << (log2 - 20))MiB" }
        if log2 >= 10 { return "\(1 << (log2 - 10))KiB" }
        return "\(1 << log2)"
    }
}
