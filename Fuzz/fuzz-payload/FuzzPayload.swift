import Foundation
import FuzzSupport
@testable import SealedArchive
import TestSupport

// The format 2 tar payload (Spec/FORMAT-v2.md section 8) as an attacker who
// holds the file key writes it: the input is a whole payload. It goes
// through the seeking reader (footer, seek table, index, every frame) and
// the streaming reader (frames in order, then index and seek frames); the
// entry index parser also gets the raw input. Invariants: errors are typed
// and `damaged` or `limit` (never a crash or another class), an index that
// parses serialises back to the same bytes, and when both readers accept
// the payload they yield the same tar. A payload the seeking reader
// accepts then has entries restored by its index (`open --only` without
// the disk): checked against the index, or refused with a typed error.

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

/// A payload of a real tar (files, a directory, links, a manifest), in
/// frames of 2 KiB, so the partial restore has members to read.
func realTarPayload(_ compression: PayloadCompression) throws -> [UInt8] {
    let env = Array("SECRET=1\n".utf8)
    let tar = ustar([
        TarMember(name: "MANIFEST.sha256", kind: .file, content: Array("\(sha256Hex(env))  d/env\n".utf8)),
        TarMember(name: "d/", kind: .directory),
        TarMember(name: "d/env", kind: .file, content: env),
        TarMember(name: "d/big", kind: .file, content: Array(repeating: 0x5A, count: 5000)),
        TarMember(name: "d/hard", kind: .hardLink, link: "d/env"),
        TarMember(name: "d/soft", kind: .symbolicLink, link: "env"),
    ])
    let sink = MemorySink()
    _ = try TarPayload.frame(MemorySource(tar), into: sink, compression: compression, frameSize: 2048)
    return sink.bytes
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: OpaquePointer?, _ argv: OpaquePointer?) -> Int32 {
    Fuzz.writeSeedsIfAsked { _ in
        [("zstd", try payload(.zstd(level: 1))), ("raw", try payload(.none)),
         ("tar-zstd", try realTarPayload(.zstd(level: 1))), ("tar-raw", try realTarPayload(.none))]
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

/// A few entries restored by the index, checked but not written: an entry
/// either matches the index or is refused with an error of the classes a
/// hostile payload can cause.
func restoreByIndex(_ payload: SeekablePayload) {
    var paths: [[UInt8]] = []
    do {
        try payload.forEachIndexEntry { entry in
            if paths.count < 4, let path = try? EntryPolicy.normalize(entry.path) { paths.append(path) }
        }
    } catch {
        Fuzz.check(false, "an index that was checked whole failed a second read: \(error)")
    }
    for path in Set(paths) {
        var options = RestoreOptions()
        options.only = [String(decoding: path, as: UTF8.self)]
        // A name that is not UTF-8 does not round-trip through String.
        guard options.only![0].utf8.elementsEqual(path) else { continue }
        do {
            _ = try Restore.readEntries(of: payload, options: options, staging: nil, cancellation: Cancellation(), inputBytes: { 1 << 20 })
        } catch let error as SealedArchiveError {
            let allowed: [SealedArchiveError.Code] = [.damaged, .limit, .unsafeEntry, .manifest]
            Fuzz.check(allowed.contains(error.code), "restore by the index threw \(error.code.rawValue): \(error.message)")
        } catch {
            Fuzz.check(false, "restore by the index threw a foreign error: \(error)")
        }
        // `open --only FILE -o -`: the file's content, exactly its size, or
        // a refusal (a directory or link is a usage error).
        let sink = CountingSink()
        do {
            let summary = try Restore.readEntries(of: payload, options: options, staging: nil, contentSink: sink,
                                                  cancellation: Cancellation(), inputBytes: { 1 << 20 })
            Fuzz.check(UInt64(sink.count) == summary.contentBytes, "-o wrote \(sink.count) bytes of a \(summary.contentBytes)-byte file")
        } catch let error as SealedArchiveError {
            let allowed: [SealedArchiveError.Code] = [.damaged, .limit, .unsafeEntry, .manifest, .invalidArgument]
            Fuzz.check(allowed.contains(error.code), "-o by the index threw \(error.code.rawValue): \(error.message)")
        } catch {
            Fuzz.check(false, "-o by the index threw a foreign error: \(error)")
        }
    }
}

/// Counts what it is given and keeps none of it (a sparse entry may
/// declare a gigabyte of holes).
final class CountingSink: ByteSink {
    private(set) var count = 0
    func write(_ bytes: UnsafeRawBufferPointer) throws { count += bytes.count }
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
        restoreByIndex(seekable)
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
