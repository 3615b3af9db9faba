// swift-tools-version:6.0
import Foundation
import PackageDescription

// Gate kernels are SIMD code: on x86-64 they are compiled for AVX2 + FMA (Haswell, 2013, and
// every later x86 HPC node), which roughly doubles a gate pass, or for AVX-512 (Zen 4 or Ice Lake
// server) when the building machine has it, where the fused kernels use 512-bit vectors (QFORGE_AVX512).
// QFORGE_TARGET_CPU=x86-64 builds for any x86-64 machine; another CPU name (e.g. haswell to run
// on older nodes than the one building, znver4, skylake-avx512) tunes for it.
// LLVM's function merging folds the per-size kernel specialisations (2, 4, 8, 16 amplitudes
// per block) into one that reads the size at run time, which stops the loops unrolling and
// halves the fused-gate kernels' speed: keep them apart.
let noKernelMerging: SwiftSetting = .unsafeFlags(["-Xfrontend", "-disable-llvm-merge-functions-pass"])
#if arch(x86_64)
let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
let hostFlags = Set(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
let hostHasAVX512 = ["avx512f", "avx512vl", "avx512bw", "avx512dq"].allSatisfy(hostFlags.contains)
let kernelCPU = ProcessInfo.processInfo.environment["QFORGE_TARGET_CPU"]
    ?? (hostHasAVX512 ? (cpuinfo.contains("AuthenticAMD") ? "znver4" : "icelake-server") : "haswell")
let avx512CPUs = ["skylake-avx512", "cascadelake", "cooperlake", "icelake-server", "sapphirerapids",
                  "emeraldrapids", "graniterapids", "znver4", "znver5"]
let kernelSettings: [SwiftSetting] = [.unsafeFlags(["-target-cpu", kernelCPU]), noKernelMerging]
    + (avx512CPUs.contains(kernelCPU) ? [.define("QFORGE_AVX512")] : [])
#else
let kernelSettings: [SwiftSetting] = [noKernelMerging]
#endif

// Kernels (Statevector, Circuits, ForgeCore) import neither MPI nor HDF5, so they test alone.
// C libraries come from Debian: libopenmpi-dev, libhdf5-dev, libopenblas-dev, libfftw3-dev.
let package = Package(
    name: "QForge",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "qforge", targets: ["qforge"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // SHA-256 (result checksums, API-key hashes); postgres-nio depends on it already.
        .package(url: "https://github.com/apple/swift-crypto", "3.9.0"..<"6.0.0"),
    ],
    targets: [
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3", providers: [.apt(["libfftw3-dev"])]),
        .target(name: "ForgeCore", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // In-process ranks for tests (as swift-nio's embedded channels); not in the product.
        .target(name: "ForgeTesting", dependencies: ["ForgeCore"]),
        .target(name: "Circuits", dependencies: [
            "ForgeCore", .product(name: "Numerics", package: "swift-numerics"),
        ]),
        .target(name: "Statevector", dependencies: [
            "ForgeCore", "Circuits", .product(name: "Numerics", package: "swift-numerics"),
        ], swiftSettings: kernelSettings),
        .target(name: "Dynamics", dependencies: ["ForgeCore", "CFFTW"], swiftSettings: kernelSettings),
        .target(name: "Chemistry", dependencies: [
            "ForgeCore", "Statevector", "Dynamics", "CBLAS", .product(name: "Numerics", package: "swift-numerics"),
        ]),
        .target(name: "ResultsIO", dependencies: ["CHDF5", "ForgeCore"]),
        .target(name: "Catalog", dependencies: [
            "ForgeCore",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ]),
        .target(name: "MPIBackend", dependencies: ["CMPI", "ForgeCore"]),
        // Each job kind's driver (load spec, resume or start, step loop with its output and
        // checkpoint schedule, publish) and catalog recording: a library tests call in-process.
        .target(name: "Runs", dependencies: [
            "ForgeCore", "Circuits", "Statevector", "Dynamics", "Chemistry", "ResultsIO", "Catalog",
        ]),
        .executableTarget(name: "qforge", dependencies: [
            "ForgeCore", "Statevector", "ResultsIO", "MPIBackend", "Catalog", "Runs",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: [.swiftLanguageMode(.v5)]),
        .testTarget(name: "ForgeCoreTests", dependencies: ["ForgeCore"]),
        .testTarget(name: "CircuitsTests", dependencies: ["Circuits"], exclude: ["Fixtures", "make_gate_matrices.py", "make_qiskit_fixtures.py"]),
        .testTarget(name: "StatevectorTests", dependencies: ["Statevector", "Circuits", "ForgeCore", "ForgeTesting"]),
        .testTarget(name: "ResultsIOTests", dependencies: ["ResultsIO", "ForgeCore", "ForgeTesting"]),
        .testTarget(name: "ChemistryTests", dependencies: ["Chemistry", "Statevector", "ForgeCore", "ForgeTesting"], exclude: ["Fixtures"]),
        .testTarget(name: "DynamicsTests", dependencies: ["Dynamics", "ForgeCore", "ForgeTesting"], exclude: ["Fixtures"]),
        .testTarget(name: "RunsTests", dependencies: ["Runs", "ForgeCore", "ResultsIO", "ForgeTesting", "Catalog"]),
        .testTarget(name: "CatalogTests", dependencies: [
            "Catalog", "ForgeCore",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
    ]
)
