import Circuits
import ComplexModule
import ForgeCore
import Foundation
import XCTest

/// The folder holding the test fixtures, found next to this source file.
let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures").path

let header = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n"

/// Parses `body` after the standard two-line header (so `body` starts on line 3).
func parse(_ body: String, includeHeader: Bool = true) throws -> Circuit {
    try QASMParser.parse(source: (includeHeader ? header : "") + body, file: "test.qasm")
}

/// Dense 2^n × 2^n matrix of the unitary instructions (little-endian: qubit q is bit q of
/// the index), built by pushing every basis state through the operations.
func denseMatrix(_ circuit: Circuit) -> [[Amplitude]] {
    let dimension = 1 << circuit.qubitCount
    var columns: [[Amplitude]] = []
    for column in 0..<dimension {
        var state = [Amplitude](repeating: .zero, count: dimension)
        state[column] = .one
        columns.append(simulate(circuit, from: state))
    }
    return (0..<dimension).map { row in columns.map { $0[row] } }
}

/// Applies the circuit's unitary operations (ignoring everything else) to `state`.
func simulate(_ circuit: Circuit, from start: [Amplitude]? = nil) -> [Amplitude] {
    var state = start ?? [Amplitude](repeating: .zero, count: 1 << circuit.qubitCount)
    if start == nil { state[0] = .one }
    for instruction in circuit.instructions {
        guard case .unitary(let target, let controls, let m) = instruction.operation else { continue }
        let targetBit = 1 << target
        let controlMask = controls.reduce(0) { $0 | (1 << $1) }
        for i in state.indices where i & targetBit == 0 && i & controlMask == controlMask {
            let (a, b) = (state[i], state[i | targetBit])
            state[i] = m.m00 * a + m.m01 * b
            state[i | targetBit] = m.m10 * a + m.m11 * b
        }
    }
    return state
}

func maxDifference(_ a: [[Amplitude]], _ b: [[Amplitude]]) -> Double {
    zip(a, b).map { zip($0, $1).map { ($0 - $1).length }.max() ?? 0 }.max() ?? 0
}

func phase(_ angle: Double) -> Amplitude { Amplitude(cos(angle), sin(angle)) }

/// Asserts that parsing fails with exactly this message at this position in "test.qasm".
func assertInputError(_ source: String, _ message: String, line: Int, column: Int, inFile: String = "test.qasm",
                      file: StaticString = #filePath, testLine: UInt = #line) {
    do {
        let circuit = try QASMParser.parse(source: source, file: "test.qasm", directory: fixturesDirectory)
        XCTFail("expected error '\(message)', parsed \(circuit.instructions.count) instructions", file: file, line: testLine)
    } catch let error as InputError {
        XCTAssertEqual(error.message, message, file: file, line: testLine)
        XCTAssertEqual(error.file, inFile, "file", file: file, line: testLine)
        XCTAssertEqual(error.line, line, "line of '\(error.message)'", file: file, line: testLine)
        XCTAssertEqual(error.column, column, "column of '\(error.message)'", file: file, line: testLine)
    } catch {
        XCTFail("unexpected error type \(error)", file: file, line: testLine)
    }
}

extension Circuits.Operation {
    /// (target, controls) of a unitary, for compact assertions.
    var unitaryQubits: (target: Int, controls: [Int])? {
        if case .unitary(let target, let controls, _) = self { return (target, controls) }
        return nil
    }
    var matrix: Matrix2? {
        if case .unitary(_, _, let m) = self { return m }
        return nil
    }
}
