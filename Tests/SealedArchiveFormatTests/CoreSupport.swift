import Foundation
import SealedArchiveFormat

/// The code of the SealedArchiveError `body` throws, nil when it returns.
func errorCode(_ body: () throws -> Void) -> SealedArchiveError.Code? {
    do { try body(); return nil } catch let error as SealedArchiveError { return error.code } catch { return SealedArchiveError.Code(rawValue: "foreign: \(error)") }
}

/// The SealedArchiveError `body` throws, nil when it returns.
func thrown(_ body: () throws -> Void) -> SealedArchiveError? {
    do { try body(); return nil } catch { return error as? SealedArchiveError }
}

func deterministicBytes(_ count: Int, seed: UInt8 = 7) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) }
}

/// Seals `plaintext` through the core encoder alone, chunk by chunk,
/// sealing the chunks in reverse index order to show the encoder does not
/// care in which order chunks are sealed, only in which they are appended.
func encode(_ plaintext: [UInt8], to recipients: [Recipient], signedBy key: SigningKey? = nil,
            chunkSizeLog2: Int = 12, label: String? = nil, sequence: UInt64? = nil) throws -> (archive: [UInt8], digest: [UInt8]) {
    let encoder = try ArchiveEncoder(recipients: recipients, signingKey: key, chunkSizeLog2: chunkSizeLog2,
                                     payloadKind: .bytes, compression: .none, created: 1_795_900_000,
                                     label: label, sequence: sequence)
    let chunkSize = 1 << chunkSizeLog2
    let count = max(1, (plaintext.count + chunkSize - 1) / chunkSize)
    var records = [[UInt8]](repeating: [], count: count)
    var checked = [CheckedRecord?](repeating: nil, count: count)
    for index in (0..<count).reversed() {
        let chunk = Array(plaintext[min(plaintext.count, index * chunkSize)..<min(plaintext.count, (index + 1) * chunkSize)])
        var record = [UInt8](repeating: 0, count: ArchiveEncoder.recordLength(plaintextLength: chunk.count))
        checked[index] = try chunk.withUnsafeBytes { input in
            try record.withUnsafeMutableBytes { try encoder.seal(input, index: UInt64(index), isLast: index == count - 1, into: $0) }
        }
        records[index] = record
    }
    for record in checked { _ = try encoder.append(record!) }
    let (trailer, digest) = try encoder.finish()
    return (encoder.headerBytes + records.joined() + trailer, digest)
}

/// The plaintext of `image`, read in order through the core.
func decode(_ image: ArchiveImage, with unlocked: UnlockedArchive?) throws -> (plaintext: [UInt8], result: ReadResult) {
    var plaintext: [UInt8] = []
    let result = try image.read(with: unlocked) { plaintext.append(contentsOf: $0) }
    return (plaintext, result)
}
