// Electrostatic embedding: a quantum region in a field of point charges (the MM atoms of QM/MM),
// and what the region does back to the charges. The charges enter the one-electron Hamiltonian
// (ActiveSpaceSettings.charges); the energy counts electron–charge and nucleus–charge terms, not
// charge–charge (PySCF's qmmm.mm_charge convention). Forces on the charges follow from
// Hellmann–Feynman with the state's density: exact for RHF and for a VQE at its optimum whose
// energy is invariant to orbital rotations (a full-space UCCSD of two electrons is FCI); otherwise
// the orbital response is missing and the force carries the ansatz's non-variational error.
import Foundation

extension Basis {
    /// φ(C) = Σ_A Z_A/|R_A − C| − Σ_μν D_μν ⟨μ|1/|r − C||ν⟩ at each point (hartree per e): the
    /// electrostatic potential of the nuclei and the electrons of density D.
    public func electrostaticPotential(density d: [Double], nuclei: [PointCharge], at points: [SIMD3<Double>]) -> [Double] {
        points.map { c in
            let v = attractionMatrix(charges: [(c, 1)])
            var phi = zip(d, v).reduce(0) { $0 + $1.0 * $1.1 }
            for n in nuclei {
                let r = n.position - c
                phi += n.charge / (r * r).sum().squareRoot()
            }
            return phi
        }
    }

    /// dE/dC of each charge, E = Σ_c q_c φ(C_c) at fixed density (hartree per bohr). The electron
    /// part is the operator derivative of ⟨μ|V_C|ν⟩: by translational invariance, minus the
    /// derivatives with respect to the basis centres, 2 Σ over bra derivatives for symmetric D.
    public func chargeGradients(density d: [Double], nuclei: [PointCharge], charges: [PointCharge]) -> [SIMD3<Double>] {
        charges.map { c in
            var g = -2 * braDerivative(.attraction, charges: [c], matrix: d).reduce(.zero, +)
            for n in nuclei {
                let r = n.position - c.position
                let r2 = (r * r).sum()
                g += n.charge * c.charge / (r2 * r2.squareRoot()) * r
            }
            return g
        }
    }
}

/// The quantum region of one QM/MM step, in atomic units.
public struct EmbeddedEnergy: Sendable {
    /// The VQE energy with the charges in the Hamiltonian (nuclear repulsion included).
    public var energy: Double
    /// Σ_c q_c φ(C_c): the electrostatic QM–MM interaction inside `energy`.
    public var coupling: Double
    /// −dE/dR of each nucleus (central differences of the embedded energy, charges fixed).
    public var nuclearForces: [SIMD3<Double>]
    /// −dE/dC of each charge.
    public var chargeForces: [SIMD3<Double>]
    /// φ(C_c) = dE/dq_c (hartree per e), for the forces of a switched charge.
    public var potentials: [Double]
}

extension VQEPotential {
    /// Energy and forces of the region at `positions` (bohr) among `charges` (bohr, e). With no
    /// charges it is the vacuum energy (mechanical embedding).
    public func embedded(_ positions: [SIMD3<Double>], charges: [PointCharge], forceStep: Double) throws -> EmbeddedEnergy {
        activeSpace.charges = charges.map { SIMD4($0.position, $0.charge) }
        let (energy, forces) = try energyAndForces(positions, step: forceStep)
        guard !charges.isEmpty else {
            return EmbeddedEnergy(energy: energy, coupling: 0, nuclearForces: forces, chargeForces: [], potentials: [])
        }
        let (basis, d) = try lastDensity(positions)
        let nuclei: [PointCharge] = zip(positions, elements).map { ($0, Double($1.nuclearCharge)) }
        let potentials = basis.electrostaticPotential(density: d, nuclei: nuclei, at: charges.map(\.position))
        let gradients = basis.chargeGradients(density: d, nuclei: nuclei, charges: charges)
        let coupling = zip(charges, potentials).reduce(0) { $0 + $1.0.charge * $1.1 }
        return EmbeddedEnergy(energy: energy, coupling: coupling, nuclearForces: forces, chargeForces: gradients.map { -$0 }, potentials: potentials)
    }
}
