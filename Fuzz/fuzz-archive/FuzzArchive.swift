import Foundation
import FuzzSupport
import SealedArchiveFormat
import SealedArchive

// A whole archive of either format version through the format core (ArchiveImage over ArchiveDecoder,
// UnlockedArchive, RecordAccumulator): header, unlock with the identities of
// the committed vectors (Spec/vectors/*.json), every record and the trailer,
// keyless and decrypting, then every record again by index, last first.
// Invariants: whatever the decrypting pass accepts the keyless one accepts
// too (it checks a subset); records opened by index give the in-order
// plaintext; and the streaming ArchiveReader reaches the same outcome as the
// core on the same bytes.

let identities: [Identity] = [
    // Spec/vectors: the test identities (public test vectors, not secrets).
    "AGE-SECRET-KEY-1ENK0N38PWRYH3PQ3HMVY57SYFHMN3K36T7NAQK64PL4PY606A5TQ9SE9Z3",
    "AGE-SECRET-KEY-1SGLUQWF20AA524R27EPWW9082ES3FFHWWRC39V9N72XKV9TEE8JSXAYK2D",
    "AGE-SECRET-KEY-1TSH734HT90U8RGSC5TMHQ507EDCTKLHPXRDR3MT5CNW9YS9345ZSY3NZHR",
    // Spec/vectors/v2: the identity of the version 2 vectors.
    "AGE-SECRET-KEY-1VAD396LEE697WPXDEUTQJWAE7GCH8LTDQTR7WCC6G3UQALCDL6WSM8LKWX",
    // Spec/vectors/pq: the X25519 and the two post-quantum identities.
    "AGE-SECRET-KEY-1T4QN90AQWR0L07F27JH84DS6FQ6S5NQRPYUPSN5ASHM8WGRC4V5S3WP8FG",
    "AGE-SECRET-KEY-PQ-1E2EUA84URKGU6L23TERQK8Y39T6S6DWDA04H7MMHT4KW63N7WCESET78DP",
    "AGE-SECRET-KEY-PQ-1SJ8DDC4GRATJ2D78Z82KWV5RE0GENEG4S7P0CZVVK84GHZ45L2NS8YQ9KJ",
].map { text in Array(text.utf8).withUnsafeBytes { try! Identity(parsing: $0) } }

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: OpaquePointer?, _ argv: OpaquePointer?) -> Int32 {
    Fuzz.writeSeedsIfAsked { vectors in
        // Both versions' vectors (Spec/vectors, Spec/vectors/v2 and the
        // post-quantum Spec/vectors/pq).
        try (Fuzz.vectorFiles(vectors, ext: "sarc") + Fuzz.vectorFiles(vectors.appendingPathComponent("v2"), ext: "sarc")
             + Fuzz.vectorFiles(vectors.appendingPathComponent("pq"), ext: "sarc")).compactMap { file in
            let bytes = [UInt8](try Data(contentsOf: file))
            // Archives up to a few chunks; the big ones only slow the run.
            return bytes.count <= 64 * 1024 ? (file.lastPathComponent, bytes) : nil
        }
    }
    return 0
}

/// The outcome of `body`: nil for success, the code of a SealedArchiveError;
/// anything else stops the run.
func outcome(_ what: String, _ body: () throws -> Void) -> SealedArchiveError.Code? {
    do {
        try body()
        return nil
    } catch let error as SealedArchiveError {
        return error.code
    } catch {
        Fuzz.check(false, "\(what) threw a non-SealedArchiveError: \(error)")
        return nil
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Fuzz.bytes(data, size)
    let keyless = outcome("keyless core") { _ = try ArchiveImage(bytes).read() }
    var plaintext: [UInt8] = []
    var image: ArchiveImage?
    var unlocked: UnlockedArchive?
    let decrypting = outcome("decrypting core") {
        image = try ArchiveImage(bytes)
        unlocked = try image!.decoder.unlock(with: identities)
        _ = try image!.read(with: unlocked) { plaintext.append(contentsOf: $0) }
    }
    if decrypting == nil {
        Fuzz.check(keyless == nil, "the decrypting core accepts an archive the keyless core refuses (\(String(describing: keyless)))")
    }
    if decrypting == nil, let image, let unlocked {
        // Every record again, by index and last first.
        _ = outcome("by-index core") {
            let count = try image.recordCount()
            var pieces = [[UInt8]](repeating: [], count: Int(count))
            var buffer = [UInt8](repeating: 0, count: min(image.header.chunkSize, bytes.count))
            for index in (0..<count).reversed() {
                let checked = try buffer.withUnsafeMutableBytes { try image.open(record: index, with: unlocked, into: $0) }
                pieces[Int(index)] = Array(buffer[..<checked.plaintextLength])
            }
            Fuzz.check(Array(pieces.joined()) == plaintext, "records opened by index differ from the in-order plaintext")
        }
    }
    let stream = outcome("stream reader") {
        let reader = try ArchiveReader(source: MemorySource(bytes)).unlock(with: identities)
        _ = try reader.decrypt(into: MemorySink())
    }
    Fuzz.check(stream == decrypting, "stream reader \(String(describing: stream)) but core \(String(describing: decrypting))")
    return 0
}
