import Foundation
import FuzzSupport
@testable import SealedArchive

// Paper-key import. A key that imports exports again to text that imports
// to the same key line.

func bytes(_ secure: SecureBytes) -> [UInt8] { secure.withUnsafeBytes { Array($0) } }

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: OpaquePointer?, _ argv: OpaquePointer?) -> Int32 {
    Fuzz.writeSeedsIfAsked { vectors in
        var seeds: [(name: String, bytes: [UInt8])] = []
        var lines = try Fuzz.vectorStrings(vectors, field: "identities")
        let seed = try SecureBytes(count: 32) { $0.initializeMemory(as: UInt8.self, repeating: 7) }
        lines.append(String(decoding: bytes(try SigningKey(seed: seed).encoded()), as: UTF8.self))
        for (index, line) in lines.enumerated() {
            let key = try Array(line.utf8).withUnsafeBytes { try SecureBytes(copying: $0) }
            seeds.append(("paper-\(index)", bytes(try PaperKey.export(key, title: ["public key: example", "created: 2026-01-01"]))))
        }
        return seeds
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = Fuzz.bytes(data, size)
    let key: SecureBytes
    do {
        key = try input.withUnsafeBytes { try PaperKey.import($0) }
    } catch is SealedArchiveError {
        return 0
    } catch {
        Fuzz.check(false, "paper import threw a non-SealedArchiveError: \(error)")
        return 0
    }
    do {
        let text = try PaperKey.export(key, title: ["fuzz"])
        let again = try text.withUnsafeBytes { try PaperKey.import($0) }
        Fuzz.check(bytes(again) == bytes(key), "exported paper key imports to another key")
    } catch {
        Fuzz.check(false, "an imported key does not export and import again: \(error)")
    }
    _ = try? KeyFiles.parseSecretKeyLine(key)
    return 0
}
