import Foundation
@testable import SealedArchive
import TestSupport

// Sealing, opening and verifying in memory, for the library's tests. What
// every test target shares (random bytes, SHA-256, vectors) is in the
// TestSupport target.

/// A source that hands out at most `step` bytes per read, as a pipe does.
final class TricklingSource: ByteSource {
    private let bytes: [UInt8]
    private let step: Int
    private var offset = 0
    init(_ bytes: [UInt8], step: Int) { self.bytes = bytes; self.step = step }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(step, buffer.count, bytes.count - offset)
        bytes.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + n])) }
        offset += n
        return n
    }
}

let fixedDate = Date(timeIntervalSince1970: 1_795_900_000)

/// Seals `plaintext` in memory.
func sealInMemory(_ plaintext: [UInt8], to recipients: [Recipient], signedBy key: SigningKey? = nil,
                  chunkSizeLog2: Int = 12, configure: (inout SealOptions) -> Void = { _ in }) throws -> (archive: [UInt8], result: SealResult) {
    var options = SealOptions(created: fixedDate)
    options.chunkSizeLog2 = chunkSizeLog2
    configure(&options)
    let sink = MemorySink()
    let writer = try ArchiveWriter(sink: sink, recipients: recipients, signingKey: key, options: options)
    try plaintext.withUnsafeBytes { try writer.write($0) }
    let result = try writer.finish()
    return (sink.bytes, result)
}

/// Opens an archive in memory.
func openInMemory(_ archive: [UInt8], with identities: [Identity], signers: [SignerKey]? = nil,
                  step: Int = 1 << 20) throws -> [UInt8] {
    let reader = try ArchiveReader(source: TricklingSource(archive, step: step), requiredSigners: signers).unlock(with: identities)
    let sink = MemorySink()
    _ = try reader.decrypt(into: sink)
    return sink.bytes
}

/// Keyless verification in memory.
func verifyInMemory(_ archive: [UInt8], signers: [SignerKey]? = nil) throws -> ReadResult {
    try ArchiveReader(source: MemorySource(archive), requiredSigners: signers).verify()
}

/// The error code `body` throws, or nil if it succeeds.
func errorCode(_ body: () throws -> Void) -> SealedArchiveError.Code? {
    do { try body(); return nil } catch let error as SealedArchiveError { return error.code } catch { return SealedArchiveError.Code(rawValue: "unexpected: \(error)") }
}
