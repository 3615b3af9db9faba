// Gaussian basis sets: NWChem-format files (as Basis Set Exchange exports them), their contracted
// shells normalised as PySCF does, and a molecule's shells in PySCF's AO order.
import Foundation

/// One shell of an element's basis as the file gives it: angular momentum, primitive exponents and
/// one or more contraction columns (a general contraction, as cc-pVDZ's 1s/2s, is one shell).
public struct ShellDefinition: Sendable, Equatable {
    public var l: Int
    public var exponents: [Double]
    /// Raw file coefficients: columns[c][k] for column c, primitive k.
    public var columns: [[Double]]
}

public struct BasisSetError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let line: Int?
    public var description: String { line.map { "line \($0): \(message)" } ?? message }
}

/// An element-indexed basis set.
public struct BasisSet: Sendable {
    public let name: String
    /// Shells per element in PySCF's order: as in the file, stably sorted by angular momentum.
    public let shells: [Element: [ShellDefinition]]
    /// The NWChem-format text it was read from.
    public let source: String

    /// Names of the basis sets shipped with the engine (H–Ne parts).
    public static let builtInNames = ["sto-3g", "6-31g", "6-31g*", "cc-pvdz"]

    /// Parses NWChem format: `Symbol  S|P|D|SP` opens a shell, each following line is
    /// `exponent coefficient…`; `#` comments, `BASIS` and `END` lines are skipped. Elements beyond
    /// Ne are skipped. An SP shell becomes an s and a p shell with shared exponents.
    public init(nwchem text: String, name: String) throws {
        var parsed: [Element: [ShellDefinition]] = [:]
        var current: (element: Element, ls: [Int])?  // ls: one angular momentum per coefficient column group
        var skipping = false
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let first = fields.first else { continue }
            let upper = first.uppercased()
            if upper == "BASIS" || upper == "END" { current = nil; skipping = false; continue }
            if let value = Double(first.replacingOccurrences(of: "D", with: "E").replacingOccurrences(of: "d", with: "e")) {
                if skipping { continue }
                guard let shell = current else { throw BasisSetError(message: "numbers before any 'Element Shell' line", line: index + 1) }
                let numbers = fields.dropFirst().map { Double($0.replacingOccurrences(of: "D", with: "E").replacingOccurrences(of: "d", with: "e")) }
                guard numbers.allSatisfy({ $0 != nil }), !numbers.isEmpty else { throw BasisSetError(message: "expected 'exponent coefficient…'", line: index + 1) }
                let coefficients = numbers.map { $0! }
                var list = parsed[shell.element]!
                if shell.ls.count > 1 {
                    // SP: one column each for s and p.
                    guard coefficients.count == shell.ls.count else { throw BasisSetError(message: "an SP line needs an exponent and 2 coefficients", line: index + 1) }
                    for (k, _) in shell.ls.enumerated() {
                        let s = list.count - shell.ls.count + k
                        list[s].exponents.append(value)
                        list[s].columns[0].append(coefficients[k])
                    }
                } else {
                    let s = list.count - 1
                    if list[s].exponents.isEmpty { list[s].columns = Array(repeating: [], count: coefficients.count) }
                    guard coefficients.count == list[s].columns.count else { throw BasisSetError(message: "every line of a shell needs the same number of coefficients", line: index + 1) }
                    list[s].exponents.append(value)
                    for c in coefficients.indices { list[s].columns[c].append(coefficients[c]) }
                }
                parsed[shell.element] = list
                continue
            }
            guard fields.count >= 2 else { throw BasisSetError(message: "expected 'Element ShellType', got '\(line.trimmingCharacters(in: .whitespaces))'", line: index + 1) }
            let letters = Array(fields[1].uppercased() == "L" ? "SP" : fields[1].uppercased())
            let ls = try letters.map { letter -> Int in
                guard let l = ["S", "P", "D", "F", "G", "H", "I"].firstIndex(of: String(letter)) else {
                    throw BasisSetError(message: "unknown shell type '\(fields[1])'", line: index + 1)
                }
                return l
            }
            guard let element = Element(symbol: first) else {
                // Heavier elements than the engine supports.
                current = nil; skipping = true; continue
            }
            skipping = false
            current = (element, ls)
            for l in current!.ls { parsed[element, default: []].append(ShellDefinition(l: l, exponents: [], columns: [[]])) }
        }
        var sorted: [Element: [ShellDefinition]] = [:]
        for (element, list) in parsed {
            for (k, shell) in list.enumerated() where shell.exponents.isEmpty {
                throw BasisSetError(message: "\(element.rawValue) shell \(k + 1) has no primitives", line: nil)
            }
            sorted[element] = list.enumerated().sorted { ($0.element.l, $0.offset) < ($1.element.l, $1.offset) }.map(\.element)
        }
        (self.name, self.shells, source) = (name, sorted, text)
    }

    /// A shipped basis set by name ("sto-3g", "6-31G*", "cc-pVDZ"; case, '-' and '_' ignored, "s" for "*"),
    /// or nil if none is shipped with that name.
    public static func builtIn(_ name: String) -> BasisSet? {
        let key = name.lowercased().filter { $0 != "-" && $0 != "_" && $0 != " " }.replacingOccurrences(of: "*", with: "s")
        let text: String
        switch key {
        case "sto3g": text = BasisData.sto3g
        case "631g": text = BasisData.b631g
        case "631gs": text = BasisData.b631gs
        case "ccpvdz": text = BasisData.ccpvdz
        default: return nil
        }
        return try! BasisSet(nwchem: text, name: name.lowercased())
    }

    /// A shipped basis set, or else a NWChem-format file at path `name`.
    public static func named(_ name: String) throws -> BasisSet {
        if let b = builtIn(name) { return b }
        guard FileManager.default.fileExists(atPath: name) else {
            throw BasisSetError(message: "no basis set '\(name)': the engine ships \(builtInNames.joined(separator: ", ")), or give a NWChem-format file", line: nil)
        }
        return try BasisSet(nwchem: try String(contentsOfFile: name, encoding: .utf8), name: name)
    }
}

/// A contracted shell on a centre: its primitives' contraction coefficients include the primitive
/// and contraction normalisation, so each (spherical) function has unit norm.
public struct Shell: Sendable {
    public let l: Int
    public let center: SIMD3<Double>
    public let atom: Int
    public let exponents: [Double]
    /// Normalised coefficients at k·contractions + c (primitive k, column c).
    public let coefficients: [Double]
    public let contractions: Int
    /// Spherical (2l+1 real solid harmonics) or cartesian ((l+1)(l+2)/2) components.
    public let pure: Bool

    public var cartesianCount: Int { (l + 1) * (l + 2) / 2 }
    public var componentCount: Int { pure ? 2 * l + 1 : cartesianCount }
    public var functionCount: Int { contractions * componentCount }

    /// PySCF's normalisation (`gto.mole.make_bas_env`): each primitive r^l·exp(−αr²) scaled to a
    /// unit radial norm, then each column scaled so its radial function Σ c_k r^l e^{−α_k r²} has unit norm.
    public init(l: Int, center: SIMD3<Double>, atom: Int, exponents: [Double], columns: [[Double]], pure: Bool) {
        (self.l, self.center, self.atom, self.exponents, self.pure) = (l, center, atom, exponents, pure)
        contractions = columns.count
        // ∫₀^∞ r^n e^{−a r²} dr = Γ((n+1)/2) / (2 a^{(n+1)/2}).
        func gaussianIntegral(_ n: Int, _ a: Double) -> Double { tgamma(Double(n + 1) / 2) / (2 * pow(a, Double(n + 1) / 2)) }
        let primitiveNorm = exponents.map { 1 / gaussianIntegral(2 * l + 2, 2 * $0).squareRoot() }
        var c = [Double](repeating: 0, count: exponents.count * columns.count)
        for (col, raw) in columns.enumerated() {
            let d = zip(raw, primitiveNorm).map(*)
            var norm = 0.0
            for i in d.indices { for j in d.indices { norm += d[i] * d[j] * gaussianIntegral(2 * l + 2, exponents[i] + exponents[j]) } }
            for k in d.indices { c[k * columns.count + col] = d[k] / norm.squareRoot() }
        }
        coefficients = c
    }
}

extension Shell {
    /// Derivative shells: ∂/∂A_x of x_A^i y_A^j z_A^k e^{−α r_A²} = 2α·x_A^{i+1}… − i·x_A^{i−1}…,
    /// so a shell's derivative is an (l+1) shell with coefficients 2α_k c_k and an (l−1) shell
    /// with c_k (nil for s), both cartesian.
    func derivativeShells() -> (up: Shell, down: Shell?) {
        var upCoefficients = coefficients
        for k in exponents.indices { for c in 0..<contractions { upCoefficients[k * contractions + c] *= 2 * exponents[k] } }
        let up = Shell(l: l + 1, center: center, atom: atom, exponents: exponents, coefficients: upCoefficients, contractions: contractions, pure: false)
        let down = l == 0 ? nil : Shell(l: l - 1, center: center, atom: atom, exponents: exponents, coefficients: coefficients, contractions: contractions, pure: false)
        return (up, down)
    }

    /// Coefficients as given (already normalised).
    init(l: Int, center: SIMD3<Double>, atom: Int, exponents: [Double], coefficients: [Double], contractions: Int, pure: Bool) {
        (self.l, self.center, self.atom, self.exponents, self.coefficients, self.contractions, self.pure) = (l, center, atom, exponents, coefficients, contractions, pure)
    }
}

/// A molecule's basis: its shells in PySCF's AO order (atom by atom; within a shell, column by
/// column, then component by component: p as x, y, z; spherical d as xy, yz, z², xz, x²−y²).
public struct Basis: Sendable {
    public let shells: [Shell]
    /// First AO index of each shell.
    public let offsets: [Int]
    public let functionCount: Int

    public init(shells: [Shell]) {
        self.shells = shells
        var offsets: [Int] = [], n = 0
        for s in shells { offsets.append(n); n += s.functionCount }
        (self.offsets, functionCount) = (offsets, n)
    }

    /// Spherical functions by default (as PySCF's `mol.cart = False`, for every basis set, 6-31G* included).
    public init(molecule: Molecule, basisSet: BasisSet, cartesian: Bool = false) throws {
        var shells: [Shell] = []
        for (atom, (element, position)) in zip(molecule.elements, molecule.positions).enumerated() {
            guard let list = basisSet.shells[element] else {
                throw MoleculeError("basis set '\(basisSet.name)' has no data for \(element.rawValue)", atom: atom)
            }
            for s in list {
                guard s.l <= maxAngularMomentum else {
                    throw MoleculeError("basis set '\(basisSet.name)' has l = \(s.l) shells for \(element.rawValue); the integrals go up to f", atom: atom)
                }
                shells.append(Shell(l: s.l, center: position, atom: atom, exponents: s.exponents, columns: s.columns, pure: !cartesian))
            }
        }
        self.init(shells: shells)
    }
}

/// Highest angular momentum the integrals handle (f).
public let maxAngularMomentum = 3
