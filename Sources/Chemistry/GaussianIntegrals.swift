// Integrals over contracted s, p, d Gaussian shells by McMurchie–Davidson (Helgaker, Jørgensen &
// Olsen, Molecular Electronic-Structure Theory, ch. 9): products of Gaussians expanded in Hermite
// Gaussians (coefficients E), Coulomb integrals over Hermite Gaussians (R) from the Boys function.
// Blocks are computed over cartesian primitives, contracted, then turned into real spherical
// harmonics with PySCF's (libcint's) normalisation and order.
import Foundation

/// F_m(T) by its series (all terms positive) for the highest order, then the stable downward
/// recursion F_{m−1} = (2T F_m + e^{−T})/(2m − 1); for building the table and checking it.
func boysSeries(_ mMax: Int, _ t: Double, _ f: UnsafeMutablePointer<Double>) {
    let e = exp(-t)
    var term = 1 / Double(2 * mMax + 1), sum = term, k = 0
    while term > 1e-17 * sum {
        k += 1
        term *= 2 * t / Double(2 * mMax + 2 * k + 1)
        sum += term
    }
    f[mMax] = e * sum
    var m = mMax
    while m > 0 { f[m - 1] = (2 * t * f[m] + e) / Double(2 * m - 1); m -= 1 }
}

/// F_m(T) at T = 0, 0.1, …, 12 for m ≤ 26 (Taylor expansion points: orders up to 9, ERI
/// first derivatives over d shells, plus the 8 Taylor terms, and spare).
let boysGridStep = 0.1, boysGridPoints = 121, boysTableOrders = 27
let boysTable: [Double] = {
    var table = [Double](repeating: 0, count: boysGridPoints * boysTableOrders)
    table.withUnsafeMutableBufferPointer { t in
        for g in 0..<boysGridPoints { boysSeries(boysTableOrders - 1, Double(g) * boysGridStep, t.baseAddress! + g * boysTableOrders) }
    }
    return table
}()

/// Boys function F_m(T) = ∫₀¹ u^{2m} e^{−T u²} du for m = 0…mMax (≤ 18) into `f`.
@inline(__always)
func boys(_ mMax: Int, _ t: Double, _ f: UnsafeMutablePointer<Double>) {
    if t < 12 {
        // Taylor series about the nearest grid point, F_m(T0 + δ) = Σ_k F_{m+k}(T0)(−δ)^k/k!
        // (|δ| ≤ 0.05: 8 terms reach 1e-16), then downward.
        let g = Int(t / boysGridStep + 0.5)
        let delta = Double(g) * boysGridStep - t
        boysTable.withUnsafeBufferPointer { table in
            let row = table.baseAddress! + g * boysTableOrders + mMax
            var sum = row[7]
            for k in stride(from: 6, through: 0, by: -1) { sum = row[k] + sum * delta / Double(k + 1) }
            f[mMax] = sum
        }
        if mMax > 0 {
            let e = exp(-t)
            var m = mMax
            while m > 0 { f[m - 1] = (2 * t * f[m] + e) / Double(2 * m - 1); m -= 1 }
        }
    } else {
        // Upward from F_0 is stable here: each step scales errors by (2m+1)/(2T) < 1.
        f[0] = 0.5 * (Double.pi / t).squareRoot() * erf(t.squareRoot())
        if mMax > 0 {
            let e = exp(-t)
            for m in 0..<mMax { f[m + 1] = (Double(2 * m + 1) * f[m] - e) / (2 * t) }
        }
    }
}

/// Cartesian exponents of shells up to l = 4 (g: derivatives of f shells), built once.
let cartesianTable = (0...4).map(cartesianExponents)

/// Cartesian exponents (lx, ly, lz) of a shell in PySCF's order (xx, xy, xz, yy, yz, zz for d).
func cartesianExponents(_ l: Int) -> [(Int, Int, Int)] {
    var out: [(Int, Int, Int)] = []
    for lx in stride(from: l, through: 0, by: -1) {
        for ly in stride(from: l - lx, through: 0, by: -1) { out.append((lx, ly, l - lx - ly)) }
    }
    return out
}

/// Rows: output components; columns: cartesian components. The primitives carry a unit radial
/// norm, so these are the angular normalisations: spherical harmonics (libcint's order: p as
/// x, y, z; d as xy, yz, z², xz, x²−y²), or libcint's cartesian factors (s and p normalised, d bare).
func angularTransform(l: Int, pure: Bool) -> [Double] {
    let s = 0.28209479177387814   // 1/√(4π)
    let p = 0.48860251190291992   // √(3/4π)
    switch (l, pure) {
    case (0, _): return [s]
    case (1, _): return [p, 0, 0, 0, p, 0, 0, 0, p]
    case (2, true):
        let d1 = 1.0925484305920792   // √(15/4π)
        let d0 = 0.31539156525252005  // √(5/16π)
        let d2 = 0.54627421529603959  // √(15/16π)
        // columns xx, xy, xz, yy, yz, zz
        return [0, d1, 0, 0, 0, 0,
                0, 0, 0, 0, d1, 0,
                -d0, 0, 0, -d0, 0, 2 * d0,
                0, 0, d1, 0, 0, 0,
                d2, 0, 0, -d2, 0, 0]
    case (3, true):
        let f3 = 0.59004358992664352  // √(35/32π)
        let f2 = 2.8906114426405538   // √(105/4π)
        let f1 = 0.45704579946446572  // √(21/32π)
        let f0 = 0.37317633259011546  // √(7/16π)
        let g2 = 1.4453057213202769   // √(105/16π)
        // columns xxx, xxy, xxz, xyy, xyz, xzz, yyy, yyz, yzz, zzz; rows m = −3 … 3
        return [0, 3 * f3, 0, 0, 0, 0, -f3, 0, 0, 0,
                0, 0, 0, 0, f2, 0, 0, 0, 0, 0,
                0, -f1, 0, 0, 0, 0, -f1, 0, 4 * f1, 0,
                0, 0, -3 * f0, 0, 0, 0, 0, -3 * f0, 0, 2 * f0,
                -f1, 0, 0, -f1, 0, 4 * f1, 0, 0, 0, 0,
                0, 0, g2, 0, 0, 0, 0, -g2, 0, 0,
                f3, 0, 0, -3 * f3, 0, 0, 0, 0, 0, 0]
    default:
        let n = (l + 1) * (l + 2) / 2
        return (0..<(n * n)).map { $0 % (n + 1) == 0 ? 1 : 0 }
    }
}

/// Hermite expansion coefficients E^{ij}_t of a 1-D Gaussian product for i ≤ la, j ≤ lb, at
/// e[(i·(lb+1) + j)·tDim + t], tDim = la + lb + 1; the exponential prefactor is left out.
@inline(__always)
func hermiteE(_ e: UnsafeMutablePointer<Double>, la: Int, lb: Int, pa: Double, pb: Double, oneOver2p: Double) {
    let tDim = la + lb + 1, jDim = lb + 1
    e.update(repeating: 0, count: (la + 1) * jDim * tDim)
    e[0] = 1
    // E^{i+1,j}_t = E^{ij}_{t−1}/(2p) + X_PA E^{ij}_t + (t+1) E^{ij}_{t+1}, likewise in j with X_PB.
    for i in 0...la {
        if i > 0 {
            let src = e + ((i - 1) * jDim) * tDim, dst = e + (i * jDim) * tDim
            for t in 0...i {
                var v = pa * src[t]
                if t > 0 { v += oneOver2p * src[t - 1] }
                if t + 1 <= i - 1 { v += Double(t + 1) * src[t + 1] }
                dst[t] = v
            }
        }
        if lb > 0 {
            for j in 1...lb {
                let src = e + (i * jDim + j - 1) * tDim, dst = e + (i * jDim + j) * tDim
                for t in 0...(i + j) {
                    var v = pb * src[t]
                    if t > 0 { v += oneOver2p * src[t - 1] }
                    if t + 1 <= i + j - 1 { v += Double(t + 1) * src[t + 1] }
                    dst[t] = v
                }
            }
        }
    }
}

/// Hermite Coulomb integrals R_{tuv}(a, X) for t+u+v ≤ L at out[(t·D + u)·D + v], D = L+1;
/// `work` holds (L+2)·D³ doubles, `f` L+1.
@inline(__always)
func hermiteCoulomb(_ L: Int, a: Double, x: Double, y: Double, z: Double,
                    f: UnsafeMutablePointer<Double>, work: UnsafeMutablePointer<Double>) -> UnsafeMutablePointer<Double> {
    let d = L + 1, d3 = d * d * d
    boys(L, a * (x * x + y * y + z * z), f)
    // R^n_{t+1,u,v} = t R^{n+1}_{t−1,u,v} + X R^{n+1}_{t,u,v}, from n = L down to 0.
    var scale = 1.0
    for _ in 0..<L { scale *= -2 * a }
    for n in stride(from: L, through: 0, by: -1) {
        let layer = work + n * d3, upper = work + (n + 1) * d3
        layer[0] = scale * f[n]
        scale /= -2 * a
        let top = L - n
        if top == 0 { continue }
        for t in 0...top {
            for u in 0...(top - t) {
                for v in 0...(top - t - u) where t + u + v > 0 {
                    let value: Double
                    if t > 0 {
                        var r = x * upper[((t - 1) * d + u) * d + v]
                        if t > 1 { r += Double(t - 1) * upper[((t - 2) * d + u) * d + v] }
                        value = r
                    } else if u > 0 {
                        var r = y * upper[(u - 1) * d + v]
                        if u > 1 { r += Double(u - 1) * upper[(u - 2) * d + v] }
                        value = r
                    } else {
                        var r = z * upper[v - 1]
                        if v > 1 { r += Double(v - 1) * upper[v - 2] }
                        value = r
                    }
                    layer[(t * d + u) * d + v] = value
                }
            }
        }
    }
    return work
}

/// Point charges (position in bohr, charge in e) for nuclear attraction and QM/MM embedding.
public typealias PointCharge = (position: SIMD3<Double>, charge: Double)

extension Basis {
    enum OneElectronKind { case overlap, kinetic, attraction }

    /// ⟨μ|ν⟩, n×n row-major.
    public func overlapMatrix() -> [Double] { oneElectron(.overlap, charges: []) }
    /// ⟨μ|−½∇²|ν⟩.
    public func kineticMatrix() -> [Double] { oneElectron(.kinetic, charges: []) }
    /// ⟨μ|Σ_C −q_C/|r − C||ν⟩: the electrons' attraction to point charges (nuclei, or the MM
    /// charges of an electrostatic embedding).
    public func attractionMatrix(charges: [PointCharge]) -> [Double] { oneElectron(.attraction, charges: charges) }
    /// Nuclear attraction of the molecule's nuclei.
    public func nuclearAttractionMatrix(_ molecule: Molecule) -> [Double] {
        attractionMatrix(charges: zip(molecule.positions, molecule.elements).map { ($0, Double($1.nuclearCharge)) })
    }

    func oneElectron(_ kind: OneElectronKind, charges: [PointCharge]) -> [Double] {
        let n = functionCount
        var out = [Double](repeating: 0, count: n * n)
        let ws = OneElectronWorkspace(lMax: shells.map(\.l).max() ?? 0, contractions: shells.map(\.contractions).max() ?? 1)
        let lMax = ws.lMax
        let transforms = (0...lMax).map { (angularTransform(l: $0, pure: true), angularTransform(l: $0, pure: false)) }

        for si in shells.indices {
            for sj in 0...si {
                let a = shells[si], b = shells[sj]
                let (la, lb) = (a.l, b.l)
                let na = a.cartesianCount, nb = b.cartesianCount
                let block = oneElectronBlock(kind, a, b, charges: charges, ws)
                // Cartesian → output components, then into the matrix (both triangles).
                let ta = a.pure ? transforms[la].0 : transforms[la].1, tb = b.pure ? transforms[lb].0 : transforms[lb].1
                let ma = a.componentCount, mb = b.componentCount
                for ca in 0..<a.contractions {
                    for cb in 0..<b.contractions {
                        let src = block + (ca * b.contractions + cb) * na * nb
                        for i in 0..<ma {
                            for j in 0..<mb {
                                var v = 0.0
                                for x in 0..<na where ta[i * na + x] != 0 {
                                    for y in 0..<nb where tb[j * nb + y] != 0 { v += ta[i * na + x] * tb[j * nb + y] * src[x * nb + y] }
                                }
                                let mu = offsets[si] + ca * ma + i, nu = offsets[sj] + cb * mb + j
                                out[mu * n + nu] = v
                                out[nu * n + mu] = v
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

/// Scratch space for one-electron blocks over shells up to `lMax`.
final class OneElectronWorkspace {
    let lMax: Int
    let ex, ey, ez, f, work, prim, block: UnsafeMutablePointer<Double>
    let cart: [[(Int, Int, Int)]]

    init(lMax: Int, contractions: Int) {
        self.lMax = lMax
        let eDim = (lMax + 1) * (lMax + 3) * (2 * lMax + 3)
        let cartMax = (lMax + 1) * (lMax + 2) / 2
        let L = 2 * lMax, d = L + 1
        ex = .allocate(capacity: 3 * eDim)
        ey = ex + eDim
        ez = ey + eDim
        f = .allocate(capacity: L + 1)
        work = .allocate(capacity: (L + 2) * d * d * d)
        work.initialize(repeating: 0, count: (L + 2) * d * d * d)
        prim = .allocate(capacity: cartMax * cartMax)
        block = .allocate(capacity: contractions * contractions * cartMax * cartMax)
        cart = (0...lMax).map(cartesianExponents)
    }
    deinit { for b in [ex, f, work, prim, block] { b.deallocate() } }
}

extension Basis {
    /// Contracted cartesian block ⟨a|O|b⟩ at ws.block[(ca·nctrB + cb)·na·nb + ia·nb + ib].
    func oneElectronBlock(_ kind: OneElectronKind, _ a: Shell, _ b: Shell, charges: [PointCharge], _ ws: OneElectronWorkspace) -> UnsafeMutablePointer<Double> {
        let (la, lb) = (a.l, b.l)
        let na = a.cartesianCount, nb = b.cartesianCount
        let lbE = kind == .kinetic ? lb + 2 : lb
        let tDim = la + lbE + 1, jDim = lbE + 1
        let ab = a.center - b.center, r2 = (ab * ab).sum()
        let (ex, ey, ez, f, work, prim, block, cart) = (ws.ex, ws.ey, ws.ez, ws.f, ws.work, ws.prim, ws.block, ws.cart)
        block.update(repeating: 0, count: a.contractions * b.contractions * na * nb)
        for (ka, alpha) in a.exponents.enumerated() {
            for (kb, beta) in b.exponents.enumerated() {
                let p = alpha + beta, mu = alpha * beta / p
                let center = (alpha * a.center + beta * b.center) / p
                let pa = center - a.center, pb = center - b.center
                let k = exp(-mu * r2)
                hermiteE(ex, la: la, lb: lbE, pa: pa.x, pb: pb.x, oneOver2p: 0.5 / p)
                hermiteE(ey, la: la, lb: lbE, pa: pa.y, pb: pb.y, oneOver2p: 0.5 / p)
                hermiteE(ez, la: la, lb: lbE, pa: pa.z, pb: pb.z, oneOver2p: 0.5 / p)
                @inline(__always) func e(_ m: UnsafeMutablePointer<Double>, _ i: Int, _ j: Int, _ t: Int) -> Double { m[(i * jDim + j) * tDim + t] }
                switch kind {
                case .overlap, .kinetic:
                    let s1 = (Double.pi / p).squareRoot()
                    // 1-D overlaps, and 1-D kinetic −½⟨i|∂²|j⟩ = −2β² S_{i,j+2} + β(2j+1) S_{ij} − ½ j(j−1) S_{i,j−2}.
                    for (ia, (ax, ay, az)) in cart[la].enumerated() {
                        for (ib, (bx, by, bz)) in cart[lb].enumerated() {
                            let sx = e(ex, ax, bx, 0) * s1, sy = e(ey, ay, by, 0) * s1, sz = e(ez, az, bz, 0) * s1
                            if kind == .overlap { prim[ia * nb + ib] = k * sx * sy * sz; continue }
                            func t1(_ m: UnsafeMutablePointer<Double>, _ i: Int, _ j: Int) -> Double {
                                var t = -2 * beta * beta * e(m, i, j + 2, 0) + beta * Double(2 * j + 1) * e(m, i, j, 0)
                                if j >= 2 { t -= 0.5 * Double(j * (j - 1)) * e(m, i, j - 2, 0) }
                                return t * s1
                            }
                            prim[ia * nb + ib] = k * (t1(ex, ax, bx) * sy * sz + sx * t1(ey, ay, by) * sz + sx * sy * t1(ez, az, bz))
                        }
                    }
                case .attraction:
                    let lab = la + lb, dd = lab + 1
                    prim.update(repeating: 0, count: na * nb)
                    for c in charges {
                        let pc = center - c.position
                        let r = hermiteCoulomb(lab, a: p, x: pc.x, y: pc.y, z: pc.z, f: f, work: work)
                        let scale = -c.charge * 2 * Double.pi / p * k
                        for (ia, (ax, ay, az)) in cart[la].enumerated() {
                            for (ib, (bx, by, bz)) in cart[lb].enumerated() {
                                var v = 0.0
                                for t in 0...(ax + bx) {
                                    let et = e(ex, ax, bx, t)
                                    for u in 0...(ay + by) {
                                        let eu = et * e(ey, ay, by, u)
                                        for w in 0...(az + bz) { v += eu * e(ez, az, bz, w) * r[(t * dd + u) * dd + w] }
                                    }
                                }
                                prim[ia * nb + ib] += scale * v
                            }
                        }
                    }
                }
                for ca in 0..<a.contractions {
                    let wa = a.coefficients[ka * a.contractions + ca]
                    for cb in 0..<b.contractions {
                        let w = wa * b.coefficients[kb * b.contractions + cb]
                        let dst = block + (ca * b.contractions + cb) * na * nb
                        for x in 0..<(na * nb) { dst[x] += w * prim[x] }
                    }
                }
            }
        }
        return block
    }
}

/// Hermite indices (t, u, v) with t + u + v ≤ L.
func hermiteIndices(_ L: Int) -> [(Int, Int, Int)] {
    var out: [(Int, Int, Int)] = []
    for t in 0...L { for u in 0...(L - t) { for v in 0...(L - t - u) { out.append((t, u, v)) } } }
    return out
}

/// One shell pair's primitive pairs for the ERIs: exponent sums, centres, Hermite expansions of
/// every cartesian component pair (with the Gaussian-product prefactor), and contraction weights.
struct ShellPairData {
    var count = 0
    var p: [Double] = []
    var center: [SIMD3<Double>] = []
    /// Per primitive pair: [na·nb × nHermite] E^{ab}_{tuv}; `signed` has (−1)^{t+u+v} folded in (ket side).
    var e: [Double] = []
    var signed: [Double] = []
    /// Per primitive pair: c_a c_b for each column pair (ca·nctrB + cb).
    var weights: [Double] = []
}

extension Basis {
    func pairData(_ a: Shell, _ b: Shell) -> ShellPairData {
        var data = ShellPairData()
        let la = a.l, lb = b.l, tDim = la + lb + 1, jDim = lb + 1
        let eDim = (la + 1) * jDim * tDim
        let buffer = UnsafeMutablePointer<Double>.allocate(capacity: 3 * eDim)
        defer { buffer.deallocate() }
        let ex = buffer, ey = buffer + eDim, ez = buffer + 2 * eDim
        let herm = hermiteIndices(la + lb)
        let ab = a.center - b.center, r2 = (ab * ab).sum()
        let cartA = cartesianTable[la], cartB = cartesianTable[lb]
        for (ka, alpha) in a.exponents.enumerated() {
            for (kb, beta) in b.exponents.enumerated() {
                let p = alpha + beta, k = exp(-alpha * beta / p * r2)
                var largest = 0.0
                for ca in 0..<a.contractions { for cb in 0..<b.contractions {
                    largest = max(largest, abs(a.coefficients[ka * a.contractions + ca] * b.coefficients[kb * b.contractions + cb]))
                } }
                // Negligible products (far apart, tight exponents) contribute below 1e-18.
                if k * largest < 1e-18 { continue }
                for ca in 0..<a.contractions { for cb in 0..<b.contractions {
                    data.weights.append(a.coefficients[ka * a.contractions + ca] * b.coefficients[kb * b.contractions + cb])
                } }
                let center = (alpha * a.center + beta * b.center) / p
                let pa = center - a.center, pb = center - b.center
                hermiteE(ex, la: la, lb: lb, pa: pa.x, pb: pb.x, oneOver2p: 0.5 / p)
                hermiteE(ey, la: la, lb: lb, pa: pa.y, pb: pb.y, oneOver2p: 0.5 / p)
                hermiteE(ez, la: la, lb: lb, pa: pa.z, pb: pb.z, oneOver2p: 0.5 / p)
                for (ax, ay, az) in cartA {
                    for (bx, by, bz) in cartB {
                        for (t, u, v) in herm {
                            let value = k * ex[(ax * jDim + bx) * tDim + t] * ey[(ay * jDim + by) * tDim + u] * ez[(az * jDim + bz) * tDim + v]
                            data.e.append(value)
                            data.signed.append((t + u + v) % 2 == 0 ? value : -value)
                        }
                    }
                }
                data.count += 1
                data.p.append(p)
                data.center.append(center)
            }
        }
        return data
    }

    /// (μν|λσ) in chemists' notation, dense n⁴ row-major; each symmetry-distinct shell quartet
    /// (μν ≥ λσ, μ ≥ ν, λ ≥ σ) is computed once and written to its 8 images.
    public func repulsionTensor() -> [Double] {
        let n = functionCount
        var out = [Double](repeating: 0, count: n * n * n * n)
        let shellCount = shells.count
        guard shellCount > 0 else { return out }
        var pairs: [ShellPairData] = []
        for i in 0..<shellCount { for j in 0...i { pairs.append(pairData(shells[i], shells[j])) } }
        let ws = RepulsionWorkspace(lMax: shells.map(\.l).max()!, contractions: shells.map(\.contractions).max()!)
        let pairMax = ws.pairMax
        let (angular, maps) = angularMaps()
        defer { angular.deallocate() }
        out.withUnsafeMutableBufferPointer { out in
            for i in 0..<shellCount { for j in 0...i {
                let ij = i * (i + 1) / 2 + j
                let bra = pairs[ij]
                let a = shells[i], b = shells[j]
                let nab = a.cartesianCount * b.cartesianCount
                for k in 0...i { for l in 0...(k == i ? j : k) {
                    let ket = pairs[k * (k + 1) / 2 + l]
                    let c = shells[k], dd = shells[l]
                    let ncd = c.cartesianCount * dd.cartesianCount
                    let ctrCD = c.contractions * dd.contractions
                    let block = repulsionBlock(bra, a, b, ket, c, dd, ws)
                    // To output components, one index at a time, then the 8 images.
                    let (ma, mb, mc, md) = (maps[i].nOut, maps[j].nOut, maps[k].nOut, maps[l].nOut)
                    for ca in 0..<a.contractions { for cb in 0..<b.contractions {
                        for cc in 0..<c.contractions { for cd in 0..<dd.contractions {
                            let src = block + ((ca * b.contractions + cb) * ctrCD + cc * dd.contractions + cd) * nab * ncd
                            let result = transformQuartet(src, maps[i], maps[j], maps[k], maps[l], scratch: ws.scratch, half: pairMax * pairMax)
                            let o0 = offsets[i] + ca * ma, o1 = offsets[j] + cb * mb, o2 = offsets[k] + cc * mc, o3 = offsets[l] + cd * md
                            var z = 0
                            for i0 in 0..<ma { for i1 in 0..<mb { for i2 in 0..<mc { for i3 in 0..<md {
                                let v = result[z]; z += 1
                                let (mu, nu, la, si) = (o0 + i0, o1 + i1, o2 + i2, o3 + i3)
                                out[((mu * n + nu) * n + la) * n + si] = v
                                out[((nu * n + mu) * n + la) * n + si] = v
                                out[((mu * n + nu) * n + si) * n + la] = v
                                out[((nu * n + mu) * n + si) * n + la] = v
                                out[((la * n + si) * n + mu) * n + nu] = v
                                out[((si * n + la) * n + mu) * n + nu] = v
                                out[((la * n + si) * n + nu) * n + mu] = v
                                out[((si * n + la) * n + nu) * n + mu] = v
                            } } } }
                        } }
                    } }
                } }
            } }
        }
        return out
    }
}

/// Scratch space for ERI blocks over shells up to `lMax` with up to `contractions` columns.
final class RepulsionWorkspace {
    let lMax: Int, pairMax: Int
    let f, work, ketSum, ketTerm, rrow, prim, block, scratch: UnsafeMutablePointer<Double>
    let offA, offC: UnsafeMutablePointer<Int>
    let herms: [[(Int, Int, Int)]]
    let prefactor = 2 * pow(Double.pi, 2.5)

    init(lMax: Int, contractions ctrMax: Int) {
        self.lMax = lMax
        let L = 4 * lMax, d = L + 1
        let cartMax = (lMax + 1) * (lMax + 2) / 2
        let hermMax = (2 * lMax + 1) * (2 * lMax + 2) * (2 * lMax + 3) / 6
        pairMax = cartMax * cartMax
        let ctr2 = ctrMax * ctrMax
        f = .allocate(capacity: L + 1)
        work = .allocate(capacity: (L + 2) * d * d * d)
        work.initialize(repeating: 0, count: (L + 2) * d * d * d)
        ketSum = .allocate(capacity: ctr2 * hermMax * pairMax)
        ketTerm = .allocate(capacity: hermMax * pairMax)
        rrow = .allocate(capacity: hermMax)
        prim = .allocate(capacity: ctr2 * pairMax * pairMax)
        block = .allocate(capacity: ctr2 * ctr2 * pairMax * pairMax)
        scratch = .allocate(capacity: 2 * pairMax * pairMax)
        offA = .allocate(capacity: hermMax)
        offC = .allocate(capacity: hermMax)
        herms = (0...(2 * lMax)).map(hermiteIndices)
    }
    deinit {
        for b in [f, work, ketSum, ketTerm, rrow, prim, block, scratch] { b.deallocate() }
        offA.deallocate(); offC.deallocate()
    }
}

extension Basis {
    /// Contracted cartesian (ab|cd) at ws.block[((cab·nctrCD + ccd)·nab + ab)·ncd + cd], cab = ca·nctrB + cb.
    func repulsionBlock(_ bra: ShellPairData, _ a: Shell, _ b: Shell, _ ket: ShellPairData, _ c: Shell, _ dd: Shell,
                        _ ws: RepulsionWorkspace) -> UnsafeMutablePointer<Double> {
        let (f, work, ketSum, ketTerm, rrow, prim, block, offA, offC) = (ws.f, ws.work, ws.ketSum, ws.ketTerm, ws.rrow, ws.prim, ws.block, ws.offA, ws.offC)
        let prefactor = ws.prefactor
        let nab = a.cartesianCount * b.cartesianCount, hab = ws.herms[a.l + b.l]
        let ctrAB = a.contractions * b.contractions
        let ncd = c.cartesianCount * dd.cartesianCount, hcd = ws.herms[c.l + dd.l]
        let ctrCD = c.contractions * dd.contractions
        let lTotal = a.l + b.l + c.l + dd.l, dim = lTotal + 1
        block.update(repeating: 0, count: ctrAB * ctrCD * nab * ncd)
        // R index of (t+τ, u+ν, v+φ) is offA[h1] + offC[h2].
        for (h, (t, u, v)) in hab.enumerated() { offA[h] = (t * dim + u) * dim + v }
        for (h, (t, u, v)) in hcd.enumerated() { offC[h] = (t * dim + u) * dim + v }
        let nha = hab.count, nhc = hcd.count
        bra.e.withUnsafeBufferPointer { braE in
        ket.signed.withUnsafeBufferPointer { ketE in
        for x in 0..<bra.count {
            let p = bra.p[x], P = bra.center[x]
            let eab = braE.baseAddress! + x * nab * nha
            // Ket primitives summed first: W[ccd][h1][cd] = Σ_y w_y s_y Σ_h2 R_y[h1+h2] E^{cd}_{y,h2}(−1)^{h2}.
            ketSum.update(repeating: 0, count: ctrCD * nha * ncd)
            for y in 0..<ket.count {
                let q = ket.p[y], pq = P - ket.center[y]
                let r = hermiteCoulomb(lTotal, a: p * q / (p + q), x: pq.x, y: pq.y, z: pq.z, f: f, work: work)
                let ecd = ketE.baseAddress! + y * ncd * nhc
                let scale = prefactor / (p * q * (p + q).squareRoot())
                for h1 in 0..<nha {
                    let rBase = r + offA[h1]
                    for h2 in 0..<nhc { rrow[h2] = rBase[offC[h2]] }
                    let vRow = ketTerm + h1 * ncd
                    for m2 in 0..<ncd {
                        let col = ecd + m2 * nhc
                        var sum = 0.0
                        for h2 in 0..<nhc { sum += rrow[h2] * col[h2] }
                        vRow[m2] = scale * sum
                    }
                }
                for ccd in 0..<ctrCD {
                    let weight = ket.weights[y * ctrCD + ccd]
                    let dst = ketSum + ccd * nha * ncd
                    for z in 0..<(nha * ncd) { dst[z] += weight * ketTerm[z] }
                }
            }
            // prim[ccd][ab][cd] = Σ_h1 E^{ab}_{h1} W[ccd][h1][cd], then weighted into the block.
            prim.update(repeating: 0, count: ctrCD * nab * ncd)
            for ccd in 0..<ctrCD {
                let wc = ketSum + ccd * nha * ncd, pc = prim + ccd * nab * ncd
                for m in 0..<nab {
                    let row = pc + m * ncd
                    for h1 in 0..<nha {
                        let e = eab[m * nha + h1]
                        if e == 0 { continue }
                        let wRow = wc + h1 * ncd
                        for m2 in 0..<ncd { row[m2] += e * wRow[m2] }
                    }
                }
            }
            for cab in 0..<ctrAB {
                let weight = bra.weights[x * ctrAB + cab]
                let dst = block + cab * ctrCD * nab * ncd
                for z in 0..<(ctrCD * nab * ncd) { dst[z] += weight * prim[z] }
            }
        }
        } }
        return block
    }
}

extension Basis {
    /// One flat copy of each shell's angular matrix (the caller deallocates the storage), so
    /// quartet loops allocate nothing.
    func angularMaps() -> (storage: UnsafeMutablePointer<Double>, maps: [AngularMap]) {
        let matrices = shells.map { angularTransform(l: $0.l, pure: $0.pure) }
        let storage = UnsafeMutablePointer<Double>.allocate(capacity: matrices.reduce(0) { $0 + $1.count })
        var maps: [AngularMap] = [], cursor = storage
        for (shell, m) in zip(shells, matrices) {
            cursor.initialize(from: m, count: m.count)
            maps.append(AngularMap(matrix: cursor, nIn: shell.cartesianCount, nOut: shell.componentCount))
            cursor += m.count
        }
        return (storage, maps)
    }
}

/// A shell's cartesian → output-component matrix (nOut × nIn, row-major).
struct AngularMap {
    let matrix: UnsafePointer<Double>
    let nIn: Int, nOut: Int
}

/// Cartesian quartet block [a][b][c][d] → output components, transforming the last index and
/// rotating it to the front four times; returns a pointer into `scratch` (two halves of `half`
/// doubles, used in turn) holding [i][j][k][l].
@inline(__always)
func transformQuartet(_ src: UnsafeMutablePointer<Double>, _ a: AngularMap, _ b: AngularMap, _ c: AngularMap, _ d: AngularMap,
                      scratch: UnsafeMutablePointer<Double>, half: Int) -> UnsafeMutablePointer<Double> {
    var input = src
    var rows = a.nIn * b.nIn * c.nIn * d.nIn
    for step in 0..<4 {
        let map = step == 0 ? d : step == 1 ? c : step == 2 ? b : a
        let t = map.matrix, nIn = map.nIn, nOut = map.nOut
        rows /= nIn
        let target = step % 2 == 0 ? scratch : scratch + half
        for o in 0..<nOut {
            for r in 0..<rows {
                var v = 0.0
                for w in 0..<nIn { let c = t[o * nIn + w]; if c != 0 { v += c * input[r * nIn + w] } }
                target[o * rows + r] = v
            }
        }
        rows *= nOut
        input = target
    }
    return input
}
