// The electronic Hamiltonian in a spatial-orbital basis: core energy, h_pq, (pq|rs). Built from
// RHF molecular orbitals or read from an FCIDUMP file (as PySCF's `tools.fcidump` writes).
import Foundation

public struct ElectronicHamiltonian: Sendable {
    public let orbitalCount: Int
    public let alphaElectrons: Int
    public let betaElectrons: Int
    /// Nuclear repulsion (plus any frozen-core energy).
    public let coreEnergy: Double
    /// h_pq at p·n + q.
    public let oneBody: [Double]
    /// (pq|rs), chemists' notation, at ((p·n + q)·n + r)·n + s.
    public let twoBody: [Double]

    public init(orbitalCount: Int, alphaElectrons: Int, betaElectrons: Int, coreEnergy: Double, oneBody: [Double], twoBody: [Double]) {
        (self.orbitalCount, self.alphaElectrons, self.betaElectrons) = (orbitalCount, alphaElectrons, betaElectrons)
        (self.coreEnergy, self.oneBody, self.twoBody) = (coreEnergy, oneBody, twoBody)
    }

    /// Transforms the AO integrals to the RHF molecular orbitals (all of them active).
    public init(molecule: Molecule, ao: AOIntegrals, rhf: RHFResult) {
        self.init(molecule: molecule, ao: ao, rhf: rhf, inactive: 0, active: ao.count)
    }

    /// One line's failure in an FCIDUMP file.
    public struct FCIDUMPError: Error, CustomStringConvertible, Sendable {
        public let message: String
        public let line: Int?
        public var description: String { message }
    }

    /// Reads an FCIDUMP: a `&FCI NORB=…,NELEC=…,MS2=…` namelist up to `&END` (or `/`), then
    /// lines `value i j k l` with 1-based orbitals: (ij|kl) listed once per 8-fold symmetry class,
    /// `i j 0 0` one-electron, `0 0 0 0` the core energy.
    public init(fcidump text: String) throws {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var header = "", bodyStart = 0
        for (k, line) in lines.enumerated() {
            header += line + " "
            let upper = line.uppercased()
            if upper.contains("&END") || upper.trimmingCharacters(in: .whitespaces) == "/" { bodyStart = k + 1; break }
            if k == lines.count - 1 { throw FCIDUMPError(message: "no '&END' closing the &FCI header", line: 1) }
        }
        guard header.uppercased().contains("&FCI") else { throw FCIDUMPError(message: "not an FCIDUMP file (no '&FCI' header)", line: 1) }
        func headerInt(_ name: String) -> Int? {
            let upper = header.uppercased().replacingOccurrences(of: " ", with: "")
            guard let r = upper.range(of: name + "=") else { return nil }
            let digits = upper[r.upperBound...].prefix { $0.isNumber || $0 == "-" }
            return Int(digits)
        }
        guard let n = headerInt("NORB"), n > 0, n <= 32 else { throw FCIDUMPError(message: "header needs NORB between 1 and 32", line: 1) }
        guard let electrons = headerInt("NELEC"), electrons > 0, electrons <= 2 * n else { throw FCIDUMPError(message: "header needs NELEC between 1 and 2·NORB", line: 1) }
        let ms2 = headerInt("MS2") ?? 0
        guard (electrons + ms2) % 2 == 0, abs(ms2) <= electrons else { throw FCIDUMPError(message: "NELEC=\(electrons) and MS2=\(ms2) do not match", line: 1) }
        var h = [Double](repeating: 0, count: n * n), g = [Double](repeating: 0, count: n * n * n * n)
        var core = 0.0
        for k in bodyStart..<lines.count {
            let fields = lines[k].split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            guard fields.count == 5, let value = Double(fields[0].replacingOccurrences(of: "D", with: "E")),
                  let i = Int(fields[1]), let j = Int(fields[2]), let a = Int(fields[3]), let b = Int(fields[4]) else {
                throw FCIDUMPError(message: "expected 'value i j k l', got '\(lines[k].trimmingCharacters(in: .whitespaces))'", line: k + 1)
            }
            guard [i, j, a, b].allSatisfy({ (0...n).contains($0) }) else {
                throw FCIDUMPError(message: "orbital index out of range 0…\(n)", line: k + 1)
            }
            switch (i, j, a, b) {
            case (0, 0, 0, 0): core = value
            case (_, _, 0, 0) where i > 0 && j > 0:
                h[(i - 1) * n + j - 1] = value; h[(j - 1) * n + i - 1] = value
            case _ where i > 0 && j > 0 && a > 0 && b > 0:
                let (p, q, r, s) = (i - 1, j - 1, a - 1, b - 1)
                for (w, x, y, z) in [(p, q, r, s), (q, p, r, s), (p, q, s, r), (q, p, s, r), (r, s, p, q), (s, r, p, q), (r, s, q, p), (s, r, q, p)] {
                    g[((w * n + x) * n + y) * n + z] = value
                }
            default:
                // Orbital energies (i 0 0 0) are informational.
                guard j == 0 && a == 0 && b == 0 else { throw FCIDUMPError(message: "unsupported index pattern \(i) \(j) \(a) \(b)", line: k + 1) }
            }
        }
        self.init(orbitalCount: n, alphaElectrons: (electrons + ms2) / 2, betaElectrons: (electrons - ms2) / 2,
                  coreEnergy: core, oneBody: h, twoBody: g)
    }

    public var qubitCount: Int { 2 * orbitalCount }
    public var electronCount: Int { alphaElectrons + betaElectrons }
}

extension ElectronicHamiltonian {
    /// STO-3G integrals, RHF and the MO transformation for `molecule`; also returns the RHF result.
    public static func sto3g(_ molecule: Molecule) throws -> (hamiltonian: ElectronicHamiltonian, rhf: RHFResult) {
        try molecule.validate()
        let basis = try Basis(molecule: molecule, basisSet: BasisSet.builtIn("sto-3g")!)
        let ao = AOIntegrals(molecule: molecule, basis: basis)
        let rhf = try restrictedHartreeFock(ao, nuclearRepulsion: molecule.nuclearRepulsion, electrons: molecule.electronCount,
                                            initialDensity: atomicDensityGuess(molecule: molecule, basis: basis))
        return (ElectronicHamiltonian(molecule: molecule, ao: ao, rhf: rhf), rhf)
    }
}
