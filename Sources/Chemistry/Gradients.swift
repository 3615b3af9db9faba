// Analytic RHF nuclear gradients: derivative integrals (a shell's derivative is a combination of
// its l+1 and l−1 shells, `Shell.derivativeShells`) contracted on the fly with the densities, so
// no derivative tensor is stored.
//   dE/dR_A = 2 Σ_{μ∈A,ν} D_μν ⟨∂μ|T + V|ν⟩ − 2 Σ_{μ∈A,ν} W_μν ⟨∂μ|ν⟩ + 4 Σ_{μ∈A} Γ_μνλσ (∂μ ν|λσ)
//             + Σ_μν D_μν ⟨μ|∂V_A/∂R_A|ν⟩ + ∂V_nn/∂R_A,
// with W = Σ_i n_i ε_i C_i C_iᵀ and Γ = ½ D_μν D_λσ − ⅛ (D_μλ D_νσ + D_μσ D_νλ); the operator
// term of nucleus A follows from translational invariance: −2 Σ_μν D_μν ⟨∂μ|V_A|ν⟩ over all μ.
import Foundation

/// Index of the cartesian component (lx, ly, lz) in its shell, PySCF's order.
@inline(__always)
func cartesianIndex(_ lx: Int, _ ly: Int, _ lz: Int) -> Int {
    let lyz = ly + lz
    return lyz * (lyz + 1) / 2 + lz
}

/// The derivative block of a shell of angular momentum l along `direction` (0, 1, 2 = x, y, z)
/// from its up (l+1) and down (l−1) blocks, all laid out [outer][component][inner].
func combineDerivative(up: UnsafePointer<Double>, down: UnsafePointer<Double>?, l: Int, outer: Int, inner: Int,
                       direction: Int, into out: UnsafeMutablePointer<Double>) {
    let n = (l + 1) * (l + 2) / 2, nUp = (l + 2) * (l + 3) / 2, nDown = l * (l + 1) / 2
    let (dx, dy, dz) = (direction == 0 ? 1 : 0, direction == 1 ? 1 : 0, direction == 2 ? 1 : 0)
    for (ia, (x, y, z)) in cartesianTable[l].enumerated() {
        let upIndex = cartesianIndex(x + dx, y + dy, z + dz)
        let power = direction == 0 ? x : direction == 1 ? y : z
        let downIndex = power > 0 ? cartesianIndex(x - dx, y - dy, z - dz) : 0
        for o in 0..<outer {
            let dst = out + (o * n + ia) * inner, u = up + (o * nUp + upIndex) * inner
            if power > 0, let down {
                let dn = down + (o * nDown + downIndex) * inner
                for r in 0..<inner { dst[r] = u[r] - Double(power) * dn[r] }
            } else {
                for r in 0..<inner { dst[r] = u[r] }
            }
        }
    }
}

extension Basis {
    /// dE_RHF/dR_A in hartree per bohr, one vector per atom, for the converged closed-shell `rhf`.
    public func rhfGradient(molecule: Molecule, rhf: RHFResult) -> [SIMD3<Double>] {
        let n = functionCount, occupied = molecule.electronCount / 2, c = rhf.coefficients
        var w = [Double](repeating: 0, count: n * n)
        for mu in 0..<n { for nu in 0..<n {
            var v = 0.0
            for i in 0..<occupied { v += rhf.orbitalEnergies[i] * c[mu * n + i] * c[nu * n + i] }
            w[mu * n + nu] = 2 * v
        } }
        var gradient = [SIMD3<Double>](repeating: .zero, count: molecule.elements.count)
        for a in molecule.elements.indices {
            for b in 0..<a {
                let r = molecule.positions[a] - molecule.positions[b]
                let distance = (r * r).sum().squareRoot()
                let g = -Double(molecule.elements[a].nuclearCharge * molecule.elements[b].nuclearCharge) / (distance * distance * distance) * r
                gradient[a] += g
                gradient[b] -= g
            }
        }
        oneElectronGradient(&gradient, molecule: molecule, density: rhf.density, energyWeighted: w)
        twoElectronGradient(&gradient, density: rhf.density)
        return gradient
    }

    func oneElectronGradient(_ gradient: inout [SIMD3<Double>], molecule: Molecule, density d: [Double], energyWeighted w: [Double]) {
        let overlap = braDerivative(.overlap, charges: [], matrix: w), kinetic = braDerivative(.kinetic, charges: [], matrix: d)
        for a in overlap.indices { gradient[a] += -2 * overlap[a] + 2 * kinetic[a] }
        // Each nucleus's attraction: the basis functions' part on their atoms, and its operator
        // term on the nucleus itself (translational invariance).
        for (c, (position, element)) in zip(molecule.positions, molecule.elements).enumerated() {
            let t = braDerivative(.attraction, charges: [(position, Double(element.nuclearCharge))], matrix: d)
            for a in t.indices {
                gradient[a] += 2 * t[a]
                gradient[c] -= 2 * t[a]
            }
        }
    }

    /// Σ_{μ on A, ν} M_μν ⟨∂μ/∂A|O|ν⟩ for every atom A: the bra derivative of a one-electron operator
    /// (overlap, kinetic, or the attraction to `charges`) contracted with a symmetric matrix M.
    func braDerivative(_ kind: OneElectronKind, charges: [PointCharge], matrix m: [Double]) -> [SIMD3<Double>] {
        let n = functionCount
        let lMax = (shells.map(\.l).max() ?? 0) + 1, ctrMax = shells.map(\.contractions).max() ?? 1
        let ws = OneElectronWorkspace(lMax: lMax, contractions: ctrMax)
        let cartMax = (lMax + 1) * (lMax + 2) / 2
        let upCopy = UnsafeMutablePointer<Double>.allocate(capacity: ctrMax * ctrMax * cartMax * cartMax)
        let deriv = UnsafeMutablePointer<Double>.allocate(capacity: ctrMax * ctrMax * cartMax * cartMax)
        defer { upCopy.deallocate(); deriv.deallocate() }
        let atoms = (shells.map(\.atom).max() ?? 0) + 1
        var out = [SIMD3<Double>](repeating: .zero, count: atoms)
        let transforms = shells.map { angularTransform(l: $0.l, pure: $0.pure) }
        for (si, a) in shells.enumerated() {
            let (up, down) = a.derivativeShells()
            let na = a.cartesianCount, ma = a.componentCount
            for (sj, b) in shells.enumerated() {
                let nb = b.cartesianCount, mb = b.componentCount
                let outer = a.contractions * b.contractions
                let ta = transforms[si], tb = transforms[sj]
                let ub = oneElectronBlock(kind, up, b, charges: charges, ws)
                upCopy.update(from: ub, count: outer * up.cartesianCount * nb)
                let db = down.map { oneElectronBlock(kind, $0, b, charges: charges, ws) }
                for direction in 0..<3 {
                    combineDerivative(up: upCopy, down: db, l: a.l, outer: outer, inner: nb, direction: direction, into: deriv)
                    var g = 0.0
                    for ca in 0..<a.contractions { for cb in 0..<b.contractions {
                        let src = deriv + (ca * b.contractions + cb) * na * nb
                        for i in 0..<ma { for j in 0..<mb {
                            var v = 0.0
                            for x in 0..<na where ta[i * na + x] != 0 {
                                for y in 0..<nb where tb[j * nb + y] != 0 { v += ta[i * na + x] * tb[j * nb + y] * src[x * nb + y] }
                            }
                            g += m[(offsets[si] + ca * ma + i) * n + offsets[sj] + cb * mb + j] * v
                        } }
                    } }
                    out[a.atom][direction] += g
                }
            }
        }
        return out
    }

    func twoElectronGradient(_ gradient: inout [SIMD3<Double>], density d: [Double]) {
        let n = functionCount
        let lMax = shells.map(\.l).max() ?? 0, ctrMax = shells.map(\.contractions).max() ?? 1
        let ws = RepulsionWorkspace(lMax: lMax + 1, contractions: ctrMax)
        let (angular, maps) = angularMaps()
        let cartMax = (lMax + 1) * (lMax + 2) / 2, cartUp = (lMax + 2) * (lMax + 3) / 2
        let ctr4 = ctrMax * ctrMax * ctrMax * ctrMax
        let upCopy = UnsafeMutablePointer<Double>.allocate(capacity: ctr4 * cartUp * cartMax * cartMax * cartMax)
        let deriv = UnsafeMutablePointer<Double>.allocate(capacity: ctr4 * cartMax * cartMax * cartMax * cartMax)
        defer { angular.deallocate(); upCopy.deallocate(); deriv.deallocate() }
        var kets: [ShellPairData] = []
        for k in shells.indices { for l in 0...k { kets.append(pairData(shells[k], shells[l])) } }
        d.withUnsafeBufferPointer { d in
            for (si, a) in shells.enumerated() {
                let (up, down) = a.derivativeShells()
                for (sj, b) in shells.enumerated() {
                    let braUp = pairData(up, b), braDown = down.map { pairData($0, b) }
                    let nab = a.cartesianCount * b.cartesianCount
                    for k in shells.indices { for l in 0...k {
                        let ket = kets[k * (k + 1) / 2 + l], c = shells[k], dd = shells[l]
                        let ncd = c.cartesianCount * dd.cartesianCount
                        let ctrAB = a.contractions * b.contractions, ctrCD = c.contractions * dd.contractions
                        let ub = repulsionBlock(braUp, up, b, ket, c, dd, ws)
                        upCopy.update(from: ub, count: ctrAB * ctrCD * up.cartesianCount * b.cartesianCount * ncd)
                        let db = down.map { repulsionBlock(braDown!, $0, b, ket, c, dd, ws) }
                        // (∂μν|λσ) = (∂μν|σλ): the ket pairs with k ≠ l count twice.
                        let weight = k == l ? 4.0 : 8.0
                        let (ma, mb, mc, md) = (maps[si].nOut, maps[sj].nOut, maps[k].nOut, maps[l].nOut)
                        for direction in 0..<3 {
                            combineDerivative(up: upCopy, down: db, l: a.l, outer: ctrAB * ctrCD, inner: b.cartesianCount * ncd,
                                              direction: direction, into: deriv)
                            var g = 0.0
                            for ca in 0..<a.contractions { for cb in 0..<b.contractions {
                                for cc in 0..<c.contractions { for cd in 0..<dd.contractions {
                                    let src = deriv + ((ca * b.contractions + cb) * ctrCD + cc * dd.contractions + cd) * nab * ncd
                                    let result = transformQuartet(src, maps[si], maps[sj], maps[k], maps[l], scratch: ws.scratch, half: ws.pairMax * ws.pairMax)
                                    let o0 = offsets[si] + ca * ma, o1 = offsets[sj] + cb * mb, o2 = offsets[k] + cc * mc, o3 = offsets[l] + cd * md
                                    var z = 0
                                    for i0 in 0..<ma { for i1 in 0..<mb { for i2 in 0..<mc { for i3 in 0..<md {
                                        let (mu, nu, la, sg) = (o0 + i0, o1 + i1, o2 + i2, o3 + i3)
                                        let gamma = 0.5 * d[mu * n + nu] * d[la * n + sg]
                                            - 0.125 * (d[mu * n + la] * d[nu * n + sg] + d[mu * n + sg] * d[nu * n + la])
                                        g += gamma * result[z]
                                        z += 1
                                    } } } }
                                } }
                            } }
                            gradient[a.atom][direction] += weight * g
                        }
                    } }
                }
            }
        }
    }
}
