import AmplitudeKernels

/// The fused kernels on 256-bit vectors, compiled for AVX2 + FMA (Package.swift): every
/// x86-64 HPC node since Haswell (2013).
public enum Vector256 {
    public static var single: KernelTable<Float> { KernelTable(SIMD8<Float>.self) }
    public static var double: KernelTable<Double> { KernelTable(SIMD4<Double>.self) }
}
