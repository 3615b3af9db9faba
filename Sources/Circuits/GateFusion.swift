import ComplexModule

/// What the simulator executes after fusion.
public enum FusedOperation: Sendable {
    /// A dense 2^m × 2^m matrix on local qubits `qubits` (ascending), row-major; bit k of a
    /// row/column index is qubit `qubits[k]`.
    case dense(qubits: [Int], matrix: [Amplitude])
    /// A diagonal: the amplitude whose bits at `qubits` (ascending, any qubits) read j is
    /// multiplied by `phases[j]`. Needs no communication even on rank-index qubits.
    case diagonal(qubits: [Int], phases: [Amplitude])
    /// An instruction run as it is (a lone gate, measurement, reset, conditional, or a
    /// non-diagonal gate touching a rank-index qubit).
    case instruction(Instruction)
}

/// Gate fusion: runs of gates on few qubits become one matrix, so the state is swept once
/// instead of once per gate. Open blocks have disjoint qubit sets, so they commute with each
/// other; a gate joins the blocks it touches if their union stays small, else those blocks are
/// emitted first. Diagonal gates (phases, cz, cp, rz, …) form larger diagonal blocks.
public struct GateFusion: Sendable {
    /// Qubits below this index are local to a rank; dense blocks use only those.
    public var localQubits: Int
    public var maxDenseQubits: Int
    public var maxDiagonalQubits: Int

    public init(localQubits: Int, maxDenseQubits: Int = 3, maxDiagonalQubits: Int = 8) {
        (self.localQubits, self.maxDenseQubits, self.maxDiagonalQubits) = (localQubits, maxDenseQubits, maxDiagonalQubits)
    }

    private struct Block {
        var qubits: Set<Int>
        var gates: [Instruction]
        var isDiagonal: Bool
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
                let diagonal = matrix.isDiagonal
                let hits = open.filter { !$0.qubits.isDisjoint(with: qubits) }
                let union = hits.reduce(qubits) { $0.union($1.qubits) }
                let allDiagonal = diagonal && hits.allSatisfy(\.isDiagonal)
                let fitsLocal = union.allSatisfy { $0 < localQubits }
                let limit = allDiagonal ? maxDiagonalQubits : maxDenseQubits
                if union.count <= limit && (allDiagonal || fitsLocal) {
                    open.removeAll { !$0.qubits.isDisjoint(with: qubits) }
                    let gates = hits.flatMap(\.gates) + [instruction]
                    open.append(Block(qubits: union, gates: gates, isDiagonal: allDiagonal))
                    continue
                }
                flush { !$0.qubits.isDisjoint(with: qubits) }
                let alone = diagonal ? qubits.count <= maxDiagonalQubits
                                     : qubits.count <= maxDenseQubits && qubits.allSatisfy { $0 < localQubits }
                if alone {
                    open.append(Block(qubits: qubits, gates: [instruction], isDiagonal: diagonal))
                } else {
                    output.append(.instruction(instruction))
                }
            }
        }
        flush { _ in true }
        return output
    }

    private func emit(_ block: Block) -> FusedOperation {
        if block.gates.count == 1 { return .instruction(block.gates[0]) }
        let qubits = block.qubits.sorted()
        let position = Dictionary(uniqueKeysWithValues: qubits.enumerated().map { ($1, $0) })
        let dimension = 1 << qubits.count
        if block.isDiagonal {
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
