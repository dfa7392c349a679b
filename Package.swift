// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "SealedArchive",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "SealedArchive", targets: ["SealedArchive"]),
        .executable(name: "sealed-archive", targets: ["sealed-archive"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .systemLibrary(
            name: "CArchive",
            pkgConfig: "libarchive",
            providers: [.apt(["libarchive-dev"])]
        ),
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "SealedArchive",
            dependencies: ["CSodium", "CArchive", "CLibCrypto"]
        ),
        .executableTarget(
            name: "sealed-archive",
            dependencies: [
                "SealedArchive",
                "KeyRotation",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Writes Spec/vectors/: `swift run generate-vectors Spec/vectors`.
        .executableTarget(
            name: "generate-vectors",
            dependencies: ["SealedArchive"],
            path: "Tools/generate-vectors"
        ),
        .target(name: "KeyRotation", dependencies: ["SealedArchive"]),
        // What every test target shares: the test tiers and external tools,
        // the seeded generator, SHA-256 and hex, the vectors' schema. No
        // Swift Testing in it, so the fuzz targets' seed writers use it too.
        .target(name: "TestSupport", dependencies: ["SealedArchive"], path: "Tests/TestSupport"),
        .testTarget(name: "SealedArchiveTests", dependencies: ["SealedArchive", "TestSupport"]),
        .testTarget(name: "KeyRotationTests", dependencies: ["KeyRotation", "SealedArchive", "TestSupport"]),
        // End-to-end tests run the built `sealed-archive` binary.
        .testTarget(
            name: "CLITests",
            dependencies: ["sealed-archive", "SealedArchive", "TestSupport"]
        ),
    ]
)

// libFuzzer targets over the parsers (Fuzz/, Tools/fuzz.sh). Declared only
// when SEALED_ARCHIVE_FUZZ=1, so `swift build` and `swift test` never see
// them: they link only with `--sanitize=fuzzer` (libFuzzer supplies main).
if Context.environment["SEALED_ARCHIVE_FUZZ"] == "1" {
    let fuzzTargets = ["fuzz-header", "fuzz-archive", "fuzz-keys", "fuzz-lists", "fuzz-paper", "fuzz-keyring", "fuzz-tar-policy"]
    package.targets.append(.target(name: "FuzzSupport", dependencies: ["TestSupport"], path: "Fuzz/FuzzSupport"))
    for name in fuzzTargets {
        package.targets.append(.executableTarget(
            name: name, dependencies: ["FuzzSupport", "SealedArchive", "KeyRotation"], path: "Fuzz/\(name)"))
        package.products.append(.executable(name: name, targets: [name]))
    }
}
