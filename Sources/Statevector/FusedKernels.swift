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
    /// i·z of every complex lane, (−im, re): a shuffle and a sign flip, both exact, so every
    /// kernel that forms A + i·B gets the same bits.
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
/// coefficients. Every kernel forms each output as A + i·B, A = Σ re·z and B = Σ im·z, each an
/// FMA chain over the columns in ascending order, so the result does not depend on the layout,
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
    /// (R·2^h + ℓ's lowMask bits, j): its real part in both halves of the complex lane, then
    /// its imaginary part likewise; at 2·(j·2^(m−h) + R).
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
                        (im[2 * lane], im[2 * lane + 1]) = (T(z.imaginary), T(z.imaginary))
                    }
                    vectors += [re, im]
                }
            }
        }
        laneCoefficients = vectors
    }
}

/// Bit k of the result is bit `positions[k]` of `value` (the inverse of `depositingBits`).
func extractingBits(_ value: Int, at positions: [Int]) -> Int {
    positions.enumerated().reduce(0) { value & (1 << $1.element) != 0 ? $0 | 1 << $1.offset : $0 }
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
/// the block (s as for `T.WideVector`), entries move as whole vectors of 2^s neighbouring groups;
/// with a lane qubit, an item (one vector per combination of the block's higher qubits) is
/// loaded whole, the amplitudes that change move inside a copy of it from a precomputed list,
/// and the vectors that changed are stored back.
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
    /// Lane qubits in the block: its qubits ≥ s (ascending), an item's vectors (offsets in
    /// vector units), those that change, and the moves as (to, from) amplitude indices inside an
    /// item (vector R's lane ℓ is R·2^s + ℓ), copies, then products with `productFactors`.
    let itemQubits: [Int]
    let itemOffsets: [Int]
    let changedVectors: [Int]
    let copies: [SIMD2<Int32>]
    let products: [SIMD2<Int32>]
    let productFactors: [SIMD2<T>]

    init(qubits: [Int], sources: [Int], factors: [Amplitude]) {
        let s = T.WideVector.laneShift
        offsets = groupOffsets(qubits)
        positions = qubits.sorted()
        self.sources = sources
        self.factors = factors.map { SIMD2(T($0.real), T($0.imaginary)) }
        let kinds = zip(sources.indices, factors).map { r, f -> UInt8 in f != .one ? 2 : sources[r] == r ? 0 : 1 }
        rowKinds = kinds
        across = qubits.allSatisfy { $0 >= s }
        vectorOffsets = offsets.map { $0 >> s }
        itemQubits = qubits.filter { $0 >= s }.sorted()
        itemOffsets = groupOffsets(itemQubits).map { $0 >> s }
        var changed = Set<Int>(), copies: [SIMD2<Int32>] = [], products: [SIMD2<Int32>] = [], productFactors: [SIMD2<T>] = []
        if !across {
            let blockMask = qubits.reduce(0) { $0 | 1 << $1 }
            for index in 0..<(itemOffsets.count << s) {
                let offset = depositingBits(index >> s, at: itemQubits[...]) | index & ((1 << s) - 1)
                let r = extractingBits(offset, at: qubits)
                guard kinds[r] != 0 else { continue }
                let source = offset & ~blockMask | depositingBits(sources[r], at: qubits[...])
                let move = SIMD2(Int32(index), Int32(extractingBits(source, at: itemQubits) << s | source & ((1 << s) - 1)))
                changed.insert(index >> s)
                if kinds[r] == 1 { copies.append(move) } else { products.append(move); productFactors.append(self.factors[r]) }
            }
        }
        (changedVectors, self.copies, self.products, self.productFactors) = (changed.sorted(), copies, products, productFactors)
    }
}

/// Multiplies each amplitude by phases[j], j = its index bits at `qubits` (any qubits:
/// rank-index bits are constant over the slice, so no communication). Vector by vector: the
/// block's lane qubits (< s) vary inside a vector, so each j with those bits clear has a
/// vector of lane phases; qubits s ..< blockBits pick the vector inside a block of 2^blockBits
/// amplitudes (a lookup), and the higher ones are constant over the block.
struct DiagonalKernel<T: AmplitudeScalar> {
    static var blockBits: Int { 6 }
    let qubits: [Int]
    let table: [SIMD2<T>]
    /// Per vector of a block: its bits of j from qubits s ..< blockBits.
    let vectorIndex: [Int]
    let high: [(bit: Int, qubit: Int)]
    /// At 2·j and 2·j + 1 (j with its lane bits clear): the real and the imaginary parts of
    /// the phases of the vector's lanes, each in both halves of its complex lane.
    let laneFactors: [T.WideVector]

    init(qubits: [Int], phases: [Amplitude]) {
        let s = T.WideVector.laneShift, blockBits = Self.blockBits
        self.qubits = qubits
        table = phases.map { SIMD2(T($0.real), T($0.imaginary)) }
        func bits(of index: Int, below limit: Int) -> Int { extractingBits(index & ((1 << limit) - 1), at: qubits) }
        vectorIndex = (0..<(1 << (blockBits - s))).map { bits(of: $0 << s, below: blockBits) }
        high = qubits.enumerated().filter { $0.element >= blockBits }.map { (bit: $0.offset, qubit: $0.element) }
        var factors = [T.WideVector](repeating: T.WideVector(), count: 2 * phases.count)
        for j in phases.indices where j & bits(of: (1 << s) - 1, below: s) == 0 {
            for lane in 0..<(1 << s) {
                let z = phases[j | bits(of: lane, below: s)]
                (factors[2 * j][2 * lane], factors[2 * j][2 * lane + 1]) = (T(z.real), T(z.real))
                (factors[2 * j + 1][2 * lane], factors[2 * j + 1][2 * lane + 1]) = (T(z.imaginary), T(z.imaginary))
            }
        }
        laneFactors = factors
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
                            var a = SIMD2<T>.zero, b = SIMD2<T>.zero
                            for c in 0..<d {
                                a.addProduct(SIMD2(repeating: m[2 * (c * d + r)]), v[c])
                                b.addProduct(SIMD2(repeating: m[2 * (c * d + r) + 1]), v[c])
                            }
                            v[d + r] = a + SIMD2(-b.y, b.x)
                        }
                        for r in 0..<d { a[base + offsets[r]] = v[d + r] }
                    }
                }
            }
        }
    }

    private func apply(_ k: PermutationKernel<T>) {
        if k.across { return applyAcross(k) }
        if localQubitCount >= T.WideVector.laneShift + k.itemQubits.count { return applyByItem(k) }
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

    /// A block with lane qubits, item by item: whole vectors in and out, the moves inside a copy
    /// in L1 (the same products as the amplitude-by-amplitude loop, so the same bits).
    private func applyByItem(_ k: PermutationKernel<T>) {
        typealias V = T.WideVector
        let w = UnsafeMutableRawPointer(amplitudes).assumingMemoryBound(to: V.self)
        let s = V.laneShift, rows = k.itemOffsets.count
        k.itemQubits.withUnsafeBufferPointer { qs in
            k.itemOffsets.withUnsafeBufferPointer { offs in
                k.changedVectors.withUnsafeBufferPointer { changed in
                    k.copies.withUnsafeBufferPointer { copies in
                        k.products.withUnsafeBufferPointer { products in
                            k.productFactors.withUnsafeBufferPointer { f in
                                team.forEach(localCount >> (qs.count + s)) { range in
                                    withUnsafeTemporaryAllocation(of: V.self, capacity: 2 * rows) { t in
                                        let vIn = t.baseAddress!, vOut = vIn + rows
                                        let aIn = UnsafeMutableRawPointer(vIn).assumingMemoryBound(to: SIMD2<T>.self)
                                        let aOut = UnsafeMutableRawPointer(vOut).assumingMemoryBound(to: SIMD2<T>.self)
                                        for item in range {
                                            let base = insertingZeroBits(item &<< s, at: qs) &>> s
                                            for r in 0..<rows { vIn[r] = w[base &+ offs[r]] }
                                            for r in changed { vOut[r] = vIn[r] }
                                            for m in copies { aOut[Int(m.x)] = aIn[Int(m.y)] }
                                            for (j, m) in products.enumerated() { aOut[Int(m.x)] = Kernels.mul(f[j], aIn[Int(m.y)]) }
                                            for r in changed { w[base &+ offs[r]] = vOut[r] }
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
        typealias V = T.WideVector
        let a = amplitudes, offset = globalOffset
        let blockBits = DiagonalKernel<T>.blockBits, s = V.laneShift
        guard localQubitCount >= blockBits else {
            for i in 0..<localCount {
                let g = offset | UInt64(i)
                let j = k.qubits.enumerated().reduce(0) { g & (UInt64(1) << UInt64($1.element)) != 0 ? $0 | 1 << $1.offset : $0 }
                a[i] = Kernels.mul(k.table[j], a[i])
            }
            return
        }
        let w = UnsafeMutableRawPointer(a).assumingMemoryBound(to: V.self)
        k.vectorIndex.withUnsafeBufferPointer { mid in
            k.laneFactors.withUnsafeBufferPointer { f in
                team.forEach(localCount >> blockBits) { blocks in
                    for block in blocks {
                        let g = offset | UInt64(block << blockBits)
                        var jHigh = 0
                        for (bit, q) in k.high where g & (UInt64(1) << UInt64(q)) != 0 { jHigh |= 1 << bit }
                        let v = w + block << (blockBits - s)
                        // (re·z) + i·(im·z), products then sums: `Kernels.mul`'s operations lane by lane.
                        for r in 0..<(1 << (blockBits - s)) {
                            let j = jHigh | mid[r], x = v[r]
                            v[r] = f[2 &* j] * x + (f[2 &* j &+ 1] * x).timesI
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

    /// 512-bit vectors come with 32 registers (AVX-512): room for 16 accumulators, four rows ×
    /// two items; 256-bit ones with 16 (AVX2), where 8 accumulators avoid spills.
    @inline(__always)
    static func hasWideRegisterFile<V: AmplitudeVector>(_: V.Type) -> Bool { MemoryLayout<V>.size >= 64 }

    /// lowMask 0: vector = the same entry of 2^s neighbouring groups (item p: groups p·2^s …).
    /// Two items at a time and up to four rows per pass: each coefficient loaded once feeds
    /// several FMAs. Each output is re·Σ + i·(im·Σ): the real and imaginary parts of the
    /// coefficients accumulate separately against the loaded vector, and the one shuffle of i·z
    /// is paid per output, not per column. (An odd last item is computed twice, harmlessly.)
    @inline(__always)
    static func denseAcrossKernel<V: AmplitudeVector>(_ w: UnsafeMutablePointer<V>, _ items: Range<Int>, dimension d: Int,
                                                      _ qubits: UnsafeBufferPointer<Int>, _ offsets: UnsafePointer<Int>,
                                                      _ m: UnsafePointer<V.Scalar>) {
        let s = V.laneShift, four = hasWideRegisterFile(V.self) && d >= 4
        withUnsafeTemporaryAllocation(of: V.self, capacity: 2 * d) { out in
            var item = items.lowerBound
            while item < items.upperBound {
                let base0 = insertingZeroBits(item &<< s, at: qubits) &>> s
                let base1 = item &+ 1 < items.upperBound ? insertingZeroBits((item &+ 1) &<< s, at: qubits) &>> s : base0
                var rowStart = 0
                repeat {
                    // a, b: real / imaginary coefficient sums of item 0; e, f: of item 1.
                    var a0 = V.zero, a1 = V.zero, a2 = V.zero, a3 = V.zero, b0 = V.zero, b1 = V.zero, b2 = V.zero, b3 = V.zero
                    var e0 = V.zero, e1 = V.zero, e2 = V.zero, e3 = V.zero, f0 = V.zero, f1 = V.zero, f2 = V.zero, f3 = V.zero
                    for c in 0..<d {
                        let x = w[base0 &+ offsets[c]], y = w[base1 &+ offsets[c]]
                        let k = m + 2 &* (c &* d &+ rowStart)
                        var (re, im) = (V(repeating: k[0]), V(repeating: k[1]))
                        a0.addProduct(re, x); b0.addProduct(im, x); e0.addProduct(re, y); f0.addProduct(im, y)
                        (re, im) = (V(repeating: k[2]), V(repeating: k[3]))
                        a1.addProduct(re, x); b1.addProduct(im, x); e1.addProduct(re, y); f1.addProduct(im, y)
                        if four {
                            (re, im) = (V(repeating: k[4]), V(repeating: k[5]))
                            a2.addProduct(re, x); b2.addProduct(im, x); e2.addProduct(re, y); f2.addProduct(im, y)
                            (re, im) = (V(repeating: k[6]), V(repeating: k[7]))
                            a3.addProduct(re, x); b3.addProduct(im, x); e3.addProduct(re, y); f3.addProduct(im, y)
                        }
                    }
                    let o = out.baseAddress! + rowStart, p = out.baseAddress! + (d &+ rowStart)
                    o[0] = a0 + b0.timesI; o[1] = a1 + b1.timesI; p[0] = e0 + f0.timesI; p[1] = e1 + f1.timesI
                    if four { o[2] = a2 + b2.timesI; o[3] = a3 + b3.timesI; p[2] = e2 + f2.timesI; p[3] = e3 + f3.timesI }
                    rowStart &+= four ? 4 : 2
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
    /// then multiplied by lane-wise coefficients of rows (R, ℓ's low bits), real and imaginary
    /// parts into separate sums as in `denseAcrossKernel` (one shuffle per column, i·z once per
    /// output). Columns go in ascending order j = C·2^h + low, as there. Up to four high rows
    /// per pass, of two items with 512-bit vectors and of one with 256-bit ones (eight
    /// accumulators fit 16 registers; two items of two rows would shuffle each column twice).
    @inline(__always)
    static func denseMixedKernel<V: AmplitudeVector>(_ w: UnsafeMutablePointer<V>, _ items: Range<Int>, dimension d: Int, lowMask: Int,
                                                     _ qubits: UnsafeBufferPointer<Int>, _ offsets: UnsafePointer<Int>,
                                                     _ m: UnsafePointer<V>) {
        let s = V.laneShift, lowCount = 1 &<< lowMask.nonzeroBitCount, rows = d / lowCount
        guard rows >= 1 else { return }  // mask wider than the block: never planned
        let perPass = min(rows, 4), pair = hasWideRegisterFile(V.self)
        withUnsafeTemporaryAllocation(of: V.self, capacity: 2 * rows) { out in
            var item = items.lowerBound
            while item < items.upperBound {
                let base0 = insertingZeroBits(item &<< s, at: qubits) &>> s
                let base1 = pair && item &+ 1 < items.upperBound ? insertingZeroBits((item &+ 1) &<< s, at: qubits) &>> s : base0
                var rowStart = 0
                repeat {
                    var a0 = V.zero, a1 = V.zero, a2 = V.zero, a3 = V.zero, b0 = V.zero, b1 = V.zero, b2 = V.zero, b3 = V.zero
                    var e0 = V.zero, e1 = V.zero, e2 = V.zero, e3 = V.zero, f0 = V.zero, f1 = V.zero, f2 = V.zero, f3 = V.zero
                    for high in 0..<rows {
                        let x0 = w[base0 &+ offsets[high]], y0 = pair ? w[base1 &+ offsets[high]] : x0
                        for low in 0..<lowCount {
                            let value = depositingLowBits(low, mask: lowMask)
                            let x = x0.broadcastingLanes(mask: lowMask, value: value)
                            let y = pair ? y0.broadcastingLanes(mask: lowMask, value: value) : x
                            let k = m + 2 &* ((high &* lowCount &+ low) &* rows &+ rowStart)
                            var (re, im) = (k[0], k[1])
                            a0.addProduct(re, x); b0.addProduct(im, x)
                            if pair { e0.addProduct(re, y); f0.addProduct(im, y) }
                            if perPass >= 2 {
                                (re, im) = (k[2], k[3])
                                a1.addProduct(re, x); b1.addProduct(im, x)
                                if pair { e1.addProduct(re, y); f1.addProduct(im, y) }
                            }
                            if perPass >= 4 {
                                (re, im) = (k[4], k[5])
                                a2.addProduct(re, x); b2.addProduct(im, x)
                                if pair { e2.addProduct(re, y); f2.addProduct(im, y) }
                                (re, im) = (k[6], k[7])
                                a3.addProduct(re, x); b3.addProduct(im, x)
                                if pair { e3.addProduct(re, y); f3.addProduct(im, y) }
                            }
                        }
                    }
                    let o = out.baseAddress! + rowStart, p = out.baseAddress! + (rows &+ rowStart)
                    o[0] = a0 + b0.timesI; p[0] = e0 + f0.timesI
                    if perPass >= 2 { o[1] = a1 + b1.timesI; p[1] = e1 + f1.timesI }
                    if perPass >= 4 { o[2] = a2 + b2.timesI; o[3] = a3 + b3.timesI; p[2] = e2 + f2.timesI; p[3] = e3 + f3.timesI }
                    rowStart &+= perPass
                } while rowStart < rows
                for r in 0..<rows { w[base0 &+ offsets[r]] = out[r] }
                if pair { for r in 0..<rows { w[base1 &+ offsets[r]] = out[rows &+ r] } }
                item &+= pair ? 2 : 1
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
