import Circuits
import ComplexModule

/// Index of the `group`-th group once zero bits are inserted at `qubits` (ascending).
@inline(__always)
func insertingZeroBits(_ group: Int, at qubits: UnsafeBufferPointer<Int>) -> Int {
    var i = group
    for q in qubits { i = ((i &>> q) &<< (q &+ 1)) | (i & ((1 &<< q) &- 1)) }
    return i
}

extension DistributedState {
    /// A dense 2^m × 2^m matrix (row-major) on local qubits (ascending): for each group of 2^m
    /// amplitudes, out_r = Σ_c M[r][c]·v_c. Vectorised two complex numbers per SIMD4: across
    /// two neighbouring groups when qubit 0 is not in the block, else across the qubit-0 pair.
    func applyDense(qubits: [Int], matrix: [Amplitude]) {
        let dimension = 1 << qubits.count
        var offsets = [Int](repeating: 0, count: dimension)
        for j in 0..<dimension {
            for (k, q) in qubits.enumerated() where j & (1 << k) != 0 { offsets[j] |= 1 << q }
        }
        if let monomial = MonomialMatrix(matrix, dimension: dimension) {
            applyPermutation(qubits: qubits, sources: monomial.sources, factors: monomial.factors)
        } else if qubits[0] > 0 {
            applyDenseAcrossGroups(qubits: qubits, offsets: offsets, matrix: matrix)
        } else {
            applyDenseWithinGroups(qubits: qubits, offsets: offsets, matrix: matrix)
        }
    }

    private func applyDenseAcrossGroups(qubits: [Int], offsets: [Int], matrix: [Amplitude]) {
        switch qubits.count {
        case 1: applyDenseAcrossGroups(Dimension2.self, qubits: qubits, offsets: offsets, matrix: matrix)
        case 2: applyDenseAcrossGroups(Dimension4.self, qubits: qubits, offsets: offsets, matrix: matrix)
        case 3: applyDenseAcrossGroups(Dimension8.self, qubits: qubits, offsets: offsets, matrix: matrix)
        case 4: applyDenseAcrossGroups(Dimension16.self, qubits: qubits, offsets: offsets, matrix: matrix)
        default: applyDenseAcrossGroups(DimensionAny.self, qubits: qubits, offsets: offsets, matrix: matrix)
        }
    }

    /// `D` fixes the block size at compile time so the loops unroll. Columns outer, rows inner:
    /// up to 8 row accumulators stay in registers and each input is loaded once per row block.
    private func applyDenseAcrossGroups<D: BlockDimension>(_: D.Type, qubits: [Int], offsets: [Int], matrix: [Amplitude]) {
        let dimension = offsets.count
        // Column-major: re(M) broadcast, and im(M) with the (−, +, −, +) signs that turn (im, re) into i·z.
        let re = UnsafeMutablePointer<SIMD4<T>>.allocate(capacity: dimension * dimension)
        let im = UnsafeMutablePointer<SIMD4<T>>.allocate(capacity: dimension * dimension)
        defer { re.deallocate(); im.deallocate() }
        for r in 0..<dimension {
            for c in 0..<dimension {
                let z = matrix[r * dimension + c]
                let (zr, zi) = (T(z.real), T(z.imaginary))
                re[c * dimension + r] = SIMD4(repeating: zr)
                im[c * dimension + r] = SIMD4(-zi, zi, -zi, zi)
            }
        }
        let vectorOffsets = offsets.map { $0 >> 1 }  // in SIMD4 units (offsets are even here)
        let w = UnsafeMutableRawPointer(amplitudes).assumingMemoryBound(to: SIMD4<T>.self)
        qubits.withUnsafeBufferPointer { qs in
            vectorOffsets.withUnsafeBufferPointer { offs in
                team.forEach(localCount >> (qubits.count + 1)) { range in
                    let d = D.value ?? dimension
                    let rows = min(d, 8)
                    withUnsafeTemporaryAllocation(of: SIMD4<T>.self, capacity: d) { out in
                        for pair in range {
                            let base = insertingZeroBits(pair &<< 1, at: qs) &>> 1
                            var block = 0
                            while block < d {
                                var acc = (SIMD4<T>.zero, SIMD4<T>.zero, SIMD4<T>.zero, SIMD4<T>.zero,
                                           SIMD4<T>.zero, SIMD4<T>.zero, SIMD4<T>.zero, SIMD4<T>.zero)
                                for c in 0..<d {
                                    let x = w[base &+ offs[c]]
                                    let xs = x[SIMD4(1, 0, 3, 2)]
                                    let cr = re + (c &* d &+ block), ci = im + (c &* d &+ block)
                                    acc.0.addProduct(cr[0], x); acc.0.addProduct(ci[0], xs)
                                    if rows > 1 { acc.1.addProduct(cr[1], x); acc.1.addProduct(ci[1], xs) }
                                    if rows > 2 {
                                        acc.2.addProduct(cr[2], x); acc.2.addProduct(ci[2], xs)
                                        acc.3.addProduct(cr[3], x); acc.3.addProduct(ci[3], xs)
                                    }
                                    if rows > 4 {
                                        acc.4.addProduct(cr[4], x); acc.4.addProduct(ci[4], xs)
                                        acc.5.addProduct(cr[5], x); acc.5.addProduct(ci[5], xs)
                                        acc.6.addProduct(cr[6], x); acc.6.addProduct(ci[6], xs)
                                        acc.7.addProduct(cr[7], x); acc.7.addProduct(ci[7], xs)
                                    }
                                }
                                let o = out.baseAddress! + block
                                o[0] = acc.0
                                if rows > 1 { o[1] = acc.1 }
                                if rows > 2 { o[2] = acc.2; o[3] = acc.3 }
                                if rows > 4 { o[4] = acc.4; o[5] = acc.5; o[6] = acc.6; o[7] = acc.7 }
                                block &+= rows
                            }
                            for r in 0..<d { w[base &+ offs[r]] = out[r] }
                        }
                    }
                }
            }
        }
    }

    /// Qubit 0 is in the block: a SIMD4 holds the pair (v_{2c}, v_{2c+1}); output pair r gets
    /// (M[2r][2c], M[2r+1][2c])·(v_{2c}, v_{2c}) + (M[2r][2c+1], M[2r+1][2c+1])·(v_{2c+1}, v_{2c+1}).
    private func applyDenseWithinGroups(qubits: [Int], offsets: [Int], matrix: [Amplitude]) {
        let dimension = offsets.count, half = dimension / 2
        let coefficients = UnsafeMutablePointer<SIMD4<T>>.allocate(capacity: 4 * half * half)
        defer { coefficients.deallocate() }
        for r in 0..<half {
            for c in 0..<half {
                let k = 4 * (r * half + c)
                for (j, column) in [2 * c, 2 * c + 1].enumerated() {
                    let top = matrix[2 * r * dimension + column], bottom = matrix[(2 * r + 1) * dimension + column]
                    coefficients[k + 2 * j] = SIMD4(T(top.real), T(top.real), T(bottom.real), T(bottom.real))
                    coefficients[k + 2 * j + 1] = SIMD4(-T(top.imaginary), T(top.imaginary), -T(bottom.imaginary), T(bottom.imaginary))
                }
            }
        }
        let vectorOffsets = stride(from: 0, to: dimension, by: 2).map { offsets[$0] >> 1 }
        let w = UnsafeMutableRawPointer(amplitudes).assumingMemoryBound(to: SIMD4<T>.self)
        qubits.withUnsafeBufferPointer { qs in
            vectorOffsets.withUnsafeBufferPointer { offs in
                team.forEach(localCount >> qubits.count) { range in
                    let v = UnsafeMutablePointer<SIMD4<T>>.allocate(capacity: 4 * half)
                    defer { v.deallocate() }
                    for group in range {
                        let base = insertingZeroBits(group, at: qs) &>> 1
                        for c in 0..<half {
                            let x = w[base &+ offs[c]]
                            v[4 &* c] = x[SIMD4(0, 1, 0, 1)]
                            v[4 &* c &+ 1] = x[SIMD4(1, 0, 1, 0)]
                            v[4 &* c &+ 2] = x[SIMD4(2, 3, 2, 3)]
                            v[4 &* c &+ 3] = x[SIMD4(3, 2, 3, 2)]
                        }
                        for r in 0..<half {
                            var acc = SIMD4<T>.zero
                            let row = coefficients + 4 &* r &* half
                            for k in 0..<(4 &* half) { acc.addProduct(row[k], v[k]) }
                            w[base &+ offs[r]] = acc
                        }
                    }
                }
            }
        }
    }

    /// In each group, entry r becomes factors[r] × entry sources[r] (CX, SWAP, X and their
    /// products with phases); the multiplication is skipped when every factor is 1.
    func applyPermutation(qubits: [Int], sources: [Int], factors phases: [Amplitude]) {
        let dimension = sources.count
        var offsets = [Int](repeating: 0, count: dimension)
        for j in 0..<dimension {
            for (k, q) in qubits.enumerated() where j & (1 << k) != 0 { offsets[j] |= 1 << q }
        }
        let factors = phases.map { SIMD2(T($0.real), T($0.imaginary)) }
        let unitFactors = phases.allSatisfy { $0 == .one }
        let a = amplitudes
        qubits.withUnsafeBufferPointer { qs in
            offsets.withUnsafeBufferPointer { offs in
                sources.withUnsafeBufferPointer { column in
                    factors.withUnsafeBufferPointer { f in
                        team.forEach(localCount >> qubits.count) { range in
                            let v = UnsafeMutablePointer<SIMD2<T>>.allocate(capacity: dimension)
                            defer { v.deallocate() }
                            for group in range {
                                let base = insertingZeroBits(group, at: qs)
                                for c in 0..<dimension { v[c] = a[base &+ offs[c]] }
                                if unitFactors {
                                    for r in 0..<dimension { a[base &+ offs[r]] = v[column[r]] }
                                } else {
                                    for r in 0..<dimension { a[base &+ offs[r]] = Kernels.mul(f[r], v[column[r]]) }
                                }
                            }
                        }
                    }
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
                team.forEach(localCount >> blockBits) { blocks in
                    for block in blocks {
                        let start = block << blockBits
                        let g = offset | UInt64(start)
                        var jHigh = 0
                        for (k, q) in high where g & (UInt64(1) << UInt64(q)) != 0 { jHigh |= 1 << k }
                        for off in 0..<blockSize {
                            a[start &+ off] = Kernels.mul(d[jHigh | low[off]], a[start &+ off])
                        }
                    }
                }
            }
        }
    }
}

/// A matrix with exactly one non-zero entry per row and per column: row r reads column
/// `sources[r]` times `factors[r]`.
struct MonomialMatrix {
    let sources: [Int]
    let factors: [Amplitude]

    init?(_ matrix: [Amplitude], dimension: Int) {
        var columns = [Int](), factors = [Amplitude](), used = Set<Int>()
        for r in 0..<dimension {
            let nonZero = (0..<dimension).filter { matrix[r * dimension + $0] != .zero }
            guard nonZero.count == 1, used.insert(nonZero[0]).inserted else { return nil }
            columns.append(nonZero[0])
            factors.append(matrix[r * dimension + nonZero[0]])
        }
        (self.sources, self.factors) = (columns, factors)
    }
}

/// Block sizes known at compile time (nil: read it at run time).
protocol BlockDimension { static var value: Int? { get } }
enum Dimension2: BlockDimension { static var value: Int? { 2 } }
enum Dimension4: BlockDimension { static var value: Int? { 4 } }
enum Dimension8: BlockDimension { static var value: Int? { 8 } }
enum Dimension16: BlockDimension { static var value: Int? { 16 } }
enum DimensionAny: BlockDimension { static var value: Int? { nil } }
