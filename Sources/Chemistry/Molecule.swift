// Molecules for the in-engine electronic structure: elements H–Ne in Gaussian basis sets.
import Foundation

/// Bohr radius in Å (CODATA 2010, as PySCF's `param.BOHR`): geometries in Å are converted with it.
public let angstromPerBohr = 0.52917721092

/// Elements with basis-set data in this engine (the first two rows, H–Ne).
public enum Element: String, CaseIterable, Sendable {
    case H, He, Li, Be, B, C, N, O, F, Ne

    public var nuclearCharge: Int { Element.allCases.firstIndex(of: self)! + 1 }
    /// Mass of the most abundant isotope in atomic mass units (AME 2016, as NIST lists them).
    public var mass: Double {
        switch self {
        case .H: 1.00782503223
        case .He: 4.00260325413
        case .Li: 7.0160034366
        case .Be: 9.012183065
        case .B: 11.00930536
        case .C: 12.0
        case .N: 14.00307400443
        case .O: 15.99491461957
        case .F: 18.99840316273
        case .Ne: 19.9924401762
        }
    }
    /// Spatial orbitals of the element in a minimal basis (STO-3G): 1s, plus 2s 2p from Li on.
    public var minimalBasisSize: Int { nuclearCharge <= 2 ? 1 : 5 }

    /// Reads a symbol in any letter case ("h", "HE").
    public init?(symbol: String) {
        guard let e = Element.allCases.first(where: { $0.rawValue.lowercased() == symbol.lowercased() }) else { return nil }
        self = e
    }
}

/// Why a molecule cannot be computed; `atom` is the offending atom's index when one is to blame.
public struct MoleculeError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var atom: Int?
    public init(_ message: String, atom: Int? = nil) { (self.message, self.atom) = (message, atom) }
    public var description: String { message }
}

public struct Molecule: Sendable {
    public var elements: [Element]
    /// Nuclear positions in bohr.
    public var positions: [SIMD3<Double>]
    public var charge: Int
    /// 2S + 1.
    public var multiplicity: Int

    /// Closest approach allowed between nuclei (bohr): nearer, the STO-3G integrals and the
    /// nuclear repulsion lose meaning (and coincident nuclei divide by zero).
    public static let minimumDistance = 0.1

    public init(elements: [Element], positions: [SIMD3<Double>], charge: Int = 0, multiplicity: Int = 1) throws {
        (self.elements, self.positions, self.charge, self.multiplicity) = (elements, positions, charge, multiplicity)
        try validate()
    }

    public var electronCount: Int { elements.reduce(0) { $0 + $1.nuclearCharge } - charge }

    /// Alpha and beta electron counts from the multiplicity.
    public var spinCounts: (alpha: Int, beta: Int) {
        let unpaired = multiplicity - 1
        return ((electronCount + unpaired) / 2, (electronCount - unpaired) / 2)
    }

    public func validate() throws {
        guard !elements.isEmpty, elements.count == positions.count else { throw MoleculeError("a molecule needs at least one atom, with one position per element") }
        for i in 0..<positions.count {
            for j in 0..<i {
                let d = ((positions[i] - positions[j]) * (positions[i] - positions[j])).sum().squareRoot()
                if d < Molecule.minimumDistance {
                    throw MoleculeError(String(format: "atoms %d and %d overlap (%.4g bohr apart; at least %.2g needed)", j + 1, i + 1, d, Molecule.minimumDistance), atom: i)
                }
            }
        }
        let n = electronCount
        guard n > 0 else { throw MoleculeError("charge \(charge) leaves \(n) electrons") }
        let orbitals = elements.reduce(0) { $0 + $1.minimalBasisSize }
        guard n <= 2 * orbitals else { throw MoleculeError("\(n) electrons do not fit in \(orbitals) STO-3G orbitals (charge \(charge) too negative)") }
        guard multiplicity >= 1 else { throw MoleculeError("multiplicity must be ≥ 1") }
        guard multiplicity == 1, n % 2 == 0 else {
            throw MoleculeError("restricted Hartree–Fock needs a closed shell: \(n) electron\(n == 1 ? "" : "s") with multiplicity \(multiplicity) (use an even electron count and multiplicity 1)")
        }
    }

    /// Σ_A Σ_C Z_A q_C / |R_A − C| in hartree: the nuclei's energy in external point charges
    /// (positions in bohr, charges in e).
    public func pointChargeEnergy(_ charges: [(position: SIMD3<Double>, charge: Double)]) -> Double {
        var e = 0.0
        for (element, position) in zip(elements, positions) {
            for c in charges {
                let r = position - c.position
                e += Double(element.nuclearCharge) * c.charge / (r * r).sum().squareRoot()
            }
        }
        return e
    }

    /// Σ_{A<B} Z_A Z_B / R_AB in hartree.
    public var nuclearRepulsion: Double {
        var e = 0.0
        for i in 0..<elements.count {
            for j in 0..<i {
                let r = positions[i] - positions[j]
                e += Double(elements[i].nuclearCharge * elements[j].nuclearCharge) / (r * r).sum().squareRoot()
            }
        }
        return e
    }
}
