import SealedArchiveFormat

/// One entry of the entry index (Spec/FORMAT-v2.md section 8.1): a tar
/// member as libarchive reads it.
///
///     entry = u8(type) || u16(path_length) || path || u64(size) || u32(mode)
///             || i64(mtime) || u16(link_length) || link || u64(header_offset)
///             || sha256 (32 bytes)
struct IndexEntry: Equatable, Sendable {
    enum Kind: UInt8, Sendable {
        /// Tar type `0`, NUL, `7`.
        case regular = 1
        /// Tar type `5`.
        case directory = 2
        /// Tar type `2`.
        case symbolicLink = 3
        /// Tar type `1`.
        case hardLink = 4
        /// A device, a FIFO: listed, never extracted.
        case other = 5
    }

    var kind: Kind
    /// Raw bytes, no terminator, 1 to 65535 bytes.
    var path: [UInt8]
    /// A regular file's size, 0 for every other type.
    var size: UInt64
    /// The tar mode & 0o7777.
    var mode: UInt32
    /// Seconds, the floor of a fractional pax time.
    var mtime: Int64
    /// Empty unless a symbolic or hard link, then 1 to 65535 bytes.
    var link: [UInt8]
    /// The offset of the member's first header block in the tar stream.
    var headerOffset: UInt64
    /// Of a regular file's content; 32 zero bytes otherwise.
    var sha256: [UInt8]

    static let maxNameLength = 65535
    /// The shortest entry: one-byte path, no link.
    static let minLength = 1 + 2 + 1 + 8 + 4 + 8 + 2 + 8 + 32

    func serialize(into bytes: inout [UInt8]) {
        bytes.append(kind.rawValue)
        bytes.appendLittleEndian(UInt16(truncatingIfNeeded: path.count))
        bytes.append(contentsOf: path)
        bytes.appendLittleEndian(size)
        bytes.appendLittleEndian(mode)
        bytes.appendLittleEndian(mtime)
        bytes.appendLittleEndian(UInt16(truncatingIfNeeded: link.count))
        bytes.append(contentsOf: link)
        bytes.appendLittleEndian(headerOffset)
        bytes.append(contentsOf: sha256)
    }

    /// The length of the entry the bytes start with, read from its two
    /// length fields; nil while `bytes` ends before the entry does.
    static func length(at bytes: UnsafeRawBufferPointer) -> Int? {
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        guard bytes.count >= 3 else { return nil }
        let linkLengthAt = 3 + u16(1) + 8 + 4 + 8
        guard bytes.count >= linkLengthAt + 2 else { return nil }
        let length = linkLengthAt + 2 + u16(linkLengthAt) + 8 + SHA256.length
        return bytes.count >= length ? length : nil
    }

    /// The rules of 8.1 an entry can break on its own, plus its order after
    /// the previous entry's `header_offset` [`damaged`].
    func check(after previous: UInt64?) throws {
        func damaged(_ why: String) -> SealedArchiveError {
            SealedArchiveError(.damaged, "entry index: an entry \(why)")
        }
        guard (1...Self.maxNameLength).contains(path.count) else { throw damaged("has a path of \(path.count) bytes") }
        switch kind {
        case .symbolicLink, .hardLink:
            guard (1...Self.maxNameLength).contains(link.count) else { throw damaged("is a link with a target of \(link.count) bytes") }
        default:
            guard link.isEmpty else { throw damaged("has a link target but is not a link") }
        }
        guard kind == .regular || size == 0 else { throw damaged("has a size but is not a regular file") }
        guard mode & ~0o7777 == 0 else { throw damaged("has mode bits above 0o7777") }
        guard sha256.count == SHA256.length else { throw damaged("has a SHA-256 of \(sha256.count) bytes") }
        guard kind == .regular || sha256.allSatisfy({ $0 == 0 }) else { throw damaged("has a SHA-256 but is not a regular file") }
        guard headerOffset % 512 == 0 else { throw damaged("has a header offset that is not a multiple of 512") }
        if let previous, headerOffset <= previous { throw damaged("has a header offset not after the previous entry's") }
    }
}

extension IndexEntry {
    /// Parses exactly one entry (`bytes` as long as ``length(at:)`` says),
    /// refusing an unknown type [`damaged`]; the rules of ``check(after:)``
    /// are the caller's.
    init(parsing bytes: UnsafeRawBufferPointer) throws {
        func damaged(_ why: String) -> SealedArchiveError { SealedArchiveError(.damaged, "entry index: \(why)") }
        var reader = ByteReader(bytes, failure: { damaged("it is cut short") })
        guard let kind = Kind(rawValue: try reader.u8()) else { throw damaged("an entry has an unknown type") }
        let path = try reader.bytes(Int(try reader.u16()))
        let size = try reader.u64()
        let mode = try reader.u32()
        let mtime = Int64(bitPattern: try reader.u64())
        let link = try reader.bytes(Int(try reader.u16()))
        let headerOffset = try reader.u64()
        let sha256 = try reader.bytes(SHA256.length)
        guard reader.remaining == 0 else { throw damaged("an entry is longer than its fields") }
        self.init(kind: kind, path: path, size: size, mode: mode, mtime: mtime, link: link, headerOffset: headerOffset, sha256: sha256)
    }
}
