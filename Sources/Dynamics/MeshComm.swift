// The distributed mesh of PPPM: z-slabs of the real-space mesh, y-slabs of the k-space mesh, the
// slab ↔ slab transpose of the 3-D FFT and the brick ↔ slab grid communication (LAMMPS'
// GridComm reverse/forward plus remap, in spirit).
//
// Rank traffic goes through `Communicator` (all-to-all as P − 1 rounds of pairwise sendrecv, each
// round pairing rank r with r + k and r − k) and the transforms are serial FFTW plans on the
// locally held lines; FFTW's MPI interface is not used because in-process test ranks are threads
// (the same code runs under `InProcessCommunicator` and MPI) and the kernels stay free of MPI.
import CFFTW
import ForgeCore
import Foundation

/// The planes `index` owns when `n` planes are dealt out to `parts` ranks: uneven when `parts`
/// does not divide `n`, empty on some ranks when `n < parts`.
@inline(__always) func meshPlanes(_ n: Int, parts: Int, index: Int) -> Range<Int> {
    (index * n / parts)..<((index + 1) * n / parts)
}

@inline(__always) func wrapIndex(_ i: Int, _ n: Int) -> Int { ((i % n) + n) % n }

/// Sends `send[s]` to every rank s and returns what every rank sent here (`receiveCounts[s]`
/// values from rank s); the own part is copied. Collective; every rank must call it.
func exchangeAll(_ comm: Communicator, send: [[Double]], receiveCounts: [Int]) -> [[Double]] {
    let p = comm.size, r = comm.rank
    var received = receiveCounts.map { [Double](repeating: 0, count: $0) }
    precondition(send[r].count == receiveCounts[r])
    received[r] = send[r]
    for k in stride(from: 1, to: p, by: 1) {
        let destination = (r + k) % p, source = (r - k + p) % p
        send[destination].withUnsafeBytes { out in
            received[source].withUnsafeMutableBytes { inp in
                comm.sendrecv(out, to: destination, into: inp, from: source)
            }
        }
    }
    return received
}

/// The index box of mesh points one rank's atoms touch (unwrapped: it may reach below 0 or past
/// the mesh, and wider than the mesh on one rank); empty when the rank has no atoms.
struct MeshBrick: Equatable {
    var lo = SIMD3<Int>(0, 0, 0)
    var extent = SIMD3<Int>(0, 0, 0)
    var count: Int { extent.x * extent.y * extent.z }
    var plane: Int { extent.x * extent.y }
}

/// A z-slab distributed complex 3-D FFT of an (nz, ny, nx) mesh, x fastest. Real space: this rank
/// holds z-planes `zRange` (slab[(z − zlo)·ny·nx + y·nx + x]). k-space: it holds y-rows `yRange`
/// with z fastest (pencil[((y − ylo)·nx + x)·nz + z]). Forward: 2-D FFTs of the planes, transpose,
/// 1-D FFTs along z. Backward (three fields at once): the reverse.
final class SlabFFT {
    let nx: Int, ny: Int, nz: Int
    let zRanges: [Range<Int>]
    let yRanges: [Range<Int>]
    let rank: Int
    var zRange: Range<Int> { zRanges[rank] }
    var yRange: Range<Int> { yRanges[rank] }
    var slabCount: Int { zRange.count * ny * nx }
    var pencilCount: Int { yRange.count * nx * nz }
    /// Three fields for the backward transforms (field-major).
    let slab3: UnsafeMutablePointer<fftw_complex>
    let pencil3: UnsafeMutablePointer<fftw_complex>
    /// Real-space planes and k-space lines of the forward transform (one field): the first field
    /// of `slab3` and `pencil3` (the density is done with before the fields are written, and each
    /// k-point's three fields are written after its density value is read).
    var slab: UnsafeMutablePointer<fftw_complex> { slab3 }
    var pencil: UnsafeMutablePointer<fftw_complex> { pencil3 }
    var plans: [fftw_plan?] = [nil, nil, nil, nil]  // planes forward, z forward, z backward ×3, planes backward ×3

    /// FFTW's planner is not thread-safe (in-process test ranks are threads): `planner` is held
    /// while planning and destroying.
    init(mesh: SIMD3<Int>, ranks: Int, rank: Int, planner: NSLock) {
        (nx, ny, nz) = (mesh.x, mesh.y, mesh.z)
        self.rank = rank
        zRanges = (0..<ranks).map { meshPlanes(mesh.z, parts: ranks, index: $0) }
        yRanges = (0..<ranks).map { meshPlanes(mesh.y, parts: ranks, index: $0) }
        let zl = zRanges[rank].count, yl = yRanges[rank].count
        slab3 = fftw_alloc_complex(max(1, 3 * zl * ny * nx))
        pencil3 = fftw_alloc_complex(max(1, 3 * yl * nx * nz))
        let flags = UInt32(FFTW_ESTIMATE)
        planner.lock()
        var n2: [Int32] = [Int32(ny), Int32(nx)]
        var n1: [Int32] = [Int32(nz)]
        let plane = Int32(ny * nx), line = Int32(nz)
        if zl > 0 {
            plans[0] = fftw_plan_many_dft(2, &n2, Int32(zl), slab3, nil, 1, plane, slab3, nil, 1, plane, FFTW_FORWARD, flags)
            plans[3] = fftw_plan_many_dft(2, &n2, Int32(3 * zl), slab3, nil, 1, plane, slab3, nil, 1, plane, FFTW_BACKWARD, flags)
        }
        if yl > 0 {
            plans[1] = fftw_plan_many_dft(1, &n1, Int32(yl * nx), pencil3, nil, 1, line, pencil3, nil, 1, line, FFTW_FORWARD, flags)
            plans[2] = fftw_plan_many_dft(1, &n1, Int32(3 * yl * nx), pencil3, nil, 1, line, pencil3, nil, 1, line, FFTW_BACKWARD, flags)
        }
        planner.unlock()
        self.planner = planner
    }
    let planner: NSLock

    deinit {
        planner.lock()
        for p in plans { if let p { fftw_destroy_plan(p) } }
        planner.unlock()
        fftw_free(slab3); fftw_free(pencil3)
    }

    /// Bytes of mesh this rank holds (the two transform arrays).
    var bytes: Int { (3 * slabCount + 3 * pencilCount) * MemoryLayout<fftw_complex>.stride }

    /// `slab` (real-space planes) → `pencil` (k-space lines). Collective.
    func forward(_ comm: Communicator) {
        if let p = plans[0] { fftw_execute(p) }
        // Transpose: to rank s my planes' rows yRanges[s]; from rank s its planes' rows of mine.
        let ranks = zRanges.count
        let send: [[Double]] = (0..<ranks).map { s in
            let ys = yRanges[s]
            var out = [Double](repeating: 0, count: 2 * zRange.count * ys.count * nx)
            var o = 0
            for zl in 0..<zRange.count {
                let row0 = (zl * ny + ys.lowerBound) * nx
                for i in 0..<(ys.count * nx) {
                    out[o] = slab[row0 + i].0
                    out[o + 1] = slab[row0 + i].1
                    o += 2
                }
            }
            return out
        }
        let received = exchangeAll(comm, send: send, receiveCounts: (0..<ranks).map { 2 * zRanges[$0].count * yRange.count * nx })
        for s in 0..<ranks {
            let zs = zRanges[s]
            received[s].withUnsafeBufferPointer { v in
                var o = 0
                for z in zs {
                    for yl in 0..<yRange.count {
                        for x in 0..<nx {
                            let k = (yl * nx + x) * nz + z
                            pencil[k].0 = v[o]
                            pencil[k].1 = v[o + 1]
                            o += 2
                        }
                    }
                }
            }
        }
        if let p = plans[1] { fftw_execute(p) }
    }

    /// `pencil3` (three k-space fields) → `slab3` (three real-space fields). Collective.
    func backward3(_ comm: Communicator) {
        if let p = plans[2] { fftw_execute(p) }
        let ranks = zRanges.count
        let lines = yRange.count * nx
        let send: [[Double]] = (0..<ranks).map { s in
            let zs = zRanges[s]
            var out = [Double](repeating: 0, count: 2 * 3 * zs.count * lines)
            var o = 0
            for d in 0..<3 {
                for z in zs {
                    for l in 0..<lines {
                        let k = (d * lines + l) * nz + z
                        out[o] = pencil3[k].0
                        out[o + 1] = pencil3[k].1
                        o += 2
                    }
                }
            }
            return out
        }
        let received = exchangeAll(comm, send: send, receiveCounts: (0..<ranks).map { 2 * 3 * zRange.count * yRanges[$0].count * nx })
        let planes = zRange.count
        for s in 0..<ranks {
            let ys = yRanges[s]
            received[s].withUnsafeBufferPointer { v in
                var o = 0
                for d in 0..<3 {
                    for zl in 0..<planes {
                        let row0 = ((d * planes + zl) * ny + ys.lowerBound) * nx
                        for i in 0..<(ys.count * nx) {
                            slab3[row0 + i].0 = v[o]
                            slab3[row0 + i].1 = v[o + 1]
                            o += 2
                        }
                    }
                }
            }
        }
        if let p = plans[3] { fftw_execute(p) }
    }
}

extension SlabFFT {
    /// Reverse grid communication: every rank's brick of charge density (`brick`, (z, y, x) with
    /// x fastest, extents `bricks[rank]`, possibly longer than the brick) is summed onto the slabs owning its points (periodic
    /// images folded), into the real parts of `slab`. Sums run in source-rank order, so a given
    /// rank count repeats bit for bit. Collective.
    func gatherBricks(_ comm: Communicator, brick: [Double], bricks: [MeshBrick]) {
        let ranks = zRanges.count
        let mine = bricks[rank]
        // To rank s: my brick planes whose wrapped z it owns, in brick order.
        let send: [[Double]] = (0..<ranks).map { s in
            var out: [Double] = []
            out.reserveCapacity(mine.count)
            for bz in 0..<mine.extent.z where zRanges[s].contains(wrapIndex(mine.lo.z + bz, nz)) {
                out.append(contentsOf: brick[(bz * mine.plane)..<((bz + 1) * mine.plane)])
            }
            return out
        }
        let counts = (0..<ranks).map { s in
            (0..<bricks[s].extent.z).filter { zRange.contains(wrapIndex(bricks[s].lo.z + $0, nz)) }.count * bricks[s].plane
        }
        let received = exchangeAll(comm, send: send, receiveCounts: counts)
        for i in 0..<slabCount { slab[i] = (0, 0) }
        for s in 0..<ranks {
            received[s].withUnsafeBufferPointer { v in
                var o = 0
                forEachOwnedPoint(of: bricks[s]) { g in
                    slab[g].0 += v[o]
                    o += 1
                }
            }
        }
    }

    /// Calls `body` with the slab index of every point of brick `b` in a plane this rank owns
    /// (periodic images wrapped), in brick order: the order both grid exchanges pack and unpack in.
    @inline(__always) func forEachOwnedPoint(of b: MeshBrick, _ body: (Int) -> Void) {
        let wx = (0..<b.extent.x).map { wrapIndex(b.lo.x + $0, nx) }
        let wy = (0..<b.extent.y).map { wrapIndex(b.lo.y + $0, ny) }
        for bz in 0..<b.extent.z {
            let z = wrapIndex(b.lo.z + bz, nz)
            guard zRange.contains(z) else { continue }
            let plane0 = (z - zRange.lowerBound) * ny * nx
            for by in 0..<b.extent.y {
                let row0 = plane0 + wy[by] * nx
                for bx in 0..<b.extent.x { body(row0 + wx[bx]) }
            }
        }
    }

    /// Forward grid communication: the three fields of `slab3` (real parts) at every point of
    /// this rank's brick, into `field` (3 per brick point, interleaved). Collective.
    func scatterBricks(_ comm: Communicator, field: inout [Double], bricks: [MeshBrick]) {
        let ranks = zRanges.count
        let planes = zRange.count, fieldStride = planes * ny * nx
        // To rank s: the fields at its brick planes that I own.
        let send: [[Double]] = (0..<ranks).map { s in
            let b = bricks[s]
            var out: [Double] = []
            out.reserveCapacity(3 * b.count)
            forEachOwnedPoint(of: b) { g in
                out.append(slab3[g].0)
                out.append(slab3[fieldStride + g].0)
                out.append(slab3[2 * fieldStride + g].0)
            }
            return out
        }
        let mine = bricks[rank]
        let counts = (0..<ranks).map { s in
            (0..<mine.extent.z).filter { zRanges[s].contains(wrapIndex(mine.lo.z + $0, nz)) }.count * 3 * mine.plane
        }
        let received = exchangeAll(comm, send: send, receiveCounts: counts)
        if field.count < 3 * mine.count { field = .init(repeating: 0, count: 3 * mine.count) }
        for s in 0..<ranks {
            received[s].withUnsafeBufferPointer { v in
                var o = 0
                for bz in 0..<mine.extent.z where zRanges[s].contains(wrapIndex(mine.lo.z + bz, nz)) {
                    let n = 3 * mine.plane
                    for i in 0..<n { field[3 * bz * mine.plane + i] = v[o + i] }
                    o += n
                }
            }
        }
    }
}
