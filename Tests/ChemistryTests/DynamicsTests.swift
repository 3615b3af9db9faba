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
