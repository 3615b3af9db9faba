import Dynamics
import ForgeCore
import ForgeTesting
import XCTest

/// References: LAMMPS bench/in.lj step 0 (its log.15Jul25.lj.fixed.g++.1), and a brute-force
/// all-pairs minimum-image sum written independently of the engine's lists and halo swaps.
final class LennardJonesTests: XCTestCase {
    static let lj = LJParameters(epsilon: [1], sigma: [1], cutoff: [2.5], mixing: .geometric, shift: false)

    static func makeInLJ(cells: Int, comm: Communicator, integrator: Integrator = .nve) throws -> MDEngine {
        let spec = LatticeSpec(kind: .fcc, constant: LatticeKind.fcc.latticeConstant(density: 0.8442), cells: SIMD3(repeating: cells))
        return try MDEngine(comm: comm, units: .lj, pair: LJCut(Self.lj), state: spec.particles(masses: [1]),
                            neighbor: NeighborSettings(skin: 0.3, every: 20, check: false), timestep: 0.005,
                            integrator: integrator, velocity: (1.44, 87287))
    }

    func assertRelative(_ a: Double, _ b: Double, _ tolerance: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertLessThanOrEqual(abs(a - b), tolerance * abs(b), "\(what): \(a) vs \(b) (relative \(abs(a - b) / abs(b)))", file: file, line: line)
    }

    /// LAMMPS bench/in.lj, 32,000 atoms: step-0 row to 1e-10 relative.
    func testInLJStepZeroMatchesLAMMPS() throws {
        let engine = try Self.makeInLJ(cells: 20, comm: SerialCommunicator())
        let t = engine.thermo()
        XCTAssertEqual(t.atoms, 32000)
        let n = Double(t.atoms)
        assertRelative(t.temperature, 1.44, 1e-12, "Temp")
        assertRelative(t.potentialEnergy / n, -6.77336805323, 1e-10, "E_pair")
        assertRelative(t.totalEnergy / n, -4.61343555323, 1e-10, "TotEng")
        assertRelative(t.pressure, -5.01970725909, 1e-10, "Press")
    }

    /// Forces and energy against an all-pairs minimum-image sum, on a jiggled lattice, on 1 and 3 ranks.
    func testForcesMatchBruteForce() throws {
        let params = LJParameters(epsilon: [1.0, 0.7], sigma: [1.0, 1.2], cutoff: [2.5, 2.5], mixing: .arithmetic, shift: true)
        var state = LatticeSpec(kind: .bcc, constant: 1.6, cells: SIMD3(6, 5, 7), basisTypes: [0, 1]).particles(masses: [1, 2])
        var rng = SplitMix64(seed: 4)
        for k in state.positions.indices { state.positions[k] += 0.2 * (rng.nextUnit() - 0.5) }
        let L = state.boxHi - state.boxLo
        // Reference.
        let n = state.count
        var reference = [SIMD3<Double>](repeating: .zero, count: n)
        var energy = 0.0
        for i in 0..<n {
            for j in (i + 1)..<n {
                var d = SIMD3<Double>()
                for c in 0..<3 {
                    d[c] = state.positions[3 * i + c] - state.positions[3 * j + c]
                    d[c] -= L[c] * (d[c] / L[c]).rounded()
                }
                let r2 = (d * d).sum()
                let (e, fpair) = params.pair(Int(state.types[i]), Int(state.types[j]), r2: r2)
                energy += e
                reference[i] += d * fpair
                reference[j] -= d * fpair
            }
        }
        for ranks in [1, 3] {
            let world = InProcessWorld(size: ranks)
            let forces = Locked([Int64: SIMD3<Double>]())
            let energies = Locked([Double]())
            let s = state
            world.run { comm in
                let engine = try! MDEngine(comm: comm, units: .lj, pair: LJCut(params), state: s,
                                           neighbor: NeighborSettings(skin: 0.4, every: 1, check: true), timestep: 0.005,
                                           integrator: .nve, velocity: (1.0, 5))
                let local = engine.localForces()
                let t = engine.thermo()
                forces.update { $0.merge(local) { a, _ in a } }
                energies.update { $0.append(t.potentialEnergy) }
            }
            XCTAssertEqual(forces.value.count, n)
            for (atomID, f) in forces.value {
                let r = reference[Int(atomID) - 1]
                XCTAssertLessThan(((f - r) * (f - r)).sum().squareRoot(), 1e-10 * max(1, (r * r).sum().squareRoot()), "atom \(atomID) on \(ranks) ranks")
            }
            for e in energies.value { assertRelative(e, energy, 1e-12, "energy on \(ranks) ranks") }
        }
    }

    /// The same job on 1, 2, 3 and 4 (in-process) ranks: thermo equal to 1e-10 at step 100,
    /// atom count and momentum conserved.
    func testRankCountsAgreeAtStep100() throws {
        var rows: [[Double]] = []
        for ranks in 1...4 {
            let world = InProcessWorld(size: ranks)
            let out = Locked([Double]())
            world.run { comm in
                let engine = try! LennardJonesTests.makeInLJ(cells: 6, comm: comm)
                let start = engine.thermo()
                for s in 1...100 { try! engine.advance(energy: s == 100) }
                let t = engine.thermo()
                let p = engine.totalMomentum()
                if comm.rank == 0 { out.update { $0 = [t.temperature, t.potentialEnergy, t.totalEnergy, t.pressure, Double(t.atoms), (p * p).sum().squareRoot(), start.potentialEnergy, start.temperature] } }
            }
            rows.append(out.value)
        }
        for (k, row) in rows.enumerated() {
            for c in 0..<4 { assertRelative(row[c], rows[0][c], 1e-10, "column \(c), \(k + 1) ranks") }
            XCTAssertEqual(row[4], 864)
            XCTAssertLessThan(row[5], 1e-10, "momentum on \(k + 1) ranks")
        }
        // And it moved: the hot fcc crystal melts, so 100 steps later its potential energy has
        // risen and its temperature fallen by far more than round-off (LAMMPS bench/in.lj:
        // E_pair −6.773 → −5.759, T 1.44 → 0.757 per atom at 32,000 atoms).
        let (t0, t100) = (rows[0][7], rows[0][0])
        let (e0, e100) = (rows[0][6], rows[0][1])
        XCTAssertGreaterThan(e100 - e0, 0.5 * abs(e0) * 0.1, "potential energy did not rise: \(e0) → \(e100)")
        XCTAssertLessThan(t100, 0.8 * t0, "temperature did not fall: \(t0) → \(t100)")
    }

    func testBrickGridChoosesSmallestSurfaceAndRefusesThinBricks() {
        XCTAssertEqual(BrickGrid.choose(ranks: 4, box: SIMD3(10, 10, 10), minWidth: 2.8)?.counts, SIMD3(1, 2, 2))
        XCTAssertEqual(BrickGrid.choose(ranks: 3, box: SIMD3(10, 10, 30), minWidth: 2.8)?.counts, SIMD3(1, 1, 3))
        XCTAssertEqual(BrickGrid.choose(ranks: 8, box: SIMD3(10, 10, 10), minWidth: 2.8)?.counts, SIMD3(2, 2, 2))
        XCTAssertNil(BrickGrid.choose(ranks: 5, box: SIMD3(10, 10, 10), minWidth: 2.8))
    }
}
