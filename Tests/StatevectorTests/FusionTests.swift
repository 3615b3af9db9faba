import Circuits
import ComplexModule
import ForgeCore
import ForgeTesting
import XCTest
@testable import Statevector

/// Fused execution (dense and diagonal blocks) against the dense reference, on 1, 2 and 4 ranks,
/// for every fusion limit, so fusion never changes a result beyond rounding.
final class FusionTests: XCTestCase {
    private func randomCircuit(qubits n: Int, gates: Int, random: inout TestRandom) -> [Instruction] {
        let here = SourceLocation(file: "test", line: 0, column: 0)
        return (0..<gates).map { _ in
            let target = random.int(n)
            let controls = Array((0..<n).filter { $0 != target }.shuffled(using: &random).prefix(random.int(3)))
            var m = random.unitary()
            switch random.int(4) {
            case 0, 1:  // many diagonal gates, as in QFTs
                m.m01 = .zero; m.m10 = .zero
                m.m00 = m.m00 / Complex(m.m00.length); m.m11 = m.m11 / Complex(m.m11.length)
            case 2:  // X / CX / CCX with a phase: blocks of these are permutations (monomial kernel)
                m = Matrix2(.zero, random.int(2) == 0 ? .one : Complex(0, 1), .one, .zero)
            default:
                break
            }
            return Instruction(.unitary(target: target, controls: controls, matrix: m), location: here)
        }
    }

    func testFusedExecutionMatchesDenseReference() throws {
        var random = TestRandom(state: 2024)
        let n = 7
        for trial in 0..<4 {
            let instructions = randomCircuit(qubits: n, gates: 80, random: &random)
            var reference = DenseReference(amplitudes: [.one] + [Complex<Double>](repeating: .zero, count: (1 << n) - 1))
            for case .unitary(let t, let c, let m) in instructions.map(\.operation) { reference.apply(target: t, controls: c, m) }
            let circuit = Circuit(qubitCount: n, clbitCount: 0, qregs: [], cregs: [], instructions: instructions, sourceGateCount: instructions.count)
            for limits in [nil, FusionLimits(maxDenseQubits: 1, maxDiagonalQubits: 2),
                           FusionLimits(maxDenseQubits: 2), FusionLimits(maxDenseQubits: 3), FusionLimits(maxDenseQubits: 4, maxDiagonalQubits: 6),
                           FusionLimits(maxDenseQubits: 6)] {   // 6: the kernels' run-time block size (32, 64)
                for (ranks, threads) in [(1, 1), (1, 3), (2, 2), (4, 1)] {
                    let result = simulatedState(circuit, ranks: ranks, threads: threads, fusion: limits)
                    let worst = zip(result, reference.state).map { ($0 - $1).length }.max()!
                    XCTAssertLessThan(worst, 1e-12, "trial \(trial) ranks \(ranks) threads \(threads) limits \(String(describing: limits))")
                }
            }
        }
    }

    /// A run from |0…0⟩ starts on growing prefixes of the state while its gates stay on low
    /// qubits (a ladder that reaches one more qubit every few gates, as a GHZ does): the result
    /// matches the dense reference and the run without prefixes on 1, 2 and 4 ranks, and does
    /// not depend on the window size or the thread count, bit for bit.
    func testPrefixRunsMatchDenseReference() throws {
        var random = TestRandom(state: 5)
        let n = 9
        var instructions: [Instruction] = []
        for reach in 1...n {   // random gates on qubits 0..<reach, then the next qubit joins
            instructions += randomCircuit(qubits: reach, gates: 6, random: &random)
        }
        let split = Simulator.prefixRuns(instructions, minimumQubits: 3, localQubits: n)
        XCTAssertEqual(split.runs.map(\.qubits), [3, 5, 7], "prefixes grow 2 qubits at a time")
        let firstOnQubit7 = instructions.firstIndex {
            guard case .unitary(let t, let c, _) = $0.operation else { return false }
            return t >= 7 || c.contains { $0 >= 7 }
        }
        XCTAssertEqual(split.rest, firstOnQubit7, "the first gate on qubit 7 or 8 needs the whole slice")
        var reference = DenseReference(amplitudes: [.one] + [Complex<Double>](repeating: .zero, count: (1 << n) - 1))
        for case .unitary(let t, let c, let m) in instructions.map(\.operation) { reference.apply(target: t, controls: c, m) }
        let circuit = Circuit(qubitCount: n, clbitCount: 0, qregs: [], cregs: [], instructions: instructions, sourceGateCount: instructions.count)
        for limits in [FusionLimits(maxDenseQubits: 1, maxDiagonalQubits: 2), FusionLimits()] {
            for ranks in [1, 2, 4] {
                let whole = simulatedScalars(circuit, ranks: ranks, fusion: limits, prefix: 64)
                var states: [[Double]] = []
                for (window, threads) in [(64, 1), (2, 1), (4, 2)] {
                    states.append(simulatedScalars(circuit, ranks: ranks, threads: threads, fusion: limits, window: window, prefix: 2))
                }
                for state in states.dropFirst() { XCTAssertEqual(state, states[0], "ranks \(ranks) limits \(String(describing: limits))") }
                for state in [whole, states[0]] {
                    let worst = (0..<(1 << n)).map { (Complex(state[2 * $0], state[2 * $0 + 1]) - reference.state[$0]).length }.max()!
                    XCTAssertLessThan(worst, 1e-12, "ranks \(ranks) limits \(String(describing: limits))")
                }
            }
        }
    }

    /// Cache blocking (runs of operations window by window, gathered when the window is not the
    /// lowest qubits) changes no bit of the result, for any window size, fusion limit, rank and
    /// thread count, and matches the dense reference. Windows narrower than a vector run amplitude
    /// by amplitude and relabelling moves blocks between the across, lane-mask and scalar
    /// kernels, so this also checks that every kernel sums in the same order; in single precision
    /// (16-lane vectors under AVX-512) every lane mask 1…7 occurs.
    func testCacheBlockingIsBitForBitTheSweep() throws {
        var random = TestRandom(state: 77)
        let n = 8
        let instructions = randomCircuit(qubits: n, gates: 120, random: &random)
        var reference = DenseReference(amplitudes: [.one] + [Complex<Double>](repeating: .zero, count: (1 << n) - 1))
        for case .unitary(let t, let c, let m) in instructions.map(\.operation) { reference.apply(target: t, controls: c, m) }
        let circuit = Circuit(qubitCount: n, clbitCount: 0, qregs: [], cregs: [], instructions: instructions, sourceGateCount: instructions.count)
        for (precision, tolerance) in [(Precision.double, 1e-12), (.single, 2e-5)] {
            for limits in [nil, FusionLimits(maxDenseQubits: 2), FusionLimits(maxDenseQubits: 3), FusionLimits(maxDenseQubits: 5)] {
                for (ranks, threads) in [(1, 1), (1, 2), (2, 2), (4, 1)] {
                    var states: [[Double]] = []
                    for window in [64, 1, 2, 3, 4] {   // 64: no blocking
                        states.append(simulatedScalars(circuit, precision: precision, ranks: ranks, threads: threads,
                                                       fusion: limits, window: window))
                    }
                    for (k, state) in states.enumerated().dropFirst() {
                        XCTAssertEqual(state, states[0], "\(precision) window \([64, 1, 2, 3, 4][k]) ranks \(ranks) threads \(threads) limits \(String(describing: limits))")
                    }
                    let worst = (0..<(1 << n)).map { (Complex(states[0][2 * $0], states[0][2 * $0 + 1]) - reference.state[$0]).length }.max()!
                    XCTAssertLessThan(worst, tolerance, "\(precision) ranks \(ranks) threads \(threads) limits \(String(describing: limits))")
                }
            }
        }
    }

    func testFusionReducesPassesOnAQFTLikeCircuit() {
        // h then controlled phases from one qubit: diagonal blocks swallow the phases.
        let here = SourceLocation(file: "test", line: 0, column: 0)
        var instructions: [Instruction] = []
        let n = 10
        let h = Matrix2(Complex(0.5.squareRoot()), Complex(0.5.squareRoot()), Complex(0.5.squareRoot()), Complex(-(0.5.squareRoot())))
        for q in (0..<n).reversed() {
            instructions.append(Instruction(.unitary(target: q, controls: [], matrix: h), location: here))
            for k in (0..<q).reversed() {
                let phase = Complex(cos(Double.pi / Double(1 << (q - k))), sin(Double.pi / Double(1 << (q - k))))
                instructions.append(Instruction(.unitary(target: k, controls: [q], matrix: Matrix2(.one, .zero, .zero, phase)), location: here))
            }
        }
        let fused = GateFusion(localQubits: n).fuse(instructions)
        XCTAssertLessThan(fused.count, instructions.count / 3, "\(fused.count) passes for \(instructions.count) gates")
    }
}
