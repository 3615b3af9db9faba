import Circuits
import ComplexModule
import Foundation
import ForgeTesting
import RealModule
@testable import Statevector

/// The obviously-correct simulator the distributed kernels are checked against: one array,
/// every operation as its full 2^n × 2^n matrix.
struct DenseReference {
    let n: Int
    var state: [Complex<Double>]

    init(amplitudes: [Complex<Double>]) {
        state = amplitudes
        n = amplitudes.count.trailingZeroBitCount
    }

    /// Full matrix of a controlled 2×2 gate.
    static func fullMatrix(n: Int, target: Int, controls: [Int], _ m: Matrix2) -> [[Complex<Double>]] {
        let dim = 1 << n
        var full = [[Complex<Double>]](repeating: [Complex<Double>](repeating: .zero, count: dim), count: dim)
        let small = [[m.m00, m.m01], [m.m10, m.m11]]
        for col in 0..<dim {
            let active = controls.allSatisfy { col & (1 << $0) != 0 }
            if !active { full[col][col] = .one; continue }
            for row in 0..<dim where row & ~(1 << target) == col & ~(1 << target) {
                full[row][col] = small[(row >> target) & 1][(col >> target) & 1]
            }
        }
        return full
    }

    mutating func apply(target: Int, controls: [Int], _ m: Matrix2) {
        let full = Self.fullMatrix(n: n, target: target, controls: controls, m)
        state = full.map { row in zip(row, state).reduce(Complex<Double>.zero) { $0 + $1.0 * $1.1 } }
    }

    /// ⟨ψ|P|ψ⟩ with P built as a Kronecker product of 2×2 Pauli matrices.
    func expectation(x: UInt64, z: UInt64) -> Double {
        var total = Complex<Double>.zero
        for col in 0..<(1 << n) {
            // P|col⟩ = phase · |col ⊕ x⟩ with Y = iXZ on each Y qubit.
            var phase = Complex<Double>.one
            for q in 0..<n {
                let bit = (col >> q) & 1
                let hasX = x & (1 << q) != 0, hasZ = z & (1 << q) != 0
                if hasZ && bit == 1 { phase = -phase }
                if hasX && hasZ { phase = phase * Complex(0, 1) }
            }
            let row = col ^ Int(x)
            total = total + state[row].conjugate * phase * state[col]
        }
        return total.real
    }
}

/// Reproducible random numbers for tests.
struct TestRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state
    }
    mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    mutating func int(_ upper: Int) -> Int { min(Int(unit() * Double(upper)), upper - 1) }

    /// A random 2×2 unitary: U(θ, φ, λ) times a global phase.
    mutating func unitary() -> Matrix2 {
        let theta = unit() * .pi, phi = unit() * 2 * .pi, lambda = unit() * 2 * .pi, g = unit() * 2 * .pi
        let c = cos(theta / 2), s = sin(theta / 2)
        let e = { (a: Double) in Complex(cos(a), sin(a)) }
        return Matrix2(e(g) * Complex(c), -(e(g + lambda) * Complex(s)), e(g + phi) * Complex(s), e(g + phi + lambda) * Complex(c))
    }

    mutating func state(qubits n: Int) -> [Complex<Double>] {
        var v = (0..<(1 << n)).map { _ in Complex(unit() - 0.5, unit() - 0.5) }
        let norm = v.reduce(0) { $0 + $1.lengthSquared }.squareRoot()
        v = v.map { $0 / Complex(norm) }
        return v
    }
}

/// Runs `circuit` from |0…0⟩ on `ranks` in-process ranks and returns the whole state as
/// interleaved (re, im) (threads split even tiny states: grain 1).
func simulatedScalars(_ circuit: Circuit, precision: Precision = .double, ranks: Int, threads: Int = 1,
                      fusion: FusionLimits?, window: Int = 15, groupQubits: Int = 12, prefix: Int = 14,
                      vectorBits: Int = VectorWidth.preferred) -> [Double] {
    let result = Locked([Double](repeating: .nan, count: 2 << circuit.qubitCount))
    InProcessWorld(size: ranks).run { comm in
        let simulator = try! Simulator(qubits: circuit.qubitCount, precision: precision, comm: comm, vectorBits: vectorBits)
        simulator.fusion = fusion
        simulator.threadGrain = 1
        simulator.threads = threads
        simulator.cacheQubits = window
        simulator.groupQubits = groupQubits
        simulator.prefixQubits = prefix
        _ = try! simulator.run(circuit, options: SimulationOptions())
        simulator.withLocalAmplitudes { local in
            let offset = 2 * Int(simulator.localOffset)
            let a: [Double]
            switch local {
            case .double(let d): a = Array(d)
            case .single(let f): a = f.map(Double.init)
            }
            result.update { full in for i in 0..<a.count { full[offset + i] = a[i] } }
        }
    }
    return result.value
}

func simulatedState(_ circuit: Circuit, ranks: Int, threads: Int = 1, fusion: FusionLimits?, window: Int = 15,
                    groupQubits: Int = 12) -> [Complex<Double>] {
    let a = simulatedScalars(circuit, ranks: ranks, threads: threads, fusion: fusion, window: window, groupQubits: groupQubits)
    return (0..<(a.count / 2)).map { Complex(a[2 * $0], a[2 * $0 + 1]) }
}
