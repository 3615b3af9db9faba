// Exact ground energy of a qubit Hamiltonian within one particle-number and S_z sector (the
// lowest eigenvalue over all sectors can lie below FCI, e.g. HeH+ with extra electrons).

public struct SectorTooLarge: Error, CustomStringConvertible, Sendable {
    public let dimension: Int
    public var description: String { "the \(dimension)-determinant sector is too large for dense diagonalisation" }
}

/// Lowest eigenvalue of `hamiltonian` over determinants with `alpha` electrons in qubits 0..<n and
/// `beta` in n..<2n (block spin order), by dense diagonalisation of the sector (LAPACK dsyev).
public func exactGroundEnergy(_ hamiltonian: QubitHamiltonian, orbitals n: Int, alpha: Int, beta: Int,
                              maxDimension: Int = 4000) throws -> Double {
    let lowMask = (UInt64(1) << UInt64(n)) - 1
    let basis = (0..<(UInt64(1) << UInt64(2 * n))).filter {
        ($0 & lowMask).nonzeroBitCount == alpha && ($0 >> UInt64(n)).nonzeroBitCount == beta
    }
    guard basis.count <= maxDimension else { throw SectorTooLarge(dimension: basis.count) }
    var position: [UInt64: Int] = [:]
    for (k, b) in basis.enumerated() { position[b] = k }
    let d = basis.count
    var matrix = [Double](repeating: 0, count: d * d)
    for (column, j) in basis.enumerated() {
        for term in hamiltonian.terms {
            // P|j⟩ = i^{#Y}·(−1)^{popcount(j & z)}·|j ⊕ x⟩; H is real in this basis, so only
            // terms with an even number of Y contribute (odd ones cancel in pairs).
            let p = term.pauli
            guard let row = position[j ^ p.xMask], p.yCount & 1 == 0 else { continue }
            let sign: Double = ((j & p.zMask).nonzeroBitCount + p.yCount / 2) & 1 == 0 ? 1 : -1
            matrix[row * d + column] += sign * term.coefficient
        }
    }
    return SymmetricEigen(matrix, n: d).values[0]
}
