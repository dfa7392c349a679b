// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "SealedArchive",
    // No `platforms:` line: the package builds and is tested on Linux
    // (Debian, glibc) only. Sources/SystemCalls is its one system-call layer
    // and imports Glibc; nothing here has been built on macOS.
    products: [
        .library(name: "SealedArchive", targets: ["SealedArchive"]),
        .library(name: "SealedArchiveFormat", targets: ["SealedArchiveFormat"]),
        .executable(name: "sealed-archive", targets: ["sealed-archive"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // X-Wing (ML-KEM-768 + X25519) for post-quantum recipients
        // (Spec/FORMAT-v2.md 3.1), reached only through
        // Sources/SealedArchiveFormat/PostQuantum/XWing.swift.
        .package(url: "https://github.com/apple/swift-crypto", "4.5.2"..<"5.0.0"),
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
        // zstd frames of the version 2 tar payload (Spec/FORMAT-v2.md
        // section 8), reached only through Sources/SealedArchive/Payload/Zstd.swift.
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // Calls glibc cannot export to Swift (`syncfs`), for SystemCalls only.
        .target(name: "CSystemShim"),
        // The one system-call layer: the only Swift code that imports Glibc.
        .target(name: "SystemCalls", dependencies: ["CSystemShim"]),
        // The format core: keys, header, stanzas, records, trailer, key
        // schedule. No IO and no threads, so fuzzers and a seekable format
        // can drive it with bytes they hold.
        .target(
            name: "SealedArchiveFormat",
            dependencies: ["CSodium", "CLibCrypto", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "SealedArchive",
            dependencies: ["SealedArchiveFormat", "CSodium", "CArchive", "CLibCrypto", "CZstd", "SystemCalls"]
        ),
        .executableTarget(
            name: "sealed-archive",
            dependencies: [
                "SealedArchive",
                "KeyRotation",
                "SystemCalls",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Writes Spec/vectors/: `swift run generate-vectors Spec/vectors`.
        .executableTarget(
            name: "generate-vectors",
            dependencies: ["SealedArchive", "TestSupport"],
            path: "Tools/generate-vectors"
        ),
        .target(name: "KeyRotation", dependencies: ["SealedArchive", "SystemCalls"]),
        // What every test target shares: the test tiers and external tools,
        // the seeded generator, SHA-256 and hex, the vectors' schema. No
        // Swift Testing in it, so the fuzz targets' seed writers use it too,
        // and only the format core, so the core's own tests use it without
        // the IO library.
        .target(name: "TestSupport", dependencies: ["SealedArchiveFormat"], path: "Tests/TestSupport"),
        .testTarget(name: "SealedArchiveTests", dependencies: ["SealedArchive", "SystemCalls", "TestSupport"]),
        // Fast tests of the format core alone, through its own API (the
        // IO library is not a dependency, so they cannot reach it).
        .testTarget(name: "SealedArchiveFormatTests", dependencies: ["SealedArchiveFormat", "TestSupport"]),
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
    let fuzzTargets = ["fuzz-header", "fuzz-archive", "fuzz-keys", "fuzz-lists", "fuzz-paper", "fuzz-keyring", "fuzz-tar-policy", "fuzz-payload"]
    package.targets.append(.target(name: "FuzzSupport", dependencies: ["TestSupport"], path: "Fuzz/FuzzSupport"))
    for name in fuzzTargets {
        package.targets.append(.executableTarget(
            name: name, dependencies: ["FuzzSupport", "SealedArchiveFormat", "SealedArchive", "KeyRotation"], path: "Fuzz/\(name)"))
        package.products.append(.executable(name: name, targets: [name]))
    }
}
