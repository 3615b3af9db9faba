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

    /// One geometry's VQE: its result, Hamiltonians, RHF, and the objective (for densities).
    struct Solution {
        let result: VQEResult
        let qubits: QubitHamiltonian
        let hamiltonian: ElectronicHamiltonian
        let rhf: RHFResult
        let objective: VariationalEnergy
    }
    private var lastSolution: Solution?

    /// VQE energy at `positions` (bohr) starting from `start`.
    func solve(_ positions: [SIMD3<Double>], start: [Double]?) throws -> Solution {
        let (h, rhf) = try ElectronicHamiltonian.activeSpace(elements: elements, positions: positions, charge: charge,
                                                             multiplicity: multiplicity, settings: activeSpace)
        let q = QubitHamiltonian(jordanWigner: h)
        let objective = try VariationalEnergy(hamiltonian: q, reference: hartreeFockIndex(h), excitations: uccsdExcitations(h),
                                              comm: comm, threads: threads)
        vqeRuns += 1
        return Solution(result: runVQE(objective, start: start, settings: settings), qubits: q, hamiltonian: h, rhf: rhf, objective: objective)
    }

    public func energy(_ positions: [SIMD3<Double>]) throws -> Double {
        let s = try solve(positions, start: parameters)
        parameters = s.result.parameters
        last = (s.result, s.qubits, s.rhf.energy)
        lastSolution = s
        return s.result.energy
    }

    /// The AO density of the last undisplaced geometry's VQE state, D = 2 C_core C_coreᵀ + C_act γ C_actᵀ,
    /// with its basis (rebuilt at `positions`, the geometry of that VQE).
    public func lastDensity(_ positions: [SIMD3<Double>]) throws -> (basis: Basis, density: [Double]) {
        guard let s = lastSolution else { preconditionFailure("no VQE solved yet") }
        let molecule = try Molecule(elements: elements, positions: positions, charge: charge, multiplicity: multiplicity)
        let basis = try Basis(molecule: molecule, basisSet: BasisSet.named(activeSpace.basis))
        let n = basis.functionCount, a = s.hamiltonian.orbitalCount, c = s.rhf.coefficients
        let core = (molecule.electronCount - s.hamiltonian.alphaElectrons - s.hamiltonian.betaElectrons) / 2
        let gamma = s.objective.oneParticleDensity(s.result.parameters, orbitals: a)
        var d = [Double](repeating: 0, count: n * n)
        for mu in 0..<n { for nu in 0..<n {
            var v = 0.0
            for i in 0..<core { v += 2 * c[mu * n + i] * c[nu * n + i] }
            for p in 0..<a { for q in 0..<a { v += c[mu * n + core + p] * gamma[p * a + q] * c[nu * n + core + q] } }
            d[mu * n + nu] = v
        } }
        return (basis, d)
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
                let ep = try solve(plus, start: start).result.energy
                let em = try solve(minus, start: start).result.energy
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
