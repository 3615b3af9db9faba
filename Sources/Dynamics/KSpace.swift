// Long-range Coulomb (LAMMPS KSpace): the reciprocal-space part that completes coul/long's
// real-space erfc term. Ewald here; PPPM in PPPM.swift. Rank sums go through Communicator.
import ForgeCore
import Foundation

/// The owned atoms a k-space solver reads (positions, charges) and adds forces to.
public struct KSpaceInput {
    let x: UnsafeMutablePointer<Double>
    let q: UnsafeMutablePointer<Double>
    let f: UnsafeMutablePointer<Double>
    let nlocal: Int
}

/// Global (all-rank) results of one k-space computation; the same value on every rank.
public struct KSpaceTally: Sendable {
    public var energy = 0.0
    /// Virial xx, yy, zz, xy, xz, yz.
    public var virial = [Double](repeating: 0, count: 6)
}

public protocol KSpace: AnyObject {
    var name: String { get }
    /// The Ewald splitting parameter (1/distance) shared with the pair style.
    var gEwald: Double { get }
    /// Lines describing the chosen parameters (LAMMPS prints the same at init).
    var summary: [String] { get }
    /// Adds the k-space forces of the owned atoms; energy and virial when asked. Collective.
    func compute(_ a: KSpaceInput, comm: Communicator, energy: Bool) -> KSpaceTally
}

/// Charge sums every k-space style needs (LAMMPS KSpace::qsum_qsq).
public struct ChargeSums: Sendable {
    public var qsum: Double, qsqsum: Double, natoms: Int
    /// Charges are neutral to LAMMPS' tolerance (SMALL = 1e-5).
    public var isNeutral: Bool { abs(qsum) <= 1e-5 }
}

/// How the user set a k-space style up (job file [kspace]).
public struct KSpaceSettings: Sendable, Equatable {
    public enum Style: String, Sendable { case ewald, pppm }
    public var style: Style
    /// Relative force accuracy (LAMMPS kspace_style's argument).
    public var accuracy: Double
    public var gEwald: Double?
    /// Ewald: kmax per axis.
    public var kmax: SIMD3<Int>?
    /// PPPM: mesh points per axis and assignment order.
    public var mesh: SIMD3<Int>?
    public var order: Int
    public init(style: Style, accuracy: Double, gEwald: Double? = nil, kmax: SIMD3<Int>? = nil,
                mesh: SIMD3<Int>? = nil, order: Int = 5) {
        (self.style, self.accuracy, self.gEwald, self.kmax, self.mesh, self.order) = (style, accuracy, gEwald, kmax, mesh, order)
    }
}

extension UnitStyle {
    /// Coulomb constant q²/r → energy (LAMMPS force->qqr2e, dielectric 1).
    public var qqrd2e: Double {
        switch self { case .lj: 1; case .real: 332.06371; case .metal: 14.399645 }
    }
    /// The force between two unit charges 1 distance unit apart (LAMMPS two_charge_force),
    /// the scale of kspace_style's relative accuracy.
    public var twoChargeForce: Double { qqrd2e }
}

extension ChargeSums {
    /// LAMMPS' first g_ewald estimate (Ewald and PPPM init) from the absolute force accuracy,
    /// the real-space cutoff and the box volume.
    func initialGEwald(accuracy: Double, cutoff: Double, volume: Double, qqrd2e: Double) -> Double {
        let g = accuracy * (Double(max(natoms, 1)) * cutoff * volume).squareRoot() / (2 * qsqsum * qqrd2e)
        return g >= 1 ? (1.35 - 0.15 * Foundation.log(accuracy)) / cutoff : (-Foundation.log(g)).squareRoot() / cutoff
    }
}

/// Standard Ewald summation (LAMMPS kspace_style ewald): every k in the half space with
/// |k|² ≤ the largest axis k², structure factors summed over ranks.
public final class Ewald: KSpace {
    public let gEwald: Double
    public let kmax: SIMD3<Int>
    let box: SIMD3<Double>
    let volume: Double
    let sums: ChargeSums
    let qqrd2e: Double
    /// k-vectors (integer multiples of 2π/L), their energy weights ug and field weights eg.
    var kvec: [SIMD3<Int32>] = []
    var ug: [Double] = []
    var vg: [Double] = []  // 6 per k
    public private(set) var summary: [String] = []
    public var name: String { "ewald" }
    // Work arrays reused between steps: axis phase tables and the field per atom.
    var cs: [Double] = [], sn: [Double] = []
    var ekx: [Double] = [], eky: [Double] = [], ekz: [Double] = []

    /// `accuracy` is relative (× the two-charge force). g_ewald and kmax are estimated as LAMMPS
    /// does unless given.
    public init(box: SIMD3<Double>, charges: ChargeSums, units: UnitStyle, cutoff: Double,
                accuracy relative: Double, gEwald: Double?, kmax: SIMD3<Int>?) {
        self.box = box
        volume = box.x * box.y * box.z
        sums = charges
        qqrd2e = units.qqrd2e
        let accuracy = relative * units.twoChargeForce
        let natoms = Double(max(charges.natoms, 1))
        let q2 = charges.qsqsum * qqrd2e
        let g = gEwald ?? charges.initialGEwald(accuracy: accuracy, cutoff: cutoff, volume: volume, qqrd2e: qqrd2e)
        self.gEwald = g
        func rms(_ km: Int, _ prd: Double) -> Double {
            2 * q2 * g / prd * (1 / (Double.pi * Double(km) * natoms)).squareRoot()
                * Foundation.exp(-Double.pi * Double.pi * Double(km * km) / (g * g * prd * prd))
        }
        var k = SIMD3(1, 1, 1)
        if let kmax {
            k = kmax
        } else {
            for d in 0..<3 { while rms(k[d], box[d]) > accuracy { k[d] += 1 } }
        }
        self.kmax = k
        setUpVectors()
        let lpr = ((0..<3).map { rms(k[$0], box[$0]) }.map { $0 * $0 }.reduce(0, +)).squareRoot() / 3.0.squareRoot()
        let spr = 2 * q2 / (natoms * cutoff * volume).squareRoot() * Foundation.exp(-g * g * cutoff * cutoff)
        let estimate = (lpr * lpr + spr * spr).squareRoot()
        summary = [
            String(format: "  ewald: g_ewald = %.10g, kmax = [%d, %d, %d], %d k-vectors", g, k.x, k.y, k.z, kvec.count),
            String(format: "  estimated absolute RMS force accuracy = %.6g, relative = %.6g", estimate, estimate / units.twoChargeForce),
        ]
    }

    func setUpVectors() {
        let unitk = SIMD3(2 * Double.pi / box.x, 2 * Double.pi / box.y, 2 * Double.pi / box.z)
        let kmaxAll = max(kmax.x, kmax.y, kmax.z)
        var gsqmx = 0.0
        for d in 0..<3 { gsqmx = max(gsqmx, unitk[d] * unitk[d] * Double(kmax[d] * kmax[d])) }
        gsqmx *= 1.00001
        let ginv2 = 1 / (gEwald * gEwald)
        let preu = 4 * Double.pi / volume
        func add(_ k: SIMD3<Int>) {
            let kv = SIMD3(Double(k.x) * unitk.x, Double(k.y) * unitk.y, Double(k.z) * unitk.z)
            let sqk = (kv * kv).sum()
            guard sqk <= gsqmx else { return }
            kvec.append(SIMD3(Int32(k.x), Int32(k.y), Int32(k.z)))
            ug.append(preu * Foundation.exp(-0.25 * sqk * ginv2) / sqk)
            let vterm = -2 * (1 / sqk + 0.25 * ginv2)
            vg += [1 + vterm * kv.x * kv.x, 1 + vterm * kv.y * kv.y, 1 + vterm * kv.z * kv.z,
                   vterm * kv.x * kv.y, vterm * kv.x * kv.z, vterm * kv.y * kv.z]
        }
        // LAMMPS' half space: axes up to the largest kmax, then planes and the octants with k > 0.
        for m in 1...kmaxAll { add(SIMD3(m, 0, 0)); add(SIMD3(0, m, 0)); add(SIMD3(0, 0, m)) }
        for k in 1...kmax.x { for l in 1...kmax.y { add(SIMD3(k, l, 0)); add(SIMD3(k, -l, 0)) } }
        for l in 1...kmax.y { for m in 1...kmax.z { add(SIMD3(0, l, m)); add(SIMD3(0, l, -m)) } }
        for k in 1...kmax.x { for m in 1...kmax.z { add(SIMD3(k, 0, m)); add(SIMD3(k, 0, -m)) } }
        for k in 1...kmax.x {
            for l in 1...kmax.y {
                for m in 1...kmax.z {
                    add(SIMD3(k, l, m)); add(SIMD3(k, -l, m)); add(SIMD3(k, l, -m)); add(SIMD3(k, -l, -m))
                }
            }
        }
    }

    public func compute(_ a: KSpaceInput, comm: Communicator, energy: Bool) -> KSpaceTally {
        var tally = KSpaceTally()
        guard sums.qsqsum > 0 else { return tally }
        let n = a.nlocal
        let km = max(kmax.x, kmax.y, kmax.z)
        // cos and sin of m·(2π/L)·x per axis, m = 0…km, atoms fastest (the k loops below run
        // over atoms), by the angle-addition recurrence as LAMMPS' eik_dot_r.
        let stride = km + 1
        if cs.count < 3 * stride * n || ekx.count < n {
            cs = .init(repeating: 0, count: 3 * stride * n)
            sn = cs
            ekx = .init(repeating: 0, count: n); eky = ekx; ekz = ekx
        }
        let unitk = SIMD3(2 * Double.pi / box.x, 2 * Double.pi / box.y, 2 * Double.pi / box.z)
        cs.withUnsafeMutableBufferPointer { cs in
        sn.withUnsafeMutableBufferPointer { sn in
            for d in 0..<3 {
                let row0 = d * stride * n
                for i in 0..<n {
                    cs[row0 + i] = 1
                    sn[row0 + i] = 0
                    cs[row0 + n + i] = Foundation.cos(unitk[d] * a.x[3 * i + d])
                    sn[row0 + n + i] = Foundation.sin(unitk[d] * a.x[3 * i + d])
                }
                for m in stride > 2 ? 2..<stride : 0..<0 {
                    let row = row0 + m * n, prev = row - n, one = row0 + n
                    for i in 0..<n {
                        cs[row + i] = cs[prev + i] * cs[one + i] - sn[prev + i] * sn[one + i]
                        sn[row + i] = sn[prev + i] * cs[one + i] + cs[prev + i] * sn[one + i]
                    }
                }
            }
        }}
        let kc = kvec.count
        var sfac = [Double](repeating: 0, count: 2 * kc)
        let qscale = qqrd2e
        for i in 0..<n { ekx[i] = 0; eky[i] = 0; ekz[i] = 0 }
        cs.withUnsafeBufferPointer { cs in
        sn.withUnsafeBufferPointer { sn in
        ekx.withUnsafeMutableBufferPointer { ex in
        eky.withUnsafeMutableBufferPointer { ey in
        ekz.withUnsafeMutableBufferPointer { ez in
            let q = a.q
            // e^{i k·x_i} is the product of the three axis factors, sin taking the sign of m.
            @inline(__always) func phase(_ rx: Int, _ ry: Int, _ rz: Int, _ sy: Double, _ sz: Double, _ i: Int) -> (Double, Double) {
                let cy = cs[ry + i], syv = sy * sn[ry + i], cz = cs[rz + i], szv = sz * sn[rz + i]
                let cyz = cy * cz - syv * szv, syz = syv * cz + cy * szv
                let cx = cs[rx + i], sx = sn[rx + i]
                return (cx * cyz - sx * syz, sx * cyz + cx * syz)
            }
            for k in 0..<kc {
                let v = kvec[k]
                let rx = Int(abs(v.x)) * n, ry = (stride + Int(abs(v.y))) * n, rz = (2 * stride + Int(abs(v.z))) * n
                let sy = v.y < 0 ? -1.0 : 1.0, sz = v.z < 0 ? -1.0 : 1.0
                var re = 0.0, im = 0.0
                for i in 0..<n {
                    let (c, s) = phase(rx, ry, rz, sy, sz, i)
                    re += q[i] * c
                    im += q[i] * s
                }
                sfac[2 * k] = re
                sfac[2 * k + 1] = im
            }
            comm.allreduceSum(&sfac)
            for k in 0..<kc {
                let v = kvec[k]
                let rx = Int(abs(v.x)) * n, ry = (stride + Int(abs(v.y))) * n, rz = (2 * stride + Int(abs(v.z))) * n
                let sy = v.y < 0 ? -1.0 : 1.0, sz = v.z < 0 ? -1.0 : 1.0
                let sre = sfac[2 * k], sim = sfac[2 * k + 1]
                let w = 2 * ug[k]
                let gx = w * Double(v.x) * unitk.x, gy = w * Double(v.y) * unitk.y, gz = w * Double(v.z) * unitk.z
                for i in 0..<n {
                    let (c, s) = phase(rx, ry, rz, sy, sz, i)
                    let partial = s * sre - c * sim
                    ex[i] += partial * gx
                    ey[i] += partial * gy
                    ez[i] += partial * gz
                }
            }
        }}}}}
        for i in 0..<n {
            let qf = qscale * a.q[i]
            a.f[3 * i] += qf * ekx[i]
            a.f[3 * i + 1] += qf * eky[i]
            a.f[3 * i + 2] += qf * ekz[i]
        }
        if energy {
            var u = 0.0
            for k in 0..<kc {
                let s2 = sfac[2 * k] * sfac[2 * k] + sfac[2 * k + 1] * sfac[2 * k + 1]
                let uk = ug[k] * s2
                u += uk
                for j in 0..<6 { tally.virial[j] += uk * vg[6 * k + j] }
            }
            u -= gEwald * sums.qsqsum / Double.pi.squareRoot()
                + 0.5 * Double.pi * sums.qsum * sums.qsum / (gEwald * gEwald * volume)
            tally.energy = qscale * u
            for j in 0..<6 { tally.virial[j] *= qscale }
        }
        return tally
    }
}
