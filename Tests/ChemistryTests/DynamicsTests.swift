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

/// QM/MM Lennard-Jones part: forces are minus the gradient of its own energy (central differences),
/// QM–QM pairs contribute nothing, and the minimum image is used across the box.
final class QMMMTests: XCTestCase {
    func testLennardJonesForcesAreTheEnergyGradient() throws {
        let potential = VQEPotential(elements: [.H, .H], charge: 0, multiplicity: 1, comm: SerialCommunicator())
        let system = QMMMSystem(qmCount: 2, box: 20, bath: (3.8e-4, 6.4), qmAtom: (7e-5, 4.9), cutoff: 10, potential: potential, forceStep: 1e-3)
        // two H atoms 1.4 bohr apart (no LJ between them), two Ar atoms, one across the boundary
        let x: [SIMD3<Double>] = [SIMD3(10, 10, 9.3), SIMD3(10, 10, 10.7), SIMD3(10, 16.5, 10), SIMD3(10, 1.5, 11)]
        let (energy, forces) = system.lennardJones(x)
        XCTAssertGreaterThan(energy, 0)  // the Ar pair is 5.1 bohr apart through the boundary: repulsive
        let h = 1e-5
        for atom in 0..<x.count { for axis in 0..<3 {
            var plus = x, minus = x
            plus[atom][axis] += h; minus[atom][axis] -= h
            let slope = (system.lennardJones(plus).energy - system.lennardJones(minus).energy) / (2 * h)
            XCTAssertEqual(forces[atom][axis], -slope, accuracy: 1e-10)
        } }
        // moving one H along the bond changes only its distance to the other H: no LJ energy change
        let alone = system.lennardJones([SIMD3(10, 10, 9.3), SIMD3(10, 10, 10.7)])
        XCTAssertEqual(alone.energy, 0)
    }
}
