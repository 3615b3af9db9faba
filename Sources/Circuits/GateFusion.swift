import ComplexModule
import ForgeCore

/// What the simulator executes after fusion.
public enum FusedOperation: Sendable {
    /// A dense 2^m × 2^m matrix on local qubits `qubits` (ascending as fused), row-major; bit k
    /// of a row/column index is qubit `qubits[k]`.
    case dense(qubits: [Int], matrix: [Amplitude])
    /// A diagonal: the amplitude whose bits at `qubits` (ascending, any qubits) read j is
    /// multiplied by `phases[j]`. Needs no communication even on rank-index qubits.
    case diagonal(qubits: [Int], phases: [Amplitude])
    /// A permutation with phases on local qubits (ascending): in each group of 2^m amplitudes,
    /// entry r becomes `factors[r]` × entry `sources[r]` (runs of X, CX, CCX, SWAP, phases).
    case permutation(qubits: [Int], sources: [Int], factors: [Amplitude])
    /// An instruction run as it is (measurement, reset, conditional, or a non-diagonal gate
    /// touching a rank-index qubit). A lone gate on local qubits is a block of its own: the
    /// fused kernels (wide vectors, cache windows) beat the per-gate ones.
    case instruction(Instruction)
}

extension FusedOperation {
    /// The same operation with each qubit q renamed `label[q]` (bit k of a matrix index stays
    /// the k-th listed qubit, so the lists need not stay ascending).
    public func relabelled(_ label: [Int]) -> FusedOperation {
        switch self {
        case .dense(let qubits, let matrix): return .dense(qubits: qubits.map { label[$0] }, matrix: matrix)
        case .diagonal(let qubits, let phases): return .diagonal(qubits: qubits.map { label[$0] }, phases: phases)
        case .permutation(let qubits, let sources, let factors):
            return .permutation(qubits: qubits.map { label[$0] }, sources: sources, factors: factors)
        case .instruction(var instruction):
            switch instruction.operation {
            case .unitary(let target, let controls, let matrix):
                instruction.operation = .unitary(target: label[target], controls: controls.map { label[$0] }, matrix: matrix)
            case .measure(let qubit, let clbit): instruction.operation = .measure(qubit: label[qubit], clbit: clbit)
            case .reset(let qubit): instruction.operation = .reset(qubit: label[qubit])
            case .barrier: break
            }
            return .instruction(instruction)
        }
    }
}

extension FusedOperation {
    /// The qubits it acts on; nil for what nothing may pass (measurement, reset, condition).
    public var touchedQubits: [Int]? {
        switch self {
        case .dense(let q, _), .diagonal(let q, _), .permutation(let q, _, _): return q
        case .instruction(let instruction):
            guard instruction.condition == nil, case .unitary(let target, let controls, _) = instruction.operation else { return nil }
            return controls + [target]
        }
    }

    /// A fused block on local qubits as a dense matrix (row-major, bit k of an index = qubit k
    /// of the list); nil for an instruction.
    var denseMatrix: (qubits: [Int], matrix: [Amplitude])? {
        switch self {
        case .dense(let q, let m): return (q, m)
        case .diagonal(let q, let phases):
            let d = phases.count
            var m = [Amplitude](repeating: .zero, count: d * d)
            for j in 0..<d { m[j * d + j] = phases[j] }
            return (q, m)
        case .permutation(let q, let sources, let factors):
            let d = sources.count
            var m = [Amplitude](repeating: .zero, count: d * d)
            for r in 0..<d { m[r * d + sources[r]] = factors[r] }
            return (q, m)
        case .instruction: return nil
        }
    }
}

/// Gate fusion: runs of gates on few qubits become one matrix, so the state is swept once
/// instead of once per gate. Open blocks have disjoint qubit sets, so they commute with each
/// other; a gate joins the blocks it touches if their union stays small (else the largest of
/// them are emitted first, and the rest join it). Diagonal gates (phases, cz, cp, rz, …) form
/// larger diagonal blocks, and permutation gates (x, cx, ccx, swap, with phases) larger
/// permutation blocks: both cost one multiplication per amplitude, whatever their size.
///
/// Fusion sees through the basis a transpiler chose. Runs of single-qubit gates on one qubit
/// are multiplied out first (h·h, sx·sx, rz·sx·rz become one gate or none). A block is judged by
/// its product, not its gates: a cp written as rz·cx·rz·cx·rz is a diagonal, so permutation
/// blocks may grow like diagonal ones (any qubits) while their product may still come out
/// diagonal; one that does not is fused again under the strict limits. A dense block whose
/// product is diagonal or monomial runs on those kernels.
public struct GateFusion: Sendable {
    /// Qubits below this index are local to a rank; dense blocks use only those.
    public var localQubits: Int
    public var maxDenseQubits: Int
    public var maxDiagonalQubits: Int
    public var maxPermutationQubits: Int
    /// Qubits below this index are lanes of the simulator's vectors: a permutation with phases
    /// on one of them runs amplitude by amplitude, so on at most `maxDenseQubits` qubits it is
    /// emitted as a dense matrix instead, whose lane-mask kernels are vectorised (0: never).
    public var laneQubits: Int
    static let roundoff = matrixRoundoff

    public init(localQubits: Int, maxDenseQubits: Int = 3, maxDiagonalQubits: Int = 8, maxPermutationQubits: Int = 6,
                laneQubits: Int = 0) {
        (self.localQubits, self.maxDenseQubits, self.maxDiagonalQubits) = (localQubits, maxDenseQubits, maxDiagonalQubits)
        (self.maxPermutationQubits, self.laneQubits) = (maxPermutationQubits, laneQubits)
    }

    /// Cheapest structure a block keeps; a block is as general as its most general gate.
    private enum Kind: Int, Comparable {
        case diagonal, permutation, dense
        static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }
        init(_ m: Matrix2) { self = m.isDiagonal ? .diagonal : m.isAntiDiagonal ? .permutation : .dense }
    }

    private struct Block {
        var qubits: Set<Int>
        var gates: [Instruction]
        var kind: Kind
    }

    /// `speculative`: a permutation block may hold as many qubits, and the same qubits, as a
    /// diagonal one, because its product may turn out diagonal (checked when it is emitted).
    private func admits(_ kind: Kind, _ qubits: Set<Int>, speculative: Bool) -> Bool {
        switch kind {
        case .diagonal: return qubits.count <= maxDiagonalQubits   // any qubits: no communication
        case .permutation:
            if speculative { return qubits.count <= max(maxDiagonalQubits, maxPermutationQubits) }
            return qubits.count <= maxPermutationQubits && qubits.allSatisfy { $0 < localQubits }
        case .dense: return qubits.count <= maxDenseQubits && qubits.allSatisfy { $0 < localQubits }
        }
    }

    public func fuse(_ instructions: [Instruction]) -> [FusedOperation] {
        joiningNeighbours(fuse(instructions, speculative: true))
    }

    /// An operation left on its own (a one-qubit gate between two full blocks, a cx whose
    /// block closed before its neighbour grew) costs a pass. It joins the next dense block on
    /// its qubits, or else the previous one, when their qubits together still make a dense
    /// block: the operations between act on other qubits, so they commute with it.
    func joiningNeighbours(_ operations: [FusedOperation]) -> [FusedOperation] {
        var kept: [FusedOperation?] = operations
        /// The nearest kept operation from `i` in `direction` that acts on one of `qubits` (or
        /// that nothing may pass: measurement, reset, condition).
        func neighbour(of i: Int, on qubits: [Int], step direction: Int) -> Int? {
            var j = i + direction
            while kept.indices.contains(j) {
                if let operation = kept[j], operation.touchedQubits.map({ !Set($0).isDisjoint(with: qubits) }) ?? true { return j }
                j += direction
            }
            return nil
        }
        for i in kept.indices {
            guard let operation = kept[i], let qubits = operation.touchedQubits, qubits.count <= maxDenseQubits,
                  qubits.allSatisfy({ $0 < localQubits }) else { continue }
            for direction in [1, -1] {
                guard let j = neighbour(of: i, on: qubits, step: direction),
                      case .dense(let blockQubits, let m)? = kept[j] else { continue }
                let union = Set(blockQubits + qubits).sorted()   // the dense kernels take ascending qubits
                guard union.count <= maxDenseQubits, let (_, a) = operation.denseMatrix else { continue }
                func bits(_ q: [Int]) -> [Int] { q.map { union.firstIndex(of: $0)! } }
                let d = 1 << union.count
                let identity = (0..<(d * d)).map { $0 / d == $0 % d ? Amplitude.one : .zero }
                let block = Self.multiplied(identity, by: m, onBits: bits(blockQubits), first: false)
                kept[j] = .dense(qubits: union, matrix: Self.multiplied(block, by: a, onBits: bits(qubits), first: direction == 1))
                kept[i] = nil
                break
            }
        }
        return kept.compactMap { $0 }
    }

    /// Dense `m` (row-major) with `a` (row-major, bit k of its index = bit `bits[k]` of m's)
    /// applied before it (`first`: m·A) or after it (A·m).
    static func multiplied(_ m: [Amplitude], by a: [Amplitude], onBits bits: [Int], first: Bool) -> [Amplitude] {
        let d = Int(Double(m.count).squareRoot()), da = 1 << bits.count
        let mask = bits.reduce(0) { $0 | 1 << $1 }
        func deposit(_ x: Int) -> Int { depositingBits(x, at: bits[...]) }
        func extract(_ i: Int) -> Int { extractingBits(i, at: bits) }
        var result = [Amplitude](repeating: .zero, count: m.count)
        for r in 0..<d {
            for c in 0..<d {
                var sum = Amplitude.zero
                for x in 0..<da {
                    if first {   // Σ_x m[r][c with those bits = x] · a[x][c's bits]
                        sum = sum + m[r * d + (c & ~mask | deposit(x))] * a[x * da + extract(c)]
                    } else {     // Σ_x a[r's bits][x] · m[r with those bits = x][c]
                        sum = sum + a[extract(r) * da + x] * m[(r & ~mask | deposit(x)) * d + c]
                    }
                }
                result[r * d + c] = sum
            }
        }
        return result
    }

    private func fuse(_ instructions: [Instruction], speculative: Bool) -> [FusedOperation] {
        var output: [FusedOperation] = []
        output.reserveCapacity(instructions.count)
        var open: [Block] = []
        // Product of the single-qubit gates on each qubit since its last multi-qubit gate: they
        // commute with everything not on that qubit, so they wait to join the next block there.
        var pending: [Int: Instruction] = [:]

        func flush(where touches: (Block) -> Bool) {
            var kept: [Block] = []
            for block in open {
                if touches(block) { output += emit(block) } else { kept.append(block) }
            }
            open = kept
        }

        func place(_ instruction: Instruction) {
            guard case .unitary(let target, let controls, let matrix) = instruction.operation else { return }
            let qubits = Set(controls + [target])
            let kind = Kind(matrix)
            let hits = open.filter { !$0.qubits.isDisjoint(with: qubits) }
            // Smallest blocks first, so a lone gate's block is absorbed rather than run alone.
            var union = qubits, unionKind = kind, joined: [Block] = []
            if admits(kind, qubits, speculative: speculative) {
                for block in hits.sorted(by: { $0.qubits.count < $1.qubits.count }) {
                    let (u, k) = (union.union(block.qubits), max(unionKind, block.kind))
                    if admits(k, u, speculative: speculative) { (union, unionKind) = (u, k); joined.append(block) }
                }
            }
            let joinedQubits = joined.reduce(Set<Int>()) { $0.union($1.qubits) }
            flush { !$0.qubits.isDisjoint(with: qubits) && $0.qubits.isDisjoint(with: joinedQubits) }
            open.removeAll { !$0.qubits.isDisjoint(with: joinedQubits) }
            if admits(unionKind, union, speculative: speculative) {
                // Joined blocks keep program order among themselves (they are disjoint, so any order is right).
                open.append(Block(qubits: union, gates: joined.flatMap(\.gates) + [instruction], kind: unionKind))
            } else {
                output.append(.instruction(instruction))
            }
        }

        func placePending(_ qubit: Int) {
            guard let gate = pending.removeValue(forKey: qubit) else { return }
            let m = Self.matrix(of: gate)
            if !(m.isDiagonal && Self.isOne(m.m00) && Self.isOne(m.m11)) { place(gate) }   // h·h: nothing to run
        }

        for instruction in instructions {
            if instruction.condition != nil {
                for q in pending.keys.sorted() { placePending(q) }
                flush { _ in true }
                output.append(.instruction(instruction))
                continue
            }
            switch instruction.operation {
            case .barrier:
                continue
            case .measure(let q, _), .reset(let q):
                placePending(q)
                flush { $0.qubits.contains(q) }
                output.append(.instruction(instruction))
            case .unitary(let target, let controls, let matrix):
                if controls.isEmpty {
                    var gate = pending[target] ?? instruction
                    let product = pending[target] == nil ? matrix : matrix.multiplied(by: Self.matrix(of: gate))
                    gate.operation = .unitary(target: target, controls: [], matrix: Self.cleaned(product))
                    pending[target] = gate
                    continue
                }
                for q in controls + [target] { placePending(q) }
                place(instruction)
            }
        }
        for q in pending.keys.sorted() { placePending(q) }
        flush { _ in true }
        return output
    }

    private static func matrix(of instruction: Instruction) -> Matrix2 {
        guard case .unitary(_, _, let m) = instruction.operation else { return .identity }
        return m
    }

    /// `m` with entries at rounding level set to zero, so h·h is the identity and sx·sx an x.
    private static func cleaned(_ m: Matrix2) -> Matrix2 {
        var m = m
        if m.m01.length <= roundoff && m.m10.length <= roundoff { (m.m01, m.m10) = (.zero, .zero) }
        if m.m00.length <= roundoff && m.m11.length <= roundoff { (m.m00, m.m11) = (.zero, .zero) }
        return m
    }

    private static func isOne(_ z: Amplitude) -> Bool { (z - .one).length <= roundoff }

    /// A block's product as the cheapest operation that holds it: nothing for the identity, a
    /// diagonal or permutation when the product is one, else the dense matrix. A speculative
    /// permutation block that is neither diagonal nor admissible as a permutation is fused again
    /// under the strict limits.
    private func emit(_ block: Block) -> [FusedOperation] {
        let qubits = block.qubits.sorted()
        let position = Dictionary(uniqueKeysWithValues: qubits.enumerated().map { ($1, $0) })
        let dimension = 1 << qubits.count
        let gates = block.gates.compactMap { instruction -> (target: Int, controlMask: Int, m: Matrix2)? in
            guard case .unitary(let target, let controls, let m) = instruction.operation else { return nil }
            return (position[target]!, controls.reduce(0) { $0 | 1 << position[$1]! }, m)
        }
        if gates.count == 1, gates[0].controlMask == 0, gates[0].m == .identity { return [] }
        if block.kind == .diagonal {
            var phases = [Amplitude](repeating: .one, count: dimension)
            for (t, controlMask, m) in gates {
                for j in 0..<dimension where j & controlMask == controlMask {
                    phases[j] = phases[j] * ((j >> t) & 1 == 1 ? m.m11 : m.m00)
                }
            }
            return phases.allSatisfy(Self.isOne) ? [] : [.diagonal(qubits: qubits, phases: phases)]
        }
        if block.kind == .permutation {
            // Follow each basis state |c⟩ through the gates: it stays one basis state |r⟩ times a phase.
            var sources = [Int](repeating: 0, count: dimension), factors = [Amplitude](repeating: .one, count: dimension)
            for c in 0..<dimension {
                var r = c, factor = Amplitude.one
                for (t, controlMask, m) in gates where r & controlMask == controlMask {
                    let bit = 1 << t
                    if m.isDiagonal {
                        factor = factor * (r & bit == 0 ? m.m00 : m.m11)
                    } else {
                        factor = factor * (r & bit == 0 ? m.m10 : m.m01)   // |0⟩ → m10|1⟩, |1⟩ → m01|0⟩
                        r ^= bit
                    }
                }
                sources[r] = c
                factors[r] = factor
            }
            return monomial(qubits: qubits, sources: sources, factors: factors)
                ?? fuse(block.gates, speculative: false)
        }
        // Column c of the block matrix is the image of basis state |c⟩: apply each gate to it.
        var columns = [[Amplitude]](repeating: [], count: dimension)
        for c in 0..<dimension {
            var v = [Amplitude](repeating: .zero, count: dimension)
            v[c] = .one
            for (t, controlMask, m) in gates {
                let bit = 1 << t
                for j in 0..<dimension where j & bit == 0 && j & controlMask == controlMask {
                    let (x, y) = (v[j], v[j | bit])
                    v[j] = m.m00 * x + m.m01 * y
                    v[j | bit] = m.m10 * x + m.m11 * y
                }
            }
            columns[c] = v
        }
        // A monomial product (one entry per column beyond rounding) runs on the cheaper kernels.
        var sources = [Int](repeating: -1, count: dimension), factors = [Amplitude](repeating: .zero, count: dimension)
        var isMonomial = true
        for c in 0..<dimension where isMonomial {
            let rows = (0..<dimension).filter { columns[c][$0].length > Self.roundoff }
            if rows.count == 1, sources[rows[0]] < 0 {
                (sources[rows[0]], factors[rows[0]]) = (c, columns[c][rows[0]])
            } else {
                isMonomial = false
            }
        }
        if isMonomial, let operations = monomial(qubits: qubits, sources: sources, factors: factors) { return operations }
        var matrix = [Amplitude](repeating: .zero, count: dimension * dimension)
        for r in 0..<dimension { for c in 0..<dimension { matrix[r * dimension + c] = columns[c][r] } }
        return [.dense(qubits: qubits, matrix: matrix)]
    }

    /// Entry r ← factors[r] × entry sources[r] as a diagonal (nothing for the identity) or, on
    /// few enough local qubits, a permutation; nil when neither kernel may run it.
    private func monomial(qubits: [Int], sources: [Int], factors: [Amplitude]) -> [FusedOperation]? {
        if sources.enumerated().allSatisfy({ $0.offset == $0.element }) {
            return factors.allSatisfy(Self.isOne) ? [] : [.diagonal(qubits: qubits, phases: factors)]
        }
        guard qubits.count <= maxPermutationQubits, qubits.allSatisfy({ $0 < localQubits }) else { return nil }
        if qubits[0] < laneQubits, qubits.count <= maxDenseQubits, !factors.allSatisfy({ $0 == .one }) {
            let d = sources.count
            var matrix = [Amplitude](repeating: .zero, count: d * d)
            for r in 0..<d { matrix[r * d + sources[r]] = factors[r] }
            return [.dense(qubits: qubits, matrix: matrix)]
        }
        return [.permutation(qubits: qubits, sources: sources, factors: factors)]
    }
}
