// swift-tools-version:6.0
import PackageDescription

// SIMD code built for the baseline x86-64 target runs 30-60x slower than with AVX2/FMA/F16C, so release
// builds of the package's own targets name a CPU. Haswell (2013) is the oldest x86-64 with AVX2, FMA and F16C.
#if arch(x86_64)
let cpuFlags: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"], .when(configuration: .release))]
// The command-line target is argument parsing and glue around the library (no loop of its own runs long): built
// without optimization it compiles in 3 s instead of 10 s, at the end of the build's critical path.
let cliFlags: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell", "-Onone"], .when(configuration: .release))]
#else
let cpuFlags: [SwiftSetting] = []
let cliFlags: [SwiftSetting] = [.unsafeFlags(["-Onone"], .when(configuration: .release))]
#endif

let package = Package(
    name: "PrecisionLab",
    products: [
        .library(name: "PrecisionLab", targets: ["PrecisionLab"]),
        .executable(name: "precision-lab", targets: ["PrecisionLabCLI"]),
    ],
    dependencies: [
        // The only dependency: the command-line parser.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CMPFR",
            pkgConfig: "mpfr",
            providers: [.apt(["libmpfr-dev", "libgmp-dev"])]
        ),
        .target(name: "Formats", swiftSettings: cpuFlags),
        .target(name: "Base", dependencies: ["Formats"], swiftSettings: cpuFlags),
        .target(name: "Reference", dependencies: ["CMPFR", "Formats", "Base", "Results"], swiftSettings: cpuFlags),
        .target(name: "Reductions", dependencies: ["Formats", "Base", "Reference", "Results"], swiftSettings: cpuFlags),
        .target(name: "TensorIO", dependencies: ["Formats", "Base"], swiftSettings: cpuFlags),
        .target(name: "Tensors", dependencies: ["Formats", "Base"], swiftSettings: cpuFlags),
        .target(name: "Autograd", dependencies: ["Formats", "Base", "Tensors"], swiftSettings: cpuFlags),
        .target(name: "Training", dependencies: ["Formats", "Base", "Tensors", "Autograd"], swiftSettings: cpuFlags),
        // The result types: pure data (and their JSON), what Reference, Reductions and Experiments compute and
        // Reports renders (so Reports imports no module that computes).
        .target(name: "Results", dependencies: ["Formats", "Base"], swiftSettings: cpuFlags),
        .target(name: "Experiments", dependencies: ["Formats", "Base", "Reductions", "TensorIO", "Tensors", "Autograd", "Training", "Results"],
                swiftSettings: cpuFlags),
        // The kernel harness: adversarial cases with exact answers out, any kernel (command or C ABI) in, verdicts.
        .target(name: "KernelHarness", dependencies: ["Formats", "Base", "Reference", "Reductions", "Results", "TensorIO"], swiftSettings: cpuFlags),
        .target(name: "Reports", dependencies: ["Formats", "Base", "Results"], swiftSettings: cpuFlags),
        .target(name: "PrecisionLab", dependencies: ["Formats", "Base", "Reference", "Reductions", "TensorIO", "Results", "Reports", "Tensors", "Autograd",
                                                    "Training", "Experiments", "KernelHarness"], swiftSettings: cpuFlags),
        .executableTarget(
            name: "PrecisionLabCLI",
            dependencies: [
                "PrecisionLab",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: cliFlags
        ),
        // What the test targets share: the repository's root, snapshots, seeded data, temporary directories.
        .target(name: "TestSupport", dependencies: ["Formats"], path: "Tests/TestSupport"),
        .testTarget(name: "BaseTests", dependencies: ["Base", "Formats"], swiftSettings: cpuFlags),
        .testTarget(name: "FormatsTests", dependencies: ["Formats", "Reference"], swiftSettings: cpuFlags),
        .testTarget(name: "ReferenceTests", dependencies: ["Base", "Formats", "Reference", "Results"], swiftSettings: cpuFlags),
        .testTarget(name: "ReductionsTests", dependencies: ["Base", "Formats", "Reference", "Reductions", "Results", "TensorIO", "TestSupport"], swiftSettings: cpuFlags),
        .testTarget(name: "TensorIOTests", dependencies: ["Base", "TensorIO", "Formats", "TestSupport"], swiftSettings: cpuFlags),
        .testTarget(name: "TensorsTests", dependencies: ["Base", "Tensors", "Formats", "Reference", "TestSupport"], swiftSettings: cpuFlags),
        .testTarget(name: "AutogradTests", dependencies: ["Autograd", "Tensors", "Formats"], swiftSettings: cpuFlags),
        .testTarget(name: "TrainingTests", dependencies: ["Base", "TensorIO", "Training", "Experiments", "Autograd", "Tensors", "Formats", "MallocCounter", "PrecisionLab", "TestSupport"],
                    swiftSettings: cpuFlags),
        // Counts heap allocations in the test process (it replaces malloc there, nowhere else).
        .target(name: "MallocCounter", path: "Tests/MallocCounter"),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Results", "Base", "Formats", "TestSupport"], swiftSettings: cpuFlags),
        .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "Formats", "Results", "Reports", "Training", "TensorIO", "TestSupport"], swiftSettings: cpuFlags),
        .testTarget(name: "KernelHarnessTests", dependencies: ["KernelHarness", "Base", "Reference", "Results", "Formats", "TensorIO", "TestSupport"], swiftSettings: cpuFlags),
        // The layout of DESIGN.md checked against the manifest and the sources.
        .testTarget(name: "ArchitectureTests", dependencies: ["TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["PrecisionLab", "PrecisionLabCLI", "TestSupport"], swiftSettings: cpuFlags),
    ]
)
