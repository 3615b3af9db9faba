import ComplexModule
import ForgeCore
import RealModule

// Fused blocks converted once for the vector kernels: precision, offsets and the lane layout
// of vectors of 2^laneShift complex amplitudes (the table's width, chosen at run time). Qubits
// are local qubits of the slice or window the block runs on.

/// A dense 2^m × 2^m matrix (row-major, bit k of an index is qubit `qubits[k]`, ascending).
/// Block qubits ≥ s (laneShift) pick vectors (`highQubits`); block qubits < s (`lowMask`) pick
/// lanes inside one. With lowMask 0 a vector holds the same entry of 2^s neighbouring groups
/// and coefficients are broadcast scalars; otherwise each column's entry is broadcast within
/// each group by a shuffle and multiplied by lane-wise coefficients. Every kernel forms each
/// output as A + i·B, A = Σ re·z and B = Σ im·z, each an FMA chain over the columns in
/// ascending order, so the result does not depend on the layout, the vector width or the window.
public struct DenseBlock<T: AmplitudeScalar> {
    public let dimension: Int
    public let qubits: [Int]
    public let lowMask: Int
    public let highQubits: [Int]
    /// Column-major (re, im) scalars: entry (r, c) at 2·(c·d + r).
    public let entries: [T]
    /// The item's vectors (rows of the block for lowMask 0, high rows of 2^h lanes otherwise) in
    /// groups of `groupSize` that read only `groupSize` column vectors each. A product of cx,
    /// ccx and a few one-qubit gates is sparse, P·(U ⊕ U′ ⊕ …)·P′, so it costs groupSize column
    /// vectors per output vector instead of all of them. Group t holds the vectors t·g ..<
    /// (t + 1)·g of these lists (offsets in vector units; columns ascending in each group, so the
    /// FMA chains are the dense ones without their zero terms: the same bits). A dense block is
    /// one group of all its vectors.
    public let groupSize: Int
    public let groupRowOffsets: [Int]
    public let groupColumnOffsets: [Int]
    /// lowMask 0: group t's entry (i, j) at 2·(t·g² + j·g + i) (column-major per group).
    public let groupEntries: [T]
    /// lowMask ≠ 0: for group t, its column vector j and low column value `low`, and its row
    /// vector i, two vectors whose lane ℓ holds entry (R·2^h + ℓ's lowMask bits, C·2^h + low)
    /// (R, C: the group's i-th row and j-th column vector): its real part in both halves of the
    /// complex lane, then its imaginary part likewise; vector 2·(t·g²·2^h + (j·2^h + low)·g + i),
    /// each 2^(s+1) scalars.
    public let laneCoefficients: [T]

    public init(qubits: [Int], matrix: [Complex<Double>], laneShift s: Int) {
        precondition(qubits == qubits.sorted(), "dense block qubits must be ascending")
        let d = 1 << qubits.count
        (dimension, self.qubits) = (d, qubits)
        // Entries at rounding level (1e-17 where a product of gates is exactly 0) are zero, in
        // every kernel alike, so the sparse groups below see the block's structure.
        let matrix = matrix.map { $0.length <= matrixRoundoff ? .zero : $0 }
        lowMask = qubits.filter { $0 < s }.reduce(0) { $0 | 1 << $1 }
        highQubits = qubits.filter { $0 >= s }
        let offsets = groupOffsets(highQubits).map { $0 >> s }   // of the high rows, in vectors
        entries = (0..<(d * d)).flatMap { k -> [T] in
            let z = matrix[(k % d) * d + k / d]
            return [T(z.real), T(z.imaginary)]
        }
        let h = lowMask.nonzeroBitCount, rows = d >> h, lowCount = 1 << h, lanes = 1 << s
        func entry(_ r: Int, _ c: Int) -> Complex<Double> { matrix[r * d + c] }
        let groups = sparseGroups(dimension: rows, smallest: lowMask == 0 ? 2 : 1) { r, c in
            (0..<lowCount).contains { l in (0..<lowCount).contains { entry(r << h | l, c << h | $0) != .zero } }
        } ?? [(rows: Array(0..<rows), columns: Array(0..<rows))]
        groupSize = groups[0].rows.count
        groupRowOffsets = groups.flatMap(\.rows).map { offsets[$0] }
        groupColumnOffsets = groups.flatMap(\.columns).map { offsets[$0] }
        var scalars: [T] = []
        for group in groups {
            for c in group.columns {
                for low in 0..<lowCount {
                    for r in group.rows {
                        if lowMask == 0 {
                            scalars += [T(entry(r, c).real), T(entry(r, c).imaginary)]
                            continue
                        }
                        var re = [T](), im = [T]()
                        for lane in 0..<lanes {
                            let z = entry(r << h | compressingBits(lane, mask: lowMask), c << h | low)
                            re += [T(z.real), T(z.real)]
                            im += [T(z.imaginary), T(z.imaginary)]
                        }
                        scalars += re + im
                    }
                }
            }
        }
        (groupEntries, laneCoefficients) = lowMask == 0 ? (scalars, []) : ([], scalars)
    }
}

/// The rows and columns of an n × n matrix as groups of equal size g < n (at least `smallest`)
/// whose entries outside them are all zero, columns ascending in each group; nil when there are
/// none. The nonzero entries link rows to columns; in a unitary each connected set is square,
/// and sets are packed, largest first, into groups of the smallest power of two holding the
/// largest.
func sparseGroups(dimension n: Int, smallest: Int, nonzero: (Int, Int) -> Bool) -> [(rows: [Int], columns: [Int])]? {
    // Union-find over rows 0 ..< n and columns n ..< 2n.
    var parent = Array(0..<(2 * n))
    func root(_ x: Int) -> Int {
        var x = x
        while parent[x] != x { parent[x] = parent[parent[x]]; x = parent[x] }
        return x
    }
    for r in 0..<n { for c in 0..<n where nonzero(r, c) { parent[root(r)] = root(n + c) } }
    var sets: [Int: (rows: [Int], columns: [Int])] = [:]
    for r in 0..<n { sets[root(r), default: ([], [])].rows.append(r) }
    for c in 0..<n { sets[root(n + c), default: ([], [])].columns.append(c) }
    // Largest first, then by first row: a fixed order (the dictionary's is not).
    let connected = sets.values.sorted { ($0.rows.count, $1.rows.first ?? 0) > ($1.rows.count, $0.rows.first ?? 0) }
    guard connected.allSatisfy({ $0.rows.count == $0.columns.count }), let largest = connected.first?.rows.count else { return nil }
    var g = smallest
    while g < largest { g *= 2 }
    guard g < n else { return nil }
    var groups: [(rows: [Int], columns: [Int])] = []
    for set in connected {
        if let i = groups.firstIndex(where: { $0.rows.count + set.rows.count <= g }) {
            groups[i].rows += set.rows
            groups[i].columns += set.columns
        } else {
            groups.append(set)
        }
    }
    guard groups.allSatisfy({ $0.rows.count == g }) else { return nil }
    return groups.map { (rows: $0.rows.sorted(), columns: $0.columns.sorted()) }
}

/// In each group, entry r becomes factors[r] × entry sources[r] (runs of X, CX, CCX, SWAP with
/// phases); rows whose factor is 1 are copied, not multiplied. With qubits 0 ..< s outside
/// the block, entries move as whole vectors of 2^s neighbouring groups; with a lane qubit, an
/// item (one vector per combination of the block's higher qubits) is loaded whole, the
/// amplitudes that change move inside a copy of it from a precomputed list, and the vectors
/// that changed are stored back.
public struct PermutationBlock<T: AmplitudeScalar> {
    public let offsets: [Int]
    public let positions: [Int]
    public let sources: [Int]
    public let factors: [SIMD2<T>]
    /// Per row: 0 stays as it is (its own source, factor 1), 1 is copied, 2 is multiplied. A
    /// factor of 1 multiplies exactly, so skipping it changes no bit.
    public let rowKinds: [UInt8]
    public let across: Bool
    /// Across only: offsets in vector units, and the rows that change (kind ≠ 0): only their
    /// sources are read, so a CCX reads and writes a quarter of the state, not all of it.
    public let vectorOffsets: [Int]
    public let movedRows: [Int]
    /// Lane qubits in the block: its qubits ≥ s (ascending), an item's vectors (offsets in
    /// vector units), those that change, and the moves as (to, from) amplitude indices inside an
    /// item (vector R's lane ℓ is R·2^s + ℓ), copies, then products with `productFactors`.
    public let itemQubits: [Int]
    public let itemOffsets: [Int]
    public let changedVectors: [Int]
    public let copies: [SIMD2<Int32>]
    public let products: [SIMD2<Int32>]
    public let productFactors: [SIMD2<T>]

    public init(qubits: [Int], sources: [Int], factors: [Complex<Double>], laneShift s: Int) {
        offsets = groupOffsets(qubits)
        positions = qubits.sorted()
        self.sources = sources
        self.factors = factors.map { SIMD2(T($0.real), T($0.imaginary)) }
        let kinds = zip(sources.indices, factors).map { r, f -> UInt8 in f != .one ? 2 : sources[r] == r ? 0 : 1 }
        rowKinds = kinds
        across = qubits.allSatisfy { $0 >= s }
        vectorOffsets = offsets.map { $0 >> s }
        movedRows = kinds.indices.filter { kinds[$0] != 0 }
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
public struct DiagonalBlock<T: AmplitudeScalar> {
    public static var blockBits: Int { 6 }
    public let qubits: [Int]
    public let table: [SIMD2<T>]
    /// Per vector of a block: its bits of j from qubits s ..< blockBits.
    public let vectorIndex: [Int]
    public let high: [(bit: Int, qubit: Int)]
    /// Vectors 2·j and 2·j + 1 (j with its lane bits clear), 2^(s+1) scalars each: the real and
    /// the imaginary parts of the phases of the vector's lanes, each in both halves of its lane.
    public let laneFactors: [T]

    public init(qubits: [Int], phases: [Complex<Double>], laneShift s: Int) {
        let blockBits = Self.blockBits, width = 2 << s
        self.qubits = qubits
        table = phases.map { SIMD2(T($0.real), T($0.imaginary)) }
        func bits(of index: Int, below limit: Int) -> Int { extractingBits(index & ((1 << limit) - 1), at: qubits) }
        vectorIndex = (0..<(1 << (blockBits - s))).map { bits(of: $0 << s, below: blockBits) }
        high = qubits.enumerated().filter { $0.element >= blockBits }.map { (bit: $0.offset, qubit: $0.element) }
        var factors = [T](repeating: 0, count: 2 * phases.count * width)
        for j in phases.indices where j & bits(of: (1 << s) - 1, below: s) == 0 {
            for lane in 0..<(1 << s) {
                let z = phases[j | bits(of: lane, below: s)]
                let (re, im) = (2 * j * width + 2 * lane, (2 * j + 1) * width + 2 * lane)
                (factors[re], factors[re + 1]) = (T(z.real), T(z.real))
                (factors[im], factors[im + 1]) = (T(z.imaginary), T(z.imaginary))
            }
        }
        laneFactors = factors
    }
}

/// Consecutive diagonals applied in one pass (`applyDiagonals`), their tables laid end to end
/// so the kernel indexes flat arrays. A single diagonal is a run of one.
public struct DiagonalRun<T: AmplitudeScalar> {
    public let blocks: [DiagonalBlock<T>]
    /// Block t's `vectorIndex` at t·2^(blockBits − s).
    public let vectorIndex: [Int]
    /// Block t's `laneFactors` from `factorStart[t]` (in vectors).
    public let laneFactors: [T]
    public let factorStart: [Int]
    /// Block t's high (bit, qubit) pairs at `highStart[t] ..< highStart[t + 1]`, flattened.
    public let highBits: [Int]
    public let highQubits: [Int]
    public let highStart: [Int]

    public init(_ blocks: [DiagonalBlock<T>], laneShift s: Int) {
        self.blocks = blocks
        vectorIndex = blocks.flatMap(\.vectorIndex)
        laneFactors = blocks.flatMap(\.laneFactors)
        let width = 2 << s
        factorStart = blocks.reduce(into: [0]) { $0.append($0.last! + $1.laneFactors.count / width) }.dropLast()
        highBits = blocks.flatMap { $0.high.map(\.bit) }
        highQubits = blocks.flatMap { $0.high.map(\.qubit) }
        highStart = blocks.reduce(into: [0]) { $0.append($0.last! + $1.high.count) }
    }
}

