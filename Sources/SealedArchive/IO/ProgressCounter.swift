import Synchronization

/// How far a long operation has got, in bytes: what it has processed and
/// what it expects to process in all. The operation counts from whichever
/// thread does the work; a display samples it from another (the CLI's
/// `--progress`). Counting is one relaxed atomic add per read of up to
/// a few MiB, so an operation pays nothing noticeable for being watched.
///
/// The total is what the operation announced before it started (the sizes
/// of the files it will read); it stays unknown when any input has no size
/// (a pipe), and then a display shows bytes and rate without an end.
public final class ProgressCounter: Sendable {
    private let done = Atomic<UInt64>(0)
    private let expected = Atomic<UInt64>(0)
    private let unknownTotal = Atomic<Bool>(false)

    public init() {}

    /// Bytes processed so far.
    public var completed: UInt64 { done.load(ordering: .relaxed) }

    /// The bytes expected in all, or nil when some input's size is unknown.
    public var total: UInt64? { unknownTotal.load(ordering: .relaxed) ? nil : expected.load(ordering: .relaxed) }

    /// Counts `bytes` as processed.
    public func add(_ bytes: Int) {
        if bytes > 0 { done.wrappingAdd(UInt64(bytes), ordering: .relaxed) }
    }

    /// Announces `bytes` more to process; nil: an input of unknown size,
    /// which makes the total unknown.
    public func expect(_ bytes: UInt64?) {
        guard let bytes else {
            unknownTotal.store(true, ordering: .relaxed)
            return
        }
        expected.wrappingAdd(bytes, ordering: .relaxed)
    }

    /// Announces the size of the file at `path` (nil for standard input or
    /// anything but a regular file: not known in advance).
    public func expect(sizeOf path: String) {
        expect(path == "-" ? nil : POSIX.regularFileSize(path).map { UInt64($0) })
    }
}

/// A source that counts what it reads into a ``ProgressCounter``.
public final class CountingSource: ByteSource {
    private let base: ByteSource
    private let progress: ProgressCounter

    public init(_ base: ByteSource, into progress: ProgressCounter) {
        self.base = base
        self.progress = progress
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try base.read(into: buffer)
        progress.add(n)
        return n
    }
}

extension CountingSource {
    /// `source` counting into `progress`, which is first told the size of
    /// the file at `path` (unknown for standard input, `-`); without
    /// `progress`, `source` itself.
    public static func counting(_ source: ByteSource, path: String, into progress: ProgressCounter?) -> ByteSource {
        guard let progress else { return source }
        progress.expect(sizeOf: path)
        return CountingSource(source, into: progress)
    }
}
