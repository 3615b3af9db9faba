/// Communication avoidance on a distributed state (the "global-local qubit swap" of QuEST-style
/// simulators): a non-diagonal gate whose target sits on a rank-index ("global") qubit would
/// make every rank exchange its whole slice. Instead the planner swaps that qubit with a local
/// one (each rank sends half its slice, once) and runs the gate, and every following gate on
/// it, locally. A SWAP (three CX on one pair) touching a global qubit becomes a relabelling and
/// moves no data. The planner tracks which physical qubit holds each logical qubit and, at the
/// end, restores the identity layout so results obey the file contract (bit q = qubit q).
public struct QubitMapping: Sendable {
    public enum Step: Sendable, Equatable {
        /// Gates in physical qubits, to fuse and run.
        case instructions([Instruction])
        /// Exchange physical qubits `local` (< localQubits) and `global` (≥ localQubits).
        case swap(local: Int, global: Int)
        /// A point between logical instructions where a checkpoint may be taken: `done`
        /// logical instructions are complete and logical qubit q sits on physical `layout[q]`.
        case boundary(done: Int, layout: [Int])
    }

    public let qubits: Int
    public let localQubits: Int
    /// Logical instructions between two boundaries, counted by `boundaryWeight` (single-qubit
    /// gates are free).
    public var boundaryInterval: Int

    public init(qubits: Int, localQubits: Int, boundaryInterval: Int = 512) {
        (self.qubits, self.localQubits, self.boundaryInterval) = (qubits, localQubits, boundaryInterval)
    }

    /// Plans `instructions[start...]` from `layout` (logical → physical; nil = identity).
    public func plan(_ instructions: [Instruction], from start: Int = 0, layout initial: [Int]? = nil) -> [Step] {
        var layout = initial ?? Array(0..<qubits)   // logical → physical
        var steps: [Step] = []
        var pending: [Instruction] = []
        func flushPending() { if !pending.isEmpty { steps.append(.instructions(pending)); pending = [] } }
        func swapPhysical(_ local: Int, _ global: Int) {
            flushPending()
            steps.append(.swap(local: local, global: global))
            let a = layout.firstIndex(of: local)!, b = layout.firstIndex(of: global)!
            layout.swapAt(a, b)
        }

        var i = start, weight = 0
        while i < instructions.count {
            if weight >= boundaryInterval {
                flushPending()
                steps.append(.boundary(done: i, layout: layout))
                weight = 0
            }
            let instruction = instructions[i]
            if localQubits < qubits, instruction.condition == nil,
               let (a, b) = Self.swapPair(instructions, at: i, end: instructions.count),
               layout[a] >= localQubits || layout[b] >= localQubits,
               weight + 3 <= boundaryInterval {   // never straddles a boundary
                layout.swapAt(a, b)     // SWAP as a relabelling
                i += 3
                weight += 3
                continue
            }
            weight += Self.boundaryWeight(instruction)
            var physical = instruction
            switch instruction.operation {
            case .unitary(let target, let controls, let matrix):
                if layout[target] >= localQubits && !matrix.isDiagonal {
                    let local = evictionCandidate(instructions, after: i, layout: layout, avoiding: Set(controls))
                    swapPhysical(local, layout[target])
                }
                physical.operation = .unitary(target: layout[target], controls: controls.map { layout[$0] }, matrix: matrix)
            case .measure(let q, let c):
                physical.operation = .measure(qubit: layout[q], clbit: c)
            case .reset(let q):
                physical.operation = .reset(qubit: layout[q])
            case .barrier:
                i += 1
                continue
            }
            pending.append(physical)
            i += 1
        }
        restoreIdentity(&layout, pending: &pending, steps: &steps)
        flushPending()
        return steps
    }

    /// Three CX on one pair (a,b), (b,a), (a,b), unconditioned: a SWAP.
    static func swapPair(_ instructions: [Instruction], at i: Int, end: Int) -> (Int, Int)? {
        guard i + 2 < end else { return nil }
        func cx(_ k: Int) -> (Int, Int)? {
            let instruction = instructions[k]
            guard instruction.condition == nil, case .unitary(let t, let c, let m) = instruction.operation,
                  c.count == 1, m == Matrix2.pauliX else { return nil }
            return (c[0], t)
        }
        guard let first = cx(i), let second = cx(i + 1), let third = cx(i + 2),
              second == (first.1, first.0), third == first else { return nil }
        return first
    }

    /// What an instruction counts towards the next boundary: barriers and unconditioned
    /// single-qubit gates nothing (fusion folds them into the next block, so a boundary between them and it would
    /// cost a pass; transpiled circuits are mostly such gates), everything else one.
    public static func boundaryWeight(_ instruction: Instruction) -> Int {
        switch (instruction.condition, instruction.operation) {
        case (nil, .unitary(_, let controls, _)) where controls.isEmpty: return 0
        case (_, .barrier): return 0
        default: return 1
        }
    }

    /// The local physical qubit whose logical occupant is needed as a non-diagonal target
    /// furthest in the future (Belady's rule), never one of the gate's own qubits.
    private func evictionCandidate(_ instructions: [Instruction], after i: Int, layout: [Int], avoiding: Set<Int>) -> Int {
        var occupant = [Int](repeating: -1, count: qubits)   // physical → logical
        for (logical, physical) in layout.enumerated() { occupant[physical] = logical }
        let local = Set((0..<localQubits).map { occupant[$0] })
        var candidates = local.subtracting(avoiding)
        if candidates.isEmpty { candidates = local }   // controls may sit on global qubits too
        var k = i + 1
        while candidates.count > 1 && k < instructions.count {
            if case .unitary(let t, _, let m) = instructions[k].operation, !m.isDiagonal, candidates.contains(t) {
                candidates.remove(t)
            }
            k += 1
        }
        // Ties (never used again): the highest physical qubit, whose halves are contiguous runs.
        return candidates.map { layout[$0] }.max()!
    }

    /// Moves every logical qubit back to its own physical position: global positions by swaps
    /// with local ones, then local positions by local SWAPs (three CX each, fused into one pass).
    private func restoreIdentity(_ layout: inout [Int], pending: inout [Instruction], steps: inout [Step]) {
        let here = SourceLocation(file: "", line: 0, column: 0)
        func localSwap(_ a: Int, _ b: Int) {
            for (c, t) in [(a, b), (b, a), (a, b)] {
                pending.append(Instruction(.unitary(target: t, controls: [c], matrix: .pauliX), location: here))
            }
            let x = layout.firstIndex(of: a)!, y = layout.firstIndex(of: b)!
            layout.swapAt(x, y)
        }
        func globalSwap(_ local: Int, _ global: Int) {
            if !pending.isEmpty { steps.append(.instructions(pending)); pending = [] }
            steps.append(.swap(local: local, global: global))
            let x = layout.firstIndex(of: local)!, y = layout.firstIndex(of: global)!
            layout.swapAt(x, y)
        }
        for g in localQubits..<qubits where layout[g] != g {
            var position = layout[g]
            if position >= localQubits {   // on another global qubit: through a local one
                let spare = localQubits - 1
                globalSwap(spare, position)
                position = spare
            }
            globalSwap(position, g)
        }
        for q in 0..<localQubits where layout[q] != q { localSwap(layout[q], q) }
    }
}

extension Matrix2 {
    public static let pauliX = Matrix2(.zero, .one, .one, .zero)
}
