import Foundation

/// The small files the tool is given to read (recipients and signers
/// lists, checksum files, chain state, the keyring's records and logs,
/// inventories): read whole, bounded, from a regular file or standard
/// input, never blocking on a FIFO or reading a device forever.
public enum TextFile {
    /// Reads `path` (`-`: standard input, when `allowStandardInput`).
    ///
    /// - Parameters:
    ///   - what: how the file is named in messages, e.g. "recipients file".
    ///   - limit: larger files are refused rather than held in memory.
    ///   - code: the error code for a file that is not a regular file or
    ///     is too large (a key-like file: `.invalidKey`, exit 77).
    ///   - followLinks: false refuses a symbolic link (files inside a
    ///     directory the tool owns, such as the keyring).
    public static func read(_ path: String, what: String, limit: Int = 1 << 20, code: SealedArchiveError.Code = .io,
                            allowStandardInput: Bool = true, followLinks: Bool = true) throws -> [UInt8] {
        let name = path == "-" ? "\(what) (standard input)" : "\(what) '\(shownPath(path))'"
        let source: FileSource
        if path == "-" {
            guard allowStandardInput else { throw SealedArchiveError(.invalidArgument, "\(what) cannot be standard input ('-') here: give a file") }
            source = .standardInput()
        } else {
            let (fd, _) = try POSIX.openRegularFile(path, what: name, code: code, followLinks: followLinks)
            source = FileSource(owning: fd, name: name)
        }
        // In pieces, growing as the file does: a buffer of the whole limit
        // (64 MiB for the keyring's files) would be zero-filled, page by
        // page, for every small file read.
        var bytes: [UInt8] = []
        var piece = [UInt8](repeating: 0, count: min(limit + 1, 64 << 10))
        while bytes.count <= limit {
            let wanted = min(piece.count, limit + 1 - bytes.count)
            let count = try piece.withUnsafeMutableBytes { try source.readFully(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<wanted])) }
            bytes += piece[..<count]
            if count < wanted { break }
        }
        guard bytes.count <= limit else { throw SealedArchiveError(code, "\(name) is larger than \(limit) bytes: it is not a \(what)") }
        return bytes
    }

    /// As ``read(_:what:limit:code:allowStandardInput:)``, as UTF-8 text.
    public static func readText(_ path: String, what: String, limit: Int = 1 << 20,
                                code: SealedArchiveError.Code = .io, allowStandardInput: Bool = true) throws -> String {
        let bytes = try read(path, what: what, limit: limit, code: code, allowStandardInput: allowStandardInput)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SealedArchiveError(code, "\(what) '\(shownPath(path))' is not UTF-8 text")
        }
        return text
    }
}

/// The lines of a text file: a line ends at LF or CRLF alike, a last line
/// without a newline counts, and a leading UTF-8 byte-order mark is skipped. Every parser of a line-based file uses
/// this, so a file edited on Windows reads the same as one from Unix.
public enum TextLines {
    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// The lines of `bytes`, without their endings. A lone CR inside a line
    /// is kept (the line's parser then refuses it).
    public static func split<C: BidirectionalCollection>(_ bytes: C) -> [C.SubSequence] where C.Element == UInt8 {
        var lines: [C.SubSequence] = []
        var start = bytes.startIndex
        // A byte-order mark, as some Windows editors write, is not text.
        if bytes.starts(with: byteOrderMark) { start = bytes.index(start, offsetBy: byteOrderMark.count) }
        while start != bytes.endIndex {
            let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n"))
            var end = newline ?? bytes.endIndex
            if end != start, bytes[bytes.index(before: end)] == UInt8(ascii: "\r") { end = bytes.index(before: end) }
            lines.append(bytes[start..<end])
            guard let newline else { break }
            start = bytes.index(after: newline)
        }
        return lines
    }

    /// The lines of `bytes` with their 1-based numbers, for messages that
    /// name a line.
    public static func numbered(_ bytes: [UInt8]) -> [(number: Int, bytes: ArraySlice<UInt8>)] {
        split(bytes).enumerated().map { ($0.offset + 1, $0.element) }
    }

    /// The lines of `text` (split by bytes, not by `Character`: in Swift
    /// "\r\n" is one character, which a split on "\n" never finds).
    public static func split(_ text: String) -> [String] {
        split(Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }
}
