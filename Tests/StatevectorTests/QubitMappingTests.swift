import Circuits
import ComplexModule
import Foundation
import ForgeCore
import ForgeTesting
import XCTest
@testable import Statevector

/// Communication avoidance: swapping rank-index qubits with local ones (and SWAPs as relabelling)
/// must leave the state equal to the dense reference in the contract's qubit order, and send at
/// most half of what one whole-slice exchange per global gate would.
final class QubitMappingTests: XCTestCase {
    private let here = SourceLocation(file: "test", line: 0, column: 0)
    private let h = Matrix2(Complex(0.5.squareRoot()), Complex(0.5.squareRoot()), Complex(0.5.squareRoot()), Complex(-(0.5.squareRoot())))

    private func gate(_ target: Int, _ controls: [Int] = [], _ m: Matrix2) -> Instruction {
        Instruction(.unitary(target: target, controls: controls, matrix: m), location: here)
    }

    /// Qiskit's QFT decomposition: h, cp ladder, then SWAPs written as three CX.
    private func qft(_ n: Int) -> [Instruction] {
        var gates: [Instruction] = []
        for q in (0..<n).reversed() {
            gates.append(gate(q, [], h))
            for k in (0..<q).reversed() {
                let phase = Complex(cos(Double.pi / Double(1 << (q - k))), sin(Double.pi / Double(1 << (q - k))))
                gates.append(gate(k, [q], Matrix2(.one, .zero, .zero, phase)))
            }
        }
        for q in 0..<(n / 2) {
            let (a, b) = (q, n - 1 - q)
            gates += [gate(b, [a], .pauliX), gate(a, [b], .pauliX), gate(b, [a], .pauliX)]
        }
        return gates
    }

    private func simulate(_ instructions: [Instruction], qubits n: Int, ranks: Int, fusion: FusionLimits?,
                          initial: [Complex<Double>]? = nil) -> (state: [Complex<Double>], sent: UInt64, baseline: UInt64) {
        let result = Locked([Complex<Double>](repeating: .zero, count: 1 << n))
        let bytes = Locked((UInt64(0), UInt64(0)))
        let circuit = Circuit(qubitCount: n, clbitCount: 0, qregs: [], cregs: [], instructions: instructions, sourceGateCount: instructions.count)
        InProcessWorld(size: ranks).run { comm in
            let simulator = try! Simulator(qubits: n, precision: .double, comm: comm)
            simulator.fusion = fusion
            let r = try! simulator.run(circuit, options: SimulationOptions())
            simulator.withLocalAmplitudes { local in
                guard case .double(let a) = local else { return }
                let offset = Int(simulator.localOffset)
                result.update { full in for i in 0..<(a.count / 2) { full[offset + i] = Complex(a[2 * i], a[2 * i + 1]) } }
            }
            if comm.rank == 0 { bytes.update { $0 = (r.bytesSent, r.baselineBytesSent) } }
        }
        return (result.value, bytes.value.0, bytes.value.1)
    }

    private func reference(_ instructions: [Instruction], qubits n: Int) -> [Complex<Double>] {
        var reference = DenseReference(amplitudes: [.one] + [Complex<Double>](repeating: .zero, count: (1 << n) - 1))
        for case .unitary(let t, let c, let m) in instructions.map(\.operation) { reference.apply(target: t, controls: c, m) }
        return reference.state
    }

    func testQFTOnTwoAndFourRanksMatchesReferenceAndHalvesTraffic() {
        let n = 8
        // Start from a non-trivial state: a layer of random single-qubit gates.
        var random = TestRandom(state: 99)
        let circuit = (0..<n).map { gate($0, [], random.unitary()) } + qft(n)
        let expected = reference(circuit, qubits: n)
        for ranks in [2, 4] {
            for fusion in [nil, FusionLimits()] {
                let run = simulate(circuit, qubits: n, ranks: ranks, fusion: fusion)
                let worst = zip(run.state, expected).map { ($0 - $1).length }.max()!
                XCTAssertLessThan(worst, 1e-12, "ranks \(ranks) fusion \(String(describing: fusion))")
                XCTAssertGreaterThan(run.baseline, 0)
                XCTAssertLessThanOrEqual(2 * run.sent, run.baseline, "ranks \(ranks): sent \(run.sent) vs baseline \(run.baseline)")
            }
        }
    }

    func testRandomCircuitsWithSwapsOnGlobalQubits() {
        var random = TestRandom(state: 7)
        let n = 7
        for trial in 0..<3 {
            var circuit: [Instruction] = []
            for _ in 0..<60 {
                let a = random.int(n), b = (a + 1 + random.int(n - 1)) % n
                switch random.int(3) {
                case 0: circuit += [gate(b, [a], .pauliX), gate(a, [b], .pauliX), gate(b, [a], .pauliX)]   // SWAP
                case 1: circuit.append(gate(a, [b], random.unitary()))
                default: circuit.append(gate(a, [], random.unitary()))
                }
            }
            let expected = reference(circuit, qubits: n)
            for ranks in [1, 2, 4] {
                let run = simulate(circuit, qubits: n, ranks: ranks, fusion: FusionLimits(maxDenseQubits: 2))
                let worst = zip(run.state, expected).map { ($0 - $1).length }.max()!
                XCTAssertLessThan(worst, 1e-12, "trial \(trial) ranks \(ranks)")
            }
        }
    }

    func testPlanEndsInIdentityLayoutAndBoundariesCoverEveryInstruction() {
        let circuit = qft(9)
        let mapping = QubitMapping(qubits: 9, localQubits: 6, boundaryInterval: 10)
        var done: [Int] = []
        for step in mapping.plan(circuit) {
            switch step {
            case .swap(let l, let g):
                XCTAssertLessThan(l, 6); XCTAssertGreaterThanOrEqual(g, 6)
            case .boundary(let d, let layout):
                done.append(d)
                XCTAssertEqual(layout.sorted(), Array(0..<9))
            case .instructions(let list):
                for case .unitary(let t, _, let m) in list.map(\.operation) where !m.isDiagonal { XCTAssertLessThan(t, 6) }
            }
        }
        // A boundary every 10 logical instructions, single-qubit gates not counted (SWAP
        // relabellings never straddle one).
        var expected: [Int] = [], weight = 0
        for (i, instruction) in circuit.enumerated() {
            if weight == 10 { expected.append(i); weight = 0 }
            if case .unitary(_, let controls, _) = instruction.operation, controls.isEmpty { continue }
            weight += 1
        }
        XCTAssertEqual(done, expected)
        XCTAssertGreaterThan(done.count, 3)
    }
}
