import Foundation
import Chemistry
import XCTest

/// Molecules with PySCF 2.14.0 reference energies (STO-3G), along the z axis in Å.
func linearMolecule(_ elements: [Element], spacing: Double, charge: Int = 0) throws -> Molecule {
    try Molecule(elements: elements, positions: elements.indices.map { SIMD3(0, 0, Double($0) * spacing / angstromPerBohr) }, charge: charge)
}

struct ReferenceEntry {
    let name: String, molecule: Molecule, nuclear: Double, rhf: Double, fci: Double
}

func referenceTable() throws -> [ReferenceEntry] {
    let h2: [(Double, Double, Double, Double)] = [
        (0.5, 1.05835442184, -1.042996274540, -1.055159794471),
        (0.735, 0.71996899445, -1.116998996754, -1.137306035753),
        (1.0, 0.52917721092, -1.066108649318, -1.101150330233),
        (1.5, 0.35278480728, -0.910873554594, -0.998149353471),
        (2.0, 0.26458860546, -0.783792654277, -0.948641112176),
        (2.5, 0.21167088437, -0.702943599724, -0.936054919956),
    ]
    var table = try h2.map { ReferenceEntry(name: "H2 R=\($0.0)", molecule: try linearMolecule([.H, .H], spacing: $0.0), nuclear: $0.1, rhf: $0.2, fci: $0.3) }
    table.append(ReferenceEntry(name: "H4 1.0", molecule: try linearMolecule([.H, .H, .H, .H], spacing: 1.0),
                                nuclear: 2.29310124732, rhf: -2.098545936998, fci: -2.166387448635))
    table.append(ReferenceEntry(name: "HeH+ 0.772", molecule: try linearMolecule([.He, .H], spacing: 0.772, charge: 1),
                                nuclear: 1.37092541689, rhf: -2.841382489834, fci: -2.851024029977))
    return table
}

final class ElectronicStructureTests: XCTestCase {
    /// Szabo & Ostlund table 3.5 / eq. 3.235 ff.: H2 at 1.4 bohr, STO-3G (4-digit published values;
    /// their 6-digit basis differs from PySCF's 8-digit one in the 6th digit).
    func testIntegralsMatchSzaboOstlund() throws {
        let m = try Molecule(elements: [.H, .H], positions: [SIMD3(0, 0, 0), SIMD3(0, 0, 1.4)])
        let ao = AOIntegrals(molecule: m)
        let n = 2
        XCTAssertEqual(ao.overlap[0], 1, accuracy: 1e-12)
        XCTAssertEqual(ao.overlap[1], 0.6593, accuracy: 1e-4)
        XCTAssertEqual(ao.kinetic[0], 0.7600, accuracy: 1e-4)
        XCTAssertEqual(ao.kinetic[1], 0.2365, accuracy: 1e-4)
        XCTAssertEqual(ao.coreHamiltonian[0], -1.1204, accuracy: 1e-4)
        XCTAssertEqual(ao.coreHamiltonian[1], -0.9584, accuracy: 1e-4)
        func eri(_ i: Int, _ j: Int, _ k: Int, _ l: Int) -> Double { ao.repulsion[((i * n + j) * n + k) * n + l] }
        XCTAssertEqual(eri(0, 0, 0, 0), 0.7746, accuracy: 1e-4)
        XCTAssertEqual(eri(0, 0, 1, 1), 0.5697, accuracy: 1e-4)
        XCTAssertEqual(eri(1, 0, 0, 0), 0.4441, accuracy: 1e-4)
        XCTAssertEqual(eri(1, 0, 1, 0), 0.2970, accuracy: 1e-4)
        XCTAssertEqual(eri(0, 1, 1, 0), eri(1, 0, 0, 1), accuracy: 1e-15)
    }

    func testNuclearRepulsionAndRHFMatchPySCF() throws {
        for entry in try referenceTable() {
            XCTAssertEqual(entry.molecule.nuclearRepulsion, entry.nuclear, accuracy: 1e-10, entry.name)
            let (_, rhf) = try ElectronicHamiltonian.sto3g(entry.molecule)
            XCTAssertEqual(rhf.energy, entry.rhf, accuracy: 1e-8, entry.name)
        }
    }

    func testSectorFCIMatchesPySCF() throws {
        for entry in try referenceTable() {
            let (h, _) = try ElectronicHamiltonian.sto3g(entry.molecule)
            let q = QubitHamiltonian(jordanWigner: h)
            let exact = try exactGroundEnergy(q, orbitals: h.orbitalCount, alpha: h.alphaElectrons, beta: h.betaElectrons)
            XCTAssertEqual(exact, entry.fci, accuracy: 1e-8, entry.name)
        }
    }

    func testJordanWignerTermCounts() throws {
        let h2 = QubitHamiltonian(jordanWigner: try ElectronicHamiltonian.sto3g(try linearMolecule([.H, .H], spacing: 0.735)).hamiltonian)
        XCTAssertEqual(h2.terms.count, 15)
        let h4 = QubitHamiltonian(jordanWigner: try ElectronicHamiltonian.sto3g(try linearMolecule([.H, .H, .H, .H], spacing: 1.0)).hamiltonian)
        XCTAssertEqual(h4.terms.count, 185)
        XCTAssertEqual(h4.qubitCount, 8)
    }

    /// HeH+ with all electron numbers allowed reaches −3.0135 (README): the sector restriction matters.
    func testWholeSpaceLiesBelowTheSector() throws {
        let (h, _) = try ElectronicHamiltonian.sto3g(try linearMolecule([.He, .H], spacing: 0.772, charge: 1))
        let q = QubitHamiltonian(jordanWigner: h)
        let lowest = try (0...2).flatMap { a in try (0...2).map { b in try exactGroundEnergy(q, orbitals: 2, alpha: a, beta: b) } }.min()!
        XCTAssertEqual(lowest, -3.0135, accuracy: 1e-4)
    }

    func testFCIDUMPFromPySCF() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/H2_0.735_sto3g.FCIDUMP").path
        let h = try ElectronicHamiltonian(fcidump: try String(contentsOfFile: path, encoding: .utf8))
        XCTAssertEqual(h.orbitalCount, 2)
        XCTAssertEqual(h.coreEnergy, 0.7199689944489797)
        let q = QubitHamiltonian(jordanWigner: h)
        XCTAssertEqual(q.terms.count, 15)
        XCTAssertEqual(try exactGroundEnergy(q, orbitals: 2, alpha: 1, beta: 1), -1.137306035753, accuracy: 1e-9)
        // Same operator as the in-engine integrals (MO phases may differ; the spectrum may not).
        let own = QubitHamiltonian(jordanWigner: try ElectronicHamiltonian.sto3g(try linearMolecule([.H, .H], spacing: 0.735)).hamiltonian)
        let identity = { (q: QubitHamiltonian) in q.terms.first { $0.pauli.xMask == 0 && $0.pauli.zMask == 0 }!.coefficient }
        XCTAssertEqual(identity(q), identity(own), accuracy: 1e-9)
    }

    func testBadFCIDUMPSaysWhichLine() {
        let text = " &FCI NORB=2,NELEC=2,MS2=0,\n &END\n 0.5 1 1 1 1\n 0.3 1 x 2 2\n"
        XCTAssertThrowsError(try ElectronicHamiltonian(fcidump: text)) { error in
            XCTAssertEqual((error as? ElectronicHamiltonian.FCIDUMPError)?.line, 4)
        }
    }

    func testBadMolecules() {
        XCTAssertNil(Element(symbol: "Na"))
        XCTAssertEqual(Element(symbol: "ne"), .Ne)
        XCTAssertThrowsError(try Molecule(elements: [.H, .H], positions: [SIMD3(0, 0, 0), SIMD3(0, 0, 0.01)])) {
            XCTAssertTrue("\($0)".contains("overlap"), "\($0)")
        }
        XCTAssertThrowsError(try Molecule(elements: [.H, .H, .H], positions: [SIMD3(0, 0, 0), SIMD3(0, 0, 1.4), SIMD3(0, 0, 2.8)])) {
            XCTAssertTrue("\($0)".contains("closed shell"), "\($0)")
        }
    }
}
