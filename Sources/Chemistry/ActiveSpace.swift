// Frozen-core and active-space (CAS) Hamiltonians from RHF orbitals, as PySCF's mcscf.CASCI
// builds them: inactive orbitals doubly occupied, their mean field folded into h and the core energy.
import Foundation

/// A setting that cannot make an active space; `key` names the job key to blame.
public struct ActiveSpaceError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let key: String
    public var description: String { message }
}

extension Element {
    /// Core orbitals a frozen-core calculation keeps doubly occupied (1s from Li on, as PySCF's
    /// `frozen` default for second-row atoms).
    public var coreOrbitals: Int { nuclearCharge > 2 ? 1 : 0 }
}

/// How a molecule's qubit Hamiltonian is made: basis set (shipped name or NWChem file) and the
/// active space (job keys `molecule.basis`, `molecule.frozen_core`, `active_space.electrons`,
/// `active_space.orbitals`).
public struct ActiveSpaceSettings: Sendable, Equatable {
    public var basis: String
    public var frozenCore: Bool
    public var activeElectrons: Int?
    public var activeOrbitals: Int?
    /// External point charges (x, y, z in bohr; q in e) in the one-electron Hamiltonian:
    /// electrostatic embedding, PySCF's `qmmm.mm_charge` convention (electron–charge and
    /// nucleus–charge terms, no charge–charge term).
    public var charges: [SIMD4<Double>] = []
    public init(basis: String = "sto-3g", frozenCore: Bool = false, activeElectrons: Int? = nil, activeOrbitals: Int? = nil) {
        (self.basis, self.frozenCore, self.activeElectrons, self.activeOrbitals) = (basis, frozenCore, activeElectrons, activeOrbitals)
    }
}

extension ElectronicHamiltonian {
    public static func activeSpace(elements: [Element], positions: [SIMD3<Double>], charge: Int = 0, multiplicity: Int = 1,
                                   settings: ActiveSpaceSettings) throws -> (hamiltonian: ElectronicHamiltonian, rhf: RHFResult) {
        try activeSpace(elements: elements, positions: positions, charge: charge, multiplicity: multiplicity, basis: settings.basis, frozenCore: settings.frozenCore,
                        activeElectrons: settings.activeElectrons, activeOrbitals: settings.activeOrbitals,
                        pointCharges: settings.charges.map { (SIMD3($0.x, $0.y, $0.z), $0.w) })
    }

    /// RHF in `basis`, then the Hamiltonian over the active orbitals: with `activeOrbitals`
    /// (and `activeElectrons`, default all electrons outside the frozen core), the lowest
    /// (N − n_active)/2 RHF orbitals are inactive; without, `frozenCore` freezes the atoms' 1s
    /// orbitals and every other orbital is active. Core energy = nuclear repulsion + inactive energy.
    public static func activeSpace(elements: [Element], positions: [SIMD3<Double>], charge: Int = 0, multiplicity: Int = 1,
                                   basis basisName: String = "sto-3g", frozenCore: Bool = false,
                                   activeElectrons: Int? = nil, activeOrbitals: Int? = nil, pointCharges: [PointCharge] = [])
        throws -> (hamiltonian: ElectronicHamiltonian, rhf: RHFResult) {
        let molecule = try Molecule(elements: elements, positions: positions, charge: charge, multiplicity: multiplicity)
        let basisSet: BasisSet
        do { basisSet = try BasisSet.named(basisName) } catch let e as BasisSetError {
            throw ActiveSpaceError(message: e.description, key: "molecule.basis")
        }
        let basis: Basis
        do { basis = try Basis(molecule: molecule, basisSet: basisSet) } catch let e as MoleculeError {
            // An element the basis file lacks, or f shells.
            throw ActiveSpaceError(message: e.message, key: "molecule.basis")
        }
        let ao = AOIntegrals(molecule: molecule, basis: basis, pointCharges: pointCharges)
        // Nuclei–charge energy joins the constant term (RHF and the core energy alike).
        let embedding = molecule.pointChargeEnergy(pointCharges)
        let rhf = try restrictedHartreeFock(ao, nuclearRepulsion: molecule.nuclearRepulsion + embedding, electrons: molecule.electronCount,
                                            initialDensity: atomicDensityGuess(molecule: molecule, basis: basis))
        let n = ao.count, electrons = molecule.electronCount
        let frozen = frozenCore ? elements.reduce(0) { $0 + $1.coreOrbitals } : 0
        let nActiveElectrons = activeElectrons ?? (electrons - 2 * frozen)
        guard nActiveElectrons > 0, nActiveElectrons <= electrons, (electrons - nActiveElectrons) % 2 == 0 else {
            throw ActiveSpaceError(message: "\(nActiveElectrons) active electrons do not fit the molecule's \(electrons) (an even number fewer, at least 1)", key: "active_space.electrons")
        }
        let core = (electrons - nActiveElectrons) / 2
        guard core >= frozen else {
            throw ActiveSpaceError(message: "\(nActiveElectrons) active electrons include the frozen core (at most \(electrons - 2 * frozen))", key: "active_space.electrons")
        }
        let nActive = activeOrbitals ?? (n - core)
        guard nActive > 0, core + nActive <= n else {
            throw ActiveSpaceError(message: "\(nActive) active orbitals above \(core) inactive exceed the basis's \(n) orbitals", key: "active_space.orbitals")
        }
        guard nActiveElectrons <= 2 * nActive else {
            throw ActiveSpaceError(message: "\(nActiveElectrons) electrons do not fit in \(nActive) active orbitals", key: "active_space.electrons")
        }
        return (ElectronicHamiltonian(molecule: molecule, ao: ao, rhf: rhf, inactive: core, active: nActive, embeddingEnergy: embedding), rhf)
    }

    /// The CAS Hamiltonian over MOs inactive..<inactive+active of `rhf`.
    public init(molecule: Molecule, ao: AOIntegrals, rhf: RHFResult, inactive: Int, active: Int, embeddingEnergy: Double = 0) {
        let n = ao.count, c = rhf.coefficients
        // Inactive density D = 2 C_core C_coreᵀ and its mean field J − ½K.
        var d = [Double](repeating: 0, count: n * n)
        for mu in 0..<n { for nu in 0..<n {
            var v = 0.0
            for i in 0..<inactive { v += c[mu * n + i] * c[nu * n + i] }
            d[mu * n + nu] = 2 * v
        } }
        let h = ao.coreHamiltonian
        let heff = inactive == 0 ? h : zip(h, ao.meanField(d)).map(+)
        let coreEnergy = molecule.nuclearRepulsion + embeddingEnergy + 0.5 * zip(d, zip(h, heff).map(+)).reduce(0) { $0 + $1.0 * $1.1 }
        // Active MO coefficients (n × a) and the transformations.
        let a = active
        var ca = [Double](repeating: 0, count: n * a)
        for mu in 0..<n { for p in 0..<a { ca[mu * a + p] = c[mu * n + inactive + p] } }
        let hActive = multiply(ca, multiply(heff, ca, m: n, k: n, n: a), m: a, k: n, n: a, transposeA: true)
        // (pq|rs): four quarter transformations, each contracting the leading AO index and moving
        // the new MO index to the end: [μ][rest] → [rest][p].
        var g = ao.repulsion
        var dims = [n, n, n, n]
        for _ in 0..<4 {
            let rest = g.count / dims[0]
            g = multiply(g, ca, m: rest, k: dims[0], n: a, transposeA: true)
            dims = Array(dims.dropFirst()) + [a]
        }
        let spins = molecule.spinCounts
        self.init(orbitalCount: a, alphaElectrons: spins.alpha - inactive, betaElectrons: spins.beta - inactive,
                  coreEnergy: coreEnergy, oneBody: hActive, twoBody: g)
    }
}
