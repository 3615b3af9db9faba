import Circuits
import ComplexModule
import Foundation
import XCTest

/// Programs written by Qiskit's `qasm2.dumps` (make_qiskit_fixtures.py) parse unchanged, with
/// the right register sizes and, for unitary ones, Qiskit's final state.
final class QiskitFixtureTests: XCTestCase {
    struct Program: Decodable {
        var file: String
        var qubits: Int
        var clbits: Int
        var statevector: [[Double]]?
    }
    struct Manifest: Decodable { var programs: [Program] }

    func testQiskitDumpsParse() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixturesDirectory + "/qiskit_manifest.json"))
        let programs = try JSONDecoder().decode(Manifest.self, from: data).programs
        XCTAssertGreaterThanOrEqual(programs.count, 8)
        for program in programs {
            let circuit = try QASMParser.parse(contentsOf: fixturesDirectory + "/" + program.file)
            XCTAssertEqual(circuit.qubitCount, program.qubits, program.file)
            XCTAssertEqual(circuit.clbitCount, program.clbits, program.file)
            guard let reference = program.statevector else { continue }
            let expected = reference.map { Amplitude($0[0], $0[1]) }
            let state = simulate(circuit)
            // Qiskit cannot write a custom gate's global phase in OpenQASM 2 and drops it,
            // so compare up to one overall phase, fixed at the largest amplitude.
            let k = expected.indices.max { expected[$0].length < expected[$1].length }!
            let correction = state[k] / expected[k]
            let difference = zip(state, expected).map { ($0 - correction * $1).length }.max() ?? 0
            XCTAssertLessThan(difference, 1e-10, "\(program.file): state differs from Qiskit's by \(difference)")
            XCTAssertEqual(correction.length, 1, accuracy: 1e-10, program.file)
        }
    }

    func testRegistersFixtureDetails() throws {
        let circuit = try QASMParser.parse(contentsOf: fixturesDirectory + "/qiskit_registers.qasm")
        XCTAssertEqual(circuit.qregs.map(\.name), ["a", "b"])
        XCTAssertEqual(circuit.cregs.map(\.offset), [0, 2])
        let conditional = circuit.instructions.filter { $0.condition != nil }
        XCTAssertEqual(conditional.count, 1)
        XCTAssertEqual(conditional.first?.condition, Condition(clbitOffset: 0, width: 2, value: 3))
        XCTAssertEqual(conditional.first?.operation.unitaryQubits?.target, 2)
    }
}
