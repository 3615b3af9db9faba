import Circuits
import ComplexModule
import Foundation
import XCTest

/// Every qelib1 gate against Qiskit's own matrix (Fixtures/gate_matrices.json, written by
/// make_gate_matrices.py), global phase included.
final class GateMatrixTests: XCTestCase {
    struct Reference: Decodable {
        var name: String
        var params: [Double]
        var qubits: Int
        var matrix: [[[Double]]]
    }
    struct Fixture: Decodable { var gates: [Reference] }

    static let natives: Set<String> = [
        "U", "u3", "u2", "u1", "u", "p", "u0", "id", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "rx", "ry", "rz",
        "sx", "sxdg", "CX", "cx", "cy", "cz", "ch", "crx", "cry", "crz", "cu1", "cp", "cu3", "csx", "cu",
        "ccx", "c3x", "c3sqrtx", "c4x",
    ]
    static let expanded: Set<String> = ["swap", "cswap", "rzz", "rxx", "rccx", "rc3x"]

    func loadReferences() throws -> [Reference] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixturesDirectory + "/gate_matrices.json"))
        return try JSONDecoder().decode(Fixture.self, from: data).gates
    }

    func testEveryStandardGateMatchesQiskit() throws {
        let references = try loadReferences()
        XCTAssertEqual(Set(references.map(\.name)), Self.natives.union(Self.expanded))
        for reference in references {
            let parameters = reference.params.map { String(format: "%.17g", $0) }.joined(separator: ",")
            let qubits = (0..<reference.qubits).map { "q[\($0)]" }.joined(separator: ",")
            let call = reference.name + (reference.params.isEmpty ? "" : "(\(parameters))")
            let circuit = try parse("qreg q[\(reference.qubits)];\n\(call) \(qubits);\n")
            let expected = reference.matrix.map { $0.map { Amplitude($0[0], $0[1]) } }
            let difference = maxDifference(denseMatrix(circuit), expected)
            XCTAssertLessThan(difference, 1e-12, "\(call): differs from Qiskit by \(difference)")

            XCTAssertEqual(circuit.sourceGateCount, 1)
            if Self.natives.contains(reference.name) {
                // Natives are a single controlled 2×2: controls are the leading arguments.
                XCTAssertEqual(circuit.instructions.count, 1, reference.name)
                let (target, controls) = try XCTUnwrap(circuit.instructions.first?.operation.unitaryQubits)
                XCTAssertEqual(target, reference.qubits - 1, reference.name)
                XCTAssertEqual(controls, Array(0..<(reference.qubits - 1)), reference.name)
            }
            for instruction in circuit.instructions {
                XCTAssertEqual(instruction.location, SourceLocation(file: "test.qasm", line: 4, column: 1))
            }
        }
    }

    /// Gates act on the qubits named, in argument order, not on positions 0…k.
    func testGateOnPermutedQubits() throws {
        let circuit = try parse("qreg q[3];\nccx q[2], q[0], q[1];\ncrz(0.5) q[1], q[2];\nswap q[0], q[2];\n")
        XCTAssertEqual(circuit.instructions[0].operation.unitaryQubits?.target, 1)
        XCTAssertEqual(circuit.instructions[0].operation.unitaryQubits?.controls, [2, 0])
        XCTAssertEqual(circuit.instructions[1].operation.unitaryQubits?.controls, [1])
        XCTAssertLessThan((try XCTUnwrap(circuit.instructions[1].operation.matrix?.m11) - phase(0.25)).length, 1e-15)
        // swap q0,q2 = cx 0,2; cx 2,0; cx 0,2
        XCTAssertEqual(circuit.instructions[2...].map { $0.operation.unitaryQubits?.target }, [2, 0, 2])
    }

    /// `U` and `CX` are part of the language; everything else needs qelib1.inc.
    func testBuiltinsWithoutInclude() throws {
        let circuit = try QASMParser.parse(source: "OPENQASM 2.0; qreg q[2]; U(pi,0,pi) q[0]; CX q[0],q[1];",
                                           file: "b.qasm")
        XCTAssertEqual(circuit.instructions.count, 2)
        assertInputError("OPENQASM 2.0;\nqreg q[1];\nh q[0];", "unknown gate 'h'", line: 3, column: 1)
    }

    /// Without qelib1.inc, a program may define the standard names itself.
    func testProgramMayDefineStandardNamesWithoutInclude() throws {
        let circuit = try QASMParser.parse(source: """
            OPENQASM 2.0;
            gate h a { U(pi/2,0,pi) a; }
            gate cx c,t { CX c,t; }
            qreg q[2];
            h q[0]; cx q[0],q[1];
            """, file: "own.qasm")
        let state = simulate(circuit)
        XCTAssertEqual(state[0].real, 0.5.squareRoot(), accuracy: 1e-15)
        XCTAssertEqual(state[3].real, 0.5.squareRoot(), accuracy: 1e-15)
    }
}
