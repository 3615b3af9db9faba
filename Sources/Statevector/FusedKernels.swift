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

/// A vector of 2, 4 or 8 complex amplitudes as interleaved (re, im) lanes: amplitudes whose
/// indices differ in their lowest `laneShift` bits (qubits 0 ..< laneShift).
public protocol AmplitudeVector: SIMD where Scalar: AmplitudeScalar {
    /// i·z of every complex lane, (−im, re): a shuffle and a sign flip, both exact, so
    /// re(c)·z + im(c)·(i·z) gives the same bits as the sign-patterned coefficients elsewhere.
    var timesI: Self { get }
}

extension AmplitudeVector {
    /// log2 of the complex lanes.
    @inline(__always) static var laneShift: Int { (scalarCount / 2).trailingZeroBitCount }

    /// Complex lane ℓ takes lane (ℓ with its `mask` bits replaced by `value`): the same entry
    /// of a block for every group in the vector. With literal arguments the loop folds into
    /// one shuffle.
    @inline(__always) func broadcastingLanes(mask: Int, value: Int) -> Self {
        var result = Self()
        for lane in 0..<(Self.scalarCount / 2) {
            let source = (lane & ~mask) | value
            result[2 &* lane] = self[2 &* source]
            result[2 &* lane &+ 1] = self[2 &* source &+ 1]
        }
        return result
    }

    /// `broadcastingLanes` with (im, re) in each complex lane: also one shuffle.
    @inline(__always) func broadcastingSwappedLanes(mask: Int, value: Int) -> Self {
        var result = Self()
        for lane in 0..<(Self.scalarCount / 2) {
            let source = (lane & ~mask) | value
            result[2 &* lane] = self[2 &* source &+ 1]
            result[2 &* lane &+ 1] = self[2 &* source]
        }
        return result
    }
}

extension SIMD4: AmplitudeVector where Scalar: AmplitudeScalar {
    @inline(__always) public var timesI: Self { SIMD4(-self[1], self[0], -self[3], self[2]) }
}

extension SIMD8: AmplitudeVector where Scalar: AmplitudeScalar {
    @inline(__always) public var timesI: Self {
        SIMD8(-self[1], self[0], -self[3], self[2], -self[5], self[4], -self[7], self[6])
    }
}

extension SIMD16: AmplitudeVector where Scalar: AmplitudeScalar {
    @inline(__always) public var timesI: Self {
        SIMD16(-self[1], self[0], -self[3], self[2], -self[5], self[4], -self[7], self[6],
               -self[9], self[8], -self[11], self[10], -self[13], self[12], -self[15], self[14])
    }
}

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
            // Fusion already sent monomial products to the cheaper kernels, but for phased ones on
            // lane qubits, which the vectorised dense kernels run faster.
            self = .dense(DenseKernel(qubits: qubits, matrix: matrix))
        case .permutation(let qubits, let sources, let factors):
            self = .permutation(PermutationKernel(qubits: qubits, sources: sources, factors: factors))
        case .diagonal(let qubits, let phases):
            self = .diagonal(DiagonalKernel(qubits: qubits, phases: phases))
        case .instruction(let instruction):
            self = .instruction(instruction)
        }
    }
}

/// A dense 2^m × 2^m matrix on local qubits (ascending), for kernels on `T.WideVector`s of
/// 2^s complex lanes (qubits 0 ..< s). Block qubits ≥ s pick vectors (`highQubits`); block
/// qubits < s (`lowMask`) pick lanes inside one. With lowMask 0 (`across`) a vector holds the
/// same entry of 2^s neighbouring groups and coefficients are broadcast scalars; otherwise each
/// column's entry is broadcast within each group by a shuffle and multiplied by lane-wise
/// coefficients. Every kernel sums each output over the columns in ascending order with the
/// same two FMAs per column (re·z, then im·(i·z)), so the result does not depend on the layout,
/// the vector width or the cache window.
struct DenseKernel<T: AmplitudeScalar> {
    let dimension: Int
    let qubits: [Int]
    let lowMask: Int
    let highQubits: [Int]
    /// Offsets of the high columns in vector units.
    let highOffsets: [Int]
    /// Column-major (re, im) scalars: entry (r, c) at 2·(c·d + r).
    let entries: [T]
    /// lowMask ≠ 0: for column j and high row R, the vectors whose lane ℓ holds entry
    /// (R·2^h + ℓ's lowMask bits, j): its real part in both halves, and its imaginary part as
    /// (−im, +im) to multiply the (im, re) swap of the column's entry; at 2·(j·2^(m−h) + R).
    let laneCoefficients: [T.WideVector]

    init(qubits: [Int], matrix: [Amplitude]) {
        precondition(qubits == qubits.sorted(), "dense block qubits must be ascending")
        let d = 1 << qubits.count, s = T.WideVector.laneShift
        (dimension, self.qubits) = (d, qubits)
        lowMask = qubits.filter { $0 < s }.reduce(0) { $0 | 1 << $1 }
        highQubits = qubits.filter { $0 >= s }
        highOffsets = groupOffsets(highQubits).map { $0 >> s }
        entries = (0..<(d * d)).flatMap { k -> [T] in
            let z = matrix[(k % d) * d + k / d]
            return [T(z.real), T(z.imaginary)]
        }
        let h = lowMask.nonzeroBitCount, rows = d >> h, lanes = 1 << s
        var vectors: [T.WideVector] = []
        if lowMask != 0 {
            for j in 0..<d {
                for high in 0..<rows {
                    var re = T.WideVector(), im = T.WideVector()
                    for lane in 0..<lanes {
                        let row = high << h | compressingBits(lane, mask: lowMask)
                        let z = matrix[row * d + j]
                        (re[2 * lane], re[2 * lane + 1]) = (T(z.real), T(z.real))
                        (im[2 * lane], im[2 * lane + 1]) = (-T(z.imaginary), T(z.imaginary))
                    }
                    vectors += [re, im]
                }
            }
        }
        laneCoefficients = vectors
    }
}

/// The bits of `value` at `mask`'s set positions, packed from bit 0 up.
func compressingBits(_ value: Int, mask: Int) -> Int {
    var (result, k, m) = (0, 0, mask)
    while m != 0 {
        let bit = m & -m
        if value & bit != 0 { result |= 1 << k }
        (k, m) = (k + 1, m & (m - 1))
    }
    return result
}

/// In each group, entry r becomes factors[r] × entry sources[r] (runs of X, CX, CCX, SWAP with
/// phases); rows whose factor is 1 are copied, not multiplied. With qubits 0 ..< s outside
/// the block (s as for `T.WideVector`), entries move as whole vectors of 2^s neighbouring groups.
struct PermutationKernel<T: AmplitudeScalar> {
    let offsets: [Int]
    let positions: [Int]
    let sources: [Int]
    let factors: [SIMD2<T>]
    /// Per row: 0 stays as it is (its own source, factor 1), 1 is copied, 2 is multiplied. A
    /// factor of 1 multiplies exactly, so skipping it changes no bit.
    let rowKinds: [UInt8]
    let across: Bool
    /// Across only: offsets in vector units.
    let vectorOffsets: [Int]

    init(qubits: [Int], sources: [Int], factors: [Amplitude]) {
        let s = T.WideVector.laneShift
        offsets = groupOffsets(qubits)
        positions = qubits.sorted()
        self.sources = sources
        self.factors = factors.map { SIMD2(T($0.real), T($0.imaginary)) }
        rowKinds = zip(sources.indices, factors).map { r, f in f != .one ? 2 : sources[r] == r ? 0 : 1 }
        across = qubits.allSatisfy { $0 >= s }
        vectorOffsets = offsets.map { $0 >> s }
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
        typealias V = T.WideVector
        // A state (or window) narrower than one vector: amplitude by amplitude.
        guard localQubitCount >= V.laneShift else { return applyByAmplitude(k) }
        let w = UnsafeMutableRawPointer(amplitudes).assumingMemoryBound(to: V.self)
        let items = localCount >> (k.highQubits.count + V.laneShift)
        k.highQubits.withUnsafeBufferPointer { qs in
            k.highOffsets.withUnsafeBufferPointer { o in
                k.entries.withUnsafeBufferPointer { e in
                    k.laneCoefficients.withUnsafeBufferPointer { c in
                        let (offs, e, c, d, mask) = (o.baseAddress!, e.baseAddress!, c.baseAddress, k.dimension, k.lowMask)
                        team.forEach(items) { range in
                            if mask == 0 {
                                Kernels.denseAcross(w, range, dimension: d, qs, offs, e)
                            } else {
                                Kernels.denseMixed(w, range, dimension: d, lowMask: mask, qs, offs, c!)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Dense block on a state of fewer amplitudes than a vector holds (tiny states and windows):
    /// the same FMAs in the same order as the vector kernels, one amplitude at a time.
    private func applyByAmplitude(_ k: DenseKernel<T>) {
        let a = amplitudes, d = k.dimension
        let offsets = groupOffsets(k.qubits)
        k.qubits.withUnsafeBufferPointer { qs in
            k.entries.withUnsafeBufferPointer { m in
                withUnsafeTemporaryAllocation(of: SIMD2<T>.self, capacity: 2 * d) { v in
                    for group in 0..<(localCount >> qs.count) {
                        let base = insertingZeroBits(group, at: qs)
                        for c in 0..<d { v[c] = a[base + offsets[c]] }
                        for r in 0..<d {
                            var acc = SIMD2<T>.zero
                            for c in 0..<d {
                                let x = v[c], xi = SIMD2(-x.y, x.x)
                                acc.addProduct(SIMD2(repeating: m[2 * (c * d + r)]), x)
                                acc.addProduct(SIMD2(repeating: m[2 * (c * d + r) + 1]), xi)
                            }
                            v[d + r] = acc
                        }
                        for r in 0..<d { a[base + offsets[r]] = v[d + r] }
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
                        k.rowKinds.withUnsafeBufferPointer { kind in
                            team.forEach(localCount >> qs.count) { range in
                                withUnsafeTemporaryAllocation(of: SIMD2<T>.self, capacity: dimension) { v in
                                    for group in range {
                                        let base = insertingZeroBits(group, at: qs)
                                        for c in 0..<dimension { v[c] = a[base &+ offs[c]] }
                                        for r in 0..<dimension where kind[r] != 0 {
                                            let x = v[column[r]]
                                            a[base &+ offs[r]] = kind[r] == 1 ? x : Kernels.mul(f[r], x)
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

    /// 2^s neighbouring groups at a time, as whole vectors; f·x as re(f)·x + im(f)·(i·x),
    /// unfused, which is `Kernels.mul` lane by lane.
    private func applyAcross(_ k: PermutationKernel<T>) {
        typealias V = T.WideVector
        let w = UnsafeMutableRawPointer(amplitudes).assumingMemoryBound(to: V.self)
        let dimension = k.sources.count
        k.positions.withUnsafeBufferPointer { qs in
            k.vectorOffsets.withUnsafeBufferPointer { offs in
                k.sources.withUnsafeBufferPointer { column in
                    k.factors.withUnsafeBufferPointer { f in
                        k.rowKinds.withUnsafeBufferPointer { kind in
                            team.forEach(localCount >> (qs.count + V.laneShift)) { range in
                                withUnsafeTemporaryAllocation(of: V.self, capacity: dimension) { v in
                                    for item in range {
                                        let base = insertingZeroBits(item &<< V.laneShift, at: qs) &>> V.laneShift
                                        for c in 0..<dimension { v[c] = w[base &+ offs[c]] }
                                        for r in 0..<dimension where kind[r] != 0 {
                                            let x = v[column[r]]
                                            w[base &+ offs[r]] = kind[r] == 1 ? x : V(repeating: f[r].x) * x + V(repeating: f[r].y) * x.timesI
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
    /// Dense dispatch for one range of items: the block size and lane mask become literals
    /// here, once per range, so each kernel's loops unroll and its shuffles fold.
    @inline(__always)
    static func denseAcross<V: AmplitudeVector>(_ w: UnsafeMutablePointer<V>, _ items: Range<Int>, dimension d: Int,
                                                _ qubits: UnsafeBufferPointer<Int>, _ offsets: UnsafePointer<Int>,
                                                _ m: UnsafePointer<V.Scalar>) {
        switch d {
        case 2: denseAcrossKernel(w, items, dimension: 2, qubits, offsets, m)
        case 4: denseAcrossKernel(w, items, dimension: 4, qubits, offsets, m)
        case 8: denseAcrossKernel(w, items, dimension: 8, qubits, offsets, m)
        case 16: denseAcrossKernel(w, items, dimension: 16, qubits, offsets, m)
        default: denseAcrossKernel(w, items, dimension: d, qubits, offsets, m)
        }
    }

    @inline(__always)
    static func denseMixed<V: AmplitudeVector>(_ w: UnsafeMutablePointer<V>, _ items: Range<Int>, dimension d: Int, lowMask: Int,
                                               _ qubits: UnsafeBufferPointer<Int>, _ offsets: UnsafePointer<Int>,
                                               _ m: UnsafePointer<V>) {
        switch lowMask {
        case 1: denseMixedSized(w, items, dimension: d, LaneMask1.self, qubits, offsets, m)
        case 2: denseMixedSized(w, items, dimension: d, LaneMask2.self, qubits, offsets, m)
        case 3: denseMixedSized(w, items, dimension: d, LaneMask3.self, qubits, offsets, m)
        case 4: denseMixedSized(w, items, dimension: d, LaneMask4.self, qubits, offsets, m)
        case 5: denseMixedSized(w, items, dimension: d, LaneMask5.self, qubits, offsets, m)
        case 6: denseMixedSized(w, items, dimension: d, LaneMask6.self, qubits, offsets, m)
        default: denseMixedSized(w, items, dimension: d, LaneMask7.self, qubits, offsets, m)
        }
    }

    /// The mask is a type so each specialisation sees it as a constant and its shuffles fold.
    static func denseMixedSized<V: AmplitudeVector, M: LaneMask>(_ w: UnsafeMutablePointer<V>, _ items: Range<Int>, dimension d: Int, _: M.Type,
                                                                 _ qubits: UnsafeBufferPointer<Int>, _ offsets: UnsafePointer<Int>,
                                                                 _ m: UnsafePointer<V>) {
        switch d {
        case 2: denseMixedKernel(w, items, dimension: 2, lowMask: M.bits, qubits, offsets, m)
        case 4: denseMixedKernel(w, items, dimension: 4, lowMask: M.bits, qubits, offsets, m)
        case 8: denseMixedKernel(w, items, dimension: 8, lowMask: M.bits, qubits, offsets, m)
        default: denseMixedKernel(w, items, dimension: d, lowMask: M.bits, qubits, offsets, m)
        }
    }

    /// lowMask 0: vector = the same entry of 2^s neighbouring groups (item p: groups p·2^s …).
    /// Two items at a time and four rows per pass: each coefficient loaded once feeds four
    /// FMAs, and eight accumulators stay in registers. (An odd last item is computed twice,
    /// harmlessly.)
    @inline(__always)
    static func denseAcrossKernel<V: AmplitudeVector>(_ w: UnsafeMutablePointer<V>, _ items: Range<Int>, dimension d: Int,
                                                      _ qubits: UnsafeBufferPointer<Int>, _ offsets: UnsafePointer<Int>,
                                                      _ m: UnsafePointer<V.Scalar>) {
        let s = V.laneShift
        withUnsafeTemporaryAllocation(of: V.self, capacity: 2 * d) { out in
            var item = items.lowerBound
            while item < items.upperBound {
                let base0 = insertingZeroBits(item &<< s, at: qubits) &>> s
                let base1 = item &+ 1 < items.upperBound ? insertingZeroBits((item &+ 1) &<< s, at: qubits) &>> s : base0
                var rowStart = 0
                repeat {
                    var a0 = V.zero, a1 = V.zero, a2 = V.zero, a3 = V.zero
                    var b0 = V.zero, b1 = V.zero, b2 = V.zero, b3 = V.zero
                    for c in 0..<d {
                        let x = w[base0 &+ offsets[c]], y = w[base1 &+ offsets[c]]
                        let xi = x.timesI, yi = y.timesI
                        let k = m + 2 &* (c &* d &+ rowStart)
                        var (re, im) = (V(repeating: k[0]), V(repeating: k[1]))
                        a0.addProduct(re, x); a0.addProduct(im, xi); b0.addProduct(re, y); b0.addProduct(im, yi)
                        (re, im) = (V(repeating: k[2]), V(repeating: k[3]))
                        a1.addProduct(re, x); a1.addProduct(im, xi); b1.addProduct(re, y); b1.addProduct(im, yi)
                        if d >= 4 {
                            (re, im) = (V(repeating: k[4]), V(repeating: k[5]))
                            a2.addProduct(re, x); a2.addProduct(im, xi); b2.addProduct(re, y); b2.addProduct(im, yi)
                            (re, im) = (V(repeating: k[6]), V(repeating: k[7]))
                            a3.addProduct(re, x); a3.addProduct(im, xi); b3.addProduct(re, y); b3.addProduct(im, yi)
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
                item &+= 2
            }
        }
    }

    /// lowMask ≠ 0 (h block qubits inside a vector): for each high column C and low column
    /// value, the loaded vector is shuffled so each group's lanes all hold that column's entry,
    /// then multiplied by lane-wise coefficients of rows (R, ℓ's low bits). Columns go in
    /// ascending order j = C·2^h + low, as in `denseAcrossKernel`. Two items, four high rows
    /// per pass.
    @inline(__always)
    static func denseMixedKernel<V: AmplitudeVector>(_ w: UnsafeMutablePointer<V>, _ items: Range<Int>, dimension d: Int, lowMask: Int,
                                                     _ qubits: UnsafeBufferPointer<Int>, _ offsets: UnsafePointer<Int>,
                                                     _ m: UnsafePointer<V>) {
        let s = V.laneShift, lowCount = 1 &<< lowMask.nonzeroBitCount, rows = d / lowCount
        guard rows >= 1 else { return }  // mask wider than the block: never planned
        withUnsafeTemporaryAllocation(of: V.self, capacity: 2 * rows) { out in
            var item = items.lowerBound
            while item < items.upperBound {
                let base0 = insertingZeroBits(item &<< s, at: qubits) &>> s
                let base1 = item &+ 1 < items.upperBound ? insertingZeroBits((item &+ 1) &<< s, at: qubits) &>> s : base0
                var rowStart = 0
                repeat {
                    var a0 = V.zero, a1 = V.zero, a2 = V.zero, a3 = V.zero
                    var b0 = V.zero, b1 = V.zero, b2 = V.zero, b3 = V.zero
                    for high in 0..<rows {
                        let x0 = w[base0 &+ offsets[high]], y0 = w[base1 &+ offsets[high]]
                        for low in 0..<lowCount {
                            let value = depositingLowBits(low, mask: lowMask)
                            let x = x0.broadcastingLanes(mask: lowMask, value: value)
                            let y = y0.broadcastingLanes(mask: lowMask, value: value)
                            // (im, re) against (−im, +im) coefficients: i·z without a sign flip.
                            let xi = x0.broadcastingSwappedLanes(mask: lowMask, value: value)
                            let yi = y0.broadcastingSwappedLanes(mask: lowMask, value: value)
                            let k = m + 2 &* ((high &* lowCount &+ low) &* rows &+ rowStart)
                            var (re, im) = (k[0], k[1])
                            a0.addProduct(re, x); a0.addProduct(im, xi); b0.addProduct(re, y); b0.addProduct(im, yi)
                            if rows >= 2 {
                                (re, im) = (k[2], k[3])
                                a1.addProduct(re, x); a1.addProduct(im, xi); b1.addProduct(re, y); b1.addProduct(im, yi)
                            }
                            if rows >= 4 {
                                (re, im) = (k[4], k[5])
                                a2.addProduct(re, x); a2.addProduct(im, xi); b2.addProduct(re, y); b2.addProduct(im, yi)
                                (re, im) = (k[6], k[7])
                                a3.addProduct(re, x); a3.addProduct(im, xi); b3.addProduct(re, y); b3.addProduct(im, yi)
                            }
                        }
                    }
                    let o = out.baseAddress! + rowStart, p = out.baseAddress! + (rows &+ rowStart)
                    o[0] = a0; p[0] = b0
                    if rows >= 2 { o[1] = a1; p[1] = b1 }
                    if rows >= 4 { o[2] = a2; o[3] = a3; p[2] = b2; p[3] = b3 }
                    rowStart &+= 4
                } while rowStart < rows
                for r in 0..<rows {
                    w[base0 &+ offsets[r]] = out[r]
                    w[base1 &+ offsets[r]] = out[rows &+ r]
                }
                item &+= 2
            }
        }
    }
}

/// Which of qubits 0, 1, 2 a dense block holds, as a type (see `Kernels.denseMixedSized`).
protocol LaneMask { static var bits: Int { get } }
enum LaneMask1: LaneMask { static var bits: Int { 1 } }
enum LaneMask2: LaneMask { static var bits: Int { 2 } }
enum LaneMask3: LaneMask { static var bits: Int { 3 } }
enum LaneMask4: LaneMask { static var bits: Int { 4 } }
enum LaneMask5: LaneMask { static var bits: Int { 5 } }
enum LaneMask6: LaneMask { static var bits: Int { 6 } }
enum LaneMask7: LaneMask { static var bits: Int { 7 } }

/// Bit k of `value` moved to the k-th set bit of `mask` (literal arguments fold).
@inline(__always)
func depositingLowBits(_ value: Int, mask: Int) -> Int {
    var (result, k) = (0, 0)
    for bit in 0..<3 where mask & (1 << bit) != 0 {
        if value & (1 << k) != 0 { result |= 1 << bit }
        k += 1
    }
    return result
}
