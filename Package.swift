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
        .library(name: "GPTSoVITS", targets: ["GPTSoVITS"]),
        .library(name: "GSVTensor", targets: ["GSVTensor"]),
        .library(name: "GSVWeights", targets: ["GSVWeights"]),
        .library(name: "GSVNN", targets: ["GSVNN"]),
        .library(name: "GSVAudio", targets: ["GSVAudio"]),
        .library(name: "GSVText", targets: ["GSVText"]),
        .library(name: "GSVCore", targets: ["GSVCore"]),
        .library(name: "GSVModels", targets: ["GSVModels"]),
        .library(name: "GSVServer", targets: ["GSVServer"]),
        .library(name: "GSVTrain", targets: ["GSVTrain"]),
        .library(name: "GSVPrepare", targets: ["GSVPrepare"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // Tests only (GSVBrowserTesting speaks WebDriver with it): already in the graph through HummingbirdTesting.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.30.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // fp16 kernels with F16C/AVX2/FMA behind a run-time CPU check (GSVTensor falls back to Swift SIMD).
        .target(name: "GSVKernels", cSettings: [.unsafeFlags(["-O2"])]),
        .target(
            name: "GSVTensor",
            dependencies: blasDependency + ["GSVKernels"],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        // Vocabulary every layer shares (the model version); no dependencies.
        .target(name: "GSVCore"),
        .target(name: "GSVWeights", dependencies: ["GSVCore", "GSVTensor"]),
        .target(name: "GSVNN", dependencies: ["GSVTensor", "GSVWeights"]),
        .target(
            name: "GSVAudio",
            dependencies: ["GSVTensor", .product(name: "Logging", package: "swift-log")]
        ),
        .target(name: "GSVText", dependencies: ["GSVCore"], resources: [.copy("Resources")]),
        .target(
            name: "GSVModels",
            dependencies: ["GSVTensor", "GSVKernels", "GSVNN", "GSVWeights", "GSVText", .product(name: "Logging", package: "swift-log")],
            resources: [.copy("Resources")]  // vad/silero_vad.safetensors (Silero VAD, MIT)
        ),
        .target(
            name: "GPTSoVITS",
            dependencies: ["GSVCore", "GSVModels", "GSVText", "GSVAudio", .product(name: "Logging", package: "swift-log")]
        ),
        // `gpt-sovits bench`: the pipeline benchmark over GPTSoVITS.SynthesisTask's stage methods.
        .target(name: "GSVBench", dependencies: ["GPTSoVITS", "GSVModels", "GSVTensor", "GSVAudio", "GSVText"]),
        .target(
            name: "GSVTrain",
            dependencies: ["GSVTensor", "GSVNN", "GSVWeights", "GSVModels", "GSVAudio", "GSVText",
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        // Dataset preparation: extract, slice, VAD, transcribe, the .list and its review, formatting.
        .target(
            name: "GSVPrepare",
            dependencies: [
                "GPTSoVITS", "GSVModels", "GSVAudio", "GSVText", "GSVWeights", "GSVTensor",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "GSVServer",
            dependencies: [
                "GPTSoVITS", "GSVModels", "GSVAudio", "GSVText", "GSVPrepare", "GSVWeights", "GSVTrain",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // The studio's page files (plain HTML/CSS/JS, served as they are).
            resources: [.copy("Studio/Resources")]
        ),
        .executableTarget(
            name: "GSVCLI",
            dependencies: [
                "GPTSoVITS", "GSVBench", "GSVServer", "GSVPrepare", "GSVCore", "GSVModels", "GSVTensor", "GSVWeights", "GSVNN", "GSVAudio", "GSVText", "GSVTrain",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Locates Tests/Fixtures or the folder named by GSV_FIXTURES; used by tests only.
        .target(name: "GSVTestSupport", path: "Sources/GSVTestSupport"),
        .testTarget(name: "GSVCoreTests", dependencies: ["GSVCore"]),
        // Drives a headless Chromium through chromedriver (WebDriver) for page tests; tests only.
        .target(name: "GSVBrowserTesting", dependencies: ["GSVTestSupport", .product(name: "AsyncHTTPClient", package: "async-http-client")]),
        .testTarget(name: "GSVTensorTests", dependencies: ["GSVTensor", "GSVKernels"]),
        .testTarget(name: "GSVWeightsTests", dependencies: ["GSVWeights", "GSVTestSupport"]),
        .testTarget(name: "GSVNNTests", dependencies: ["GSVNN", "GSVWeights", "GSVTestSupport"]),
        .testTarget(name: "GSVAudioTests", dependencies: ["GSVAudio", "GSVWeights", "GSVTestSupport"], exclude: ["KaldiFbankCases"]),
        .testTarget(name: "GSVTextTests", dependencies: ["GSVText", "GSVTestSupport"]),
        .testTarget(name: "GSVBenchTests", dependencies: ["GSVBench", "GPTSoVITS", "GSVModels", "GSVTensor", "GSVTestSupport"]),
        .testTarget(name: "GPTSoVITSTests", dependencies: ["GPTSoVITS", "GSVWeights", "GSVAudio", "GSVText", "GSVTestSupport"], exclude: ["hf_test_server.py"]),
        .testTarget(
            name: "GSVServerTests",
            dependencies: [
                "GSVServer", "GSVTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(name: "GSVTrainTests", dependencies: ["GSVTrain", "GSVTensor", "GSVWeights", "GSVModels", "GSVTestSupport"]),
        .testTarget(name: "GSVBrowserTestingTests", dependencies: ["GSVBrowserTesting"]),
        .testTarget(
            name: "GSVStudioTests",
            dependencies: [
                "GSVServer", "GSVPrepare", "GSVTrain", "GSVTestSupport", "GSVBrowserTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(name: "GSVModelsTests", dependencies: ["GSVModels", "GSVNN", "GSVKernels", "GSVWeights", "GSVTestSupport"], exclude: ["SpeakerModelReruns"]),
        .testTarget(name: "GSVPrepareTests", dependencies: ["GSVPrepare", "GPTSoVITS", "GSVModels", "GSVAudio", "GSVWeights", "GSVTensor", "GSVTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
