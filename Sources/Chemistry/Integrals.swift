// A molecule's atomic-orbital integrals in a Gaussian basis (GaussianIntegrals.swift computes them).
import Foundation

/// Atomic-orbital integrals of a molecule: S, T + V (core Hamiltonian) and the ERI tensor, row-major,
/// AOs in PySCF's order (spherical d unless the basis was built cartesian).
public struct AOIntegrals: Sendable {
    public let count: Int
    public let overlap: [Double]
    public let kinetic: [Double]
    public let nuclearAttraction: [Double]
    /// (ij|kl) at ((i·n + j)·n + k)·n + l.
    public let repulsion: [Double]
    public var coreHamiltonian: [Double] { zip(kinetic, nuclearAttraction).map(+) }

    public init(molecule: Molecule, basis: Basis) {
        self.init(basis: basis, nuclei: zip(molecule.positions, molecule.elements).map { ($0, Double($1.nuclearCharge)) })
    }

    /// Electrostatic embedding: V also holds the electrons' attraction to external point charges
    /// (MM atoms); the nuclei–charge energy is `Molecule.pointChargeEnergy`.
    public init(molecule: Molecule, basis: Basis, pointCharges: [PointCharge]) {
        self.init(basis: basis, nuclei: zip(molecule.positions, molecule.elements).map { ($0, Double($1.nuclearCharge)) } + pointCharges)
    }

    /// Integrals with nuclei of any charges (an atom alone, for the SAD guess).
    public init(basis: Basis, nuclei: [PointCharge]) {
        count = basis.functionCount
        overlap = basis.overlapMatrix()
        kinetic = basis.kineticMatrix()
        nuclearAttraction = basis.attractionMatrix(charges: nuclei)
        repulsion = basis.repulsionTensor()
    }

    /// STO-3G, which covers every supported element.
    public init(molecule: Molecule) {
        self.init(molecule: molecule, basis: try! Basis(molecule: molecule, basisSet: BasisSet.builtIn("sto-3g")!))
    }
}
