import AmplitudeKernels
import Foundation
import Kernels256
import Kernels512

/// Vector width of the fused kernels, chosen at run time so one binary runs at full speed on
/// AVX2 and on AVX-512 nodes: 512 bits where the CPU has AVX-512 (F, CD, BW, DQ, VL) and the
/// build carries those kernels, else 256. `QFORGE_SIMD=256` or `512` asks for one (benchmarks,
/// tests); results are the same bits either way.
public enum VectorWidth {
    /// The widths this build carries: 512 where Kernels512 is compiled for AVX-512 (Package.swift).
    static var built: [Int] {
        #if QFORGE_KERNELS512
        [256, 512]
        #else
        [256]
        #endif
    }

    /// The widths this binary can run on this CPU, ascending.
    public static let supported: [Int] = {
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ") ?? []
        let avx512 = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy { flags.contains(Substring($0)) }
        return built.filter { $0 == 256 || avx512 }
    }()

    /// QFORGE_SIMD if it names a supported width, else the widest supported.
    public static let preferred: Int = {
        if let requested = ProcessInfo.processInfo.environment["QFORGE_SIMD"].flatMap(Int.init), supported.contains(requested) {
            return requested
        }
        return supported.last!
    }()

    /// What is wrong with QFORGE_SIMD, for the command line to report; nil when it is unset or usable.
    public static var requestProblem: String? {
        guard let text = ProcessInfo.processInfo.environment["QFORGE_SIMD"], !text.isEmpty else { return nil }
        guard let bits = Int(text), [256, 512].contains(bits) else { return "QFORGE_SIMD=\(text): expected 256 or 512" }
        guard supported.contains(bits) else {
            return "QFORGE_SIMD=512 but \(built.contains(512) ? "this CPU has no AVX-512" : "this build has no 512-bit kernels (QFORGE_TARGET_CPU)")"
        }
        return nil
    }

    /// The instruction set behind a width, for `--version` and the run summary.
    public static func name(_ bits: Int) -> String { bits == 512 ? "AVX-512" : "AVX2" }
}

/// The kernel table of `bits`-bit vectors for amplitudes of type T.
func kernelTable<T: AmplitudeScalar>(_: T.Type, vectorBits bits: Int) -> KernelTable<T> {
    let table: Any = T.self == Float.self ? (bits == 512 ? Vector512.single : Vector256.single) as Any
                                          : (bits == 512 ? Vector512.double : Vector256.double) as Any
    return table as! KernelTable<T>
}
