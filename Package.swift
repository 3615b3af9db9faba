// swift-tools-version:6.0
import Foundation
import PackageDescription

// Gate kernels are SIMD code. On x86-64 the binary is built for AVX2 + FMA (Haswell, 2013, and
// every later x86 HPC node), and the fused statevector kernels a second time, in the module
// Kernels512, for AVX-512 (F, CD, BW, DQ, VL: Skylake-SP and later, Zen 4 and later): the
// simulator picks the 512-bit kernels at run time where the CPU has them (Statevector's
// VectorWidth), so one binary, built on a login node, runs at full speed on both kinds of node.
// QFORGE_TARGET_CPU=NAME builds everything for that CPU instead (x86-64 for any x86-64
// machine; znver3, icelake-server, ... to tune), with 512-bit kernels only if NAME has AVX-512.
// LLVM's function merging folds the per-size kernel specialisations (2, 4, 8, 16 amplitudes
// per block) into one that reads the size at run time, which stops the loops unrolling and
// halves the fused-gate kernels' speed: keep them apart.
let noKernelMerging: SwiftSetting = .unsafeFlags(["-Xfrontend", "-disable-llvm-merge-functions-pass"])
#if arch(x86_64)
let targetCPU = ProcessInfo.processInfo.environment["QFORGE_TARGET_CPU"]
let avx512CPUs = ["skylake-avx512", "cascadelake", "cooperlake", "icelake-server", "sapphirerapids",
                  "emeraldrapids", "graniterapids", "znver4", "znver5"]
let wideCPU: String? = targetCPU.map { avx512CPUs.contains($0) ? $0 : nil } ?? "skylake-avx512"
let kernelSettings: [SwiftSetting] = [.unsafeFlags(["-target-cpu", targetCPU ?? "haswell"]), noKernelMerging]
let wideKernelSettings: [SwiftSetting] = wideCPU.map { [.unsafeFlags(["-target-cpu", $0]), noKernelMerging] } ?? kernelSettings
let statevectorSettings = kernelSettings + (wideCPU != nil ? [.define("QFORGE_KERNELS512")] : [])
#else
let kernelSettings: [SwiftSetting] = [noKernelMerging]
let (wideKernelSettings, statevectorSettings) = (kernelSettings, kernelSettings)
#endif

// MPI and HDF5 come from the site: Debian's packages, a module system or a prefix of one's own.
// Each is found by the first of these that is set or exists (README, "Running on a cluster"):
//   QFORGE_MPI_CFLAGS + QFORGE_MPI_LIBS       flags as given (e.g. from `mpicc -show`)
//   QFORGE_MPI=NAME                           that pkg-config package (ompi-c, mpich, ...)
//   MPI_HOME, MPI_ROOT, MPICH_DIR, I_MPI_ROOT  PREFIX/include and -lmpi from PREFIX/lib
//   pkg-config ompi-c, mpich, mpi              whichever exists, in this order
// and the same with QFORGE_HDF5_CFLAGS/LIBS, QFORGE_HDF5, HDF5_DIR/HDF5_ROOT, pkg-config hdf5 or
// hdf5-serial. No code depends on which MPI it is. The headers' flags go to every Swift target
// (a module that imports ResultsIO imports CHDF5's header too), the libraries to the one target
// that calls each, by file where the library's own directories hold it (see `pinned`).
struct CLibrary {
    var cflags: [String] = []
    var libs: [String] = []
}

let environment = ProcessInfo.processInfo.environment

func pkgConfig(_ args: [String]) -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["pkg-config"] + args
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return nil }
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return nil }
    return String(decoding: output, as: UTF8.self)
}

/// Compiler flags as swiftc takes them: `-Wl,a,b` becomes `-Xlinker a -Xlinker b`; -I, -L, -l and
/// -D pass through; anything else (-pthread, -O2) is the C compiler's business and is dropped.
func swiftcFlags(_ text: String) -> [String] {
    text.split(whereSeparator: \.isWhitespace).map(String.init).flatMap { flag -> [String] in
        if flag.hasPrefix("-Wl,") { return flag.dropFirst(4).split(separator: ",").flatMap { ["-Xlinker", String($0)] } }
        if flag == "-pthread" { return ["-lpthread"] }
        return ["-I", "-L", "-l", "-D"].contains { flag.hasPrefix($0) } ? [flag] : []
    }
}

/// Link flags made independent of the other libraries' flags: each `-lNAME` found in the
/// library's own -L directories becomes that file (another library's -L, such as FFTW's
/// -L/usr/lib/x86_64-linux-gnu where Debian's libmpi.so may be another MPI's, must not choose),
/// and each directory is also a run path.
func pinned(_ libs: [String]) -> [String] {
    let dirs = libs.filter { $0.hasPrefix("-L") }.map { String($0.dropFirst(2)) }
    let files = libs.flatMap { flag -> [String] in
        let file = "lib\(flag.dropFirst(2)).so"
        guard flag.hasPrefix("-l"), let dir = dirs.first(where: { FileManager.default.fileExists(atPath: "\($0)/\(file)") }) else { return [flag] }
        return ["-Xlinker", "\(dir)/\(file)"]
    }
    return files + dirs.flatMap { ["-Xlinker", "-rpath", "-Xlinker", $0] }
}

func findLibrary(_ name: String, library: String, prefixVariables: [String], pkgConfigNames: [String]) -> CLibrary {
    if let cflags = environment["QFORGE_\(name)_CFLAGS"], let libs = environment["QFORGE_\(name)_LIBS"] {
        return CLibrary(cflags: swiftcFlags(cflags), libs: pinned(swiftcFlags(libs)))
    }
    let fromPkgConfig = { (package: String) -> CLibrary? in
        guard let cflags = pkgConfig(["--cflags", package]), let libs = pkgConfig(["--libs", package]) else { return nil }
        return CLibrary(cflags: swiftcFlags(cflags), libs: pinned(swiftcFlags(libs)))
    }
    if let package = environment["QFORGE_\(name)"] {
        return fromPkgConfig(package) ?? CLibrary()  // the build then fails on the missing header
    }
    if let prefix = prefixVariables.lazy.compactMap({ environment[$0] }).first(where: { !$0.isEmpty }) {
        return CLibrary(cflags: ["-I\(prefix)/include"], libs: pinned(["-L\(prefix)/lib", "-l\(library)"]))
    }
    return pkgConfigNames.lazy.compactMap(fromPkgConfig).first ?? CLibrary()
}

let mpi = findLibrary("MPI", library: "mpi", prefixVariables: ["MPI_HOME", "MPI_ROOT", "MPICH_DIR", "I_MPI_ROOT"],
                      pkgConfigNames: ["ompi-c", "mpich", "mpi"])
let hdf5 = findLibrary("HDF5", library: "hdf5", prefixVariables: ["HDF5_DIR", "HDF5_ROOT"],
                       pkgConfigNames: ["hdf5", "hdf5-serial"])
let cHeaders: SwiftSetting = .unsafeFlags((mpi.cflags + hdf5.cflags).flatMap { ["-Xcc", $0] })

// Kernels (Statevector, Circuits, ForgeCore) import neither MPI nor HDF5, so they test alone.
// C libraries come from Debian (libopenmpi-dev or libmpich-dev, libhdf5-dev, libopenblas-dev,
// libfftw3-dev) or the site's modules.
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
        .systemLibrary(name: "CMPI"),
        .systemLibrary(name: "CHDF5"),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3", providers: [.apt(["libfftw3-dev"])]),
        .target(name: "ForgeCore", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // In-process ranks for tests (as swift-nio's embedded channels); not in the product.
        .target(name: "ForgeTesting", dependencies: ["ForgeCore"]),
        .target(name: "Circuits", dependencies: [
            "ForgeCore", .product(name: "Numerics", package: "swift-numerics"),
        ]),
        // Fused statevector kernels, generic and @inlinable: compiled in the two modules that
        // specialise them, one per vector width and CPU target (see above).
        .target(name: "AmplitudeKernels", dependencies: ["ForgeCore", .product(name: "Numerics", package: "swift-numerics")],
                swiftSettings: kernelSettings),
        .target(name: "Kernels256", dependencies: ["AmplitudeKernels"], swiftSettings: kernelSettings),
        .target(name: "Kernels512", dependencies: ["AmplitudeKernels"], swiftSettings: wideKernelSettings),
        .target(name: "Statevector", dependencies: [
            "ForgeCore", "Circuits", "AmplitudeKernels", "Kernels256", "Kernels512",
            .product(name: "Numerics", package: "swift-numerics"),
        ], swiftSettings: statevectorSettings),
        .target(name: "Dynamics", dependencies: ["ForgeCore", "CFFTW"], swiftSettings: kernelSettings),
        .target(name: "Chemistry", dependencies: [
            "ForgeCore", "Statevector", "Dynamics", "CBLAS", .product(name: "Numerics", package: "swift-numerics"),
        ]),
        .target(name: "ResultsIO", dependencies: ["CHDF5", "ForgeCore"], linkerSettings: [.unsafeFlags(hdf5.libs)]),
        .target(name: "Catalog", dependencies: [
            "ForgeCore",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ]),
        .target(name: "MPIBackend", dependencies: ["CMPI", "ForgeCore"], linkerSettings: [.unsafeFlags(mpi.libs)]),
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
        .testTarget(name: "StatevectorTests", dependencies: ["Statevector", "AmplitudeKernels", "Circuits", "ForgeCore", "ForgeTesting"]),
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

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [cHeaders]
}
