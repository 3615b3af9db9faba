import ComplexModule

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

/// Gate fusion: runs of gates on few qubits become one matrix, so the state is swept once
/// instead of once per gate. Open blocks have disjoint qubit sets, so they commute with each
/// other; a gate joins the blocks it touches if their union stays small, else those blocks are
/// emitted first. Diagonal gates (phases, cz, cp, rz, …) form larger diagonal blocks, and
/// permutation gates (x, cx, ccx, swap, with phases) larger permutation blocks: both cost one
/// multiplication per amplitude, whatever their size.
public struct GateFusion: Sendable {
    /// Qubits below this index are local to a rank; dense blocks use only those.
    public var localQubits: Int
    public var maxDenseQubits: Int
    public var maxDiagonalQubits: Int
    public var maxPermutationQubits: Int

    public init(localQubits: Int, maxDenseQubits: Int = 3, maxDiagonalQubits: Int = 8, maxPermutationQubits: Int = 6) {
        (self.localQubits, self.maxDenseQubits, self.maxDiagonalQubits) = (localQubits, maxDenseQubits, maxDiagonalQubits)
        self.maxPermutationQubits = maxPermutationQubits
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

    private func admits(_ kind: Kind, _ qubits: Set<Int>) -> Bool {
        switch kind {
        case .diagonal: return qubits.count <= maxDiagonalQubits   // any qubits: no communication
        case .permutation: return qubits.count <= maxPermutationQubits && qubits.allSatisfy { $0 < localQubits }
        case .dense: return qubits.count <= maxDenseQubits && qubits.allSatisfy { $0 < localQubits }
        }
    }

    public func fuse(_ instructions: [Instruction]) -> [FusedOperation] {
        var output: [FusedOperation] = []
        output.reserveCapacity(instructions.count)
        var open: [Block] = []

        func flush(where touches: (Block) -> Bool) {
            var kept: [Block] = []
            for block in open {
                if touches(block) { output.append(emit(block)) } else { kept.append(block) }
            }
            open = kept
        }

        for instruction in instructions {
            if instruction.condition != nil {
                flush { _ in true }
                output.append(.instruction(instruction))
                continue
            }
            switch instruction.operation {
            case .barrier:
                continue
            case .measure(let q, _), .reset(let q):
                flush { $0.qubits.contains(q) }
                output.append(.instruction(instruction))
            case .unitary(let target, let controls, let matrix):
                let qubits = Set(controls + [target])
                let kind = Kind(matrix)
                let hits = open.filter { !$0.qubits.isDisjoint(with: qubits) }
                let union = hits.reduce(qubits) { $0.union($1.qubits) }
                let unionKind = hits.map(\.kind).reduce(kind, max)
                if admits(unionKind, union) {
                    open.removeAll { !$0.qubits.isDisjoint(with: qubits) }
                    let gates = hits.flatMap(\.gates) + [instruction]
                    open.append(Block(qubits: union, gates: gates, kind: unionKind))
                    continue
                }
                flush { !$0.qubits.isDisjoint(with: qubits) }
                if admits(kind, qubits) {
                    open.append(Block(qubits: qubits, gates: [instruction], kind: kind))
                } else {
                    output.append(.instruction(instruction))
                }
            }
        }
        flush { _ in true }
        return output
    }

    private func emit(_ block: Block) -> FusedOperation {
        let qubits = block.qubits.sorted()
        let position = Dictionary(uniqueKeysWithValues: qubits.enumerated().map { ($1, $0) })
        let dimension = 1 << qubits.count
        if block.kind == .diagonal {
            var phases = [Amplitude](repeating: .one, count: dimension)
            for case .unitary(let target, let controls, let m) in block.gates.map(\.operation) {
                let t = position[target]!
                let controlMask = controls.reduce(0) { $0 | 1 << position[$1]! }
                for j in 0..<dimension where j & controlMask == controlMask {
                    phases[j] = phases[j] * ((j >> t) & 1 == 1 ? m.m11 : m.m00)
                }
            }
            return .diagonal(qubits: qubits, phases: phases)
        }
        if block.kind == .permutation {
            // Follow each basis state |c⟩ through the gates: it stays one basis state |r⟩ times a phase.
            var sources = [Int](repeating: 0, count: dimension), factors = [Amplitude](repeating: .one, count: dimension)
            for c in 0..<dimension {
                var r = c, factor = Amplitude.one
                for case .unitary(let target, let controls, let m) in block.gates.map(\.operation) {
                    let bit = 1 << position[target]!
                    guard controls.allSatisfy({ r & (1 << position[$0]!) != 0 }) else { continue }
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
            return .permutation(qubits: qubits, sources: sources, factors: factors)
        }
        // Column c of the block matrix is the image of basis state |c⟩: apply each gate to it.
        var columns = [[Amplitude]](repeating: [], count: dimension)
        for c in 0..<dimension {
            var v = [Amplitude](repeating: .zero, count: dimension)
            v[c] = .one
            for case .unitary(let target, let controls, let m) in block.gates.map(\.operation) {
                let bit = 1 << position[target]!
                let controlMask = controls.reduce(0) { $0 | 1 << position[$1]! }
                for j in 0..<dimension where j & bit == 0 && j & controlMask == controlMask {
                    let (x, y) = (v[j], v[j | bit])
                    v[j] = m.m00 * x + m.m01 * y
                    v[j | bit] = m.m10 * x + m.m11 * y
                }
            }
            columns[c] = v
        }
        var matrix = [Amplitude](repeating: .zero, count: dimension * dimension)
        for r in 0..<dimension { for c in 0..<dimension { matrix[r * dimension + c] = columns[c][r] } }
        return .dense(qubits: qubits, matrix: matrix)
    }
}
