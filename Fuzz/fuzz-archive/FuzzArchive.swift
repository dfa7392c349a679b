import Foundation
import FuzzSupport
@testable import SealedArchive

// A whole archive through the reader: header, unlock with the identities of
// the committed vectors (Spec/vectors/*.json), every record and the trailer,
// keyless (`verify`) and decrypting. Whatever the decrypting reader accepts
// the keyless one accepts too (it checks a subset).

let identities: [Identity] = [
    // Spec/vectors: the test identities (public test vectors, not secrets).
    "AGE-SECRET-KEY-1ENK0N38PWRYH3PQ3HMVY57SYFHMN3K36T7NAQK64PL4PY606A5TQ9SE9Z3",
    "AGE-SECRET-KEY-1SGLUQWF20AA524R27EPWW9082ES3FFHWWRC39V9N72XKV9TEE8JSXAYK2D",
    "AGE-SECRET-KEY-1TSH734HT90U8RGSC5TMHQ507EDCTKLHPXRDR3MT5CNW9YS9345ZSY3NZHR",
].map { text in Array(text.utf8).withUnsafeBytes { try! Identity(parsing: $0) } }

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: OpaquePointer?, _ argv: OpaquePointer?) -> Int32 {
    Fuzz.writeSeedsIfAsked { vectors in
        try Fuzz.vectorFiles(vectors, ext: "sarc").compactMap { file in
            let bytes = [UInt8](try Data(contentsOf: file))
            // Archives up to a few chunks; the big ones only slow the run.
            return bytes.count <= 64 * 1024 ? (file.lastPathComponent, bytes) : nil
        }
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = Fuzz.bytes(data, size)
    var keylessOK = false
    do {
        let reader = try ArchiveReader(source: MemorySource(bytes))
        _ = try reader.verify()
        keylessOK = true
    } catch is SealedArchiveError {
    } catch {
        Fuzz.check(false, "keyless reader threw a non-SealedArchiveError: \(error)")
    }
    do {
        let reader = try ArchiveReader(source: MemorySource(bytes))
        try reader.unlock(with: identities)
        let sink = MemorySink()
        _ = try reader.decrypt(into: sink)
        Fuzz.check(keylessOK, "the decrypting reader accepts an archive the keyless reader refuses")
    } catch is SealedArchiveError {
    } catch {
        Fuzz.check(false, "decrypting reader threw a non-SealedArchiveError: \(error)")
    }
    return 0
}
