/// The single entry of a libarchive raw-format reader (a decompressed
/// stream) as a byte source.
final class RawBlockSource: ByteSource {
    private let reader: TarStreamReader
    private var block: UnsafeRawBufferPointer?
    private var offset = 0
    private var ended = false

    init(_ reader: TarStreamReader) { self.reader = reader }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while !ended {
            if let block, offset < block.count {
                let n = min(buffer.count, block.count - offset)
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: block[offset..<offset + n]))
                offset += n
                return n
            }
            if let next = try reader.nextBlock() { (block, offset) = (next.bytes, 0) } else { ended = true }
        }
        return 0
    }
}
