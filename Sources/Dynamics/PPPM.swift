// PPPM (LAMMPS kspace_style pppm, ik differentiation): charges spread on a mesh with order-P
// B-spline weights, Poisson's equation solved by FFT with the Hockney–Eastwood optimal
// influence function, fields interpolated back with the same weights. The sums follow LAMMPS'
// pppm.cpp, so given the same g_ewald, mesh and order the energies agree to round-off.
//
// The mesh is distributed over the ranks (MeshComm.swift). Each rank spreads its atoms onto a
// brick covering the mesh points their stencils touch; the bricks are summed onto z-slabs of the
// mesh (rank r owns planes r·nz/P ..< (r+1)·nz/P: uneven, possibly none). The 3-D FFT is 2-D
// FFTs of the local planes, a transpose to y-slabs, 1-D FFTs along z; the Green's function is
// applied to the locally held k-points and the three ik fields go back the same way; each rank
// then receives the field on its brick and interpolates to its atoms. Energy and virial are
// summed over ranks. Mesh memory per rank falls as 1/P (plus the brick). All rank traffic goes
// through `Communicator` (not FFTW's MPI interface) so in-process thread ranks test the same code.
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
    /// Green's function and virial coefficients of the k-points this rank holds (pencil order).
    var greensfn: [Double] = []
    var vg: [Double] = []
    var fk: [[Double]] = []
    /// The distributed transform (set up at the first compute, when the ranks are known).
    /// Estimate-mode plans: the same arithmetic on every run, so restarts repeat bit for bit.
    var fft: SlabFFT?
    let count: Int
    /// This rank's brick: density, then the three fields (interleaved).
    var brickDensity: [Double] = []
    var brickField: [Double] = []
    var brick = MeshBrick()
    /// Mesh points this rank owns in real space (its z-slab) and in k-space (its y-slab).
    public var ownedMeshPoints: Int { fft?.slabCount ?? 0 }
    public var ownedKPoints: Int { fft?.pencilCount ?? 0 }
    /// Bytes of mesh this rank holds: transform arrays, Green's function and virial
    /// coefficients, and its brick (density and fields).
    public var localMeshBytes: Int {
        (fft?.bytes ?? 0) + 8 * (greensfn.count + vg.count) + 8 * (brickDensity.count + brickField.count)
    }
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
        computeRhoCoeff()
        let dk = dfKSpace(g), dr = dfRSpace(g)
        let estimate = (dk * dk + dr * dr).squareRoot()
        summary = [
            String(format: "  pppm: g_ewald = %.10g, mesh = [%d, %d, %d], order = %d", g, n.x, n.y, n.z, order),
            String(format: "  estimated absolute RMS force accuracy = %.6g, relative = %.6g", estimate, estimate / units.twoChargeForce),
        ]
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

    /// LAMMPS compute_gf_denom + compute_gf_ik, and the virial coefficients of setup(), on the
    /// k-points of y-rows `rows` (pencil order: y, x, z with z fastest).
    func computeGreensFunction(rows: Range<Int>) {
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
        let local = rows.count * mesh.x * mesh.z
        greensfn = .init(repeating: 0, count: local)
        vg = .init(repeating: 0, count: 6 * local)
        var n = 0
        for l in rows {
            let lper = l - mesh.y * ((2 * l) / mesh.y)
            let sny = Foundation.pow(Foundation.sin(0.5 * unitk.y * Double(lper) * box.y / Double(mesh.y)), 2)
            for k in 0..<mesh.x {
                let kper = k - mesh.x * ((2 * k) / mesh.x)
                let snx = Foundation.pow(Foundation.sin(0.5 * unitk.x * Double(kper) * box.x / Double(mesh.x)), 2)
                for m in 0..<mesh.z {
                    let mper = m - mesh.z * ((2 * m) / mesh.z)
                    let snz = Foundation.pow(Foundation.sin(0.5 * unitk.z * Double(mper) * box.z / Double(mesh.z)), 2)
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

    /// The slabs, plans and local Green's function for this communicator (once).
    func setUp(_ comm: Communicator) -> SlabFFT {
        if let fft, fft.zRanges.count == comm.size, fft.rank == comm.rank { return fft }
        let t = SlabFFT(mesh: mesh, ranks: comm.size, rank: comm.rank, planner: Self.planner)
        computeGreensFunction(rows: t.yRange)
        fft = t
        return t
    }

    public func compute(_ a: KSpaceInput, comm: Communicator, energy wantEnergy: Bool) -> KSpaceTally {
        var tally = KSpaceTally()
        guard sums.qsqsum > 0 else { return tally }
        let fft = setUp(comm)
        let p = order, nx = mesh.x, nz = mesh.z
        let delvolinv = delinv.x * delinv.y * delinv.z
        // Each atom's stencil: the first mesh index per axis (unwrapped) and the P weights per
        // axis, kept for the interpolation after the solve (LAMMPS part2grid and rho1d).
        let n = a.nlocal
        if stencilStart.count < 3 * n { stencilStart = .init(repeating: 0, count: 3 * n); stencilWeight = .init(repeating: 0, count: 3 * p * n) }
        var lo = SIMD3<Int>(repeating: Int.max), hi = SIMD3<Int>(repeating: Int.min)
        stencilWeight.withUnsafeMutableBufferPointer { w in
            for i in 0..<n {
                for d in 0..<3 {
                    let (g, dx) = gridPoint(a.x[3 * i + d] - origin[d], d)
                    let start = g + nlower
                    stencilStart[3 * i + d] = Int32(start)
                    lo[d] = min(lo[d], start)
                    hi[d] = max(hi[d], start + p - 1)
                    weights(dx, into: w.baseAddress! + (3 * i + d) * p)
                }
            }
        }
        // The brick: the points my atoms touch; every rank learns every brick.
        brick = n == 0 ? MeshBrick() : MeshBrick(lo: lo, extent: hi &- lo &+ 1)
        let all = comm.allgather([Double(brick.lo.x), Double(brick.lo.y), Double(brick.lo.z),
                                  Double(brick.extent.x), Double(brick.extent.y), Double(brick.extent.z)])
        var bricks: [MeshBrick] = []
        for r in 0..<comm.size {
            var b = MeshBrick()
            for d in 0..<3 {
                b.lo[d] = Int(all[6 * r + d])
                b.extent[d] = Int(all[6 * r + 3 + d])
            }
            bricks.append(b)
        }
        let ex = brick.extent.x, ey = brick.extent.y
        lo = brick.lo
        if brickDensity.count < brick.count { brickDensity = .init(repeating: 0, count: brick.count) }
        brickDensity.withUnsafeMutableBufferPointer { rho in
        stencilWeight.withUnsafeBufferPointer { w in
            for k in 0..<brick.count { rho[k] = 0 }
            for i in 0..<n {
                let sx = Int(stencilStart[3 * i]) - lo.x, sy = Int(stencilStart[3 * i + 1]) - lo.y
                let sz = Int(stencilStart[3 * i + 2]) - lo.z
                let wx = w.baseAddress! + 3 * i * p, wy = wx + p, wz = wy + p
                let z0 = delvolinv * a.q[i]
                for k in 0..<p {
                    let y0 = z0 * wz[k]
                    for m in 0..<p {
                        let x0 = y0 * wy[m]
                        let row = ((sz + k) * ey + sy + m) * ex + sx
                        for l in 0..<p { rho[row + l] += x0 * wx[l] }
                    }
                }
            }
        }}
        fft.gatherBricks(comm, brick: brickDensity, bricks: bricks)
        // Poisson (LAMMPS poisson_ik) on the k-points held here.
        fft.forward(comm)
        let work = fft.pencil, local = fft.pencilCount
        let scaleinv = 1 / Double(count)
        if wantEnergy {
            let s2 = scaleinv * scaleinv
            var sumsLocal = [Double](repeating: 0, count: 7)
            for i in 0..<local {
                let eng = s2 * greensfn[i] * (work[i].0 * work[i].0 + work[i].1 * work[i].1)
                for j in 0..<6 { sumsLocal[1 + j] += eng * vg[6 * i + j] }
                sumsLocal[0] += eng
            }
            comm.allreduceSum(&sumsLocal)
            var e = sumsLocal[0]
            e *= 0.5 * volume
            e -= gEwald * sums.qsqsum / Double.pi.squareRoot() + 0.5 * Double.pi * sums.qsum * sums.qsum / (gEwald * gEwald * volume)
            tally.energy = qqrd2e * e
            tally.virial = sumsLocal[1...].map { 0.5 * qqrd2e * volume * $0 }
        }
        for i in 0..<local {
            work[i].0 *= scaleinv * greensfn[i]
            work[i].1 *= scaleinv * greensfn[i]
        }
        // The three ik fields: pencil order (y, x, z), field-major.
        let rows = fft.yRange
        let out = fft.pencil3
        fk[0].withUnsafeBufferPointer { fx in
        fk[1].withUnsafeBufferPointer { fy in
        fk[2].withUnsafeBufferPointer { fz in
            var i = 0
            for y in rows {
                for x in 0..<nx {
                    for z in 0..<nz {
                        let re = work[i].0, im = work[i].1
                        out[i] = (-fx[x] * im, fx[x] * re)
                        out[local + i] = (-fy[y] * im, fy[y] * re)
                        out[2 * local + i] = (-fz[z] * im, fz[z] * re)
                        i += 1
                    }
                }
            }
        }}}
        fft.backward3(comm)
        fft.scatterBricks(comm, field: &brickField, bricks: bricks)
        // Field on my atoms (LAMMPS fieldforce_ik).
        brickField.withUnsafeBufferPointer { field in
        stencilWeight.withUnsafeBufferPointer { w in
            for i in 0..<n {
                let sx = Int(stencilStart[3 * i]) - lo.x, sy = Int(stencilStart[3 * i + 1]) - lo.y
                let sz = Int(stencilStart[3 * i + 2]) - lo.z
                let wx = w.baseAddress! + 3 * i * p, wy = wx + p, wz = wy + p
                var fx = 0.0, fy = 0.0, fz = 0.0
                for k in 0..<p {
                    let z0 = wz[k]
                    for m in 0..<p {
                        let y0 = z0 * wy[m]
                        let row = ((sz + k) * ey + sy + m) * ex + sx
                        for l in 0..<p {
                            let x0 = y0 * wx[l]
                            let g = 3 * (row + l)
                            fx -= x0 * field[g]
                            fy -= x0 * field[g + 1]
                            fz -= x0 * field[g + 2]
                        }
                    }
                }
                let qfactor = qqrd2e * a.q[i]
                a.f[3 * i] += qfactor * fx
                a.f[3 * i + 1] += qfactor * fy
                a.f[3 * i + 2] += qfactor * fz
            }
        }}
        return tally
    }
}
