import Circuits
import ComplexModule
import ForgeCore
import Foundation
import XCTest

final class ExpressionTests: XCTestCase {
    /// The value of `expression`, read back from the phase of `p(expression)`: diag(1, e^{iλ}).
    func assertValue(_ expression: String, _ expected: Double, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let circuit = try parse("qreg q[1];\np(\(expression)) q[0];\n")
            let m11 = try XCTUnwrap(circuit.instructions.first?.operation.matrix?.m11)
            XCTAssertLessThan((m11 - phase(expected)).length, 1e-13, "\(expression) != \(expected)", file: file, line: line)
        } catch {
            XCTFail("\(expression): \(error)", file: file, line: line)
        }
    }

    func testLiterals() {
        assertValue("1", 1)
        assertValue("1.5", 1.5)
        assertValue(".5", 0.5)
        assertValue("1.", 1)
        assertValue("1e-3", 1e-3)
        assertValue("2.E+4", 2e4)
        assertValue("1.e-07", 1e-7)  // as Qiskit writes small numbers
        assertValue("pi", .pi)
        assertValue("0", 0)
    }

    func testPrecedence() {
        assertValue("1+2*3", 7)
        assertValue("(1+2)*3", 9)
        assertValue("8/4/2", 1)  // left-associative
        assertValue("5-2-1", 2)
        assertValue("-2^2", -4)  // unary minus binds looser than ^
        assertValue("2^3^2", 512)  // ^ is right-associative
        assertValue("2^-1", 0.5)
        assertValue("(-2)^3", -8)  // negative base, integer exponent (C pow)
        assertValue("(-1.5)^2", 2.25)
        assertValue("-pi/2", -.pi / 2)
        assertValue("3*pi/4", 3 * .pi / 4)
        assertValue("1/(1*pi)", 1 / .pi)
        assertValue("--1", 1)
        assertValue("+2", 2)
        assertValue("(-0.5)*2", -1)
        assertValue("2*-3", -6)
        assertValue("-pi/2 + 0.3", -.pi / 2 + 0.3)
    }

    func testFunctions() {
        assertValue("sin(pi/6)", 0.5)
        assertValue("cos(0)", 1)
        assertValue("tan(pi/4)", 1)
        assertValue("exp(1)", M_E)
        assertValue("ln(exp(2))", 2)
        assertValue("sqrt(2)^2", 2)
        assertValue("asin(1)", .pi / 2)
        assertValue("acos(0)", .pi / 2)
        assertValue("atan(1)*4", .pi)
        assertValue("-sin(pi/2)^2", -1)
    }

    func testParametersInGateBodies() throws {
        let circuit = try parse("""
            gate g(a, b) q { p(a*b - a/2) q; p(-a^2) q; }
            qreg r[1];
            g(3, 0.5) r[0];

            """)
        XCTAssertLessThan((try XCTUnwrap(circuit.instructions[0].operation.matrix?.m11) - phase(0)).length, 1e-15)
        XCTAssertLessThan((try XCTUnwrap(circuit.instructions[1].operation.matrix?.m11) - phase(-9)).length, 1e-13)
    }

    func testBadExpressions() {
        let h = header + "qreg q[1];\n"
        assertInputError(h + "p(1/0) q[0];", "division by zero in parameter expression", line: 4, column: 4)
        assertInputError(h + "p(1/(pi-pi)) q[0];", "division by zero in parameter expression", line: 4, column: 4)
        assertInputError(h + "p(ln(0)) q[0];", "non-finite result of 'ln' in parameter expression", line: 4, column: 3)
        assertInputError(h + "p(sqrt(-1)) q[0];", "non-finite result of 'sqrt' in parameter expression", line: 4, column: 3)
        assertInputError(h + "p(10^400) q[0];", "non-finite result of '^' in parameter expression", line: 4, column: 5)
        assertInputError(h + "p(1e999) q[0];", "number 1e999 is out of range", line: 4, column: 3)
        assertInputError(h + "p(x) q[0];", "undefined parameter 'x'", line: 4, column: 3)
        assertInputError(h + "p(2pi) q[0];", "malformed number", line: 4, column: 3)
        assertInputError(h + "p(1e) q[0];", "malformed number", line: 4, column: 3)
        assertInputError(h + "p(sin 1) q[0];", "expected '(' after 'sin'", line: 4, column: 7)
        assertInputError(h + "p(1 2) q[0];", "expected ')'", line: 4, column: 5)
        assertInputError(h + "p() q[0];", "gate 'p' takes 1 parameter, got 0", line: 4, column: 1)
        assertInputError(h + "p(1,) q[0];", "expected an expression, got ')'", line: 4, column: 5)
        // A division by zero in a gate body is found when the call supplies the value.
        assertInputError(header + "gate g(a) q { p(1/a) q; }\nqreg r[1];\ng(1) r[0];\ng(0) r[0];",
                         "division by zero in parameter expression", line: 3, column: 18)
    }

    func testHostileExpressionsAreBounded() {
        let h = header + "qreg q[1];\n"
        let deep = String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000)
        assertInputError(h + "p(\(deep)) q[0];", "expression nested too deeply", line: 4, column: 103)
        let long = Array(repeating: "1", count: 100_000).joined(separator: "+")
        assertInputError(h + "p(\(long)) q[0];", "expression too long", line: 4, column: 3 + 2 * 1000 + 1)
        let negations = String(repeating: "-", count: 100_000) + "1"
        assertInputError(h + "p(\(negations)) q[0];", "expression nested too deeply", line: 4, column: 103)
    }
}

final class ParserTests: XCTestCase {
    func testRegisterLayoutFollowsDeclarationOrder() throws {
        let circuit = try parse("""
            qreg a[2];
            creg c[2];
            qreg b[1];
            creg d[3];
            x b[0];
            x a[1];
            measure a -> c;
            measure b[0] -> d[2];

            """)
        XCTAssertEqual(circuit.qubitCount, 3)
        XCTAssertEqual(circuit.clbitCount, 5)
        XCTAssertEqual(circuit.qregs, [Register(name: "a", offset: 0, size: 2), Register(name: "b", offset: 2, size: 1)])
        XCTAssertEqual(circuit.cregs, [Register(name: "c", offset: 0, size: 2), Register(name: "d", offset: 2, size: 3)])
        XCTAssertEqual(circuit.instructions.map(\.operation), [
            .unitary(target: 2, controls: [], matrix: Matrix2(.zero, .one, .one, .zero)),
            .unitary(target: 1, controls: [], matrix: Matrix2(.zero, .one, .one, .zero)),
            .measure(qubit: 0, clbit: 0), .measure(qubit: 1, clbit: 1), .measure(qubit: 2, clbit: 4),
        ])
        XCTAssertEqual(circuit.sourceGateCount, 2)
    }

    func testBroadcast() throws {
        let circuit = try parse("""
            qreg q[3];
            qreg r[3];
            h q;
            cx q, r;
            cx q[0], r;
            reset r;
            barrier q[1], r, q;

            """)
        let ops = circuit.instructions.map(\.operation)
        XCTAssertEqual(ops[0..<3].map { $0.unitaryQubits?.target }, [0, 1, 2])
        XCTAssertEqual(ops[3..<6].map { $0.unitaryQubits?.target }, [3, 4, 5])
        XCTAssertEqual(ops[3..<6].map { $0.unitaryQubits?.controls }, [[0], [1], [2]])
        XCTAssertEqual(ops[6..<9].map { $0.unitaryQubits?.controls }, [[0], [0], [0]])
        XCTAssertEqual(ops[6..<9].map { $0.unitaryQubits?.target }, [3, 4, 5])
        XCTAssertEqual(Array(ops[9..<12]), [.reset(qubit: 3), .reset(qubit: 4), .reset(qubit: 5)])
        XCTAssertEqual(ops[12], .barrier(qubits: [1, 3, 4, 5, 0, 2]))
        XCTAssertEqual(ops.count, 13)
        XCTAssertEqual(circuit.sourceGateCount, 9)  // each broadcast application counts
    }

    func testNestedParameterisedUserGates() throws {
        let circuit = try parse("""
            gate inner(t) a, b { cx a, b; rz(t) b; barrier a, b; cx a, b; }
            gate outer(t, s) a, b, c {
              inner(2*t) a, c;
              inner(t + s) c, b;
              U(s, 0, 0) a;
            }
            qreg q[3];
            outer(0.25, -1) q[2], q[0], q[1];

            """)
        // Expansion maps formal qubits a,b,c to q2,q0,q1; barriers in bodies are dropped.
        XCTAssertEqual(circuit.instructions.count, 7)
        XCTAssertEqual(circuit.instructions.map { $0.operation.unitaryQubits!.target }, [1, 1, 1, 0, 0, 0, 2])
        XCTAssertEqual(circuit.instructions[1].operation.matrix?.m11.real ?? 0, cos(0.25), accuracy: 1e-15)
        XCTAssertEqual(circuit.instructions[4].operation.matrix?.m11.real ?? 0, cos(-0.375), accuracy: 1e-15)
        XCTAssertEqual(circuit.sourceGateCount, 1)
        // Every expanded instruction is located at the call site.
        for instruction in circuit.instructions {
            XCTAssertEqual(instruction.location, SourceLocation(file: "test.qasm", line: 10, column: 1))
        }
        // Same as composing the pieces by hand.
        let manual = try parse("""
            qreg q[3];
            cx q[2], q[1]; rz(0.5) q[1]; cx q[2], q[1];
            cx q[1], q[0]; rz(-0.75) q[0]; cx q[1], q[0];
            U(-1, 0, 0) q[2];

            """)
        XCTAssertLessThan(maxDifference(denseMatrix(circuit), denseMatrix(manual)), 1e-14)
    }

    func testConditionsApplyToEveryExpandedInstruction() throws {
        let circuit = try parse("""
            qreg q[2];
            creg a[1];
            creg c[3];
            if (c == 5) swap q[0], q[1];
            if(c==0) measure q[0] -> c[1];
            if (a == 1) reset q;
            h q[0];

            """)
        let condition = Condition(clbitOffset: 1, width: 3, value: 5)
        XCTAssertEqual(circuit.instructions[0..<3].map(\.condition), [condition, condition, condition])
        XCTAssertEqual(circuit.instructions[3].condition, Condition(clbitOffset: 1, width: 3, value: 0))
        XCTAssertEqual(circuit.instructions[3].operation, .measure(qubit: 0, clbit: 2))
        XCTAssertEqual(circuit.instructions[4..<6].map(\.condition), Array(repeating: Condition(clbitOffset: 0, width: 1, value: 1), count: 2))
        XCTAssertNil(circuit.instructions[6].condition)
        XCTAssertEqual(circuit.instructions[0].location, SourceLocation(file: "test.qasm", line: 6, column: 13))
    }

    func testMeasureBroadcast() throws {
        let circuit = try parse("qreg q[3];\ncreg c[3];\nmeasure q -> c;\nmeasure q[2] -> c[0];\n")
        XCTAssertEqual(circuit.instructions.map(\.operation), [
            .measure(qubit: 0, clbit: 0), .measure(qubit: 1, clbit: 1), .measure(qubit: 2, clbit: 2),
            .measure(qubit: 2, clbit: 0),
        ])
    }

    func testCommentsWhitespaceAndOpaque() throws {
        let circuit = try QASMParser.parse(source: "\u{FEFF}" + """
            // leading comment
            OPENQASM 2.0; // trailing
            include "qelib1.inc";\r
            opaque magic(a) q, r;   // declared, never used: fine
            gate empty a { }
            gate noargs() a { x a; }
            qreg q[2];\tcreg c[2];
            empty q[0]; noargs() q[1];
            barrier q;
            """, file: "c.qasm")
        XCTAssertEqual(circuit.instructions.count, 2)
        XCTAssertEqual(circuit.sourceGateCount, 2)
    }

    func testZeroSizedRegistersAndHeaderOnlyProgram() throws {
        let circuit = try parse("qreg q[2];\ncreg none[0];\nh q;\n")
        XCTAssertEqual(circuit.clbitCount, 0)
        let empty = try QASMParser.parse(source: "OPENQASM 2.0;", file: "e.qasm")
        XCTAssertEqual(empty.qubitCount, 0)
        XCTAssertTrue(empty.instructions.isEmpty)
    }

    func testSixtyTwoQubitsAllowed() throws {
        let circuit = try parse("qreg a[60];\nqreg b[2];\nh b;\n")
        XCTAssertEqual(circuit.qubitCount, 62)
        XCTAssertEqual(circuit.instructions.map { $0.operation.unitaryQubits?.target }, [60, 61])
    }

    func testIncludeFromDisk() throws {
        let circuit = try QASMParser.parse(source: header + "include \"lib/extra.inc\";\nqreg q[2];\nbell q[0], q[1];\n",
                                           file: "main.qasm", directory: fixturesDirectory)
        XCTAssertEqual(circuit.instructions.count, 2)
        // A file read from disk resolves includes relative to its own folder.
        let direct = try QASMParser.parse(contentsOf: fixturesDirectory + "/include_main.qasm")
        XCTAssertEqual(direct.instructions.count, 2)
        XCTAssertEqual(direct.instructions[0].location.file, fixturesDirectory + "/include_main.qasm")
    }

    func testRepeatedQelib1IncludeIsHarmless() throws {
        XCTAssertNoThrow(try parse("include \"qelib1.inc\";\nqreg q[1];\nh q;\n"))
    }

    func testLargeProgramParses() throws {
        var source = header + "qreg q[20];\ncreg c[20];\n"
        for i in 0..<5_000 { source += "cx q[\(i % 20)], q[\((i + 7) % 20)];\nrz(\(i)*pi/1000) q[\(i % 20)];\n" }
        source += "measure q -> c;\n"
        let circuit = try QASMParser.parse(source: source, file: "big.qasm")
        XCTAssertEqual(circuit.instructions.count, 10_020)
    }
}
