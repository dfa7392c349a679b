import Foundation

/// Something bytes are read from: a file, a pipe, standard input, memory.
public protocol ByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes into `buffer`; returns 0 only at the
    /// end of the input.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// Something bytes are written to.
public protocol ByteSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

extension ByteSource {
    /// Reads until `buffer` is full or the input ends; returns the count read.
    public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if n == 0 { break }
            filled += n
        }
        return filled
    }

    /// Reads to the end of the input, handing each piece to `body`.
    func readToEnd(_ body: (UnsafeRawBufferPointer) throws -> Void = { _ in }) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try read(into: buffer)
            if n == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        }
    }
}

/// A byte source reading a file descriptor: an opened file or standard input.
public final class FileSource: ByteSource {
    private let fd: Int32
    private let ownsDescriptor: Bool
    /// How the source is named in error messages.
    public let name: String

    /// Opens `path` for reading; `-` is standard input.
    public init(path: String) throws {
        if path == "-" {
            fd = 0; ownsDescriptor = false; name = "standard input"
        } else {
            fd = try POSIX.open(path, flags: O_RDONLY, what: "'\(path)'")
            ownsDescriptor = true; name = "'\(path)'"
            let info = try POSIX.status(fd, what: name)
            if info.st_mode & S_IFMT == S_IFDIR {
                POSIX.close(fd)
                throw SealedArchiveError(.io, "\(name) is a directory, not a file")
            }
        }
    }

    /// Standard input.
    public static func standardInput() -> FileSource { FileSource(borrowing: 0, name: "standard input") }

    private init(borrowing fd: Int32, name: String) {
        self.fd = fd; self.ownsDescriptor = false; self.name = name
    }

    /// Reads an already opened descriptor, closing it when released.
    init(owning fd: Int32, name: String) {
        self.fd = fd; self.ownsDescriptor = true; self.name = name
    }

    deinit { if ownsDescriptor { POSIX.close(fd) } }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try POSIX.read(fd, into: buffer, what: name)
    }

    /// Whether this source is a terminal (so a person would be typing into it).
    public var isTerminal: Bool { POSIX.isTerminal(fd) }
}

/// A byte source over bytes in memory.
public final class MemorySource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - offset)
        bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + n])) }
        offset += n
        return n
    }
}

/// A byte sink collecting bytes in memory.
public final class MemorySink: ByteSink {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public func write(_ bytes: UnsafeRawBufferPointer) throws { self.bytes.append(contentsOf: bytes) }
}

/// A sink that discards what it is given (verification without output).
public final class DiscardingSink: ByteSink {
    public init() {}
    public func write(_ bytes: UnsafeRawBufferPointer) throws {}
}
