import Dynamics
import ForgeCore
import ForgeTesting
import XCTest

/// LAMMPS data files: parsing, errors with line numbers, and step-100 parity with LAMMPS
/// (Fixtures/make_lammps_fixture.lmp made lammps_fixture.data and lammps_fixture.log).
final class DataFileTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    /// Thermo rows (step → [Temp, E_pair, TotEng, Press]) of the run in the LAMMPS log.
    static func lammpsRows() throws -> [Int: [Double]] {
        let text = try String(contentsOfFile: fixtures + "/lammps_fixture.log", encoding: .utf8)
        var rows: [Int: [Double]] = [:]
        var inTable = false
        for line in text.split(separator: "\n") {
            let w = line.split(separator: " ")
            if w.first == "Step" { inTable = true; continue }
            if w.first == "Loop" { inTable = false }
            if inTable, w.count == 5, let step = Int(w[0]) { rows[step] = w[1...].compactMap { Double($0) } }
        }
        return rows
    }

    func testStep100MatchesLAMMPS() throws {
        let data = try LAMMPSDataFile(contentsOf: Self.fixtures + "/lammps_fixture.data")
        XCTAssertEqual(data.state.count, 864)
        XCTAssertEqual(data.typeCount, 2)
        XCTAssertEqual(data.state.masses, [1, 2])
        XCTAssertTrue(data.hasVelocities)
        let reference = try Self.lammpsRows()
        XCTAssertEqual(Set(reference.keys), [0, 50, 100])
        let params = LJParameters(epsilon: [1.0, 0.8], sigma: [1.0, 1.1], cutoff: [2.5, 2.5], mixing: .arithmetic, shift: true)
        for ranks in [1, 2] {
            let world = InProcessWorld(size: ranks)
            let rows = Locked([Int: [Double]]())
            let state = data.state
            world.run { comm in
                let engine = try! MDEngine(comm: comm, units: .lj, pair: LJCut(params), state: state,
                                           neighbor: NeighborSettings(skin: 0.3, every: 1, check: true), timestep: 0.005,
                                           integrator: .nve, velocity: nil)
                var mine: [Int: [Double]] = [:]
                func record() {
                    let t = engine.thermo()
                    mine[t.step] = [t.temperature, t.potentialEnergy / 864, t.totalEnergy / 864, t.pressure]
                }
                record()
                for s in 1...100 {
                    try! engine.advance(energy: s % 50 == 0)
                    if s % 50 == 0 { record() }
                }
                if comm.rank == 0 { rows.update { $0 = mine } }
            }
            for (step, expected) in reference {
                let got = try XCTUnwrap(rows.value[step])
                for c in 0..<4 {
                    XCTAssertLessThanOrEqual(abs(got[c] - expected[c]), 1e-8 * abs(expected[c]),
                                             "step \(step) column \(c) on \(ranks) ranks: \(got[c]) vs LAMMPS \(expected[c])")
                }
            }
        }
    }

    func assertError(_ text: String, line: Int, contains fragment: String, file: StaticString = #filePath, sourceLine: UInt = #line) {
        do {
            _ = try LAMMPSDataFile(text: text, path: "bad.data")
            XCTFail("no error for malformed data file", file: file, line: sourceLine)
        } catch let e as InputError {
            XCTAssertEqual(e.file, "bad.data", file: file, line: sourceLine)
            XCTAssertEqual(e.line, line, "\(e)", file: file, line: sourceLine)
            XCTAssertTrue(e.message.contains(fragment), "\(e.message)", file: file, line: sourceLine)
        } catch {
            XCTFail("unexpected \(error)", file: file, line: sourceLine)
        }
    }

    static let good = """
    title

    2 atoms
    1 atom types

    0 10 xlo xhi
    0 10 ylo yhi
    0 10 zlo zhi

    Masses

    1 1.5

    Atoms # atomic

    1 1 1.0 1.0 1.0
    2 1 2.0 1.0 1.0 0 0 0

    Velocities

    1 0.1 0 0
    2 -0.1 0 0
    """

    func testParsesAGoodFile() throws {
        let d = try LAMMPSDataFile(text: Self.good, path: "good.data")
        XCTAssertEqual(d.state.ids, [1, 2])
        XCTAssertEqual(d.state.masses, [1.5])
        XCTAssertEqual(d.state.positions, [1, 1, 1, 2, 1, 1])
        XCTAssertEqual(d.state.velocities, [0.1, 0, 0, -0.1, 0, 0])
        XCTAssertEqual(d.atomLines, [16, 17])
    }

    func testMalformedFilesPointAtTheLine() {
        assertError(Self.good.replacingOccurrences(of: "2 1 2.0 1.0 1.0 0 0 0", with: "2 1 2.0 1.0"), line: 17, contains: "columns")
        assertError(Self.good.replacingOccurrences(of: "2 1 2.0 1.0 1.0 0 0 0", with: "2 3 2.0 1.0 1.0"), line: 17, contains: "type 3")
        assertError(Self.good.replacingOccurrences(of: "1 1 1.0 1.0 1.0", with: "1 1 1.0 abc 1.0"), line: 16, contains: "not a number")
        assertError(Self.good.replacingOccurrences(of: "0 10 ylo yhi", with: "5 1 ylo yhi"), line: 7, contains: "greater")
        assertError(Self.good.replacingOccurrences(of: "2 atoms", with: "3 atoms"), line: 14, contains: "3 atoms")
        assertError(Self.good.replacingOccurrences(of: "Velocities", with: "Bonds"), line: 19, contains: "header says 0")
        assertError(Self.good.replacingOccurrences(of: "1 atom types", with: "1 atom kinds"), line: 4, contains: "unrecognised")
        assertError(Self.good.replacingOccurrences(of: "2 1 2.0", with: "1 1 2.0"), line: 17, contains: "twice")
    }
}

/// atom_style full with bonds and angles, as LAMMPS write_data writes it (one water molecule).
final class MolecularDataFileTests: XCTestCase {
    static let water = """
    LAMMPS data file via write_data

    3 atoms
    2 atom types
    2 bonds
    1 bond types
    1 angles
    1 angle types

    0 10 xlo xhi
    0 10 ylo yhi
    0 10 zlo zhi

    Masses

    1 15.9994
    2 1.008

    Bond Coeffs # harmonic

    1 1000 1

    Angle Coeffs # harmonic

    1 100 109.47

    Atoms # full

    1 1 1 -0.8476 5.0 5.0 5.0 0 0 0
    2 1 2 0.4238 5.8 5.6 5.0 0 0 0
    3 1 2 0.4238 4.2 5.6 5.0 0 0 0

    Bonds

    1 1 1 2
    2 1 1 3

    Angles

    1 1 2 1 3
    """

    func testReadsFullStyleWithTopology() throws {
        let d = try LAMMPSDataFile(text: Self.water, path: "w.data")
        XCTAssertEqual(d.atomStyle, .full)
        XCTAssertEqual(d.state.charges, [-0.8476, 0.4238, 0.4238])
        XCTAssertEqual(d.state.molecules, [1, 1, 1])
        XCTAssertEqual(d.state.positions[3], 5.8)
        XCTAssertEqual(d.bonds.map { [$0.atoms.0, $0.atoms.1] }, [[1, 2], [1, 3]])
        XCTAssertEqual(d.angles.map { [$0.atoms.0, $0.atoms.1, $0.atoms.2] }, [[2, 1, 3]])
        XCTAssertEqual(d.bondCoeffs, [[1000, 1]])
        XCTAssertEqual(d.angleCoeffs, [[100, 109.47]])
    }

    func testBondToAMissingAtomPointsAtItsLine() {
        XCTAssertThrowsError(try LAMMPSDataFile(text: Self.water.replacingOccurrences(of: "2 1 1 3", with: "2 1 1 7"), path: "w.data")) { error in
            let e = error as? InputError
            XCTAssertEqual(e?.line, 36)
            XCTAssertTrue("\(error)".contains("atom 7"), "\(error)")
        }
    }
}
