import Circuits
import ForgeCore
import Foundation
import XCTest

/// Each kind of bad input gives an InputError at the offending token.
final class ErrorTests: XCTestCase {
    let h = header + "qreg q[3];\n"  // programs below continue on line 4

    func testHeader() {
        assertInputError("", "empty program", line: 1, column: 1)
        assertInputError("// only a comment\n\n", "empty program", line: 3, column: 1)
        assertInputError("qreg q[1];", "expected 'OPENQASM 2.0;' as the first statement", line: 1, column: 1)
        assertInputError("OPENQASM 3.0;", "unsupported OpenQASM version 3.0 (only 2.0)", line: 1, column: 10)
        assertInputError("OPENQASM 2.0\nqreg q[1];", "expected ';'", line: 2, column: 1)
        assertInputError(h + "OPENQASM 2.0;", "'OPENQASM' may only appear once, at the start", line: 4, column: 1)
    }

    func testLexical() {
        assertInputError("OPENQASM 2.0;\n\u{01}\u{02}garbage", "unexpected character U+0001", line: 2, column: 1)
        assertInputError("OPENQASM 2.0;\nqreg q[1]; # x", "unexpected character '#'", line: 2, column: 12)
        assertInputError("OPENQASM 2.0;\n// é comment\nqreg é[1];", "unexpected character U+00E9", line: 3, column: 6)
        assertInputError("OPENQASM 2.0;\ninclude \"qelib1.inc;\n", "unterminated string", line: 2, column: 9)
        assertInputError("OPENQASM 2.0;\n3;", "expected a statement, got '3'", line: 2, column: 1)
    }

    func testGateCalls() {
        assertInputError(h + "foo q[0];", "unknown gate 'foo'", line: 4, column: 1)
        assertInputError(h + "  cx q[0];", "gate 'cx' takes 2 qubits, got 1", line: 4, column: 3)
        assertInputError(h + "x q[0], q[1];", "gate 'x' takes 1 qubit, got 2", line: 4, column: 1)
        assertInputError(h + "rz q[0];", "gate 'rz' takes 1 parameter, got 0", line: 4, column: 1)
        assertInputError(h + "cu(1,2,3) q[0], q[1];", "gate 'cu' takes 4 parameters, got 3", line: 4, column: 1)
        assertInputError(h + "cx q[1], q[1];", "duplicate qubit arguments to 'cx'", line: 4, column: 10)
        assertInputError(h + "cx q[0], q;", "duplicate qubit arguments to 'cx'", line: 4, column: 10)
        assertInputError(h + "h q[0]\nh q[1];", "expected ';'", line: 5, column: 1)
        assertInputError(h + "h q[0]", "expected ';'", line: 4, column: 7)
        assertInputError(h + "h q[0;", "expected ']'", line: 4, column: 6)
        assertInputError(h + "h pi;", "expected register name, got reserved word 'pi'", line: 4, column: 3)
        assertInputError(h + "measure q[0];", "expected '->'", line: 4, column: 13)
    }

    func testRegisters() {
        assertInputError(h + "h q[5];", "qubit index q[5] out of range (q has 3 qubits)", line: 4, column: 3)
        assertInputError(h + "qreg one[1];\nx one[1];", "qubit index one[1] out of range (one has 1 qubit)", line: 5, column: 3)
        assertInputError(h + "h r[0];", "undefined register 'r'", line: 4, column: 3)
        assertInputError(h + "creg c[2];\nh c[0];", "'c' is not a quantum register", line: 5, column: 3)
        assertInputError(h + "creg c[2];\nmeasure q[0] -> q[1];", "'q' is not a classical register", line: 5, column: 17)
        assertInputError(h + "creg q[2];", "register 'q' is already defined", line: 4, column: 6)
        assertInputError(h + "h q[99999999999999999999];", "integer 99999999999999999999 is too large", line: 4, column: 5)
        assertInputError(h + "qreg r[2.0];", "expected an integer, got '2.0'", line: 4, column: 8)
        assertInputError(header + "qreg q[1000000];", "too many qubits: 1000000 (limit 62)", line: 3, column: 8)
        assertInputError(header + "qreg a[40];\nqreg b[23];", "too many qubits: 40 + 23 (limit 62)", line: 4, column: 8)
        assertInputError(header + "creg c[9999999999];", "too many classical bits: 9999999999 (limit 4096)",
                         line: 3, column: 8)
    }

    func testBroadcastAndMeasure() {
        let regs = h + "qreg r[2];\ncreg c[3];\ncreg d[2];\n"  // next line is 7
        assertInputError(regs + "cx q, r;", "register sizes differ in broadcast", line: 7, column: 7)
        assertInputError(regs + "measure q -> d;", "register sizes differ in broadcast", line: 7, column: 14)
        assertInputError(regs + "measure q[0] -> c;", "measure needs two registers or two single bits", line: 7, column: 17)
        assertInputError(regs + "measure q -> c[9];", "bit index c[9] out of range (c has 3 bits)", line: 7, column: 14)
    }

    func testConditions() {
        let regs = h + "creg c[2];\n"  // next line is 5
        assertInputError(regs + "if (r == 1) x q[0];", "undefined register 'r'", line: 5, column: 5)
        assertInputError(regs + "if (q == 1) x q[0];", "'q' is not a classical register", line: 5, column: 5)
        assertInputError(regs + "if (c == 1) barrier q;", "'barrier' cannot be conditional", line: 5, column: 13)
        assertInputError(regs + "if (c == 1) if (c == 1) x q[0];", "'if' cannot be conditional", line: 5, column: 13)
        assertInputError(regs + "if (c == 99999999999999999999) x q[0];", "condition value 99999999999999999999 is too large",
                         line: 5, column: 10)
        assertInputError(regs + "if (c = 1) x q[0];", "unexpected character '='", line: 5, column: 7)
    }

    func testGateDefinitions() {
        assertInputError(h + "gate h a { U(0,0,0) a; }", "gate 'h' is already defined", line: 4, column: 6)
        assertInputError(h + "opaque swap a, b;", "gate 'swap' is already defined", line: 4, column: 8)
        assertInputError(h + "gate g a { g a; }", "gate 'g' cannot call itself", line: 4, column: 12)
        assertInputError(h + "gate g a { f a; }", "unknown gate 'f'", line: 4, column: 12)
        assertInputError(h + "gate g a { cx a, b; }", "undefined qubit 'b'", line: 4, column: 18)
        assertInputError(h + "gate g a, b { cx a, a; }", "duplicate qubit arguments to 'cx'", line: 4, column: 21)
        assertInputError(h + "gate g a { x a[0]; }", "qubits cannot be indexed inside a gate body", line: 4, column: 15)
        assertInputError(h + "gate g a { measure a; }", "'measure' is not allowed in a gate body", line: 4, column: 12)
        assertInputError(h + "gate g(t) a { rz(s) a; }", "undefined parameter 's'", line: 4, column: 18)
        assertInputError(h + "gate g a { cx a; }", "gate 'cx' takes 2 qubits, got 1", line: 4, column: 12)
        assertInputError(h + "gate g(t, t) a { }", "duplicate parameter 't'", line: 4, column: 11)
        assertInputError(h + "gate g a, a { }", "duplicate argument name 'a'", line: 4, column: 11)
        assertInputError(h + "gate g(pi) a { }", "expected parameter name, got reserved word 'pi'", line: 4, column: 8)
        assertInputError(h + "gate g a { x a;", "expected '}'", line: 4, column: 16)
        assertInputError(h + "gate U a { }", "expected gate name, got reserved word 'U'", line: 4, column: 6)
    }

    func testOpaqueGatesCannotBeSimulated() {
        assertInputError(h + "opaque magic(t) a;\nmagic(1) q[0];", "opaque gate 'magic' cannot be simulated", line: 5, column: 1)
        // Used inside a definition: reported where the body names it, when the gate is used.
        assertInputError(h + "opaque magic a;\ngate g a { x a; magic a; }\ng q[1];", "opaque gate 'magic' cannot be simulated",
                         line: 5, column: 17)
    }

    /// Definitions that double at each level would expand to 2^40 operations.
    func testExponentialExpansionIsRefused() {
        var source = h + "gate g0 a { x a; }\n"
        for level in 1...40 { source += "gate g\(level) a { g\(level - 1) a; g\(level - 1) a; }\n" }
        source += "g10 q[0];\n  g40 q[0];"
        assertInputError(source, "program expands to more than 10000000 operations", line: 46, column: 3)
    }

    /// A chain of definitions each calling the previous one would recurse without bound.
    func testDeepGateNestingIsRefused() {
        var source = h + "gate g0 a { x a; }\n"
        for level in 1...250 { source += "gate g\(level) a { g\(level - 1) a; }\n" }
        assertInputError(source, "gate definitions nested too deeply (limit 200)", line: 4 + QASMParser.maxGateNesting, column: 6)
    }

    func testNestingAtTheLimitWorks() throws {
        var source = "qreg q[1];\ngate g0 a { x a; }\n"
        for level in 1..<QASMParser.maxGateNesting { source += "gate g\(level) a { g\(level - 1) a; }\n" }
        source += "g\(QASMParser.maxGateNesting - 1) q[0];\n"
        // Run on a thread with a small stack, as a worker thread of the CLI might be.
        final class Box: @unchecked Sendable {  // handed to one thread, read after it signals
            let source: String
            var outcome: Result<Circuit, Error>?
            init(_ source: String) { self.source = source }
        }
        let box = Box(source), done = DispatchSemaphore(value: 0)
        let thread = Thread {
            box.outcome = Result { try parse(box.source) }
            done.signal()
        }
        thread.stackSize = 512 << 10
        thread.start()
        done.wait()
        XCTAssertEqual(try XCTUnwrap(box.outcome).get().instructions.count, 1)
    }

    func testIncludes() {
        let lib = fixturesDirectory + "/lib"
        assertInputError(header + "include \"missing.inc\";", "cannot include 'missing.inc': no such file", line: 3, column: 9)
        assertInputError(header + "include \"lib\";", "cannot include 'lib': is a directory, not a file", line: 3, column: 9)
        assertInputError(header + "include \"lib/bad.inc\";", "unknown gate 'nope'", line: 3, column: 14,
                         inFile: lib + "/bad.inc")
        assertInputError(header + "include \"lib/cycle.inc\";", "recursive include of 'cycle.inc'", line: 2, column: 9,
                         inFile: lib + "/cycle.inc")
        assertInputError("OPENQASM 2.0;\ngate rzz a, b { CX a, b; }\ninclude \"qelib1.inc\";",
                         "gate 'rzz' of qelib1.inc is already defined", line: 3, column: 9)
        assertInputError(header + "include qelib1.inc;", "expected a file name in quotes, got 'qelib1'", line: 3, column: 9)
    }

    func testUnreadableFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("qforge-parser-\(UUID())").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        func check(_ name: String, _ bytes: [UInt8]?, _ message: String, line: UInt = #line) {
            let path = folder + "/" + name
            if let bytes { _ = FileManager.default.createFile(atPath: path, contents: Data(bytes)) }
            do {
                _ = try QASMParser.parse(contentsOf: path)
                XCTFail("expected '\(message)'", line: line)
            } catch let error as InputError {
                XCTAssertEqual(error.message, message, line: line)
                XCTAssertEqual(error.file, path, line: line)
            } catch {
                XCTFail("\(error)", line: line)
            }
        }
        check("missing.qasm", nil, "no such file")
        check("empty.qasm", [], "empty file")
        check("binary.qasm", [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x00, 0x00], "binary file (contains NUL bytes), not OpenQASM text")
        check("latin1.qasm", Array("OPENQASM 2.0; // caf".utf8) + [0xE9], "not valid UTF-8 text")
        check("blank.qasm", Array("  \n".utf8), "empty program")
        // Random bytes never crash the parser.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let bytes = (0..<64).map { _ in UInt8.random(in: 1...255, using: &generator) }
            let source = String(decoding: bytes, as: UTF8.self)
            XCTAssertThrowsError(try QASMParser.parse(source: source, file: "random.qasm")) {
                XCTAssertTrue($0 is InputError)
            }
        }
    }
}
