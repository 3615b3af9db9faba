// Lennard-Jones lj/cut: coefficients per type pair, precomputed like LAMMPS' PairLJCut::init_one.

/// How unset cross coefficients follow from the diagonal ones.
public enum MixingRule: String, Sendable {
    /// ε_ij = √(ε_i ε_j), σ_ij = √(σ_i σ_j) (LAMMPS' default).
    case geometric
    /// ε_ij = √(ε_i ε_j), σ_ij = (σ_i + σ_j)/2 (Lorentz–Berthelot).
    case arithmetic
}

/// ε, σ and cutoff for every pair of types (1-based types in the input; 0-based here).
public struct LJParameters: Sendable, Equatable {
    public var typeCount: Int
    public var epsilon: [Double]
    public var sigma: [Double]
    public var cutoff: [Double]
    /// Shift energies so that each pair energy is zero at its cutoff (`pair_modify shift yes`).
    public var shift: Bool

    /// Diagonal values per type, cross terms by `mixing` as LAMMPS' `pair_modify mix`: ε always
    /// geometric; σ and the cutoff geometric or arithmetic.
    public init(epsilon: [Double], sigma: [Double], cutoff: [Double], mixing: MixingRule, shift: Bool) {
        let n = epsilon.count
        precondition(sigma.count == n && cutoff.count == n)
        typeCount = n
        self.shift = shift
        self.epsilon = .init(repeating: 0, count: n * n)
        self.sigma = .init(repeating: 0, count: n * n)
        self.cutoff = .init(repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n {
                let k = i * n + j
                self.epsilon[k] = (epsilon[i] * epsilon[j]).squareRoot()
                self.sigma[k] = mixing == .geometric ? (sigma[i] * sigma[j]).squareRoot() : 0.5 * (sigma[i] + sigma[j])
                self.cutoff[k] = mixing == .geometric ? (cutoff[i] * cutoff[j]).squareRoot() : 0.5 * (cutoff[i] + cutoff[j])
            }
        }
    }

    /// Sets one pair explicitly (both orders).
    public mutating func set(_ i: Int, _ j: Int, epsilon e: Double, sigma s: Double, cutoff c: Double) {
        for k in [i * typeCount + j, j * typeCount + i] {
            epsilon[k] = e
            sigma[k] = s
            cutoff[k] = c
        }
    }

    public var maxCutoff: Double { cutoff.max() ?? 0 }

    /// Energy and force magnitude / r of one pair at distance² `r2` (a slow, obvious reference).
    public func pair(_ i: Int, _ j: Int, r2: Double) -> (energy: Double, fpair: Double) {
        let k = i * typeCount + j
        guard r2 < cutoff[k] * cutoff[k] else { return (0, 0) }
        let sr6 = pow6(sigma[k] * sigma[k] / r2)
        let energy = 4 * epsilon[k] * (sr6 * sr6 - sr6)
        let fpair = 24 * epsilon[k] * (2 * sr6 * sr6 - sr6) / r2
        var shiftValue = 0.0
        if shift {
            let sc6 = pow6(sigma[k] * sigma[k] / (cutoff[k] * cutoff[k]))
            shiftValue = 4 * epsilon[k] * (sc6 * sc6 - sc6)
        }
        return (energy - shiftValue, fpair)
    }

    private func pow6(_ s2: Double) -> Double { s2 * s2 * s2 }
}

/// The per-pair constants the force kernel reads (flattened type × type tables).
struct LJTable {
    let n: Int
    let cutsq, lj1, lj2, lj3, lj4, offset: [Double]

    init(_ p: LJParameters) {
        n = p.typeCount
        var cutsq = [Double](), lj1 = [Double](), lj2 = [Double](), lj3 = [Double](), lj4 = [Double](), offset = [Double]()
        for k in 0..<(n * n) {
            let e = p.epsilon[k], s = p.sigma[k], c = p.cutoff[k]
            let s6 = s * s * s * s * s * s
            cutsq.append(c * c)
            lj1.append(48 * e * s6 * s6)
            lj2.append(24 * e * s6)
            lj3.append(4 * e * s6 * s6)
            lj4.append(4 * e * s6)
            if p.shift && c > 0 {
                let ratio = s / c
                let r6 = ratio * ratio * ratio * ratio * ratio * ratio
                offset.append(4 * e * (r6 * r6 - r6))
            } else {
                offset.append(0)
            }
        }
        (self.cutsq, self.lj1, self.lj2, self.lj3, self.lj4, self.offset) = (cutsq, lj1, lj2, lj3, lj4, offset)
    }
}
