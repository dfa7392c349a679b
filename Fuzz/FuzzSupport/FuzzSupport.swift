import Foundation
import TestSupport

/// What every fuzz target shares: the input as bytes, the invariant check
/// that stops the run (libFuzzer saves the input), and seed writing.
public enum Fuzz {
    /// The input libFuzzer hands over, as an array.
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// An invariant: when it does not hold the target crashes, and libFuzzer
    /// keeps the input as a crash.
    public static func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                             file: StaticString = #fileID, line: UInt = #line) {
        if !condition() { fatalError("fuzz invariant failed: \(message())", file: file, line: line) }
    }

    /// Called from `LLVMFuzzerInitialize`: when `SEALED_FUZZ_WRITE_SEEDS`
    /// names a directory, writes the seeds `make` builds (reading vectors
    /// from `SEALED_FUZZ_VECTORS`, default `Spec/vectors`) there and exits.
    /// Tools/fuzz.sh does this before fuzzing, so no corpus is committed.
    public static func writeSeedsIfAsked(_ make: (_ vectors: URL) throws -> [(name: String, bytes: [UInt8])]) {
        guard let directory = ProcessInfo.processInfo.environment["SEALED_FUZZ_WRITE_SEEDS"] else { return }
        let vectors = URL(fileURLWithPath: ProcessInfo.processInfo.environment["SEALED_FUZZ_VECTORS"] ?? "Spec/vectors")
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let seeds = try make(vectors)
            for seed in seeds {
                try Data(seed.bytes).write(to: URL(fileURLWithPath: directory).appendingPathComponent("seed-" + seed.name))
            }
            FileHandle.standardError.write(Data("wrote \(seeds.count) seeds to \(directory)\n".utf8))
            // _exit: no leak report at exit for Foundation's caches.
            _exit(0)
        } catch {
            FileHandle.standardError.write(Data("cannot write seeds: \(error)\n".utf8))
            _exit(1)
        }
    }

    /// The files of the vectors directory with this extension, sorted.
    public static func vectorFiles(_ vectors: URL, ext: String) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: vectors, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == ext }.sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// Every distinct string of `field` (`identities` or `signers`) in the
    /// vectors, read through TestSupport's one vector schema.
    public static func vectorStrings(_ vectors: URL, field: String) throws -> [String] {
        switch field {
        case "identities": return try TestVector.identityLines(in: vectors)
        case "signers": return try TestVector.signerKeys(in: vectors)
        default: throw CocoaError(.coderInvalidValue, userInfo: [NSDebugDescriptionErrorKey: "vectors have no string list \(field)"])
        }
    }
}
