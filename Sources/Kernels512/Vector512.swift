import AmplitudeKernels

/// The fused kernels on 512-bit vectors, compiled for AVX-512 (F, CD, BW, DQ, VL: Skylake-SP,
/// Ice Lake, Sapphire Rapids, Zen 4 and later; Package.swift). Run only where the CPU has it.
public enum Vector512 {
    public static var single: KernelTable<Float> { KernelTable(SIMD16<Float>.self) }
    public static var double: KernelTable<Double> { KernelTable(SIMD8<Double>.self) }
}
