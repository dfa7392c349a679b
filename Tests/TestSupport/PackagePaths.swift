import Foundation

/// Where the package's files are, found from this file's path
/// (Tests/TestSupport/PackagePaths.swift), so tests find Spec/ and
/// Tests/Fixtures/ whatever the working directory.
public enum PackagePaths {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Spec/vectors: the format's test vectors.
    public static let vectors = root.appendingPathComponent("Spec/vectors", isDirectory: true)

    /// Tests/Fixtures.
    public static let fixtures = root.appendingPathComponent("Tests/Fixtures", isDirectory: true)
}
