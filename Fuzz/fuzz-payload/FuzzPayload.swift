import Foundation
import FuzzSupport
@testable import SealedArchive

// The format 2 tar payload (Spec/FORMAT-v2.md section 8) as an attacker who
// holds the file key writes it: the input is a whole payload. It goes
// through the seeking reader (footer, seek table, index, every frame) and
// the streaming reader (frames in order, then index and seek frames); the
// entry index parser also gets the raw input. Invariants: errors are typed
// and `damaged` or `limit` (never a crash or another class), an index that
// parses serialises back to the same bytes, and when both readers accept
// the payload they yield the same tar.

/// A small real payload: two members' worth of tar in frames cut at a
/// member mark, an index of two entries, both compressions.
func payload(_ compression: PayloadCompression) throws -> [UInt8] {
    let sink = MemorySink()
    let writer = try FramedPayloadWriter(sink: sink, compression: compression)
    let first = [UInt8](repeating: 0x61, count: 1536)
    try writer.memberStarts()
    try first.withUnsafeBytes { try writer.write($0) }
    try writer.append(IndexEntry(kind: .regular, path: Array("a".utf8), size: 1, mode: 0o644, mtime: 0, link: [],
                                 headerOffset: 0, sha256: [UInt8](repeating: 1, count: 32)))
    try writer.memberStarts()
    let second = [UInt8](repeating: 0, count: 2048)
    try second.withUnsafeBytes { try writer.write($0) }
    try writer.append(IndexEntry(kind: .directory, path: Array("d/".utf8), size: 0, mode: 0o755, mtime: -1, link: [],
                                 headerOffset: 1536, sha256: [UInt8](repeating: 0, count: 32)))
    try writer.finish()
    return sink.bytes
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: OpaquePointer?, _ argv: OpaquePointer?) -> Int32 {
    Fuzz.writeSeedsIfAsked { _ in
        [("zstd", try payload(.zstd(level: 1))), ("raw", try payload(.none))]
    }
    return 0
}

func expectDataError(_ error: any Error, _ what: String) {
    guard let error = error as? SealedArchiveError else {
        Fuzz.check(false, "\(what) threw a foreign error: \(error)")
        return
    }
    Fuzz.check(error.code == .damaged || error.code == .limit, "\(what) threw \(error.code.rawValue): \(error.message)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = Fuzz.bytes(data, size)

    do {
        let index = try input.withUnsafeBytes { try EntryIndex(parsing: $0) }
        Fuzz.check(index.serialize() == input, "an entry index that parses does not serialise to the same bytes")
    } catch {
        expectDataError(error, "EntryIndex(parsing:)")
    }

    var seekableTar: [UInt8]?
    do {
        let seekable = try SeekablePayload(payloadLength: UInt64(input.count), maxIndexLength: 1 << 20) { offset, count in
            guard offset <= UInt64(input.count), count <= input.count - Int(offset) else {
                throw SealedArchiveError(.damaged, "read past the payload")
            }
            return Array(input[Int(offset)..<Int(offset) + count])
        }
        var tar: [UInt8] = []
        for k in 0..<seekable.frameCount { tar += try seekable.frame(k) }
        Fuzz.check(UInt64(tar.count) == seekable.tarLength, "frames do not add up to the seek table's tar length")
        seekableTar = tar
    } catch {
        expectDataError(error, "SeekablePayload")
    }

    do {
        let reader = try FramedPayloadReader(source: MemorySource(input), parallelFrames: 2)
        var tar: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
            if n == 0 { break }
            tar += buffer[..<n]
        }
        let summary = try reader.finish()
        Fuzz.check(UInt64(tar.count) == summary.tarLength, "streamed tar length differs from the summary")
        if let seekableTar {
            Fuzz.check(seekableTar == tar, "the seeking and the streaming reader yield different tars")
        }
    } catch {
        expectDataError(error, "FramedPayloadReader")
    }
    return 0
}
