// One- and two-electron integrals over contracted s-type Gaussians (STO-3G for H and He), from
// the closed forms of Szabo & Ostlund, appendix A.
import Foundation

/// A contracted s-type Gaussian: Σ_k d_k·exp(−α_k r²) centred on a nucleus (d_k include the
/// primitive normalisation and the contraction's renormalisation, as PySCF does).
public struct ContractedGaussian: Sendable {
    public var center: SIMD3<Double>
    public var exponents: [Double]
    public var coefficients: [Double]

    /// PySCF's `sto-3g` basis file (8-digit exponents and contraction coefficients).
    public static func sto3g(_ element: Element, at center: SIMD3<Double>) -> ContractedGaussian {
        let exponents: [Double]
        switch element {
        case .H: exponents = [3.42525091, 0.62391373, 0.16885540]
        case .He: exponents = [6.36242139, 1.15892300, 0.31364979]  // ζ = 1.69
        }
        let contraction = [0.15432897, 0.53532814, 0.44463454]
        var g = ContractedGaussian(center: center, exponents: exponents,
                                   coefficients: zip(exponents, contraction).map { a, d in d * pow(2 * a / .pi, 0.75) })
        let norm = Integrals.overlap(g, g).squareRoot()
        g.coefficients = g.coefficients.map { $0 / norm }
        return g
    }
}

/// Boys function F0(t) = ∫₀¹ exp(−t u²) du.
@inline(__always)
func boysF0(_ t: Double) -> Double {
    t < 1e-12 ? 1 - t / 3 : 0.5 * (Double.pi / t).squareRoot() * erf(t.squareRoot())
}

@inline(__always)
private func distanceSquared(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> Double { ((a - b) * (a - b)).sum() }

public enum Integrals {
    /// ⟨a|b⟩.
    public static func overlap(_ a: ContractedGaussian, _ b: ContractedGaussian) -> Double {
        let r2 = distanceSquared(a.center, b.center)
        var s = 0.0
        for (i, ai) in a.exponents.enumerated() {
            for (j, bj) in b.exponents.enumerated() {
                let p = ai + bj
                s += a.coefficients[i] * b.coefficients[j] * pow(Double.pi / p, 1.5) * exp(-ai * bj / p * r2)
            }
        }
        return s
    }

    /// ⟨a|−½∇²|b⟩.
    public static func kinetic(_ a: ContractedGaussian, _ b: ContractedGaussian) -> Double {
        let r2 = distanceSquared(a.center, b.center)
        var t = 0.0
        for (i, ai) in a.exponents.enumerated() {
            for (j, bj) in b.exponents.enumerated() {
                let p = ai + bj, mu = ai * bj / p
                t += a.coefficients[i] * b.coefficients[j] * mu * (3 - 2 * mu * r2) * pow(Double.pi / p, 1.5) * exp(-mu * r2)
            }
        }
        return t
    }

    /// ⟨a|−Z/|r − C||b⟩.
    public static func nuclearAttraction(_ a: ContractedGaussian, _ b: ContractedGaussian, charge: Double, at c: SIMD3<Double>) -> Double {
        let r2 = distanceSquared(a.center, b.center)
        var v = 0.0
        for (i, ai) in a.exponents.enumerated() {
            for (j, bj) in b.exponents.enumerated() {
                let p = ai + bj
                let center = (ai * a.center + bj * b.center) / p
                v -= a.coefficients[i] * b.coefficients[j] * 2 * Double.pi / p * charge
                    * exp(-ai * bj / p * r2) * boysF0(p * distanceSquared(center, c))
            }
        }
        return v
    }

    /// (ab|cd) in chemists' notation.
    public static func repulsion(_ a: ContractedGaussian, _ b: ContractedGaussian, _ c: ContractedGaussian, _ d: ContractedGaussian) -> Double {
        let rab = distanceSquared(a.center, b.center), rcd = distanceSquared(c.center, d.center)
        var g = 0.0
        for (i, ai) in a.exponents.enumerated() {
            for (j, bj) in b.exponents.enumerated() {
                let p = ai + bj, pCenter = (ai * a.center + bj * b.center) / p
                let kab = a.coefficients[i] * b.coefficients[j] * exp(-ai * bj / p * rab)
                for (k, ck) in c.exponents.enumerated() {
                    for (l, dl) in d.exponents.enumerated() {
                        let q = ck + dl, qCenter = (ck * c.center + dl * d.center) / q
                        let kcd = c.coefficients[k] * d.coefficients[l] * exp(-ck * dl / q * rcd)
                        g += kab * kcd * 2 * pow(Double.pi, 2.5) / (p * q * (p + q).squareRoot())
                            * boysF0(p * q / (p + q) * distanceSquared(pCenter, qCenter))
                    }
                }
            }
        }
        return g
    }
}

/// Atomic-orbital integrals of a molecule: S, T + V (core Hamiltonian) and the ERI tensor, row-major.
public struct AOIntegrals: Sendable {
    public let count: Int
    public let overlap: [Double]
    public let kinetic: [Double]
    public let nuclearAttraction: [Double]
    /// (ij|kl) at ((i·n + j)·n + k)·n + l.
    public let repulsion: [Double]
    public var coreHamiltonian: [Double] { zip(kinetic, nuclearAttraction).map(+) }

    public init(molecule: Molecule) {
        let basis = zip(molecule.elements, molecule.positions).map { ContractedGaussian.sto3g($0, at: $1) }
        let n = basis.count
        count = n
        var s = [Double](repeating: 0, count: n * n), t = s, v = s
        for i in 0..<n {
            for j in 0..<n {
                s[i * n + j] = Integrals.overlap(basis[i], basis[j])
                t[i * n + j] = Integrals.kinetic(basis[i], basis[j])
                v[i * n + j] = zip(molecule.elements, molecule.positions).reduce(0) {
                    $0 + Integrals.nuclearAttraction(basis[i], basis[j], charge: Double($1.0.nuclearCharge), at: $1.1)
                }
            }
        }
        var eri = [Double](repeating: 0, count: n * n * n * n)
        // 8-fold symmetry: compute i ≥ j, k ≥ l, ij ≥ kl once.
        for i in 0..<n { for j in 0...i { for k in 0..<n { for l in 0...k where i * n + j >= k * n + l {
            let g = Integrals.repulsion(basis[i], basis[j], basis[k], basis[l])
            for (p, q, r, u) in [(i, j, k, l), (j, i, k, l), (i, j, l, k), (j, i, l, k), (k, l, i, j), (l, k, i, j), (k, l, j, i), (l, k, j, i)] {
                eri[((p * n + q) * n + r) * n + u] = g
            }
        } } } }
        (overlap, kinetic, nuclearAttraction, repulsion) = (s, t, v, eri)
    }
}
