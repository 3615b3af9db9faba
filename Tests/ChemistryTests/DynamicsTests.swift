import Chemistry
import ForgeCore
import Foundation
import XCTest

/// Born–Oppenheimer forces and NVE dynamics of H2 on the VQE surface. For H2 UCCSD is exact, so
/// the reference force is the derivative of the FCI curve from the independent sector
/// diagonalisation (`exactGroundEnergy`), not of the VQE energy itself.
final class BornOppenheimerTests: XCTestCase {
    func fciEnergy(_ r: Double) throws -> Double {
        let m = try Molecule(elements: [.H, .H], positions: [.zero, SIMD3(0, 0, r)])
        let (h, _) = try ElectronicHamiltonian.sto3g(m)
        return try exactGroundEnergy(QubitHamiltonian(jordanWigner: h), orbitals: 2, alpha: 1, beta: 1)
    }

    func testForcesMatchTheFCICurve() throws {
        let potential = VQEPotential(elements: [.H, .H], charge: 0, multiplicity: 1, comm: SerialCommunicator())
        let r = 1.6  // bohr, beyond the minimum: the atoms attract
        let (_, forces) = try potential.energyAndForces([SIMD3(0.1, -0.2, 0.3), SIMD3(0.1, -0.2, 0.3 + r)], step: 1e-3)
        let slope = (try fciEnergy(r + 1e-4) - fciEnergy(r - 1e-4)) / 2e-4
        XCTAssertEqual(forces[1].z, -slope, accuracy: 1e-6)
        XCTAssertEqual(forces[0].z, slope, accuracy: 1e-6)
        XCTAssertLessThan(forces[1].z, 0)
        for f in forces { XCTAssertEqual(f.x, 0, accuracy: 1e-6); XCTAssertEqual(f.y, 0, accuracy: 1e-6) }
    }

    func testShortNVERunConservesEnergy() throws {
        let potential = VQEPotential(elements: [.H, .H], charge: 0, multiplicity: 1, comm: SerialCommunicator())
        let mass = Element.H.mass * AtomicUnits.massPerAMU
        var state = NuclearState(positions: [.zero, SIMD3(0, 0, 0.80 / angstromPerBohr)], velocities: [.zero, .zero], masses: [mass, mass])
        (state.potentialEnergy, state.forces) = try potential.energyAndForces(state.positions, step: 1e-3)
        let start = state.potentialEnergy + state.kineticEnergy
        var drift = 0.0
        for _ in 0..<15 {
            try state.advance(dt: 0.1 * AtomicUnits.femtosecond) { try potential.energyAndForces($0, step: 1e-3) }
            drift = max(drift, abs(state.potentialEnergy + state.kineticEnergy - start))
        }
        XCTAssertGreaterThan(state.kineticEnergy, 1e-4)  // it moved: 1.5 fs is a quarter period
        XCTAssertLessThan(drift, 2e-5)
        XCTAssertEqual(state.velocities[0].z, -state.velocities[1].z, accuracy: 1e-9)  // momentum conserved
    }
}

/// Electrostatic embedding: forces on the MM charges and the potential at them against central
/// differences of the embedded energy itself (RHF, whose energy is variational in the orbitals,
/// and a converged two-electron UCCSD-VQE, which is FCI).
final class EmbeddingForceTests: XCTestCase {
    let charges: [PointCharge] = [(SIMD3(3.1, 0.4, -0.7), -0.8476), (SIMD3(3.9, 1.6, -0.2), 0.4238), (SIMD3(2.4, 0.9, 1.3), 0.4238),
                                  (SIMD3(-2.9, -1.1, 0.5), 0.6)]

    func rhfEnergy(_ elements: [Element], _ positions: [SIMD3<Double>], _ charges: [PointCharge], basis: String) throws -> Double {
        try ElectronicHamiltonian.activeSpace(elements: elements, positions: positions, basis: basis, pointCharges: charges).rhf.energy
    }

    func testRHFChargeForcesAndPotentialsAreEnergyDerivatives() throws {
        // Water in 6-31G* (s, p and d shells) among four charges.
        let elements: [Element] = [.O, .H, .H]
        let positions: [SIMD3<Double>] = [SIMD3(0, 0, 0.22), SIMD3(0, 1.43, -0.89), SIMD3(0, -1.43, -0.89)]
        let (_, rhf) = try ElectronicHamiltonian.activeSpace(elements: elements, positions: positions, basis: "6-31g*", pointCharges: charges)
        let molecule = try Molecule(elements: elements, positions: positions)
        let basis = try Basis(molecule: molecule, basisSet: BasisSet.named("6-31g*"))
        let nuclei: [PointCharge] = zip(positions, elements).map { ($0, Double($1.nuclearCharge)) }
        let gradients = basis.chargeGradients(density: rhf.density, nuclei: nuclei, charges: charges)
        let potentials = basis.electrostaticPotential(density: rhf.density, nuclei: nuclei, at: charges.map(\.position))
        let h = 1e-4
        for c in charges.indices {
            for axis in 0..<3 {
                var plus = charges, minus = charges
                plus[c].position[axis] += h
                minus[c].position[axis] -= h
                let slope = (try rhfEnergy(elements, positions, plus, basis: "6-31g*") - rhfEnergy(elements, positions, minus, basis: "6-31g*")) / (2 * h)
                XCTAssertEqual(gradients[c][axis], slope, accuracy: 2e-7, "charge \(c) axis \(axis)")
            }
            var plus = charges, minus = charges
            plus[c].charge += 1e-4
            minus[c].charge -= 1e-4
            let slope = (try rhfEnergy(elements, positions, plus, basis: "6-31g*") - rhfEnergy(elements, positions, minus, basis: "6-31g*")) / 2e-4
            XCTAssertEqual(potentials[c], slope, accuracy: 2e-7, "potential at charge \(c)")
        }
    }

    /// The largest |F − (−dE/dC)| over the charges' components, E by VQE (central differences).
    func chargeForceError(_ elements: [Element], _ positions: [SIMD3<Double>]) throws -> Double {
        func potential() -> VQEPotential {
            VQEPotential(elements: elements, charge: 0, multiplicity: 1, comm: SerialCommunicator(),
                         settings: OptimizerSettings(gradientTolerance: 1e-10, maxIterations: 500))
        }
        let result = try potential().embedded(positions, charges: charges, forceStep: 1e-3)
        func energy(_ c: [PointCharge]) throws -> Double {
            let q = potential()
            q.activeSpace.charges = c.map { SIMD4($0.position, $0.charge) }
            return try q.energy(positions)
        }
        XCTAssertEqual(result.energy, try energy(charges), accuracy: 1e-10)
        XCTAssertEqual(result.coupling, zip(charges, result.potentials).reduce(0) { $0 + $1.0.charge * $1.1 }, accuracy: 1e-14)
        let h = 1e-4
        var worst = 0.0
        for c in charges.indices {
            for axis in 0..<3 {
                var plus = charges, minus = charges
                plus[c].position[axis] += h
                minus[c].position[axis] -= h
                let slope = (try energy(plus) - energy(minus)) / (2 * h)
                worst = max(worst, abs(result.chargeForces[c][axis] + slope))
            }
        }
        return worst
    }

    func testVQEChargeForcesAreEnergyDerivatives() throws {
        // Two electrons: UCCSD is FCI, invariant to the orbitals, so Hellmann–Feynman is exact.
        let error = try chargeForceError([.H, .H], [SIMD3(0, 0, -0.7), SIMD3(0, 0, 0.7)])
        print("H2 VQE: max |F − (−dE/dC)| on the charges = \(error) hartree/bohr")
        XCTAssertLessThan(error, 1e-7)
        // Four electrons (linear H4, 1.9 bohr spacing) carry UCCSD's missing orbital response:
        // measured 9.4e-6 hartree/bohr with chargeForceError, too slow for a debug-build test.
    }

}
