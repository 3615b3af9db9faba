import Circuits
import ComplexModule

extension DistributedState {
    /// A dense 2^m × 2^m matrix on local qubits (ascending): gather the 2^m amplitudes of each
    /// group, multiply, scatter back. `scratch` holds the group (no allocation per group).
    func applyDense(qubits: [Int], matrix: [Amplitude]) {
        let m = qubits.count
        let dimension = 1 << m
        let entries = UnsafeMutablePointer<SIMD2<T>>.allocate(capacity: dimension * dimension)
        defer { entries.deallocate() }
        for (k, z) in matrix.enumerated() { entries[k] = SIMD2(T(z.real), T(z.imaginary)) }
        var offsets = [Int](repeating: 0, count: dimension)
        for j in 0..<dimension {
            for (k, q) in qubits.enumerated() where j & (1 << k) != 0 { offsets[j] |= 1 << q }
        }
        let groups = localCount >> m
        let a = amplitudes
        offsets.withUnsafeBufferPointer { offs in
            let input = UnsafeMutablePointer<SIMD2<T>>.allocate(capacity: dimension)
            defer { input.deallocate() }
            for g in 0..<groups {
                var base = g
                for q in qubits { base = ((base >> q) << (q + 1)) | (base & ((1 << q) - 1)) }
                for j in 0..<dimension { input[j] = a[base | offs[j]] }
                for r in 0..<dimension {
                    var re = SIMD2<T>.zero, im = SIMD2<T>.zero
                    let row = entries + r * dimension
                    for c in 0..<dimension {
                        let e = row[c], v = input[c]
                        re += e * v                 // (er·vr, ei·vi)
                        im += e * SIMD2(v.y, v.x)   // (er·vi, ei·vr)
                    }
                    a[base | offs[r]] = SIMD2(re.x - re.y, im.x + im.y)
                }
            }
        }
    }

    /// Multiplies each amplitude by phases[j], j = its index bits at `qubits` (any qubits:
    /// rank-index bits are constant over the slice, so no communication).
    func applyDiagonal(qubits: [Int], phases: [Amplitude]) {
        let table = phases.map { SIMD2(T($0.real), T($0.imaginary)) }
        // Low qubits vary inside a block of 2^blockBits amplitudes: a per-offset lookup; the
        // others are constant over a block.
        let blockBits = min(localQubitCount, 6)
        let blockSize = 1 << blockBits
        var lowIndex = [Int](repeating: 0, count: blockSize)
        for off in 0..<blockSize {
            for (k, q) in qubits.enumerated() where q < blockBits && off & (1 << q) != 0 { lowIndex[off] |= 1 << k }
        }
        let high = qubits.enumerated().filter { $0.element >= blockBits }
        let offset = globalOffset
        let a = amplitudes
        table.withUnsafeBufferPointer { d in
            lowIndex.withUnsafeBufferPointer { low in
                for block in 0..<(localCount >> blockBits) {
                    let start = block << blockBits
                    let g = offset | UInt64(start)
                    var jHigh = 0
                    for (k, q) in high where g & (UInt64(1) << UInt64(q)) != 0 { jHigh |= 1 << k }
                    for off in 0..<blockSize {
                        a[start + off] = Kernels.mul(d[jHigh | low[off]], a[start + off])
                    }
                }
            }
        }
    }
}
