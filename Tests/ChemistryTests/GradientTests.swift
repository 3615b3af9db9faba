import Chemistry
import Foundation
import XCTest

/// Analytic RHF gradients against PySCF's `nuc_grad_method()` (Fixtures/gradients.json, made by
/// make_gradient_fixtures.py).
final class GradientTests: XCTestCase {
    struct Fixtures: Decodable {
        struct Case: Decodable {
            let name: String, basis: String, elements: [String], positions: [[Double]], rhf_energy: Double, gradient: [[Double]]
        }
        let cases: [Case]
    }

    func testRHFGradientsMatchPySCF() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/gradients.json")
        let fixtures = try JSONDecoder().decode(Fixtures.self, from: Data(contentsOf: url))
        // By default H2O STO-3G and LiH 6-31G* (s, p and d shells); QFORGE_CHEM_FULL=1 all six.
        let full = ProcessInfo.processInfo.environment["QFORGE_CHEM_FULL"] != nil
        for c in fixtures.cases where full || ["H2O", "LiH"].contains(c.name) {
            let molecule = try Molecule(elements: c.elements.map { Element(symbol: $0)! }, positions: c.positions.map { SIMD3($0[0], $0[1], $0[2]) })
            let basis = try Basis(molecule: molecule, basisSet: BasisSet.builtIn(c.basis)!)
            let ao = AOIntegrals(molecule: molecule, basis: basis)
            let rhf = try restrictedHartreeFock(ao, nuclearRepulsion: molecule.nuclearRepulsion, electrons: molecule.electronCount,
                                                initialDensity: atomicDensityGuess(molecule: molecule, basis: basis), tolerance: 1e-13)
            XCTAssertEqual(rhf.energy, c.rhf_energy, accuracy: 1e-9, c.name)
            let gradient = basis.rhfGradient(molecule: molecule, rhf: rhf)
            var worst = 0.0
            for (g, reference) in zip(gradient, c.gradient) { for k in 0..<3 { worst = max(worst, abs(g[k] - reference[k])) } }
            XCTAssertLessThan(worst, 1e-8, "\(c.name)/\(c.basis)")
            print("\(c.name)/\(c.basis): " + String(format: "max |Δ gradient| %.1e hartree/bohr", worst))
        }
    }
}
