import Foundation

/// One vector of Spec/vectors (`NAME.json` beside `NAME.sarc`), decoded by
/// the schema Tools/generate-vectors writes. The library's vector tests,
/// the CLI tests and the fuzz targets' seed writers all read vectors through
/// this one type.
public struct TestVector: Decodable, Sendable, CustomStringConvertible {
    public let name: String
    /// The archive's file name, in `directory`.
    public let archive: String
    /// Secret key lines (`AGE-SECRET-KEY-1…`) that may open it.
    public let identities: [String]
    /// Trusted signer keys (`sealsig1…`); empty: no signature required.
    public let signers: [String]
    /// `ok` or the error code opening with `identities` gives.
    public let expect: String
    /// `ok` or the error code keyless verification gives.
    public let keyless_expect: String
    public let plaintext_sha256: String?
    public let plaintext_length: Int?
    /// For a good format 2 tar payload: the SHA-256 of the tar it
    /// decompresses to. (A tar payload's `expect` includes the payload's
    /// own checks: frames, seek table, index against the tar,
    /// Spec/FORMAT-v2.md section 8.)
    public let tar_sha256: String?
    /// The directory the vector was read from.
    public var directory: URL = PackagePaths.vectors

    public var archiveURL: URL { directory.appendingPathComponent(archive) }
    /// The name, prefixed `extra/` when the vector is not one of the spec's.
    public var description: String {
        directory.standardizedFileURL == PackagePaths.vectors.standardizedFileURL ? name : "extra/\(name)"
    }

    enum CodingKeys: String, CodingKey {
        case name, archive, identities, signers, expect, keyless_expect, plaintext_sha256, plaintext_length, tar_sha256
    }

    /// Every vector in `directory` (its `.json` files, sorted by name).
    public static func load(in directory: URL = PackagePaths.vectors) throws -> [TestVector] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
        return try files.map {
            var vector = try JSONDecoder().decode(TestVector.self, from: Data(contentsOf: directory.appendingPathComponent($0)))
            vector.directory = directory
            return vector
        }
    }

    /// Every distinct identity line, then every distinct signer key, of the
    /// vectors in `directory`, in file order (seeds for key parsers).
    public static func identityLines(in directory: URL = PackagePaths.vectors) throws -> [String] {
        distinct(try load(in: directory).flatMap(\.identities))
    }

    public static func signerKeys(in directory: URL = PackagePaths.vectors) throws -> [String] {
        distinct(try load(in: directory).flatMap(\.signers))
    }

    private static func distinct(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }
}
