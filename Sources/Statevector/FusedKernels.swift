import AmplitudeKernels
import Circuits

/// A fused operation converted once for the kernels (precision, vector layout of the state's
/// kernel table, offsets) and then applied to a whole slice or to every cache window of a
/// stage. Qubits may come in any order: bit k of a matrix index is qubit `qubits[k]`.
enum PreparedOperation<T: AmplitudeScalar> {
    case dense(DenseBlock<T>)
    case permutation(PermutationBlock<T>)
    /// Consecutive diagonals, applied in one pass (`DistributedState.prepare(_:)` of a stage).
    case diagonals(DiagonalRun<T>)
    case instruction(Instruction)

    init(_ operation: FusedOperation, laneShift s: Int) {
        switch operation {
        case .dense(let qubits, let matrix):
            // Fusion already sent monomial products to the cheaper kernels, but for phased ones on
            // lane qubits, which the vectorised dense kernels run faster.
            self = .dense(DenseBlock(qubits: qubits, matrix: matrix, laneShift: s))
        case .permutation(let qubits, let sources, let factors):
            self = .permutation(PermutationBlock(qubits: qubits, sources: sources, factors: factors, laneShift: s))
        case .diagonal(let qubits, let phases):
            self = .diagonals(DiagonalRun([DiagonalBlock(qubits: qubits, phases: phases, laneShift: s)], laneShift: s))
        case .instruction(let instruction):
            self = .instruction(instruction)
        }
    }
}

extension DistributedState {
    func prepare(_ operation: FusedOperation) -> PreparedOperation<T> {
        PreparedOperation(operation, laneShift: kernels.laneShift)
    }

    /// A stage's operations, prepared, each run of consecutive diagonals as one operation, which
    /// streams the state once (the same products in the same order: the same bits).
    func prepare(_ operations: some Sequence<FusedOperation>) -> [PreparedOperation<T>] {
        let s = kernels.laneShift
        var result: [PreparedOperation<T>] = [], run: [DiagonalBlock<T>] = []
        func endRun() {
            if !run.isEmpty { result.append(.diagonals(DiagonalRun(run, laneShift: s))) }
            run = []
        }
        for operation in operations {
            if case .diagonal(let qubits, let phases) = operation {
                run.append(DiagonalBlock(qubits: qubits, phases: phases, laneShift: s))
            } else {
                endRun()
                result.append(prepare(operation))
            }
        }
        endRun()
        return result
    }

    func apply(_ operation: PreparedOperation<T>) {
        switch operation {
        case .dense(let block): kernels.dense(block, slice)
        case .permutation(let block): kernels.permutation(block, slice)
        case .diagonals(let blocks): kernels.diagonals(blocks, slice)
        case .instruction(let instruction):
            if case .unitary(let target, let controls, let matrix) = instruction.operation {
                apply(target: target, controls: controls, matrix: matrix)
            }
        }
    }
}
