import Circuits
import ComplexModule

/// Index of the `group`-th group once zero bits are inserted at `qubits` (ascending).
@inline(__always)
func insertingZeroBits(_ group: Int, at qubits: UnsafeBufferPointer<Int>) -> Int {
    var i = group
    for q in qubits { i = ((i &>> q) &<< (q &+ 1)) | (i & ((1 &<< q) &- 1)) }
    return i
}

/// (im, re) of both complex numbers: written lane by lane, which compiles to one shuffle (a
/// SIMD-index swizzle can stay a call into the standard library).
@inline(__always)
func swappingParts<T: AmplitudeScalar>(_ x: SIMD4<T>) -> SIMD4<T> { SIMD4(x[1], x[0], x[3], x[2]) }

/// Offset of entry j of a group: bit k of j set → bit `qubits[k]` set.
func groupOffsets(_ qubits: [Int]) -> [Int] {
    (0..<(1 << qubits.count)).map { depositingBits($0, at: qubits[...]) }
}

/// A fused operation converted once for the kernels (precision, SIMD layout, offsets) and then
/// applied to a whole slice or to every cache window of a stage. Qubits may come in any order:
/// bit k of a matrix index is qubit `qubits[k]`.
enum PreparedOperation<T: AmplitudeScalar> {
    case dense(DenseKernel<T>)
    case permutation(PermutationKernel<T>)
    case diagonal(DiagonalKernel<T>)
    case instruction(Instruction)

    init(_ operation: FusedOperation) {
        switch operation {
        case .dense(let qubits, let matrix):
            if let monomial = MonomialMatrix(matrix, dimension: 1 << qubits.count) {
                self = .permutation(PermutationKernel(qubits: qubits, sources: monomial.sources, factors: monomial.factors))
            } else {
                self = .dense(DenseKernel(qubits: qubits, matrix: matrix))
            }
        case .permutation(let qubits, let sources, let factors):
            self = .permutation(PermutationKernel(qubits: qubits, sources: sources, factors: factors))
        case .diagonal(let qubits, let phases):
            self = .diagonal(DiagonalKernel(qubits: qubits, phases: phases))
        case .instruction(let instruction):
            self = .instruction(instruction)
        }
    }
}

/// A dense 2^m × 2^m matrix on local qubits (ascending), as SIMD4 coefficients: two complex
/// numbers per vector, every complex product two FMAs. When qubit 0 is outside the block a
/// vector holds the same entry of two neighbouring groups (`across`); when it is inside, a
/// vector holds entries 2c and 2c+1 of one group (`within`). Both sum each output over the
/// columns in the same order with the same FMAs, so the result does not depend on the layout.
struct DenseKernel<T: AmplitudeScalar> {
    let dimension: Int
    let qubits: [Int]
    let within: Bool
    /// Offsets in SIMD4 units: of each column (across) or column pair (within).
    let vectorOffsets: [Int]
    /// across: column-major re(M) broadcast and im(M) with the (−, +, −, +) signs that turn
    /// (im, re) into i·z. within: for row pair r and column pair c, four vectors that multiply
    /// (v₂c, v₂c), its swap, (v₂c₊₁, v₂c₊₁) and its swap.
    let coefficients: [SIMD4<T>]

    init(qubits: [Int], matrix: [Amplitude]) {
        precondition(qubits == qubits.sorted(), "dense block qubits must be ascending")
        let d = 1 << qubits.count
        (dimension, self.qubits) = (d, qubits)
        within = qubits[0] == 0
        let offsets = groupOffsets(qubits)
        func entry(_ r: Int, _ c: Int) -> (T, T) { (T(matrix[r * d + c].real), T(matrix[r * d + c].imaginary)) }
        var coefficients: [SIMD4<T>] = []
        if within {
            vectorOffsets = stride(from: 0, to: d, by: 2).map { offsets[$0] >> 1 }
            for r in 0..<(d / 2) {
                for c in 0..<(d / 2) {
                    for column in [2 * c, 2 * c + 1] {
                        let (tr, ti) = entry(2 * r, column), (br, bi) = entry(2 * r + 1, column)
                        coefficients += [SIMD4(tr, tr, br, br), SIMD4(-ti, ti, -bi, bi)]
                    }
                }
            }
        } else {
            vectorOffsets = offsets.map { $0 >> 1 }
            for c in 0..<d {
                for r in 0..<d { let (zr, zi) = entry(r, c); coefficients += [SIMD4(repeating: zr), SIMD4(-zi, zi, -zi, zi)] }
            }
        }
        self.coefficients = coefficients
    }
}

/// In each group, entry r becomes factors[r] × entry sources[r] (runs of X, CX, CCX, SWAP with
/// phases); the multiplication is skipped when every factor is 1. With qubit 0 outside the
/// block, entries move as SIMD4 pairs of neighbouring groups.
struct PermutationKernel<T: AmplitudeScalar> {
    let offsets: [Int]
    let positions: [Int]
    let sources: [Int]
    let factors: [SIMD2<T>]
    let unitFactors: Bool
    let across: Bool
    /// Across only: offsets in SIMD4 units, and re(f) broadcast and im(f) with (−, +, −, +)
    /// signs per row.
    let vectorOffsets: [Int]
    let vectorFactors: [SIMD4<T>]

    init(qubits: [Int], sources: [Int], factors: [Amplitude]) {
        offsets = groupOffsets(qubits)
        positions = qubits.sorted()
        self.sources = sources
        self.factors = factors.map { SIMD2(T($0.real), T($0.imaginary)) }
        unitFactors = factors.allSatisfy { $0 == .one }
        across = !qubits.contains(0)
        vectorOffsets = offsets.map { $0 >> 1 }
        vectorFactors = self.factors.flatMap { [SIMD4(repeating: $0.x), SIMD4(-$0.y, $0.y, -$0.y, $0.y)] }
    }
}

/// Multiplies each amplitude by phases[j], j = its index bits at `qubits` (any qubits:
/// rank-index bits are constant over the slice, so no communication).
struct DiagonalKernel<T: AmplitudeScalar> {
    /// Qubits below this vary inside a block of 2^blockBits amplitudes (a per-offset lookup);
    /// the others are constant over a block.
    static var blockBits: Int { 6 }
    let qubits: [Int]
    let table: [SIMD2<T>]
    let lowIndex: [Int]
    let high: [(bit: Int, qubit: Int)]

    init(qubits: [Int], phases: [Amplitude]) {
        self.qubits = qubits
        table = phases.map { SIMD2(T($0.real), T($0.imaginary)) }
        lowIndex = (0..<(1 << Self.blockBits)).map { off in
            qubits.enumerated().reduce(0) { $1.element < Self.blockBits && off & (1 << $1.element) != 0 ? $0 | 1 << $1.offset : $0 }
        }
        high = qubits.enumerated().filter { $0.element >= Self.blockBits }.map { (bit: $0.offset, qubit: $0.element) }
    }
}

extension DistributedState {
    func apply(_ operation: PreparedOperation<T>) {
        switch operation {
        case .dense(let kernel): apply(kernel)
        case .permutation(let kernel): apply(kernel)
        case .diagonal(let kernel): apply(kernel)
        case .instruction(let instruction):
            if case .unitary(let target, let controls, let matrix) = instruction.operation {
                apply(target: target, controls: controls, matrix: matrix)
            }
        }
    }

    private func apply(_ k: DenseKernel<T>) {
        let w = UnsafeMutableRawPointer(amplitudes).assumingMemoryBound(to: SIMD4<T>.self)
        let items = localCount >> (k.qubits.count + (k.within ? 0 : 1))
        k.qubits.withUnsafeBufferPointer { qs in
            k.vectorOffsets.withUnsafeBufferPointer { o in
                k.coefficients.withUnsafeBufferPointer { m in
                    let (offs, m) = (o.baseAddress!, m.baseAddress!)
                    // A literal size in each closure: the kernel's loops unroll for it.
                    switch (k.within, k.dimension) {
                    case (false, 2): team.forEach(items) { Kernels.denseAcross(w, $0, dimension: 2, qs, offs, m) }
                    case (false, 4): team.forEach(items) { Kernels.denseAcross(w, $0, dimension: 4, qs, offs, m) }
                    case (false, 8): team.forEach(items) { Kernels.denseAcross(w, $0, dimension: 8, qs, offs, m) }
                    case (false, 16): team.forEach(items) { Kernels.denseAcross(w, $0, dimension: 16, qs, offs, m) }
                    case (false, _): team.forEach(items) { Kernels.denseAcross(w, $0, dimension: k.dimension, qs, offs, m) }
                    case (true, 2): team.forEach(items) { Kernels.denseWithin(w, $0, dimension: 2, qs, offs, m) }
                    case (true, 4): team.forEach(items) { Kernels.denseWithin(w, $0, dimension: 4, qs, offs, m) }
                    case (true, 8): team.forEach(items) { Kernels.denseWithin(w, $0, dimension: 8, qs, offs, m) }
                    case (true, 16): team.forEach(items) { Kernels.denseWithin(w, $0, dimension: 16, qs, offs, m) }
                    case (true, _): team.forEach(items) { Kernels.denseWithin(w, $0, dimension: k.dimension, qs, offs, m) }
                    }
                }
            }
        }
    }

    private func apply(_ k: PermutationKernel<T>) {
        if k.across { return applyAcross(k) }
        let a = amplitudes, dimension = k.sources.count
        k.positions.withUnsafeBufferPointer { qs in
            k.offsets.withUnsafeBufferPointer { offs in
                k.sources.withUnsafeBufferPointer { column in
                    k.factors.withUnsafeBufferPointer { f in
                        team.forEach(localCount >> qs.count) { range in
                            withUnsafeTemporaryAllocation(of: SIMD2<T>.self, capacity: dimension) { v in
                                for group in range {
                                    let base = insertingZeroBits(group, at: qs)
                                    for c in 0..<dimension { v[c] = a[base &+ offs[c]] }
                                    if k.unitFactors {
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
    }

    /// Two neighbouring groups at a time; f·x as re(f)·x + im(f)·swap(x), unfused, which is
    /// `Kernels.mul` lane by lane.
    private func applyAcross(_ k: PermutationKernel<T>) {
        let w = UnsafeMutableRawPointer(amplitudes).assumingMemoryBound(to: SIMD4<T>.self)
        let dimension = k.sources.count
        k.positions.withUnsafeBufferPointer { qs in
            k.vectorOffsets.withUnsafeBufferPointer { offs in
                k.sources.withUnsafeBufferPointer { column in
                    k.vectorFactors.withUnsafeBufferPointer { f in
                        team.forEach(localCount >> (qs.count + 1)) { range in
                            withUnsafeTemporaryAllocation(of: SIMD4<T>.self, capacity: dimension) { v in
                                for pair in range {
                                    let base = insertingZeroBits(pair &<< 1, at: qs) &>> 1
                                    for c in 0..<dimension { v[c] = w[base &+ offs[c]] }
                                    if k.unitFactors {
                                        for r in 0..<dimension where column[r] != r { w[base &+ offs[r]] = v[column[r]] }
                                    } else {
                                        for r in 0..<dimension {
                                            let x = v[column[r]]
                                            w[base &+ offs[r]] = f[2 &* r] * x + f[2 &* r &+ 1] * swappingParts(x)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    private func apply(_ k: DiagonalKernel<T>) {
        let a = amplitudes, offset = globalOffset
        let blockBits = DiagonalKernel<T>.blockBits
        k.table.withUnsafeBufferPointer { d in
            guard localQubitCount >= blockBits else {
                for i in 0..<localCount {
                    let g = offset | UInt64(i)
                    let j = k.qubits.enumerated().reduce(0) { g & (UInt64(1) << UInt64($1.element)) != 0 ? $0 | 1 << $1.offset : $0 }
                    a[i] = Kernels.mul(d[j], a[i])
                }
                return
            }
            k.lowIndex.withUnsafeBufferPointer { low in
                team.forEach(localCount >> blockBits) { blocks in
                    for block in blocks {
                        let start = block << blockBits
                        let g = offset | UInt64(start)
                        var jHigh = 0
                        for (bit, q) in k.high where g & (UInt64(1) << UInt64(q)) != 0 { jHigh |= 1 << bit }
                        for off in 0..<(1 << blockBits) {
                            a[start &+ off] = Kernels.mul(d[jHigh | low[off]], a[start &+ off])
                        }
                    }
                }
            }
        }
    }
}

extension Kernels {
    /// Qubit 0 outside the block: vector = the same entry of groups 2p and 2p+1. Two such pairs
    /// at a time and four rows per pass: each coefficient loaded once feeds four FMAs, and eight
    /// accumulators stay in registers. `d` is a literal at each call site, so the loops unroll
    /// and the row tests fold. (An odd last pair is computed twice, harmlessly.)
    @inline(__always)
    static func denseAcross<T: AmplitudeScalar>(_ w: UnsafeMutablePointer<SIMD4<T>>, _ pairs: Range<Int>, dimension d: Int,
                                                _ qubits: UnsafeBufferPointer<Int>, _ offsets: UnsafePointer<Int>,
                                                _ m: UnsafePointer<SIMD4<T>>) {
        withUnsafeTemporaryAllocation(of: SIMD4<T>.self, capacity: 2 * d) { out in
            var pair = pairs.lowerBound
            while pair < pairs.upperBound {
                let base0 = insertingZeroBits(pair &<< 1, at: qubits) &>> 1
                let base1 = pair &+ 1 < pairs.upperBound ? insertingZeroBits((pair &+ 1) &<< 1, at: qubits) &>> 1 : base0
                var rowStart = 0
                repeat {
                    var a0 = SIMD4<T>.zero, a1 = SIMD4<T>.zero, a2 = SIMD4<T>.zero, a3 = SIMD4<T>.zero
                    var b0 = SIMD4<T>.zero, b1 = SIMD4<T>.zero, b2 = SIMD4<T>.zero, b3 = SIMD4<T>.zero
                    for c in 0..<d {
                        let x = w[base0 &+ offsets[c]], y = w[base1 &+ offsets[c]]
                        let xs = swappingParts(x), ys = swappingParts(y)
                        let k = m + 2 &* (c &* d &+ rowStart)
                        var (re, im) = (k[0], k[1])
                        a0.addProduct(re, x); a0.addProduct(im, xs); b0.addProduct(re, y); b0.addProduct(im, ys)
                        (re, im) = (k[2], k[3])
                        a1.addProduct(re, x); a1.addProduct(im, xs); b1.addProduct(re, y); b1.addProduct(im, ys)
                        if d >= 4 {
                            (re, im) = (k[4], k[5])
                            a2.addProduct(re, x); a2.addProduct(im, xs); b2.addProduct(re, y); b2.addProduct(im, ys)
                            (re, im) = (k[6], k[7])
                            a3.addProduct(re, x); a3.addProduct(im, xs); b3.addProduct(re, y); b3.addProduct(im, ys)
                        }
                    }
                    let o = out.baseAddress! + rowStart, p = out.baseAddress! + (d &+ rowStart)
                    o[0] = a0; o[1] = a1; p[0] = b0; p[1] = b1
                    if d >= 4 { o[2] = a2; o[3] = a3; p[2] = b2; p[3] = b3 }
                    rowStart &+= 4
                } while rowStart < d
                for r in 0..<d {
                    w[base0 &+ offsets[r]] = out[r]
                    w[base1 &+ offsets[r]] = out[d &+ r]
                }
                pair &+= 2
            }
        }
    }

    /// Qubit 0 inside the block: vector = entries (2c, 2c+1) of one group; output pair r sums,
    /// column by column, (M[2r][j], M[2r+1][j])·v_j over j = 2c, 2c+1.
    @inline(__always)
    static func denseWithin<T: AmplitudeScalar>(_ w: UnsafeMutablePointer<SIMD4<T>>, _ groups: Range<Int>, dimension d: Int,
                                                _ qubits: UnsafeBufferPointer<Int>, _ offsets: UnsafePointer<Int>,
                                                _ m: UnsafePointer<SIMD4<T>>) {
        let half = d / 2
        withUnsafeTemporaryAllocation(of: SIMD4<T>.self, capacity: half) { out in
            for group in groups {
                let base = insertingZeroBits(group, at: qubits) &>> 1
                var rowStart = 0
                repeat {
                    var acc0 = SIMD4<T>.zero, acc1 = SIMD4<T>.zero, acc2 = SIMD4<T>.zero, acc3 = SIMD4<T>.zero
                    var acc4 = SIMD4<T>.zero, acc5 = SIMD4<T>.zero, acc6 = SIMD4<T>.zero, acc7 = SIMD4<T>.zero
                    @inline(__always) func add(_ acc: inout SIMD4<T>, _ k: UnsafePointer<SIMD4<T>>, _ v: (SIMD4<T>, SIMD4<T>, SIMD4<T>, SIMD4<T>)) {
                        acc.addProduct(k[0], v.0); acc.addProduct(k[1], v.1); acc.addProduct(k[2], v.2); acc.addProduct(k[3], v.3)
                    }
                    for c in 0..<half {
                        let x = w[base &+ offsets[c]]
                        let v = (SIMD4(x[0], x[1], x[0], x[1]), SIMD4(x[1], x[0], x[1], x[0]), SIMD4(x[2], x[3], x[2], x[3]), SIMD4(x[3], x[2], x[3], x[2]))
                        let row = { (r: Int) in UnsafePointer(m + 4 &* ((rowStart &+ r) &* half &+ c)) }
                        add(&acc0, row(0), v)
                        if half >= 2 { add(&acc1, row(1), v) }
                        if half >= 4 { add(&acc2, row(2), v); add(&acc3, row(3), v) }
                        if half >= 8 { add(&acc4, row(4), v); add(&acc5, row(5), v); add(&acc6, row(6), v); add(&acc7, row(7), v) }
                    }
                    let o = out.baseAddress! + rowStart
                    o[0] = acc0
                    if half >= 2 { o[1] = acc1 }
                    if half >= 4 { o[2] = acc2; o[3] = acc3 }
                    if half >= 8 { o[4] = acc4; o[5] = acc5; o[6] = acc6; o[7] = acc7 }
                    rowStart &+= 8
                } while rowStart < half
                for r in 0..<half { w[base &+ offsets[r]] = out[r] }
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
