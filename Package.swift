// swift-tools-version:6.0
// Korean <-> English neural machine translation: an LSTM encoder-decoder with
// hand-written backpropagation over oneDNN's sgemm, and an ICU-based subword tokenizer.
import PackageDescription

/// Library code is always compiled with optimization, even in debug builds, so
/// that `swift test` runs the numeric kernels and the tokenizer at full speed.
/// (Tests and executables keep the configuration's own settings.)
let optimized: [SwiftSetting] = [.unsafeFlags(["-O"])]

let package = Package(
    name: "Seq2SeqKoEn",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "seq2seq", targets: ["seq2seq"]),
        .executable(name: "translate", targets: ["translate"]),
        .library(name: "Tokenize", targets: ["Tokenize"]),
        .library(name: "Seq2Seq", targets: ["Seq2Seq"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `seq2seq serve` only (the Serving target): HTTP server, logs, metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // `swift package generate-documentation` (DocC catalogs of Tokenize and Seq2Seq); a build plugin only.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // C shim over ICU (normalization, word breaking). Its public header uses
        // plain C types only; ICU headers are included by the .c file alone.
        .target(
            name: "CICU",
            linkerSettings: [.linkedLibrary("icuuc")]
        ),
        // C shim over Open MPI for `train --distributed`. It loads libmpi at run
        // time (dlopen), so seq2seq builds and runs where MPI is not installed.
        .target(
            name: "CMPI",
            linkerSettings: [.linkedLibrary("dl")]
        ),
        // Matrix products: oneDNN's sgemm (Debian libdnnl-dev; it picks its kernels by CPUID at
        // run time), run single-threaded per call (libgomp only for its thread setting).
        .target(
            name: "CMatrix",
            cSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary("gomp")]
        ),
        // Element-wise kernels compiled for AVX-512, AVX2 and baseline x86-64, chosen at run time.
        // -O2 even in debug builds, like the Swift library code below.
        .target(
            name: "CKernels",
            cSettings: [.unsafeFlags(["-O2"])]
        ),
        .target(
            name: "Tokenize",
            dependencies: ["CICU"],
            swiftSettings: optimized
        ),
        .target(
            name: "Seq2Seq",
            dependencies: ["CMatrix", "CKernels", "CMPI", "Tokenize"],
            swiftSettings: optimized
        ),
        // `seq2seq report`: a self-contained HTML page about a trained model.
        .target(
            name: "Report",
            dependencies: ["Seq2Seq", "Tokenize"],
            swiftSettings: optimized
        ),
        // Option groups and helpers shared by the two executables.
        .target(
            name: "CommandLineSupport",
            dependencies: [
                "Tokenize", "Seq2Seq",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The HTTP translation server (`seq2seq serve`): request types, the
        // dynamic-batching worker per model, routes and metrics. The only
        // target that depends on Hummingbird.
        .target(
            name: "Serving",
            dependencies: [
                "Seq2Seq",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "seq2seq",
            dependencies: [
                "Tokenize", "Seq2Seq", "CommandLineSupport", "Report", "Serving",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "translate",
            dependencies: [
                "Tokenize", "Seq2Seq", "CommandLineSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "TokenizeTests", dependencies: ["Tokenize"]),
        .testTarget(name: "Seq2SeqTests", dependencies: ["Seq2Seq"], exclude: ["Fixtures"]),
        // The report's analysis and HTML, and the page of a trained model in headless Chromium.
        .testTarget(name: "ReportTests", dependencies: ["Report", "Seq2Seq", "Tokenize", "seq2seq"]),
        // End-to-end tests run the built executables; depending on them makes
        // `swift test` build them first.
        .testTarget(name: "CLITests", dependencies: ["seq2seq", "translate", "Seq2Seq"]),
        // The server end to end: the built `seq2seq serve` on a loopback port,
        // answers compared with the library's `Translator` and with `translate`'s output.
        .testTarget(name: "ServingTests", dependencies: ["seq2seq", "translate", "Seq2Seq"]),
    ]
)

// libFuzzer targets over the readers and the tokenizer round trip. Built only by
// Scripts/fuzz.sh (which sets SEQ2SEQ_FUZZ and adds -sanitize=fuzzer), never by
// `swift build` or `swift test`.
if Context.environment["SEQ2SEQ_FUZZ"] != nil {
    package.targets.append(.executableTarget(name: "Fuzz", dependencies: ["Tokenize", "Seq2Seq"], path: "Sources/Fuzz"))
    package.products.append(.executable(name: "seq2seq-fuzz", targets: ["Fuzz"]))
}
