// Neighbour lists (LAMMPS Neighbor): cell bins over the brick and its ghost shell, the half list
// with Newton's third law across ghosts, the rebuild decision and the owned-atom sort.
import ForgeCore
import Foundation

extension MDEngine {
    /// Bins of about half the ghost cutoff over the brick + ghost shell, padded so the stencil
    /// never leaves the grid.
    func setUpBins() {
        let extent = subHi - subLo + SIMD3(repeating: 2 * cutGhost)
        for d in 0..<3 {
            let n = max(1, Int((extent[d] / (0.5 * cutGhost)).rounded(.down)))
            binSize[d] = extent[d] / Double(n)
            binPad[d] = Int((cutGhost / binSize[d]).rounded(.up))
            binCounts[d] = n + 2 * binPad[d]
            binOrigin[d] = subLo[d] - cutGhost - Double(binPad[d]) * binSize[d]
        }
        stencil = []
        let cut2 = cutGhost * cutGhost
        for k in -binPad.z...binPad.z {
            for j in -binPad.y...binPad.y {
                for i in -binPad.x...binPad.x {
                    let dx = Double(max(0, abs(i) - 1)) * binSize.x
                    let dy = Double(max(0, abs(j) - 1)) * binSize.y
                    let dz = Double(max(0, abs(k) - 1)) * binSize.z
                    if dx * dx + dy * dy + dz * dz < cut2 { stencil.append(i + binCounts.x * (j + binCounts.y * k)) }
                }
            }
        }
        binStart.reserve(binCounts.x * binCounts.y * binCounts.z + 1, keep: 0)
    }

    /// LAMMPS Neighbor::decide with delay 0.
    func decideRebuild() -> Bool {
        let every = neighborSettings.every
        guard (step - lastBuild) % every == 0 else { return false }
        guard neighborSettings.check else { return true }
        let limit = 0.25 * neighborSettings.skin * neighborSettings.skin
        var moved = false
        let x = x.pointer, h = xhold.pointer
        for i in 0..<nlocal {
            let dx = x[3 * i] - h[3 * i], dy = x[3 * i + 1] - h[3 * i + 1], dz = x[3 * i + 2] - h[3 * i + 2]
            if dx * dx + dy * dy + dz * dz > limit { moved = true; break }
        }
        return comm.any(moved)
    }

    /// Index in 0..<n of a cell coordinate; NaN and far-away values go to the edge cells.
    @inline(__always) private static func cell(_ t: Double, _ n: Int) -> Int {
        t >= 0 ? (t < Double(n) ? Int(t) : n - 1) : 0
    }

    @inline(__always) func binIndex(_ px: Double, _ py: Double, _ pz: Double) -> Int {
        let bx = Self.cell((px - binOrigin.x) / binSize.x, binCounts.x)
        let by = Self.cell((py - binOrigin.y) / binSize.y, binCounts.y)
        let bz = Self.cell((pz - binOrigin.z) / binSize.z, binCounts.z)
        return bx + binCounts.x * (by + binCounts.y * bz)
    }

    /// Owned atoms in (bin, id) order: good locality, and an order that depends only on the
    /// positions, so a run restarted at a rebuild step repeats the uninterrupted run bit for bit.
    func sortOwned() {
        var keys: [(bin: Int, id: Int64, index: Int)] = []
        keys.reserveCapacity(nlocal)
        for i in 0..<nlocal { keys.append((binIndex(x[3 * i], x[3 * i + 1], x[3 * i + 2]), id[i], i)) }
        keys.sort { $0.bin != $1.bin ? $0.bin < $1.bin : $0.id < $1.id }
        let n = nlocal
        let xs = Array(UnsafeBufferPointer(start: x.pointer, count: 3 * n))
        let vs = Array(UnsafeBufferPointer(start: v.pointer, count: 3 * n))
        let ts = Array(UnsafeBufferPointer(start: type.pointer, count: n))
        let ids = Array(UnsafeBufferPointer(start: id.pointer, count: n))
        let qs = Array(UnsafeBufferPointer(start: q.pointer, count: n))
        let mols = Array(UnsafeBufferPointer(start: mol.pointer, count: n))
        for (k, key) in keys.enumerated() {
            let i = key.index
            for d in 0..<3 { x[3 * k + d] = xs[3 * i + d]; v[3 * k + d] = vs[3 * i + d] }
            type[k] = ts[i]
            id[k] = ids[i]
            q[k] = qs[i]
            mol[k] = mols[i]
        }
    }

    /// Half list: each pair within cutoff + skin once over all ranks. Owned pairs by index;
    /// an owned–ghost pair only if the ghost lies "above" (z, then y, then x), as LAMMPS'
    /// half/bin/newton does, so its image on the other rank skips it.
    func buildNeighborList() {
        let total = nlocal + nghost
        let nbins = binCounts.x * binCounts.y * binCounts.z
        atomBin.reserve(total, keep: 0)
        binAtoms.reserve(total, keep: 0)
        neighborStart.reserve(nlocal + 1, keep: 0)
        let x = x.pointer, bin = atomBin.pointer, start = binStart.pointer
        start.update(repeating: 0, count: nbins + 1)
        for i in 0..<total {
            let b = binIndex(x[3 * i], x[3 * i + 1], x[3 * i + 2])
            bin[i] = Int32(b)
            start[b + 1] += 1
        }
        for b in 0..<nbins { start[b + 1] += start[b] }
        let atoms = binAtoms.pointer
        var fill = [Int32](repeating: 0, count: nbins)
        for i in 0..<total {
            let b = Int(bin[i])
            atoms[Int(start[b] + fill[b])] = Int32(i)
            fill[b] += 1
        }
        let cut2 = cutGhost * cutGhost
        var count = 0
        neighborStart[0] = 0
        let hasKSpace = kspace != nil
        let treatment = (0...3).map { $0 == 0 ? SpecialFactors.Treatment.ordinary : special.treatment($0, kspace: hasKSpace) }
        for i in 0..<nlocal {
            let xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2]
            let b = Int(bin[i])
            // 1-2, 1-3, 1-4 partners of i (by id): excluded, or marked in the top bits.
            let specials = topology?.specialsOf[id[i]]
            if neighbors.capacity < count + 1024 { neighbors.reserve(2 * neighbors.capacity + 1024, keep: count) }
            for offset in stencil {
                let nb = b + offset
                for k in Int(start[nb])..<Int(start[nb + 1]) {
                    let j = Int(atoms[k])
                    if j < nlocal {
                        if j <= i { continue }
                    } else {
                        let zj = x[3 * j + 2]
                        if zj < zi { continue }
                        if zj == zi {
                            if x[3 * j + 1] < yi { continue }
                            if x[3 * j + 1] == yi && x[3 * j] < xi { continue }
                        }
                    }
                    let dx = xi - x[3 * j], dy = yi - x[3 * j + 1], dz = zi - x[3 * j + 2]
                    if dx * dx + dy * dy + dz * dz < cut2 {
                        var entry = Int32(j)
                        if let specials, let kind = specials.first(where: { $0.0 == id[j] })?.1 {
                            switch treatment[Int(kind)] {
                            case .excluded: continue
                            case .ordinary: break
                            case .scaled: entry |= kind << 30
                            }
                        }
                        if count == neighbors.capacity { neighbors.reserve(2 * count, keep: count) }
                        neighbors[count] = entry
                        count += 1
                    }
                }
            }
            neighborStart[i + 1] = Int32(count)
        }
    }

    /// Pairs closer than 1% of σ_ij: an infinite force (two atoms on one site).
    func checkOverlaps() throws {
        var found: (Int64, Int64, Double)? = nil
        let lj = pair.lj
        let n = lj.typeCount
        outer: for i in 0..<nlocal {
            for k in Int(neighborStart[i])..<Int(neighborStart[i + 1]) {
                // Bonded partners sit close by design.
                guard neighbors[k] >> 30 == 0 else { continue }
                let j = Int(neighbors[k])
                let dx = x[3 * i] - x[3 * j], dy = x[3 * i + 1] - x[3 * j + 1], dz = x[3 * i + 2] - x[3 * j + 2]
                let r2 = dx * dx + dy * dy + dz * dz
                let s = lj.sigma[Int(type[i]) * n + Int(type[j])]
                if r2 < 1e-4 * s * s { found = (min(id[i], id[j]), max(id[i], id[j]), r2.squareRoot()); break outer }
            }
        }
        var report: [Double] = found.map { [1, Double($0.0), Double($0.1), $0.2] } ?? [0, 0, 0, 0]
        let all = comm.allgather(report)
        for r in 0..<comm.size where all[4 * r] > 0 {
            report = Array(all[(4 * r)..<(4 * r + 4)])
            throw DynamicsFailure.overlap(idA: Int64(report[1]), idB: Int64(report[2]), distance: report[3])
        }
    }
}
