// Born–Oppenheimer dynamics: nuclei move classically (velocity Verlet) on the VQE energy surface.
// Forces are central finite differences of the VQE energy, each displaced geometry's VQE
// warm-started from the parameters of the undisplaced one.
import ForgeCore
import Foundation

/// Atomic units used by the dynamics (CODATA 2018, as PySCF): time, mass, and Boltzmann's constant.
public enum AtomicUnits {
    public static let femtosecond = 1 / 0.02418884326585747   // a.u. of time per fs
    public static let massPerAMU = 1822.888486209              // electron masses per dalton
    public static let boltzmann = 3.166811563e-6               // hartree per kelvin
}

/// The electronic ground-state energy of a molecule at any geometry, by UCCSD-VQE.
public final class VQEPotential {
    public let elements: [Element]
    public let charge: Int, multiplicity: Int
    public let comm: Communicator
    public var settings: OptimizerSettings
    /// Basis set and active space of every geometry's Hamiltonian (STO-3G, all orbitals, by default).
    public var activeSpace = ActiveSpaceSettings()
    /// Threads per rank of every VQE.
    public var threads = 1
    /// Parameters of the last undisplaced geometry: the next step's starting point.
    public private(set) var parameters: [Double]?
    /// The last undisplaced geometry's VQE, Hamiltonian and RHF energy (for the result file).
    public private(set) var last: (result: VQEResult, hamiltonian: QubitHamiltonian, hartreeFock: Double)?
    public private(set) var vqeRuns = 0

    /// Continues from a checkpoint: the next geometry's VQE starts from `parameters`.
    public func warmStart(from parameters: [Double]) { self.parameters = parameters }

    public init(elements: [Element], charge: Int, multiplicity: Int, comm: Communicator, settings: OptimizerSettings = OptimizerSettings()) {
        (self.elements, self.charge, self.multiplicity, self.comm, self.settings) = (elements, charge, multiplicity, comm, settings)
    }

    /// VQE energy at `positions` (bohr) starting from `start`.
    func solve(_ positions: [SIMD3<Double>], start: [Double]?) throws -> (VQEResult, QubitHamiltonian, Double) {
        let (h, rhf) = try ElectronicHamiltonian.activeSpace(elements: elements, positions: positions, charge: charge,
                                                             multiplicity: multiplicity, settings: activeSpace)
        let q = QubitHamiltonian(jordanWigner: h)
        let objective = try VariationalEnergy(hamiltonian: q, reference: hartreeFockIndex(h), excitations: uccsdExcitations(h),
                                              comm: comm, threads: threads)
        vqeRuns += 1
        return (runVQE(objective, start: start, settings: settings), q, rhf.energy)
    }

    public func energy(_ positions: [SIMD3<Double>]) throws -> Double {
        let (r, q, hf) = try solve(positions, start: parameters)
        parameters = r.parameters
        last = (r, q, hf)
        return r.energy
    }

    /// Energy and forces −∂E/∂R (hartree/bohr) by central differences with `step` bohr:
    /// F = −[E(R + h) − E(R − h)] / 2h, error O(h²) plus the VQE convergence error divided by h.
    public func energyAndForces(_ positions: [SIMD3<Double>], step h: Double) throws -> (energy: Double, forces: [SIMD3<Double>]) {
        let e = try energy(positions)
        let start = parameters
        var forces = [SIMD3<Double>](repeating: .zero, count: positions.count)
        for atom in positions.indices {
            for axis in 0..<3 {
                var plus = positions, minus = positions
                plus[atom][axis] += h
                minus[atom][axis] -= h
                let ep = try solve(plus, start: start).0.energy
                let em = try solve(minus, start: start).0.energy
                forces[atom][axis] = -(ep - em) / (2 * h)
            }
        }
        return (e, forces)
    }
}

/// Velocity Verlet for nuclei in atomic units (positions bohr, velocities bohr per a.u. time).
public struct NuclearState: Sendable {
    public var positions: [SIMD3<Double>]
    public var velocities: [SIMD3<Double>]
    public var forces: [SIMD3<Double>]
    /// Masses in electron masses.
    public var masses: [Double]
    public var potentialEnergy: Double

    public var kineticEnergy: Double {
        zip(masses, velocities).reduce(0) { $0 + 0.5 * $1.0 * ($1.1 * $1.1).sum() }
    }
    /// Kinetic temperature from 3N degrees of freedom (an isolated molecule has fewer; see docs/vqe.md).
    public var temperature: Double { 2 * kineticEnergy / (3 * Double(masses.count) * AtomicUnits.boltzmann) }

    public init(positions: [SIMD3<Double>], velocities: [SIMD3<Double>], masses: [Double]) {
        (self.positions, self.velocities, self.masses) = (positions, velocities, masses)
        forces = Array(repeating: .zero, count: positions.count)
        potentialEnergy = 0
    }

    /// One step of `dt` (a.u.): half kick, drift, new forces from `force`, half kick.
    public mutating func advance(dt: Double, _ force: ([SIMD3<Double>]) throws -> (energy: Double, forces: [SIMD3<Double>])) rethrows {
        for k in positions.indices {
            velocities[k] += 0.5 * dt / masses[k] * forces[k]
            positions[k] += dt * velocities[k]
        }
        (potentialEnergy, forces) = try force(positions)
        for k in positions.indices { velocities[k] += 0.5 * dt / masses[k] * forces[k] }
    }
}
