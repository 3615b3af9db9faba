import Dynamics
import ForgeCore
import ForgeTesting
import XCTest

/// Reference: the Madelung constant of rock salt, M = 1.747564594633 (an analytic lattice sum,
/// independent of any MD code): the Coulomb energy of an ideal NaCl crystal of N unit charges
/// at nearest-neighbour distance d is −N M / (2 d), and every ion feels zero force.
final class ElectrostaticsTests: XCTestCase {
    static let madelung = 1.747564594633

    /// 8 × 8 × 8 simple-cubic sites, d = 1, charges ±1 alternating (types 1 and 2), no LJ.
    static func rockSalt() -> ParticleState {
        var state = LatticeSpec(kind: .sc, constant: 1, cells: SIMD3(8, 8, 8)).particles(masses: [1, 1])
        var charges: [Double] = []
        for i in 0..<state.count {
            let parity = (0..<3).map { Int(state.positions[3 * i + $0].rounded()) }.reduce(0, +) % 2
            charges.append(parity == 0 ? 1 : -1)
            state.types[i] = parity == 0 ? 0 : 1
        }
        state.charges = charges
        state.velocities = Array(repeating: 0, count: 3 * state.count)
        return state
    }

    func energyAndLargestForce(_ kspace: KSpaceSettings, ranks: Int) throws -> (Double, Double) {
        let state = Self.rockSalt()
        let lj = LJParameters(epsilon: [0, 0], sigma: [1, 1], cutoff: [3.5, 3.5], mixing: .geometric, shift: false)
        let results = Locked<[(Double, Double)]>([])
        InProcessWorld(size: ranks).run { comm in
            let engine = try! MDEngine(comm: comm, units: .lj, pair: LJCutCoul(lj, coulomb: .long, coulCutoff: 3.5, qqrd2e: 1),
                                       kspace: kspace, state: state, neighbor: NeighborSettings(skin: 0.3, every: 1, check: true),
                                       timestep: 0.005, integrator: .nve, velocity: nil)
            let t = engine.thermo()
            let largest = comm.allgather([engine.localForces().values.map { ($0 * $0).sum().squareRoot() }.max() ?? 0]).max()!
            if comm.rank == 0 { results.update { $0.append((t.potentialEnergy / Double(state.count), largest)) } }
        }
        return results.value[0]
    }

    func testEwaldGivesTheMadelungEnergy() throws {
        for ranks in [1, 2] {
            let (e, f) = try energyAndLargestForce(KSpaceSettings(style: .ewald, accuracy: 1e-8), ranks: ranks)
            XCTAssertEqual(e, -Self.madelung / 2, accuracy: 1e-7, "Ewald energy per ion on \(ranks) ranks")
            XCTAssertLessThan(f, 1e-7, "Ewald force on a lattice site on \(ranks) ranks")
        }
    }

    func testPPPMGivesTheMadelungEnergy() throws {
        for ranks in [1, 2] {
            let (e, f) = try energyAndLargestForce(KSpaceSettings(style: .pppm, accuracy: 1e-6), ranks: ranks)
            XCTAssertEqual(e, -Self.madelung / 2, accuracy: 1e-5, "PPPM energy per ion on \(ranks) ranks")
            XCTAssertLessThan(f, 1e-5, "PPPM force on a lattice site on \(ranks) ranks")
        }
    }
}
