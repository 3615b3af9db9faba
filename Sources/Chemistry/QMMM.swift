// Mechanical-embedding QM/MM: a quantum molecule (VQE) inside a periodic Lennard-Jones bath.
// MM–MM and QM–MM pairs use the Dynamics engine's lj/cut pair function (`LJParameters.pair`);
// QM–QM is the VQE energy alone (its LJ ε is zeroed). All atoms move by velocity Verlet.
import Dynamics
import ForgeCore
import Foundation

/// Hartree per kcal/mol.
public let hartreePerKcalPerMol = 1 / 627.509474

public struct QMMMSystem {
    /// Atoms 0..<qmCount are the quantum molecule (type 1); the rest are the bath (type 0).
    public let qmCount: Int
    /// Cubic periodic box edge (bohr); LJ pairs use the minimum image, the VQE the molecule as is.
    public let box: Double
    /// lj/cut in atomic units (ε hartree, σ and cutoff bohr), types 0 = bath, 1 = QM atom.
    public let lj: LJParameters
    public let potential: VQEPotential
    public let forceStep: Double

    public init(qmCount: Int, box: Double, bath: (epsilon: Double, sigma: Double), qmAtom: (epsilon: Double, sigma: Double),
                cutoff: Double, potential: VQEPotential, forceStep: Double) {
        precondition(cutoff <= box / 2)
        var lj = LJParameters(epsilon: [bath.epsilon, qmAtom.epsilon], sigma: [bath.sigma, qmAtom.sigma],
                              cutoff: [cutoff, cutoff], mixing: .arithmetic, shift: false)
        lj.set(1, 1, epsilon: 0, sigma: qmAtom.sigma, cutoff: cutoff)  // QM–QM is quantum
        (self.qmCount, self.box, self.lj, self.potential, self.forceStep) = (qmCount, box, lj, potential, forceStep)
    }

    /// LJ energy and forces over all pairs with the minimum image (the bath is small: every rank
    /// evaluates it whole while the ranks share the statevector).
    public func lennardJones(_ x: [SIMD3<Double>]) -> (energy: Double, forces: [SIMD3<Double>]) {
        var forces = [SIMD3<Double>](repeating: .zero, count: x.count)
        var energy = 0.0
        for i in 0..<x.count {
            let ti = i < qmCount ? 1 : 0
            for j in (i + 1)..<x.count {
                let tj = j < qmCount ? 1 : 0
                var d = x[i] - x[j]
                d -= box * (d / box).rounded(.toNearestOrEven)
                let (e, fpair) = lj.pair(ti, tj, r2: (d * d).sum())
                energy += e
                forces[i] += fpair * d
                forces[j] -= fpair * d
            }
        }
        return (energy, forces)
    }

    /// Total energy and forces: VQE (QM–QM, central differences) plus LJ (MM–MM, QM–MM).
    public func energyAndForces(_ x: [SIMD3<Double>]) throws -> (energy: Double, forces: [SIMD3<Double>], qm: Double, mm: Double) {
        let (qm, qmForces) = try potential.energyAndForces(Array(x[0..<qmCount]), step: forceStep)
        var (mm, forces) = lennardJones(x)
        for k in 0..<qmCount { forces[k] += qmForces[k] }
        return (qm + mm, forces, qm, mm)
    }
}

/// Maxwell–Boltzmann velocities at `temperature` K (atomic units) with zero total momentum,
/// drawn by Box–Muller from SplitMix64 so every rank draws the same.
public func maxwellBoltzmann(masses: [Double], temperature: Double, seed: UInt64) -> [SIMD3<Double>] {
    var rng = SplitMix64(seed: seed)
    func gaussian() -> Double {
        let u1 = max(rng.nextUnit(), 1e-300), u2 = rng.nextUnit()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }
    var v = masses.map { m in SIMD3(gaussian(), gaussian(), gaussian()) * (AtomicUnits.boltzmann * temperature / m).squareRoot() }
    let total = masses.reduce(0, +)
    let momentum = zip(masses, v).reduce(SIMD3<Double>.zero) { $0 + $1.0 * $1.1 }
    v = v.map { $0 - momentum / total }
    return v
}
