import Chemistry
import ForgeCore
import Foundation
import XCTest

/// PySCF's integrals and RHF energies (Fixtures/integrals.json, made by make_integral_fixtures.py).
struct IntegralFixtures: Decodable {
    struct Case: Decodable {
        let name: String, basis: String, cartesian: Bool, elements: [String], positions: [[Double]], nao: Int
        let overlap: [Double], kinetic: [Double], nuclear: [Double]
        let density: [Double], coulomb: [Double], exchange: [Double]
        let eri_norm: Double, eri_samples: [[Double]], eri_unique: [[Double]]?
        let nuclear_repulsion: Double, rhf_energy: Double

        func molecule() throws -> Molecule {
            try Molecule(elements: elements.map { Element(symbol: $0)! }, positions: positions.map { SIMD3($0[0], $0[1], $0[2]) })
        }
        var label: String { "\(name)/\(basis)\(cartesian ? " (cartesian)" : "")" }
        func basisAndIntegrals() throws -> (Molecule, Basis, AOIntegrals) {
            let m = try molecule()
            let b = try Basis(molecule: m, basisSet: BasisSet.builtIn(basis)!, cartesian: cartesian)
            return (m, b, AOIntegrals(molecule: m, basis: b))
        }
    }
    struct PointCharges: Decodable {
        let positions: [[Double]], elements: [String], basis: String, charges: [[Double]], attraction: [Double]
        let nuclear_energy: Double, rhf_energy: Double
    }
    let pyscf: String
    let cases: [Case]
    let point_charges: PointCharges

    /// By default every STO-3G case and one per other basis (the test budget is seconds in debug
    /// builds); QFORGE_CHEM_FULL=1 checks all 25.
    static let full = ProcessInfo.processInfo.environment["QFORGE_CHEM_FULL"] != nil
    static let quick: Set<String> = ["H2O/6-31g", "HF/6-31g*", "LiH/cc-pvdz", "H2O/6-31g* (cartesian)"]
    var selected: [Case] { cases.filter { IntegralFixtures.full || $0.basis == "sto-3g" || IntegralFixtures.quick.contains($0.label) } }

    static let shared: IntegralFixtures = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/integrals.json")
        return try! JSONDecoder().decode(IntegralFixtures.self, from: Data(contentsOf: url))
    }()
}

/// Largest |a_ij − b_ij| over the upper triangle of the n×n matrix a against b's packed upper triangle.
func maxUpperDifference(_ a: [Double], _ packed: [Double], n: Int) -> Double {
    var worst = 0.0, z = 0
    for i in 0..<n { for j in i..<n { worst = max(worst, abs(a[i * n + j] - packed[z])); z += 1 } }
    return worst
}

func unpackUpper(_ packed: [Double], n: Int) -> [Double] {
    var m = [Double](repeating: 0, count: n * n), z = 0
    for i in 0..<n { for j in i..<n { m[i * n + j] = packed[z]; m[j * n + i] = packed[z]; z += 1 } }
    return m
}

final class GaussianIntegralTests: XCTestCase {
    /// Basis sizes and, for every molecule and basis, S, T, V, the ERIs (all unique elements in
    /// STO-3G; J and K contractions, norm and samples otherwise) within 1e-10 of PySCF, and the
    /// RHF energy (SAD guess, DIIS) within 1e-9 Ha.
    func testIntegralsMatchPySCF() throws {
        var checked = Set<String>()
        for c in IntegralFixtures.shared.selected {
            let label = c.label
            let (molecule, basis, ao) = try c.basisAndIntegrals()
            XCTAssertEqual(basis.functionCount, c.nao, label)
            let n = c.nao
            let errors = [maxUpperDifference(ao.overlap, c.overlap, n: n), maxUpperDifference(ao.kinetic, c.kinetic, n: n),
                          maxUpperDifference(ao.nuclearAttraction, c.nuclear, n: n)]
            XCTAssertLessThan(errors.max()!, 1e-10, "\(label) S/T/V \(errors)")
            func eri(_ i: Int, _ j: Int, _ k: Int, _ l: Int) -> Double { ao.repulsion[((i * n + j) * n + k) * n + l] }
            var eriError = 0.0
            for s in c.eri_samples + (c.eri_unique ?? []) {
                eriError = max(eriError, abs(eri(Int(s[0]), Int(s[1]), Int(s[2]), Int(s[3])) - s[4]))
            }
            let d = unpackUpper(c.density, n: n)
            var j = [Double](repeating: 0, count: n * n), k = j
            for p in 0..<n { for q in 0..<n { for r in 0..<n { for s in 0..<n {
                j[p * n + q] += eri(p, q, r, s) * d[r * n + s]
                k[p * n + q] += eri(p, r, q, s) * d[r * n + s]
            } } } }
            eriError = max(eriError, maxUpperDifference(j, c.coulomb, n: n), maxUpperDifference(k, c.exchange, n: n))
            XCTAssertLessThan(eriError, 1e-10, "\(label) ERI")
            XCTAssertEqual(ao.repulsion.reduce(0) { $0 + $1 * $1 }.squareRoot(), c.eri_norm, accuracy: 1e-9, label)
            XCTAssertEqual(molecule.nuclearRepulsion, c.nuclear_repulsion, accuracy: 1e-10)
            let rhf = try restrictedHartreeFock(ao, nuclearRepulsion: molecule.nuclearRepulsion, electrons: molecule.electronCount,
                                                initialDensity: atomicDensityGuess(molecule: molecule, basis: basis))
            XCTAssertEqual(rhf.energy, c.rhf_energy, accuracy: 1e-9, label)
            print(label + String(format: ": max |ΔS,ΔT,ΔV| %.1e, max |ΔERI| (samples, J, K) %.1e, RHF ΔE %.1e (%d iterations)",
                                 errors.max()!, eriError, rhf.energy - c.rhf_energy, rhf.iterations))
            checked.insert(c.basis)
        }
        XCTAssertEqual(checked.count, 4)
    }

    /// ⟨μ|Σ −q/|r − C||ν⟩ for MM point charges, as PySCF's int1e_rinv, and the embedded RHF energy.
    func testPointChargeAttractionMatchesPySCF() throws {
        let p = IntegralFixtures.shared.point_charges
        let molecule = try Molecule(elements: p.elements.map { Element(symbol: $0)! }, positions: p.positions.map { SIMD3($0[0], $0[1], $0[2]) })
        let basis = try Basis(molecule: molecule, basisSet: BasisSet.builtIn(p.basis)!)
        let v = basis.attractionMatrix(charges: p.charges.map { (SIMD3($0[0], $0[1], $0[2]), $0[3]) })
        XCTAssertLessThan(maxUpperDifference(v, p.attraction, n: basis.functionCount), 1e-10)
        // Electrostatic-embedding RHF as pyscf.qmmm.mm_charge.
        let charges = p.charges.map { (position: SIMD3($0[0], $0[1], $0[2]), charge: $0[3]) }
        let nuclear = molecule.nuclearRepulsion + molecule.pointChargeEnergy(charges)
        XCTAssertEqual(nuclear, p.nuclear_energy, accuracy: 1e-10)
        let ao = AOIntegrals(molecule: molecule, basis: basis, pointCharges: charges)
        let rhf = try restrictedHartreeFock(ao, nuclearRepulsion: nuclear, electrons: molecule.electronCount,
                                            initialDensity: atomicDensityGuess(molecule: molecule, basis: basis))
        XCTAssertEqual(rhf.energy, p.rhf_energy, accuracy: 1e-9)
    }
}

final class ActiveSpaceTests: XCTestCase {
    struct CASCIFixtures: Decodable {
        struct Case: Decodable {
            let name: String, basis: String, elements: [String], positions: [[Double]]
            let electrons: Int, orbitals: Int, rhf_energy: Double, casci_energy: Double
        }
        let cases: [Case]
    }

    /// The exact energy of the CAS qubit Hamiltonian (core energy folded in) is PySCF's CASCI energy.
    func testCASCIMatchesPySCF() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/casci.json")
        let fixtures = try JSONDecoder().decode(CASCIFixtures.self, from: Data(contentsOf: url))
        for c in fixtures.cases {
            let elements = c.elements.map { Element(symbol: $0)! }
            let positions = c.positions.map { SIMD3($0[0], $0[1], $0[2]) }
            // LiH: frozen 1s with the rest active, from `frozen_core` alone.
            let (h, rhf) = c.name == "LiH"
                ? try ElectronicHamiltonian.activeSpace(elements: elements, positions: positions, basis: c.basis, frozenCore: true)
                : try ElectronicHamiltonian.activeSpace(elements: elements, positions: positions, basis: c.basis,
                                                        activeElectrons: c.electrons, activeOrbitals: c.orbitals)
            XCTAssertEqual(h.orbitalCount, c.orbitals, c.name)
            XCTAssertEqual(h.electronCount, c.electrons, c.name)
            XCTAssertEqual(rhf.energy, c.rhf_energy, accuracy: 1e-9, c.name)
            let q = QubitHamiltonian(jordanWigner: h)
            let exact = try exactGroundEnergy(q, orbitals: h.orbitalCount, alpha: h.alphaElectrons, beta: h.betaElectrons)
            XCTAssertEqual(exact, c.casci_energy, accuracy: 1e-9, c.name)
            print("\(c.name)/\(c.basis) CAS(\(c.electrons),\(c.orbitals)): " + String(format: "%.12f, ΔE %.1e", exact, exact - c.casci_energy))
        }
    }

    /// A Born–Oppenheimer potential in an active space (LiH 6-31G, CAS(2,3), 6 qubits): two
    /// active electrons, so UCCSD-VQE is exact and equals the sector diagonalisation.
    func testVQEPotentialInAnActiveSpace() throws {
        let positions = [SIMD3<Double>(0, 0, 0), SIMD3(0, 0, 3.0)]
        let settings = ActiveSpaceSettings(basis: "6-31g", activeElectrons: 2, activeOrbitals: 3)
        let potential = VQEPotential(elements: [.Li, .H], charge: 0, multiplicity: 1, comm: SerialCommunicator())
        potential.activeSpace = settings
        let energy = try potential.energy(positions)
        let (h, _) = try ElectronicHamiltonian.activeSpace(elements: [.Li, .H], positions: positions, settings: settings)
        XCTAssertEqual(h.qubitCount, 6)
        let exact = try exactGroundEnergy(QubitHamiltonian(jordanWigner: h), orbitals: 3, alpha: 1, beta: 1)
        XCTAssertEqual(energy, exact, accuracy: 1e-8)
    }

    func testBadActiveSpacesAreRejected() throws {
        let elements: [Element] = [.Li, .H], positions = [SIMD3<Double>(0, 0, 0), SIMD3(0, 0, 3.0)]
        func key(_ body: () throws -> Any) -> String? {
            do { _ = try body(); return nil } catch let e as ActiveSpaceError { return e.key } catch { return "\(error)" }
        }
        XCTAssertEqual(key { try ElectronicHamiltonian.activeSpace(elements: elements, positions: positions, activeElectrons: 2, activeOrbitals: 6) }, "active_space.orbitals")
        XCTAssertEqual(key { try ElectronicHamiltonian.activeSpace(elements: elements, positions: positions, activeElectrons: 4, activeOrbitals: 1) }, "active_space.electrons")
        XCTAssertEqual(key { try ElectronicHamiltonian.activeSpace(elements: elements, positions: positions, activeElectrons: 3, activeOrbitals: 3) }, "active_space.electrons")
        XCTAssertEqual(key { try ElectronicHamiltonian.activeSpace(elements: elements, positions: positions, basis: "no-such-basis") }, "molecule.basis")
        let hydrogenOnly = FileManager.default.temporaryDirectory.appendingPathComponent("qforge-h-\(getpid()).nw").path
        try "H S\n 1.0 1.0\n".write(toFile: hydrogenOnly, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: hydrogenOnly) }
        XCTAssertEqual(key { try ElectronicHamiltonian.activeSpace(elements: elements, positions: positions, basis: hydrogenOnly) }, "molecule.basis")
        // Odd electron count: RHF needs a closed shell.
        XCTAssertThrowsError(try ElectronicHamiltonian.activeSpace(elements: [.Li], positions: [.zero]))
    }

    /// NWChem-format parsing: SP shells split into s and p, shells sorted by l, general contractions kept.
    func testNWChemParsing() throws {
        let text = """
        BASIS "ao basis" PRINT
        #comment
        C    SP
              2.9412494             -0.09996723             0.15591627
              0.6834831              0.39951283             0.60768372
        C    S
             71.6168370              0.15432897   0.1
             13.0450960              0.53532814   0.2
        Na   S
              1.0  1.0
        END
        """
        let b = try BasisSet(nwchem: text, name: "test")
        let c = b.shells[.C]!
        XCTAssertEqual(c.map(\.l), [0, 0, 1])
        XCTAssertEqual(c[0].columns, [[-0.09996723, 0.39951283]])
        XCTAssertEqual(c[1].columns.count, 2)
        XCTAssertEqual(c[2].exponents, [2.9412494, 0.6834831])
        XCTAssertThrowsError(try BasisSet(nwchem: "H S\n 1.0 0.5\n 2.0\n", name: "bad"))
        // A user's file by path reads as the shipped copy does.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("qforge-test-\(getpid()).nw").path
        try BasisSet.builtIn("cc-pvdz")!.source.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try BasisSet.named(path).shells[.O], BasisSet.builtIn("cc-pVDZ")!.shells[.O])
        XCTAssertThrowsError(try BasisSet.named("no-such-basis"))
    }
}
