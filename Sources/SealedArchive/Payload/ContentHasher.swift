import SealedArchiveFormat

/// The SHA-256 of a tar member's content as libarchive hands it out: blocks
/// at increasing offsets, holes of a sparse file read as zeros, and the
/// content ends at the member's size. The index's `sha256` (FORMAT-v2.md
/// 8.1) and the manifest check hash the same bytes.
final class ContentHasher {
    private let hash: SHA256
    private let size: Int64
    private let path: [UInt8]
    private(set) var hashed: Int64 = 0
    private static let zeros = [UInt8](repeating: 0, count: 1 << 16)

    init(size: Int64, path: [UInt8]) throws {
        hash = try SHA256()
        self.size = size
        self.path = path
    }

    /// Adds a block at `offset` in the content, after zeros for any hole
    /// before it; `countZeros` sees each run of hole bytes (a size limit).
    func add(_ block: UnsafeRawBufferPointer, at offset: Int64, countZeros: (Int) throws -> Void = { _ in }) throws {
        // A map going backwards or overlapping would write one thing to disk
        // and hash another; one past the size fails only at restore.
        guard offset >= hashed else {
            throw EntryPolicy.refuse(path, "its sparse map goes back to byte \(offset) after data up to byte \(hashed)")
        }
        let (end, overflow) = offset.addingReportingOverflow(Int64(block.count))
        guard !overflow, end <= size else {
            throw EntryPolicy.refuse(path, "its data reaches past its size of \(size) bytes (a sparse block at byte \(offset))")
        }
        try zeros(upTo: offset, countZeros)
        hash.update(block)
        hashed = end
    }

    /// Zeros up to the size (a trailing hole), then the digest.
    func finish(countZeros: (Int) throws -> Void = { _ in }) throws -> [UInt8] {
        try zeros(upTo: size, countZeros)
        return hash.finalize()
    }

    private func zeros(upTo end: Int64, _ count: (Int) throws -> Void) throws {
        while hashed < end {
            let n = Int(min(Int64(Self.zeros.count), end - hashed))
            Self.zeros.withUnsafeBytes { hash.update(UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            hashed += Int64(n)
            try count(n)
        }
    }
}
