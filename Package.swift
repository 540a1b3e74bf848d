// swift-tools-version:6.0
import Foundation
import PackageDescription

// Hot loops live in C targets built for the host CPU, as llama.cpp's
// GGML_NATIVE build does: Swift's default baseline (SSE2) is several times
// slower for quantized dot products. HYDRA_MARCH builds for another CPU
// kind instead (e.g. haswell: AVX2 without AVX-512, whose arithmetic an
// AVX-512 machine then runs too; use its own --scratch-path).
let march = ProcessInfo.processInfo.environment["HYDRA_MARCH"] ?? "native"
let nativeC: [CSetting] = [.unsafeFlags(["-O3", "-march=\(march)", "-fno-finite-math-only"])]

let package = Package(
    name: "hydra",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "hydra", targets: ["hydra"]),
        .library(name: "HydraCore", targets: ["HydraCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // System library: OpenBLAS (libopenblas-dev) for float matrix products.
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        // ICU (libicu-dev) behind a header that exposes no ICU types, so it
        // does not clash with the ICU that Foundation bundles.
        .target(
            name: "CICUShim",
            path: "Sources/CICUShim",
            linkerSettings: [.linkedLibrary("icuuc"), .linkedLibrary("icudata")]
        ),
        // Quantized block formats, dequantization and dot-product kernels.
        .target(
            name: "CHydraKernels",
            path: "Sources/CHydraKernels",
            exclude: ["README.md"],
            cSettings: nativeC,
            linkerSettings: [.linkedLibrary("pthread"), .linkedLibrary("m")]
        ),
        .target(
            name: "HydraCore",
            dependencies: [
                "CHydraKernels", "CICUShim", "COpenBLAS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/HydraCore",
            exclude: ["Daemon/PROTOCOL.md"]
        ),
        .executableTarget(
            name: "hydra",
            dependencies: [
                "HydraCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/hydra"
        ),
        .testTarget(
            name: "HydraCoreTests",
            dependencies: ["HydraCore"],
            path: "Tests/HydraCoreTests"
        ),
    ]
)
