// swift-tools-version: 6.0
import PackageDescription

#if os(Linux)
let blasDependency: [Target.Dependency] = ["CBLAS"]
#else
let blasDependency: [Target.Dependency] = []
#endif

let package = Package(
    name: "swift-gpt-sovits",
    platforms: [.macOS(.v14), .iOS(.v17)],
    products: [
        .executable(name: "gpt-sovits", targets: ["GSVCLI"]),
        .library(name: "GSVTensor", targets: ["GSVTensor"]),
        .library(name: "GSVWeights", targets: ["GSVWeights"]),
        .library(name: "GSVNN", targets: ["GSVNN"]),
        .library(name: "GSVAudio", targets: ["GSVAudio"]),
        .library(name: "GSVText", targets: ["GSVText"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(
            name: "GSVTensor",
            dependencies: blasDependency,
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .target(name: "GSVWeights", dependencies: ["GSVTensor"]),
        .target(name: "GSVNN", dependencies: ["GSVTensor"]),
        .target(
            name: "GSVAudio",
            dependencies: ["GSVTensor", .product(name: "Logging", package: "swift-log")]
        ),
        .target(name: "GSVText", resources: [.copy("Resources")]),
        .executableTarget(
            name: "GSVCLI",
            dependencies: [
                "GSVTensor", "GSVWeights", "GSVNN", "GSVAudio", "GSVText",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Locates Tests/Fixtures or the folder named by GSV_FIXTURES; used by tests only.
        .target(name: "GSVTestSupport", path: "Sources/GSVTestSupport"),
        .testTarget(name: "GSVTensorTests", dependencies: ["GSVTensor"]),
        .testTarget(name: "GSVWeightsTests", dependencies: ["GSVWeights", "GSVTestSupport"]),
        .testTarget(name: "GSVNNTests", dependencies: ["GSVNN"]),
        .testTarget(name: "GSVAudioTests", dependencies: ["GSVAudio", "GSVWeights", "GSVTestSupport"]),
        .testTarget(name: "GSVTextTests", dependencies: ["GSVText", "GSVTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
