/// A rank's slice, or a cache window of it, as the kernels see it.
public struct StateSlice<T: AmplitudeScalar> {
    public let amplitudes: UnsafeMutablePointer<SIMD2<T>>
    public let localQubits: Int
    /// Global index of local amplitude 0 (diagonals read the bits above the slice from it).
    public let globalOffset: UInt64
    public let team: ThreadTeam

    public init(amplitudes: UnsafeMutablePointer<SIMD2<T>>, localQubits: Int, globalOffset: UInt64, team: ThreadTeam) {
        (self.amplitudes, self.localQubits, self.globalOffset, self.team) = (amplitudes, localQubits, globalOffset, team)
    }

    @inlinable public var count: Int { 1 << localQubits }
}

/// The fused-block kernels of one vector width, as plain functions. The generic kernels below
/// are `@inlinable`: each module that builds a table (Kernels256, Kernels512) gets its own copy
/// specialised for its vector type and compiled for its CPU features, and the simulator picks
/// a table at run time from the CPU it runs on. A table must only run where its CPU features are.
public struct KernelTable<T: AmplitudeScalar>: Sendable {
    /// Bits per vector (256: AVX2, 512: AVX-512).
    public let vectorBits: Int
    /// log2 of the complex amplitudes per vector.
    public let laneShift: Int
    public let dense: @Sendable (DenseBlock<T>, StateSlice<T>) -> Void
    public let permutation: @Sendable (PermutationBlock<T>, StateSlice<T>) -> Void
    /// A run of diagonals, applied in one pass (a single one is a run of one).
    public let diagonals: @Sendable (DiagonalRun<T>, StateSlice<T>) -> Void
    /// Gathers (true) or scatters a cache window: `runs.count` runs of `runLength` amplitudes,
    /// run r between `packed` + r·runLength and `slice` + runs[r].
    public let copyRuns: @Sendable (_ packed: UnsafeMutablePointer<SIMD2<T>>, _ slice: UnsafeMutablePointer<SIMD2<T>>,
                                    _ runs: UnsafeBufferPointer<Int>, _ runLength: Int, _ gather: Bool) -> Void

    @inlinable
    public init<V: AmplitudeVector>(_: V.Type) where V.Scalar == T {
        vectorBits = MemoryLayout<V>.size * 8
        laneShift = V.laneShift
        dense = { applyDense($0, $1, V.self) }
        permutation = { applyPermutation($0, $1, V.self) }
        diagonals = { applyDiagonals($0, $1, V.self) }
        copyRuns = { copyWindowRuns($0, $1, $2, $3, $4, V.self) }
    }
}
