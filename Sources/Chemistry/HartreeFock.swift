// Restricted (closed-shell) Hartree–Fock with Löwdin orthogonalisation and DIIS (Pulay 1982).
import Foundation

public struct RHFResult: Sendable {
    public let energy: Double
    public let orbitalEnergies: [Double]
    /// MO coefficients: C[μ·n + p] is AO μ's weight in MO p.
    public let coefficients: [Double]
    public let iterations: Int
    /// AO density matrix D_μν = Σ_p n_p C_μp C_νp of the final orbitals.
    public let density: [Double]
}

public struct SCFError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// Closed-shell RHF from `initialDensity` (e.g. `atomicDensityGuess`), or the core-Hamiltonian guess.
public func restrictedHartreeFock(_ ao: AOIntegrals, nuclearRepulsion: Double, electrons: Int, initialDensity: [Double]? = nil,
                                  maxIterations: Int = 200, tolerance: Double = 1e-11) throws -> RHFResult {
    let n = ao.count, occupied = electrons / 2
    precondition(electrons % 2 == 0 && occupied <= n)
    let occupations = (0..<n).map { $0 < occupied ? 2.0 : 0 }
    let (result, converged) = try selfConsistentField(ao, nuclearRepulsion: nuclearRepulsion, occupations: { _ in occupations },
                                                      initialDensity: initialDensity, maxIterations: maxIterations, tolerance: tolerance)
    guard converged else { throw SCFError(description: "Hartree–Fock did not converge in \(maxIterations) iterations") }
    return result
}

/// Roothaan–Hall iterations with DIIS; `occupations` gives each MO's electron count from the orbital
/// energies (ascending). Returns the last iterate and whether it converged.
func selfConsistentField(_ ao: AOIntegrals, nuclearRepulsion: Double, occupations: ([Double]) -> [Double], initialDensity: [Double]?,
                         maxIterations: Int, tolerance: Double) throws -> (RHFResult, converged: Bool) {
    let n = ao.count
    let h = ao.coreHamiltonian
    // X = S^{-1/2}
    let s = SymmetricEigen(ao.overlap, n: n)
    guard s.values.min()! > 1e-10 else { throw SCFError(description: "the basis is linearly dependent (overlap eigenvalue \(s.values.min()!)): atoms too close") }
    var x = [Double](repeating: 0, count: n * n)
    for k in 0..<n {
        let f = 1 / s.values[k].squareRoot()
        for i in 0..<n { for j in 0..<n { x[i * n + j] += s.vectors[k * n + i] * f * s.vectors[k * n + j] } }
    }

    func orbitals(_ fock: [Double]) -> (energies: [Double], c: [Double]) {
        let fPrime = multiply(transpose(x, n: n), multiply(fock, x, n: n), n: n)
        let e = SymmetricEigen(fPrime, n: n)
        var cPrime = [Double](repeating: 0, count: n * n)  // column p = eigenvector p
        for p in 0..<n { for i in 0..<n { cPrime[i * n + p] = e.vectors[p * n + i] } }
        return (e.values, multiply(x, cPrime, n: n))
    }
    func density(_ c: [Double], _ energies: [Double]) -> [Double] {
        let occ = occupations(energies)
        var d = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { for p in 0..<n where occ[p] != 0 { d[i * n + j] += occ[p] * c[i * n + p] * c[j * n + p] } } }
        return d
    }
    func fock(_ d: [Double]) -> [Double] { zip(h, ao.meanField(d)).map(+) }

    var (energies, c) = orbitals(h)
    var d = initialDensity ?? density(c, energies)
    var energy = 0.0
    var fockHistory: [[Double]] = [], errorHistory: [[Double]] = []
    for iteration in 1...maxIterations {
        let f = fock(d)
        let electronic = 0.5 * zip(d, zip(h, f).map(+)).reduce(0) { $0 + $1.0 * $1.1 }
        let newEnergy = electronic + nuclearRepulsion
        // DIIS error FDS − SDF vanishes at self-consistency.
        let fds = multiply(f, multiply(d, ao.overlap, n: n), n: n)
        let error = zip(fds, transpose(fds, n: n)).map { $0 - $1 }
        let errorNorm = error.map(abs).max()!
        if iteration > 1 && abs(newEnergy - energy) < tolerance && errorNorm < 1e-9 {
            // Fixed MO phases (largest AO weight positive): amplitudes of nearby geometries then
            // have the same signs, so a BOMD step's VQE can warm-start from the last one.
            for p in 0..<n {
                let largest = (0..<n).max { abs(c[$0 * n + p]) < abs(c[$1 * n + p]) }!
                if c[largest * n + p] < 0 { for mu in 0..<n { c[mu * n + p] = -c[mu * n + p] } }
            }
            return (RHFResult(energy: newEnergy, orbitalEnergies: energies, coefficients: c, iterations: iteration, density: d), true)
        }
        energy = newEnergy
        fockHistory.append(f); errorHistory.append(error)
        if fockHistory.count > 8 { fockHistory.removeFirst(); errorHistory.removeFirst() }
        var extrapolated = f
        let m = fockHistory.count
        if m >= 2 {
            // Minimise |Σ c_i e_i| with Σ c_i = 1 (Lagrange multiplier in the last row).
            var b = [Double](repeating: -1, count: (m + 1) * (m + 1))
            for i in 0..<m { for j in 0..<m { b[i * (m + 1) + j] = zip(errorHistory[i], errorHistory[j]).reduce(0) { $0 + $1.0 * $1.1 } } }
            b[m * (m + 1) + m] = 0
            var rhs = [Double](repeating: 0, count: m + 1); rhs[m] = -1
            if let weights = solveLinear(b, rhs, m: m + 1) {
                extrapolated = [Double](repeating: 0, count: n * n)
                for i in 0..<m { for k in 0..<(n * n) { extrapolated[k] += weights[i] * fockHistory[i][k] } }
            }
        }
        (energies, c) = orbitals(extrapolated)
        d = density(c, energies)
    }
    return (RHFResult(energy: energy, orbitalEnergies: energies, coefficients: c, iterations: maxIterations, density: d), false)
}

/// Superposition of atomic densities (SAD): each element's spherically averaged atomic SCF density
/// in its own basis functions (open shells filled evenly, fractionally), block-diagonal over the
/// atoms. A better start than the bare core Hamiltonian, which can converge to an excited state
/// (N2 in STO-3G does).
public func atomicDensityGuess(molecule: Molecule, basis: Basis) -> [Double] {
    let n = basis.functionCount
    var d = [Double](repeating: 0, count: n * n)
    var cache: [Element: [Double]] = [:]
    for (atom, element) in molecule.elements.enumerated() {
        let shellIndices = basis.shells.indices.filter { basis.shells[$0].atom == atom }
        guard let first = shellIndices.first else { continue }
        let atomBasis = Basis(shells: shellIndices.map { basis.shells[$0] })
        let m = atomBasis.functionCount
        if cache[element] == nil {
            let ao = AOIntegrals(basis: atomBasis, nuclei: [(basis.shells[first].center, Double(element.nuclearCharge))])
            let electrons = Double(element.nuclearCharge)
            // Aufbau over groups of degenerate orbitals, each group's electrons shared evenly.
            let spread: ([Double]) -> [Double] = { energies in
                var occ = [Double](repeating: 0, count: m), left = electrons, p = 0
                while p < m && left > 0 {
                    var q = p + 1
                    while q < m && abs(energies[q] - energies[p]) < 1e-5 { q += 1 }
                    let take = min(left, 2 * Double(q - p))
                    for r in p..<q { occ[r] = take / Double(q - p) }
                    left -= take
                    p = q
                }
                return occ
            }
            // An unconverged atom is still a fair start.
            cache[element] = (try? selfConsistentField(ao, nuclearRepulsion: 0, occupations: spread, initialDensity: nil,
                                                      maxIterations: 60, tolerance: 1e-9))?.0.density ?? [Double](repeating: 0, count: m * m)
        }
        let block = cache[element]!, offset = basis.offsets[first]
        for i in 0..<m { for j in 0..<m { d[(offset + i) * n + offset + j] = block[i * m + j] } }
    }
    return d
}

extension AOIntegrals {
    /// G(D) = J(D) − ½K(D): G_μν = Σ_λσ D_λσ [(μν|λσ) − ½(μλ|νσ)], the closed-shell mean field of density D.
    public func meanField(_ d: [Double]) -> [Double] {
        let n = count
        var out = [Double](repeating: 0, count: n * n)
        repulsion.withUnsafeBufferPointer { g in
            d.withUnsafeBufferPointer { d in
                for mu in 0..<n { for nu in 0...mu {
                    var v = 0.0
                    for la in 0..<n {
                        let coulomb = g.baseAddress! + ((mu * n + nu) * n + la) * n
                        let exchange = g.baseAddress! + ((mu * n + la) * n + nu) * n
                        let dRow = d.baseAddress! + la * n
                        for si in 0..<n { v += dRow[si] * (coulomb[si] - 0.5 * exchange[si]) }
                    }
                    out[mu * n + nu] = v
                    out[nu * n + mu] = v
                } }
            }
        }
        return out
    }
}
