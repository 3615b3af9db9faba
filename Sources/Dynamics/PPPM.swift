// PPPM (LAMMPS kspace_style pppm, ik differentiation): charges spread on a mesh with order-P
// B-spline weights, Poisson's equation solved by FFT with the Hockney–Eastwood optimal
// influence function, fields interpolated back with the same weights. The sums follow LAMMPS'
// pppm.cpp, so given the same g_ewald, mesh and order the energies agree to round-off.
//
// Each rank spreads and interpolates its own atoms; the mesh density is summed over the ranks
// and the FFTs run on the whole mesh on every rank (the mesh is small next to the atoms for
// the systems PPPM is used on; a slab-distributed FFT is the next step for very large meshes).
import CFFTW
import ForgeCore
import Foundation

public struct PPPMError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

public final class PPPM: KSpace {
    public let gEwald: Double
    public let mesh: SIMD3<Int>
    public let order: Int
    let box: SIMD3<Double>
    /// The box's lower corner (grid point 0).
    let origin: SIMD3<Double>
    let volume: Double
    let sums: ChargeSums
    let qqrd2e: Double
    let delinv: SIMD3<Double>
    let shift: Double, shiftone: Double
    let nlower: Int, nupper: Int
    /// rhoCoeff[l * order + (k − nlower)]: polynomial coefficient l of stencil point k.
    var rhoCoeff: [Double] = []
    var greensfn: [Double] = []
    var vg: [Double] = []
    var fk: [[Double]] = []
    // FFTW work arrays and plans (estimate-mode plans: the same arithmetic on every run, so
    // restarts repeat bit for bit).
    let count: Int
    let work1: UnsafeMutablePointer<fftw_complex>
    let work2: UnsafeMutablePointer<fftw_complex>
    let forward: fftw_plan
    let backward: fftw_plan
    var density: [Double]
    var field: [Double]
    /// Per owned atom: first stencil index per axis, and P weights per axis.
    var stencilStart: [Int32] = []
    var stencilWeight: [Double] = []
    public private(set) var summary: [String] = []
    public var name: String { "pppm" }

    static let offset = 16384
    static let planner = NSLock()

    /// LAMMPS' acons: coefficients of the ik-differentiation error estimate per order.
    static let acons: [[Double]] = [
        [], [2.0 / 3.0], [1.0 / 50.0, 5.0 / 294.0], [1.0 / 588.0, 7.0 / 1440.0, 21.0 / 3872.0],
        [1.0 / 4320.0, 3.0 / 1936.0, 7601.0 / 2271360.0, 143.0 / 28800.0],
        [1.0 / 23232.0, 7601.0 / 13628160.0, 143.0 / 69120.0, 517231.0 / 106536960.0, 106640677.0 / 11737571328.0],
        [691.0 / 68140800.0, 13.0 / 57600.0, 47021.0 / 35512320.0, 9694607.0 / 2095994880.0,
         733191589.0 / 59609088000.0, 326190917.0 / 11700633600.0],
        [1.0 / 345600.0, 3617.0 / 35512320.0, 745739.0 / 838397952.0, 56399353.0 / 12773376000.0,
         25091609.0 / 1560084480.0, 1755948832039.0 / 36229939200000.0, 4887769399.0 / 37838389248.0],
    ]

    /// `accuracy` is relative (× the two-charge force). g_ewald and the mesh are estimated as
    /// LAMMPS does unless given (g_ewald then tuned by Newton–Raphson to balance the real- and
    /// k-space errors).
    public init(origin: SIMD3<Double>, box: SIMD3<Double>, charges: ChargeSums, units: UnitStyle, cutoff: Double,
                accuracy relative: Double, gEwald given: Double?, mesh givenMesh: SIMD3<Int>?, order: Int) throws {
        guard (2...7).contains(order) else { throw PPPMError(description: "PPPM order must be 2…7") }
        self.box = box
        self.origin = origin
        self.order = order
        let vol = box.x * box.y * box.z
        volume = vol
        sums = charges
        qqrd2e = units.qqrd2e
        let accuracy = relative * units.twoChargeForce
        let natoms = Double(max(charges.natoms, 1))
        let q2 = charges.qsqsum * qqrd2e
        var g = given ?? 0
        if given == nil {
            guard q2 > 0 else { throw PPPMError(description: "PPPM needs 'kspace.g_ewald' for a system without charges") }
            g = charges.initialGEwald(accuracy: accuracy, cutoff: cutoff, volume: vol, qqrd2e: qqrd2e)
        }
        func ikError(_ h: Double, _ prd: Double, _ g: Double) -> Double {
            var sum = 0.0
            for m in 0..<order { sum += Self.acons[order][m] * Foundation.pow(h * g, 2 * Double(m)) }
            return q2 * Foundation.pow(h * g, Double(order)) * (g * prd * (2 * Double.pi).squareRoot() * sum / natoms).squareRoot() / (prd * prd)
        }
        var n = givenMesh ?? SIMD3(0, 0, 0)
        if givenMesh == nil {
            for d in 0..<3 {
                var h = 1 / g
                n[d] = Int(box[d] / h) + 1
                var err = ikError(h, box[d], g)
                while err > accuracy {
                    err = ikError(h, box[d], g)
                    n[d] += 1
                    h = box[d] / Double(n[d])
                }
            }
        }
        func factorable(_ m: Int) -> Bool {
            var m = m
            while m > 1 {
                guard let f = [2, 3, 5].first(where: { m % $0 == 0 }) else { return false }
                m /= f
            }
            return true
        }
        for d in 0..<3 { while !factorable(n[d]) { n[d] += 1 } }
        func dfKSpace(_ g: Double) -> Double {
            let e = (0..<3).map { ikError(box[$0] / Double(n[$0]), box[$0], g) }
            return (e.map { $0 * $0 }.reduce(0, +)).squareRoot() / 3.0.squareRoot()
        }
        func dfRSpace(_ g: Double) -> Double {
            2 * q2 * Foundation.exp(-g * g * cutoff * cutoff) / (natoms * cutoff * vol).squareRoot()
        }
        if given == nil {
            // LAMMPS adjust_gewald: Newton–Raphson on f(g) = real-space error − k-space error.
            func f(_ g: Double) -> Double { dfRSpace(g) - dfKSpace(g) }
            var converged = false
            for _ in 0..<10_000 {
                let h = 0.000001
                let derivative = (f(g + h) - f(g)) / h
                g -= f(g) / derivative
                if abs(f(g)) < 0.00001 { converged = true; break }
            }
            guard converged, g.isFinite, g > 0 else { throw PPPMError(description: "could not tune g_ewald for PPPM; give 'kspace.g_ewald'") }
        }
        gEwald = g
        mesh = n
        delinv = SIMD3(Double(n.x) / box.x, Double(n.y) / box.y, Double(n.z) / box.z)
        shift = order % 2 == 1 ? Double(Self.offset) + 0.5 : Double(Self.offset)
        shiftone = order % 2 == 1 ? 0 : 0.5
        nlower = -(order - 1) / 2
        nupper = order / 2
        count = n.x * n.y * n.z
        work1 = fftw_alloc_complex(count)
        work2 = fftw_alloc_complex(count)
        // FFTW's last index is the fastest: (z, y, x) as LAMMPS stores its bricks. Its planner is
        // not thread-safe (in-process test ranks are threads): one planner at a time.
        Self.planner.lock()
        forward = fftw_plan_dft_3d(Int32(n.z), Int32(n.y), Int32(n.x), work1, work1, FFTW_FORWARD, UInt32(FFTW_ESTIMATE))
        backward = fftw_plan_dft_3d(Int32(n.z), Int32(n.y), Int32(n.x), work2, work2, FFTW_BACKWARD, UInt32(FFTW_ESTIMATE))
        Self.planner.unlock()
        density = .init(repeating: 0, count: count)
        field = .init(repeating: 0, count: 3 * count)
        computeRhoCoeff()
        computeGreensFunction()
        let dk = dfKSpace(g), dr = dfRSpace(g)
        let estimate = (dk * dk + dr * dr).squareRoot()
        summary = [
            String(format: "  pppm: g_ewald = %.10g, mesh = [%d, %d, %d], order = %d", g, n.x, n.y, n.z, order),
            String(format: "  estimated absolute RMS force accuracy = %.6g, relative = %.6g", estimate, estimate / units.twoChargeForce),
        ]
    }

    deinit {
        Self.planner.lock()
        fftw_destroy_plan(forward)
        fftw_destroy_plan(backward)
        Self.planner.unlock()
        fftw_free(work1)
        fftw_free(work2)
    }

    /// LAMMPS compute_rho_coeff: the charge-assignment polynomials of order P.
    func computeRhoCoeff() {
        let p = order
        // a[l][k], k in −p…p stored at k + p.
        var a = [[Double]](repeating: [Double](repeating: 0, count: 2 * p + 1), count: p)
        a[0][p] = 1
        for j in 1..<p {
            for k in stride(from: -j, through: j, by: 2) {
                var s = 0.0
                for l in 0..<j {
                    a[l + 1][k + p] = (a[l][k + 1 + p] - a[l][k - 1 + p]) / Double(l + 1)
                    s += Foundation.pow(0.5, Double(l + 1)) * (a[l][k - 1 + p] + Foundation.pow(-1, Double(l)) * a[l][k + 1 + p]) / Double(l + 1)
                }
                a[0][k + p] = s
            }
        }
        rhoCoeff = .init(repeating: 0, count: p * p)
        var m = 0
        for k in stride(from: -(p - 1), to: p, by: 2) {
            for l in 0..<p { rhoCoeff[l * p + m] = a[l][k + p] }
            m += 1
        }
    }

    /// LAMMPS compute_gf_denom + compute_gf_ik, and the virial coefficients of setup().
    func computeGreensFunction() {
        let p = order
        var gfB = [Double](repeating: 0, count: p)
        gfB[0] = 1
        for m in 1..<p {
            var l = m
            while l > 0 {
                gfB[l] = 4 * (gfB[l] * Double(l - m) * (Double(l - m) - 0.5) - gfB[l - 1] * Double(l - m - 1) * Double(l - m - 1))
                l -= 1
            }
            gfB[0] = 4 * (gfB[0] * Double(l - m) * (Double(l - m) - 0.5))
        }
        var ifact = 1.0
        for k in 1..<(2 * p) { ifact *= Double(k) }
        for l in 0..<p { gfB[l] /= ifact }
        func gfDenom(_ x: Double, _ y: Double, _ z: Double) -> Double {
            var sx = 0.0, sy = 0.0, sz = 0.0
            for l in stride(from: p - 1, through: 0, by: -1) {
                sx = gfB[l] + sx * x
                sy = gfB[l] + sy * y
                sz = gfB[l] + sz * z
            }
            let s = sx * sy * sz
            return s * s
        }
        func powsinxx(_ x: Double, _ n: Int) -> Double {
            if x == 0 { return 1 }
            var ww = Foundation.sin(x) / x, yy = 1.0, n = n
            while n != 0 {
                if n & 1 != 0 { yy *= ww }
                n >>= 1
                ww *= ww
            }
            return yy
        }
        let g = gEwald
        let unitk = SIMD3(2 * Double.pi / box.x, 2 * Double.pi / box.y, 2 * Double.pi / box.z)
        fk = (0..<3).map { d in (0..<mesh[d]).map { i in unitk[d] * Double(i - mesh[d] * ((2 * i) / mesh[d])) } }
        let epsHOC = 1.0e-7
        let nb = (0..<3).map { d in Int((g * box[d] / (Double.pi * Double(mesh[d]))) * Foundation.pow(-Foundation.log(epsHOC), 0.25)) }
        let twoorder = 2 * p
        greensfn = .init(repeating: 0, count: count)
        vg = .init(repeating: 0, count: 6 * count)
        var n = 0
        for m in 0..<mesh.z {
            let mper = m - mesh.z * ((2 * m) / mesh.z)
            let snz = Foundation.pow(Foundation.sin(0.5 * unitk.z * Double(mper) * box.z / Double(mesh.z)), 2)
            for l in 0..<mesh.y {
                let lper = l - mesh.y * ((2 * l) / mesh.y)
                let sny = Foundation.pow(Foundation.sin(0.5 * unitk.y * Double(lper) * box.y / Double(mesh.y)), 2)
                for k in 0..<mesh.x {
                    let kper = k - mesh.x * ((2 * k) / mesh.x)
                    let snx = Foundation.pow(Foundation.sin(0.5 * unitk.x * Double(kper) * box.x / Double(mesh.x)), 2)
                    let kx = unitk.x * Double(kper), ky = unitk.y * Double(lper), kz = unitk.z * Double(mper)
                    let sqk = kx * kx + ky * ky + kz * kz
                    defer { n += 1 }
                    guard sqk != 0 else { continue }
                    let vterm = -2 * (1 / sqk + 0.25 / (g * g))
                    vg.replaceSubrange((6 * n)..<(6 * n + 6), with: [1 + vterm * kx * kx, 1 + vterm * ky * ky, 1 + vterm * kz * kz,
                                                                    vterm * kx * ky, vterm * kx * kz, vterm * ky * kz])
                    let numerator = 12.5663706 / sqk  // LAMMPS' own rounding of 4π
                    let denominator = gfDenom(snx, sny, snz)
                    var sum1 = 0.0
                    for nx in -nb[0]...nb[0] {
                        let qx = unitk.x * Double(kper + mesh.x * nx)
                        let sx = Foundation.exp(-0.25 * (qx / g) * (qx / g))
                        let wx = powsinxx(0.5 * qx * box.x / Double(mesh.x), twoorder)
                        for ny in -nb[1]...nb[1] {
                            let qy = unitk.y * Double(lper + mesh.y * ny)
                            let sy = Foundation.exp(-0.25 * (qy / g) * (qy / g))
                            let wy = powsinxx(0.5 * qy * box.y / Double(mesh.y), twoorder)
                            for nz in -nb[2]...nb[2] {
                                let qz = unitk.z * Double(mper + mesh.z * nz)
                                let sz = Foundation.exp(-0.25 * (qz / g) * (qz / g))
                                let wz = powsinxx(0.5 * qz * box.z / Double(mesh.z), twoorder)
                                let dot1 = kx * qx + ky * qy + kz * qz
                                let dot2 = qx * qx + qy * qy + qz * qz
                                sum1 += (dot1 / dot2) * sx * sy * sz * wx * wy * wz
                            }
                        }
                    }
                    greensfn[n] = numerator * sum1 / denominator
                }
            }
        }
    }

    /// Stencil weights of one coordinate (LAMMPS compute_rho1d).
    @inline(__always) func weights(_ dx: Double, into w: UnsafeMutablePointer<Double>) {
        let p = order
        rhoCoeff.withUnsafeBufferPointer { c in
            for k in 0..<p {
                var r = 0.0
                for l in stride(from: p - 1, through: 0, by: -1) { r = c[l * p + k] + r * dx }
                w[k] = r
            }
        }
    }

    /// Grid point "lower left" of (or nearest to, odd order) a coordinate, and its offset.
    @inline(__always) func gridPoint(_ x: Double, _ d: Int) -> (Int, Double) {
        let n = Int(x * delinv[d] + shift) - Self.offset
        return (n, Double(n) + shiftone - x * delinv[d])
    }

    public func compute(_ a: KSpaceInput, comm: Communicator, energy wantEnergy: Bool) -> KSpaceTally {
        var tally = KSpaceTally()
        guard sums.qsqsum > 0 else { return tally }
        let p = order, nx = mesh.x, ny = mesh.y, nz = mesh.z
        let delvolinv = delinv.x * delinv.y * delinv.z
        // Each atom's stencil: the first mesh index per axis (wrapped) and the P weights per axis,
        // kept for the interpolation after the solve (LAMMPS part2grid and rho1d).
        let n = a.nlocal
        if stencilStart.count < 3 * n { stencilStart = .init(repeating: 0, count: 3 * n); stencilWeight = .init(repeating: 0, count: 3 * p * n) }
        stencilWeight.withUnsafeMutableBufferPointer { w in
            for i in 0..<n {
                for d in 0..<3 {
                    let (g, dx) = gridPoint(a.x[3 * i + d] - origin[d], d)
                    stencilStart[3 * i + d] = Int32(((g + nlower) % mesh[d] + mesh[d]) % mesh[d])
                    weights(dx, into: w.baseAddress! + (3 * i + d) * p)
                }
            }
        }
        density.withUnsafeMutableBufferPointer { rho in
        stencilWeight.withUnsafeBufferPointer { w in
            rho.update(repeating: 0)
            for i in 0..<n {
                let sx = Int(stencilStart[3 * i]), sy = Int(stencilStart[3 * i + 1]), sz = Int(stencilStart[3 * i + 2])
                let wx = w.baseAddress! + 3 * i * p, wy = wx + p, wz = wy + p
                let z0 = delvolinv * a.q[i]
                var mz = sz
                for k in 0..<p {
                    let y0 = z0 * wz[k]
                    var my = sy
                    for m in 0..<p {
                        let x0 = y0 * wy[m]
                        let row = (mz * ny + my) * nx
                        var mx = sx
                        for l in 0..<p {
                            rho[row + mx] += x0 * wx[l]
                            mx += 1
                            if mx == nx { mx = 0 }
                        }
                        my += 1
                        if my == ny { my = 0 }
                    }
                    mz += 1
                    if mz == nz { mz = 0 }
                }
            }
        }}
        comm.allreduceSum(&density)
        // Poisson (LAMMPS poisson_ik).
        for i in 0..<count {
            work1[i].0 = density[i]
            work1[i].1 = 0
        }
        fftw_execute(forward)
        let scaleinv = 1 / Double(count)
        if wantEnergy {
            let s2 = scaleinv * scaleinv
            var e = 0.0
            var virial = [Double](repeating: 0, count: 6)
            for i in 0..<count {
                let eng = s2 * greensfn[i] * (work1[i].0 * work1[i].0 + work1[i].1 * work1[i].1)
                for j in 0..<6 { virial[j] += eng * vg[6 * i + j] }
                e += eng
            }
            e *= 0.5 * volume
            e -= gEwald * sums.qsqsum / Double.pi.squareRoot() + 0.5 * Double.pi * sums.qsum * sums.qsum / (gEwald * gEwald * volume)
            tally.energy = qqrd2e * e
            tally.virial = virial.map { 0.5 * qqrd2e * volume * $0 }
        }
        for i in 0..<count {
            work1[i].0 *= scaleinv * greensfn[i]
            work1[i].1 *= scaleinv * greensfn[i]
        }
        for d in 0..<3 {
            var n = 0
            fk[d].withUnsafeBufferPointer { fk in
                for k in 0..<nz {
                    for j in 0..<ny {
                        for i in 0..<nx {
                            let f = fk[d == 0 ? i : (d == 1 ? j : k)]
                            work2[n].0 = -f * work1[n].1
                            work2[n].1 = f * work1[n].0
                            n += 1
                        }
                    }
                }
            }
            fftw_execute(backward)
            for i in 0..<count { field[3 * i + d] = work2[i].0 }
        }
        // Field on my atoms (LAMMPS fieldforce_ik).
        field.withUnsafeBufferPointer { field in
        stencilWeight.withUnsafeBufferPointer { w in
            for i in 0..<n {
                let sx = Int(stencilStart[3 * i]), sy = Int(stencilStart[3 * i + 1]), sz = Int(stencilStart[3 * i + 2])
                let wx = w.baseAddress! + 3 * i * p, wy = wx + p, wz = wy + p
                var ex = 0.0, ey = 0.0, ez = 0.0
                var mz = sz
                for k in 0..<p {
                    let z0 = wz[k]
                    var my = sy
                    for m in 0..<p {
                        let y0 = z0 * wy[m]
                        let row = (mz * ny + my) * nx
                        var mx = sx
                        for l in 0..<p {
                            let x0 = y0 * wx[l]
                            let g = 3 * (row + mx)
                            ex -= x0 * field[g]
                            ey -= x0 * field[g + 1]
                            ez -= x0 * field[g + 2]
                            mx += 1
                            if mx == nx { mx = 0 }
                        }
                        my += 1
                        if my == ny { my = 0 }
                    }
                    mz += 1
                    if mz == nz { mz = 0 }
                }
                let qfactor = qqrd2e * a.q[i]
                a.f[3 * i] += qfactor * ex
                a.f[3 * i + 1] += qfactor * ey
                a.f[3 * i + 2] += qfactor * ez
            }
        }}
        return tally
    }
}
