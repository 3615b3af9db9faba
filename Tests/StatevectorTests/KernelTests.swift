import Circuits
import ComplexModule
import ForgeCore
import ForgeTesting
import XCTest
@testable import Statevector
import AmplitudeKernels

/// Distributed kernels on 1, 2 and 4 in-process ranks against the dense single-array reference.
final class KernelTests: XCTestCase {
    /// Loads a full state into each rank's slice, runs `body`, and returns the full state gathered back.
    private func runDistributed(ranks: Int, initial: [Complex<Double>], vectorBits: Int = VectorWidth.preferred,
                                _ body: @escaping @Sendable (DistributedState<Double>) -> Void) -> [Complex<Double>] {
        let n = initial.count.trailingZeroBitCount
        let result = Locked([Complex<Double>](repeating: .zero, count: initial.count))
        let world = InProcessWorld(size: ranks)
        world.run { comm in
            let s = DistributedState<Double>(qubits: n, comm: comm, vectorBits: vectorBits)
            let offset = Int(s.globalOffset)
            for i in 0..<s.localCount { s.amplitudes[i] = SIMD2(initial[offset + i].real, initial[offset + i].imaginary) }
            body(s)
            result.update { full in for i in 0..<s.localCount { full[offset + i] = Complex(s.amplitudes[i].x, s.amplitudes[i].y) } }
        }
        return result.value
    }

    private func assertClose(_ a: [Complex<Double>], _ b: [Complex<Double>], tolerance: Double = 1e-12, _ message: String) {
        let worst = zip(a, b).map { ($0 - $1).length }.max() ?? 0
        XCTAssertLessThan(worst, tolerance, message)
    }

    func testEveryTargetAndControlLayoutAgainstDenseMatrix() {
        var random = TestRandom(state: 42)
        let n = 5
        for ranks in [1, 2, 4] {
            for target in 0..<n {
                for controlCount in 0...2 {
                    let others = (0..<n).filter { $0 != target }.shuffled(using: &random)
                    let controls = Array(others.prefix(controlCount))
                    for kind in 0..<3 {
                        var m = random.unitary()
                        if kind == 1 { m.m01 = .zero; m.m10 = .zero; m.m00 = m.m00 / Complex(m.m00.length); m.m11 = m.m11 / Complex(m.m11.length) }
                        if kind == 2 { m = Matrix2(.zero, .one, .one, .zero) }  // X
                        let initial = random.state(qubits: n)
                        var reference = DenseReference(amplitudes: initial)
                        reference.apply(target: target, controls: controls, m)
                        let matrix = m
                        let got = runDistributed(ranks: ranks, initial: initial) { $0.apply(target: target, controls: controls, matrix: matrix) }
                        assertClose(got, reference.state, "ranks \(ranks) target \(target) controls \(controls) kind \(kind)")
                    }
                }
            }
        }
    }

    /// Fused blocks run on their vector kernels against the dense reference: dense blocks of
    /// 1–4 qubits and permutations with and without lane qubits (every lane mask of both vector
    /// widths: qubits 0–2), and diagonals on lane, in-block and high qubits (rank-index ones
    /// included), on 1, 2 and 4 ranks and 1 or 2 threads. The diagonal kernel multiplies whole vectors; each lane must
    /// match `complexProduct` bit for bit. Every vector width this CPU runs (256 and 512 bits
    /// on an AVX-512 machine): the runtime-selected kernels must all be right.
    func testFusedBlocksOnEveryQubitPattern() {
        for bits in VectorWidth.supported { checkFusedBlocks(vectorBits: bits) }
    }

    /// Subnormal amplitudes (round-off of exact zeros) become zero instead of slowing every
    /// block that reads them, on every thread of a sweep and at both vector widths.
    func testSubnormalAmplitudesAreFlushedToZero() throws {
        #if !arch(x86_64)
        throw XCTSkip("flushing subnormals is x86 only (MXCSR)")
        #endif
        let tiny: Float = 1e-39
        XCTAssertTrue(tiny.isSubnormal)
        for bits in VectorWidth.supported {
            for threads in [1, 2] {
                let amplitudes = Locked([SIMD2<Float>]())
                InProcessWorld(size: 1).run { comm in
                    let s = DistributedState<Float>(qubits: 8, comm: comm, vectorBits: bits)
                    s.team = ThreadTeam(threads: threads, minimumItemsPerThread: 1)
                    for i in 0..<s.localCount { s.amplitudes[i] = SIMD2(i.isMultiple(of: 2) ? 0.0625 : tiny, 0) }
                    for qubits in [[0], [4], [1, 5, 6]] {   // a lane qubit, one above, a block across
                        let d = 1 << qubits.count
                        let identity = (0..<(d * d)).map { $0 / d == $0 % d ? Complex<Double>.one : .zero }
                        s.apply(s.prepare(FusedOperation.dense(qubits: qubits, matrix: identity)))
                    }
                    let local = (0..<s.localCount).map { s.amplitudes[$0] }
                    amplitudes.update { $0 = local }
                }
                let expected = (0..<256).map { SIMD2<Float>($0.isMultiple(of: 2) ? 0.0625 : 0, 0) }
                let wrong = zip(amplitudes.value, expected).filter { $0 != $1 }.count
                XCTAssertEqual(wrong, 0, "\(bits) bits, \(threads) threads: amplitudes not as expected (subnormals kept?)")
            }
        }
    }

    private func checkFusedBlocks(vectorBits: Int) {
        var random = TestRandom(state: 31)
        let n = 9
        let denseQubits: [[Int]] = [[0], [2], [5], [0, 1], [1, 6], [0, 2, 3], [0, 1, 2], [3, 4, 6], [0, 1, 2, 5], [2, 4, 5, 6]]
        let diagonalQubits: [[Int]] = [[0], [1, 2], [3], [0, 4, 7], [2, 5, 6, 8], [0, 1, 2, 3, 4, 5, 6, 7], [6, 8]]
        for ranks in [1, 2, 4] {
            for threads in [1, 2] {
                /// A random unitary on `count` qubits: a product of random gates on them.
                func randomUnitary(_ count: Int) -> [Complex<Double>] {
                    let d = 1 << count
                    var matrix = (0..<(d * d)).map { $0 / d == $0 % d ? Complex<Double>.one : .zero }
                    for _ in 0..<(3 * count) {
                        let (t, m) = (random.int(count), random.unitary())
                        let c = count > 1 && random.int(2) == 0 ? (t + 1) % count : -1
                        for col in 0..<d {
                            for r in 0..<d where r & (1 << t) == 0 && (c < 0 || r & (1 << c) != 0) {
                                let (x, y) = (matrix[r * d + col], matrix[(r | 1 << t) * d + col])
                                matrix[r * d + col] = m.m00 * x + m.m01 * y
                                matrix[(r | 1 << t) * d + col] = m.m10 * x + m.m11 * y
                            }
                        }
                    }
                    return matrix
                }
                // Dense blocks, and sparse ones as cx and a few gates make them: P·(U ⊗ 1)·P′ with
                // U on 1 or 2 of the block's qubits and random basis permutations P, P′ (the
                // kernels' row groups of 2 and 4).
                var blocks = denseQubits.map { ($0, randomUnitary($0.count)) }
                for qubits in denseQubits where qubits.count >= 2 {
                    for bits in 1..<min(qubits.count, 3) {
                        let (d, e, u) = (1 << qubits.count, 1 << bits, randomUnitary(bits))
                        let (p, q) = (Array(0..<d).shuffled(using: &random), Array(0..<d).shuffled(using: &random))
                        let matrix = (0..<(d * d)).map { k in
                            let (r, c) = (p[k / d], q[k % d])
                            return r >> bits == c >> bits ? u[(r & (e - 1)) * e + (c & (e - 1))] : .zero
                        }
                        XCTAssertLessThanOrEqual(DenseBlock<Double>(qubits: qubits, matrix: matrix, laneShift: 0).groupSize, e)
                        blocks.append((qubits, matrix))
                    }
                }
                // A gate on a lane qubit times a permutation of the vectors: groups of one vector.
                let (u, pi) = (randomUnitary(1), Array(0..<4).shuffled(using: &random))
                let laneBlock = (0..<64).map { k in
                    let (r, c) = (k / 8, k % 8)
                    return r >> 1 == pi[c >> 1] ? u[(r & 1) * 2 + (c & 1)] : .zero
                }
                XCTAssertEqual(DenseBlock<Double>(qubits: [0, 3, 4], matrix: laneBlock, laneShift: 1).groupSize, 1)
                blocks.append(([0, 3, 4], laneBlock))
                for (qubits, matrix) in blocks where qubits.allSatisfy({ $0 < n - ranks.trailingZeroBitCount }) {
                    let d = 1 << qubits.count
                    let initial = random.state(qubits: n)
                    var expected = initial
                    for i in 0..<(1 << n) where qubits.allSatisfy({ i & (1 << $0) == 0 }) {
                        let index = (0..<d).map { j in qubits.enumerated().reduce(i) { j & (1 << $1.offset) != 0 ? $0 | 1 << $1.element : $0 } }
                        for r in 0..<d { expected[index[r]] = (0..<d).reduce(.zero) { $0 + matrix[r * d + $1] * initial[index[$1]] } }
                    }
                    let block = FusedOperation.dense(qubits: qubits, matrix: matrix)
                    let got = runDistributed(ranks: ranks, initial: initial, vectorBits: vectorBits) { s in
                        s.team = ThreadTeam(threads: threads, minimumItemsPerThread: 1)
                        s.apply(s.prepare(block))
                    }
                    assertClose(got, expected, "\(vectorBits) bits: dense \(qubits) ranks \(ranks) threads \(threads)")
                }
                // Permutations with and without phases, with lane qubits (item by item) and without.
                for (k, qubits) in [[0, 1], [0, 3], [1, 2, 4], [2, 5, 6], [0, 1, 2, 3, 4], [3, 4, 5]].enumerated()
                where qubits.allSatisfy({ $0 < n - ranks.trailingZeroBitCount }) {
                    let d = 1 << qubits.count
                    let sources = Array(0..<d).shuffled(using: &random)
                    let factors = (0..<d).map { r in k % 2 == 0 && r % 3 == 0 ? Complex(length: 1, phase: random.unit() * 2 * .pi) : .one }
                    let initial = random.state(qubits: n)
                    var expected = initial
                    for i in 0..<(1 << n) where qubits.allSatisfy({ i & (1 << $0) == 0 }) {
                        let index = (0..<d).map { j in qubits.enumerated().reduce(i) { j & (1 << $1.offset) != 0 ? $0 | 1 << $1.element : $0 } }
                        for r in 0..<d { expected[index[r]] = factors[r] * initial[index[sources[r]]] }
                    }
                    let block = FusedOperation.permutation(qubits: qubits, sources: sources, factors: factors)
                    let got = runDistributed(ranks: ranks, initial: initial, vectorBits: vectorBits) { s in
                        s.team = ThreadTeam(threads: threads, minimumItemsPerThread: 1)
                        s.apply(s.prepare(block))
                    }
                    assertClose(got, expected, "\(vectorBits) bits: permutation \(qubits) ranks \(ranks) threads \(threads)")
                }
                for qubits in diagonalQubits {
                    let phases = (0..<(1 << qubits.count)).map { _ in Complex(length: 1, phase: random.unit() * 2 * .pi) }
                    let initial = random.state(qubits: n)
                    let expected = (0..<(1 << n)).map { i -> Complex<Double> in
                        let j = qubits.enumerated().reduce(0) { i & (1 << $1.element) != 0 ? $0 | 1 << $1.offset : $0 }
                        let z = complexProduct(SIMD2(phases[j].real, phases[j].imaginary), SIMD2(initial[i].real, initial[i].imaginary))
                        return Complex(z.x, z.y)
                    }
                    let block = FusedOperation.diagonal(qubits: qubits, phases: phases)
                    let got = runDistributed(ranks: ranks, initial: initial, vectorBits: vectorBits) { s in
                        s.team = ThreadTeam(threads: threads, minimumItemsPerThread: 1)
                        s.apply(s.prepare(block))
                    }
                    XCTAssertEqual(got, expected, "\(vectorBits) bits: diagonal \(qubits) ranks \(ranks) threads \(threads)")
                }
                // Every diagonal above as one run (one pass): the products of separate passes, in
                // the same order, so the same bits.
                let runPhases = diagonalQubits.map { q in (0..<(1 << q.count)).map { _ in Complex(length: 1, phase: random.unit() * 2 * .pi) } }
                let initial = random.state(qubits: n)
                let expected = (0..<(1 << n)).map { i -> Complex<Double> in
                    var z = SIMD2(initial[i].real, initial[i].imaginary)
                    for (qubits, phases) in zip(diagonalQubits, runPhases) {
                        let j = qubits.enumerated().reduce(0) { i & (1 << $1.element) != 0 ? $0 | 1 << $1.offset : $0 }
                        z = complexProduct(SIMD2(phases[j].real, phases[j].imaginary), z)
                    }
                    return Complex(z.x, z.y)
                }
                let run = zip(diagonalQubits, runPhases).map { FusedOperation.diagonal(qubits: $0, phases: $1) }
                let got = runDistributed(ranks: ranks, initial: initial, vectorBits: vectorBits) { s in
                    s.team = ThreadTeam(threads: threads, minimumItemsPerThread: 1)
                    let prepared = s.prepare(run)
                    XCTAssertEqual(prepared.count, 1, "consecutive diagonals are one operation")
                    for operation in prepared { s.apply(operation) }
                }
                XCTAssertEqual(got, expected, "\(vectorBits) bits: run of \(run.count) diagonals ranks \(ranks) threads \(threads)")
            }
        }
    }

    func testRandomCircuitsAgreeWithDenseReferenceOnOneTwoFourRanks() {
        var random = TestRandom(state: 7)
        let n = 6
        for trial in 0..<4 {
            var ops: [(Int, [Int], Matrix2)] = []
            for _ in 0..<60 {
                let target = random.int(n)
                let controls = Array((0..<n).filter { $0 != target }.shuffled(using: &random).prefix(random.int(4)))
                ops.append((target, controls, random.unitary()))
            }
            let initial = random.state(qubits: n)
            var reference = DenseReference(amplitudes: initial)
            for (t, c, m) in ops { reference.apply(target: t, controls: c, m) }
            let program = ops
            for ranks in [1, 2, 4] {
                let got = runDistributed(ranks: ranks, initial: initial) { s in
                    for (t, c, m) in program { s.apply(target: t, controls: c, matrix: m) }
                }
                assertClose(got, reference.state, "trial \(trial) ranks \(ranks)")
            }
        }
    }

    func testPauliExpectationsAgainstDenseReference() {
        var random = TestRandom(state: 99)
        let n = 5
        let initial = random.state(qubits: n)
        let reference = DenseReference(amplitudes: initial)
        for label in ["Z0", "Z0 Z1", "X4", "Y3 X0", "X0 Y1 Z2 X3 Y4", "Y4", "XYZIX", "Z4 Z3"] {
            let pauli = try! PauliString(parsing: label, qubits: n)
            let expected = reference.expectation(x: pauli.xMask, z: pauli.zMask)
            for ranks in [1, 2, 4] {
                let got = Locked(0.0)
                _ = runDistributed(ranks: ranks, initial: initial) { s in
                    let e = s.expectation(pauli)
                    if s.comm.rank == 0 { got.update { $0 = e } }
                }
                XCTAssertEqual(got.value, expected, accuracy: 1e-12, "\(label) on \(ranks) ranks")
            }
        }
    }

    func testSamplingIsIdenticalAcrossRankCountsAndFollowsProbabilities() {
        var random = TestRandom(state: 5)
        let n = 6
        let initial = random.state(qubits: n)
        var perRanks: [[UInt64]] = []
        for ranks in [1, 2, 4] {
            let samples = Locked([UInt64]())
            _ = runDistributed(ranks: ranks, initial: initial) { s in
                let mine = s.sample(shots: 20000, seed: 1234)
                samples.update { $0 += mine }
            }
            perRanks.append(samples.value.sorted())
        }
        XCTAssertEqual(perRanks[0], perRanks[1])
        XCTAssertEqual(perRanks[0], perRanks[2])
        // Frequencies within 5 standard errors of |ψ_i|².
        var counts = [Int](repeating: 0, count: 1 << n)
        for i in perRanks[0] { counts[Int(i)] += 1 }
        for i in 0..<(1 << n) {
            let p = initial[i].lengthSquared
            let sigma = (p * (1 - p) / 20000).squareRoot()
            XCTAssertEqual(Double(counts[i]) / 20000, p, accuracy: 5 * sigma + 1e-9, "basis state \(i)")
        }
    }

    func testMeasurementCollapsesIdenticallyOnAnyRankCount() {
        var random = TestRandom(state: 11)
        let n = 5
        let initial = random.state(qubits: n)
        for qubit in 0..<n {
            var results: [[Complex<Double>]] = []
            for ranks in [1, 2, 4] {
                results.append(runDistributed(ranks: ranks, initial: initial) { s in
                    _ = s.measure(qubit: qubit, draw: 0.37)
                })
            }
            // Reference: project on the outcome the draw selects, renormalise.
            let p1 = (0..<(1 << n)).filter { $0 & (1 << qubit) != 0 }.reduce(0.0) { $0 + initial[$1].lengthSquared }
            let outcome = 0.37 < p1 ? 1 : 0
            let kept = outcome == 1 ? p1 : 1 - p1
            let expected = (0..<(1 << n)).map { i -> Complex<Double> in
                ((i >> qubit) & 1) == outcome ? initial[i] / Complex(kept.squareRoot()) : .zero
            }
            for r in results { assertClose(r, expected, "qubit \(qubit)") }
            XCTAssertEqual(results[0], results[1])
            XCTAssertEqual(results[0], results[2])
        }
    }
}
