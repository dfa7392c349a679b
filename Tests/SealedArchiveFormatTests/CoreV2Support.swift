import Foundation
import SealedArchiveFormat

/// A version 2 archive sealed through the core encoder alone, with the
/// offsets of its parts, so tests can tamper with one part precisely.
struct V2Archive {
    var bytes: [UInt8]
    let digest: [UInt8]
    /// Start of each record, its length, and where each segment lies.
    let records: [Range<Int>]
    let segments: [Range<Int>]
    let groupTable: Range<Int>
    let trailer: Range<Int>
    let lead: Int
    let chunks: [[UInt8]]
}

/// Seals `plaintext` as version 2 with 4 KiB chunks and groups of
/// `1 << groupSizeLog2` records (2 by default, so small archives cross
/// group boundaries), writing each segment when its group closes.
func encodeV2(_ plaintext: [UInt8], to recipients: [Recipient], signedBy key: SigningKey? = nil,
              chunkSizeLog2: Int = 12, groupSizeLog2: Int = 1, label: String? = nil) throws -> V2Archive {
    let encoder = try ArchiveEncoder(recipients: recipients, signingKey: key, chunkSizeLog2: chunkSizeLog2,
                                     payloadKind: .bytes, compression: .none, created: 1_795_900_000,
                                     label: label, version: .v2, groupSizeLog2: groupSizeLog2)
    let chunkSize = 1 << chunkSizeLog2
    let count = max(1, (plaintext.count + chunkSize - 1) / chunkSize)
    var out = encoder.headerBytes
    let lead = out.count
    var records: [Range<Int>] = [], segments: [Range<Int>] = [], chunks: [[UInt8]] = []
    for index in 0..<count {
        let chunk = Array(plaintext[min(plaintext.count, index * chunkSize)..<min(plaintext.count, (index + 1) * chunkSize)])
        chunks.append(chunk)
        var record = [UInt8](repeating: 0, count: encoder.storedLength(plaintextLength: chunk.count))
        let checked = try chunk.withUnsafeBytes { input in
            try record.withUnsafeMutableBytes { try encoder.seal(input, index: UInt64(index), isLast: index == count - 1, into: $0) }
        }
        records.append(out.count..<out.count + record.count)
        out += record
        let segment = try encoder.append(checked)
        if !segment.isEmpty {
            segments.append(out.count..<out.count + segment.count)
            out += segment
        }
    }
    let (end, digest) = try encoder.finish()
    let trailerLength = key == nil ? 48 : 112
    let tableStart = out.count
    out += end
    return V2Archive(bytes: out, digest: digest, records: records, segments: segments,
                     groupTable: tableStart..<(out.count - trailerLength), trailer: (out.count - trailerLength)..<out.count,
                     lead: lead, chunks: chunks)
}
