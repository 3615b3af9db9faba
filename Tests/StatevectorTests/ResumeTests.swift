import Circuits
import ComplexModule
import ForgeCore
import ForgeTesting
import XCTest
@testable import Statevector

/// Stopping at an instruction boundary and resuming from the saved slices gives the state of an
/// uninterrupted run: bit for bit on the same rank count, to rounding on another.
final class ResumeTests: XCTestCase {
    private func circuit(qubits n: Int, gates: Int) -> Circuit {
        var random = TestRandom(state: 31)
        let here = SourceLocation(file: "test", line: 0, column: 0)
        var instructions: [Instruction] = []
        for _ in 0..<gates {
            let a = random.int(n), b = (a + 1 + random.int(n - 1)) % n
            switch random.int(3) {
            case 0: instructions += [(a, b), (b, a), (a, b)].map { Instruction(.unitary(target: $1, controls: [$0], matrix: .pauliX), location: here) }
            case 1: instructions.append(Instruction(.unitary(target: a, controls: [b], matrix: random.unitary()), location: here))
            default: instructions.append(Instruction(.unitary(target: a, controls: [], matrix: random.unitary()), location: here))
            }
        }
        return Circuit(qubitCount: n, clbitCount: 0, qregs: [], cregs: [], instructions: instructions, sourceGateCount: instructions.count)
    }

    /// Full state in global physical order, gathered from every rank.
    private func run(_ c: Circuit, ranks: Int, stopAtBoundary: Int? = nil,
                     resume: (done: Int, layout: [Int], state: [Double])? = nil) -> (state: [Double], stop: SimulationInterrupted?) {
        let full = Locked([Double](repeating: 0, count: 2 << c.qubitCount))
        let stopped = Locked<SimulationInterrupted?>(nil)
        InProcessWorld(size: ranks).run { comm in
            let simulator = try! Simulator(qubits: c.qubitCount, precision: .double, comm: comm)
            var boundaries = 0
            if let stopAtBoundary {
                simulator.interruptCheck = { boundaries += 1; return boundaries == stopAtBoundary }
            }
            let offset = 2 * Int(simulator.localOffset)
            if let resume {
                simulator.withMutableLocalAmplitudes { local in
                    guard case .double(let a) = local else { return }
                    for k in 0..<a.count { a[k] = resume.state[offset + k] }
                }
            }
            do {
                _ = try simulator.run(c, options: SimulationOptions(), resume: resume.map { ($0.done, $0.layout) })
            } catch let stop as SimulationInterrupted {
                if comm.rank == 0 { stopped.update { $0 = stop } }
            } catch { XCTFail("\(error)") }
            simulator.withLocalAmplitudes { local in
                guard case .double(let a) = local else { return }
                full.update { f in for k in 0..<a.count { f[offset + k] = a[k] } }
            }
        }
        return (full.value, stopped.value)
    }

    func testResumeIsBitForBitOnSameRanksAndCloseOnOthers() throws {
        let c = circuit(qubits: 7, gates: 900)
        for ranks in [1, 2, 4] {
            let uninterrupted = run(c, ranks: ranks)
            XCTAssertNil(uninterrupted.stop)
            let first = run(c, ranks: ranks, stopAtBoundary: 2)
            let stop = try XCTUnwrap(first.stop)
            XCTAssertTrue(stop.resumable)
            XCTAssertGreaterThan(stop.done, 0)
            let resumed = run(c, ranks: ranks, resume: (stop.done, stop.layout, first.state))
            XCTAssertNil(resumed.stop)
            XCTAssertEqual(resumed.state, uninterrupted.state, "\(ranks) ranks: resumed state differs")
            for other in [1, 2, 4] where other != ranks {
                let moved = run(c, ranks: other, resume: (stop.done, stop.layout, first.state))
                let worst = zip(moved.state, uninterrupted.state).map { abs($0 - $1) }.max()!
                XCTAssertLessThan(worst, 1e-12, "checkpoint of \(ranks) ranks resumed on \(other)")
            }
        }
    }
}
