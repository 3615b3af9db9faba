@testable import Circuits
import ComplexModule
import Foundation
import ForgeCore
import ForgeTesting
import XCTest
@testable import Statevector

/// The same circuits in the gate sets transpilers emit ({h, cp, swap}, {h, rz, cx}, {rz, sx, cx},
/// {u3, cx}, {rz, sx, x, cx}, a mixed set, and with ccx / cswap): fused = unfused = the dense
/// reference on 1, 2 and 4 ranks, and fusion recognises the diagonals and permutations the
/// basis hides.
final class GateFormTests: XCTestCase {
    /// QASM text for one gate set: the QFT, or random layers of the set's gates.
    private struct Writer {
        var lines: [String] = []
        let form: String
        mutating func h(_ q: Int) {
            switch form {
            case "rz-sx-cx", "rz-sx-x-cx": lines += ["rz(pi/2) q[\(q)];", "sx q[\(q)];", "rz(pi/2) q[\(q)];"]
            case "u3-cx": lines.append("u3(pi/2,0,pi) q[\(q)];")
            default: lines.append("h q[\(q)];")
            }
        }
        mutating func rz(_ angle: Double, _ q: Int) {
            lines.append(form == "u3-cx" ? "u3(0,0,\(angle)) q[\(q)];" : "rz(\(angle)) q[\(q)];")
        }
        /// cp(θ) as the transpilers write it when cp is not native: rz·cx·rz·cx·rz.
        mutating func cp(_ angle: Double, _ c: Int, _ t: Int) {
            if form == "h-cp-swap" { lines.append("cp(\(angle)) q[\(c)],q[\(t)];"); return }
            rz(angle / 2, c); lines.append("cx q[\(c)],q[\(t)];")
            rz(-angle / 2, t); lines.append("cx q[\(c)],q[\(t)];")
            rz(angle / 2, t)
        }
        mutating func swap(_ a: Int, _ b: Int) {
            if form == "h-cp-swap" { lines.append("swap q[\(a)],q[\(b)];"); return }
            lines += ["cx q[\(a)],q[\(b)];", "cx q[\(b)],q[\(a)];", "cx q[\(a)],q[\(b)];"]
        }
    }

    static func qft(_ n: Int, form: String) -> String {
        var w = Writer(form: form)
        for q in (0..<n).reversed() {
            w.h(q)
            for k in (0..<q).reversed() { w.cp(Double.pi / Double(1 << (q - k)), q, k) }
        }
        for q in 0..<(n / 2) { w.swap(q, n - 1 - q) }
        return program(n, w.lines)
    }

    static func random(_ n: Int, form: String, depth: Int, seed: UInt64) -> String {
        var random = TestRandom(state: seed)
        let angle = { (r: inout TestRandom) in String(format: "%.17g", (r.unit() - 0.5) * 4 * Double.pi) }
        var lines: [String] = []
        for _ in 0..<depth {
            var free = Array(0..<n).shuffled(using: &random)
            while !free.isEmpty {
                let operands = min(free.count, 1 + random.int(form == "three-operand" ? 3 : 2))
                let q = Array(free.prefix(operands)).map { "q[\($0)]" }
                free.removeFirst(operands)
                let (a, b, c) = (angle(&random), angle(&random), angle(&random))
                let gate: String
                switch (form, operands) {
                case ("u3-cx", 1), ("three-operand", 1): gate = "u3(\(a),\(b),\(c)) \(q[0])"
                case ("rz-sx-x-cx", 1): gate = ["rz(\(a)) \(q[0])", "sx \(q[0])", "x \(q[0])"][random.int(3)]
                case ("mixed", 1): gate = ["h \(q[0])", "rx(\(a)) \(q[0])", "ry(\(b)) \(q[0])", "rz(\(c)) \(q[0])", "x \(q[0])"][random.int(5)]
                case ("mixed", 2): gate = ["cx", "cz", "swap"][random.int(3)] + " \(q[0]),\(q[1])"
                case ("three-operand", 2): gate = ["cx", "cz", "cp(\(a))", "swap"][random.int(4)] + " \(q[0]),\(q[1])"
                case ("three-operand", 3): gate = ["ccx", "cswap"][random.int(2)] + " \(q[0]),\(q[1]),\(q[2])"
                default: gate = "cx \(q[0]),\(q[1])"
                }
                lines.append(gate + ";")
            }
        }
        return program(n, lines)
    }

    private static func program(_ n: Int, _ lines: [String]) -> String {
        (["OPENQASM 2.0;", "include \"qelib1.inc\";", "qreg q[\(n)];"] + lines).joined(separator: "\n") + "\n"
    }

    /// Every form of the suite at n qubits, as (name, QASM).
    static func forms(_ n: Int) -> [(String, String)] {
        ["h-cp-swap", "h-rz-cx", "rz-sx-cx", "u3-cx"].map { ("qft \($0)", qft(n, form: $0)) }
            + ["u3-cx", "rz-sx-x-cx", "mixed", "three-operand"].map { ("random \($0)", random(n, form: $0, depth: 12, seed: 5)) }
    }

    func testEveryFormFusedMatchesUnfusedAndDenseReference() throws {
        let n = 7
        for (name, qasm) in Self.forms(n) {
            let circuit = try QASMParser.parse(source: qasm, file: name)
            var reference = DenseReference(amplitudes: [.one] + [Complex<Double>](repeating: .zero, count: (1 << n) - 1))
            for case .unitary(let t, let c, let m) in circuit.instructions.map(\.operation) { reference.apply(target: t, controls: c, m) }
            for ranks in [1, 2, 4] {
                let unfused = simulatedState(circuit, ranks: ranks, fusion: nil)
                XCTAssertLessThan(zip(unfused, reference.state).map { ($0 - $1).length }.max()!, 1e-12, "\(name) unfused ranks \(ranks)")
                for (limits, window) in [(FusionLimits(), 15), (FusionLimits(maxDenseQubits: 2), 3), (FusionLimits(maxDenseQubits: 4, maxDiagonalQubits: 6), 15),
                                         (FusionLimits(maxDenseQubits: 5), 4)] {
                    let fused = simulatedState(circuit, ranks: ranks, fusion: limits, window: window)
                    let worst = zip(fused, unfused).map { ($0 - $1).length }.max()!
                    XCTAssertLessThan(worst, 1e-12, "\(name) ranks \(ranks) dense ≤ \(limits.maxDenseQubits) window \(window)")
                }
                // Groups of 3 and 4 paired qubits on 7: commuting operations are pulled forward
                // past others (the default 12 holds the whole circuit, in program order).
                for group in [3, 4] {
                    let fused = simulatedState(circuit, ranks: ranks, fusion: FusionLimits(), window: 5, groupQubits: group)
                    let worst = zip(fused, reference.state).map { ($0 - $1).length }.max()!
                    XCTAssertLessThan(worst, 1e-12, "\(name) ranks \(ranks) groups of \(group) qubits")
                }
            }
        }
    }

    /// The kernel table is chosen at run time (256-bit vectors on AVX2, 512-bit on AVX-512):
    /// every width this CPU runs gives the same bits, in both precisions, for every form.
    func testEveryFormIsBitForBitOnEveryVectorWidth() throws {
        let widths = VectorWidth.supported
        guard widths.count > 1 else { throw XCTSkip("this CPU runs only the \(widths[0])-bit kernels") }
        for (name, qasm) in Self.forms(9) {
            let circuit = try QASMParser.parse(source: qasm, file: name)
            for precision in Precision.allCases {
                for (ranks, threads) in [(1, 1), (2, 2)] {
                    let states = widths.map { simulatedScalars(circuit, precision: precision, ranks: ranks, threads: threads,
                                                               fusion: FusionLimits(), window: 6, vectorBits: $0) }
                    XCTAssertEqual(states[0], states[1], "\(name) \(precision) ranks \(ranks) threads \(threads): \(widths) bits differ")
                }
            }
        }
    }

    private let here = SourceLocation(file: "test", line: 0, column: 0)

    private func parse(_ body: String, qubits n: Int = 3) throws -> [Instruction] {
        try QASMParser.parse(source: Self.program(n, [body]), file: "test").instructions
    }

    private func kinds(_ operations: [FusedOperation]) -> [String] {
        operations.map {
            switch $0 {
            case .dense: return "dense"
            case .diagonal: return "diagonal"
            case .permutation: return "permutation"
            case .instruction: return "instruction"
            }
        }
    }

    func testFusionSeesThroughTheBasis() throws {
        let fusion = GateFusion(localQubits: 3)
        // cp as rz·cx·rz·cx·rz is a diagonal, also when its control is a rank-index qubit.
        let cp = try parse("rz(0.3) q[2]; cx q[2],q[0]; rz(-0.3) q[0]; cx q[2],q[0]; rz(0.3) q[0];")
        XCTAssertEqual(kinds(fusion.fuse(cp)), ["diagonal"])
        XCTAssertEqual(kinds(GateFusion(localQubits: 2).fuse(cp)), ["diagonal"])
        // A chain of cx (and x) is one permutation; cx·cx and h·h are nothing at all.
        XCTAssertEqual(kinds(fusion.fuse(try parse("cx q[0],q[1]; x q[2]; cx q[1],q[2]; swap q[0],q[2];"))), ["permutation"])
        XCTAssertEqual(kinds(fusion.fuse(try parse("cx q[0],q[1]; cx q[0],q[1]; h q[2]; h q[2];"))), [])
        // h as rz·sx·rz is one gate; with cz and h on the target it is a cx: a permutation.
        XCTAssertEqual(kinds(fusion.fuse(try parse("rz(pi/2) q[1]; sx q[1]; rz(pi/2) q[1]; cz q[0],q[1]; rz(pi/2) q[1]; sx q[1]; rz(pi/2) q[1];"))),
                       ["permutation"])
        // Lone single-qubit gates join the next block rather than run alone.
        XCTAssertEqual(kinds(fusion.fuse(try parse("u3(0.1,0.2,0.3) q[0]; u3(0.4,0.5,0.6) q[1]; cx q[0],q[1]; u3(0.7,0.8,0.9) q[1];"))), ["dense"])
        // A permutation block too large for the permutation kernel is fused again, not lost.
        let wide = try parse((0..<7).map { "cx q[\($0)],q[\($0 + 1)];" }.joined(separator: " "), qubits: 8)
        let fused = GateFusion(localQubits: 8).fuse(wide)
        XCTAssertFalse(kinds(fused).contains("instruction"))
        XCTAssertGreaterThan(fused.count, 1)
    }

    /// An operation left alone between blocks joins the next dense block on its qubits, or else
    /// the previous one, when their qubits make a dense block, and the state does not change.
    func testLoneOperationsJoinTheDenseBlockHoldingTheirQubits() throws {
        var random = TestRandom(state: 11)
        func matrix(_ m: Int) -> [Amplitude] {   // a random unitary on m qubits: product of gates
            let d = 1 << m
            var a = (0..<(d * d)).map { $0 / d == $0 % d ? Amplitude.one : .zero }
            for _ in 0..<(3 * m) {
                let (t, u) = (random.int(m), random.unitary())
                for c in 0..<d { for r in 0..<d where r & (1 << t) == 0 {
                    let (x, y) = (a[r * d + c], a[(r | 1 << t) * d + c])
                    (a[r * d + c], a[(r | 1 << t) * d + c]) = (u.m00 * x + u.m01 * y, u.m10 * x + u.m11 * y)
                } }
            }
            return a
        }
        let operations: [FusedOperation] = [
            .dense(qubits: [0], matrix: matrix(1)),              // → forward into [0, 2]
            .dense(qubits: [4], matrix: matrix(1)),              // no dense block on 4: stays
            .permutation(qubits: [3], sources: [1, 0], factors: [.one, Complex(0, 1)]),   // stays
            .dense(qubits: [0, 2], matrix: matrix(2)),
            .diagonal(qubits: [2, 1], phases: (0..<4).map { Complex(length: 1, phase: Double($0)) }),  // → backward, widens it
            .dense(qubits: [5, 6], matrix: matrix(2)),
            .dense(qubits: [6, 7], matrix: matrix(2)),           // → backward: [5, 6, 7]
            .dense(qubits: [0, 7], matrix: matrix(2)),           // [0, 5, 6, 7] and [0, 1, 2, 7] too wide: stays
        ]
        let absorbed = GateFusion(localQubits: 8).joiningNeighbours(operations)
        XCTAssertEqual(absorbed.map { $0.touchedQubits! }, [[4], [3], [0, 1, 2], [5, 6, 7], [0, 7]])
        func run(_ ops: [FusedOperation]) -> [Complex<Double>] {
            var v = random.state(qubits: 8)
            for op in ops {
                let (qubits, m) = op.denseMatrix!, d = 1 << qubits.count
                var next = v
                for i in 0..<v.count {
                    let r = qubits.enumerated().reduce(0) { i & (1 << $1.element) != 0 ? $0 | 1 << $1.offset : $0 }
                    let rest = qubits.reduce(i) { $0 & ~(1 << $1) }
                    next[i] = (0..<d).reduce(.zero) { sum, c in
                        sum + m[r * d + c] * v[qubits.enumerated().reduce(rest) { c & (1 << $1.offset) != 0 ? $0 | 1 << $1.element : $0 }]
                    }
                }
                v = next
            }
            return v
        }
        let seed = random
        let expected = run(operations)
        random = seed
        let got = run(absorbed)
        XCTAssertLessThan(zip(got, expected).map { ($0 - $1).length }.max()!, 1e-13)
    }

    /// A permutation with phases on a vector-lane qubit (here below 2) runs on the dense
    /// kernels when it is small enough for them; one without phases, or on higher qubits, stays
    /// a permutation.
    func testPhasedPermutationOnLaneQubitsRunsDense() throws {
        let fusion = GateFusion(localQubits: 6, laneQubits: 2)
        XCTAssertEqual(kinds(fusion.fuse(try parse("cx q[0],q[3]; s q[3]; cx q[3],q[4];", qubits: 6))), ["dense"])
        XCTAssertEqual(kinds(fusion.fuse(try parse("cx q[0],q[3]; cx q[3],q[4];", qubits: 6))), ["permutation"])
        XCTAssertEqual(kinds(fusion.fuse(try parse("cx q[2],q[3]; s q[3]; cx q[3],q[4];", qubits: 6))), ["permutation"])
    }

    /// Commuting operations are grouped for cache windows: disjoint blocks move forward past
    /// others, blocks sharing a qubit (unless both diagonal) keep their order.
    func testCommutingGroupsKeepOrderWhereItMatters() throws {
        let program = "h q[0]; cx q[0],q[1]; h q[2]; cx q[2],q[3]; h q[4]; cx q[4],q[5]; h q[0]; cx q[0],q[1]; cz q[2],q[3]; cz q[3],q[4];"
        let operations = GateFusion(localQubits: 6, maxDenseQubits: 2).fuse(try parse(program, qubits: 6))
        let qubitSets = { (ops: [FusedOperation]) in
            ops.map { op -> [Int] in
                switch op {
                case .dense(let q, _), .diagonal(let q, _), .permutation(let q, _, _): return q
                case .instruction: return []
                }
            }
        }
        let (ordered, ends) = Simulator.commutingGroups(operations, capacity: 2, qubits: 6, localQubits: 6)
        XCTAssertEqual(Set(qubitSets(ordered).map { $0.description }), Set(qubitSets(operations).map { $0.description }))
        XCTAssertEqual(ends.last, ordered.count)
        // Each operation comes after every earlier one it does not commute with.
        let sets = qubitSets(operations), orderedSets = qubitSets(ordered)
        for (i, a) in sets.enumerated() {
            for (j, b) in sets.enumerated() where i < j && !Set(a).isDisjoint(with: b) {
                let diagonal = { (k: Int) -> Bool in if case .diagonal = operations[k] { return true } else { return false } }
                if diagonal(i) && diagonal(j) { continue }
                XCTAssertLessThan(orderedSets.firstIndex(of: a)!, orderedSets.firstIndex(of: b)!, "\(a) before \(b)")
            }
        }
    }

    /// The QFT costs as few passes whatever basis it arrives in.
    func testQFTFusesAlikeInEveryBasis() throws {
        let n = 12
        let counts = try ["h-cp-swap", "h-rz-cx", "rz-sx-cx", "u3-cx"].map { form -> Int in
            let circuit = try QASMParser.parse(source: Self.qft(n, form: form), file: form)
            return GateFusion(localQubits: n).fuse(circuit.instructions).count
        }
        for (form, count) in zip(["h-rz-cx", "rz-sx-cx", "u3-cx"], counts.dropFirst()) {
            XCTAssertLessThanOrEqual(count, counts[0] + 2, "\(form): \(count) passes, h-cp-swap \(counts[0])")
        }
    }
}
