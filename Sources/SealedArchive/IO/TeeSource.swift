/// A source that writes every byte it hands out to a sink as well.
final class TeeSource: ByteSource {
    private let source: ByteSource
    private let sink: ByteSink

    init(_ source: ByteSource, copyingTo sink: ByteSink) {
        self.source = source
        self.sink = sink
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try source.read(into: buffer)
        if n > 0 { try sink.write(UnsafeRawBufferPointer(rebasing: buffer[..<n])) }
        return n
    }
}
