// Domain decomposition traffic in LAMMPS' Comm order: exchange (atoms that left the brick move
// to the neighbour), borders (ghost atoms within cutoff + skin, by six swaps), forward (ghost
// positions every step) and reverse (ghost forces back to their owners).
import ForgeCore
import Foundation

extension MDEngine {
    // MARK: geometry

    /// Brick grid coordinates owning a (wrapped) position.
    @inline(__always) func brickCoordinates(of p: SIMD3<Double>) -> SIMD3<Int> {
        var c = SIMD3<Int>()
        for d in 0..<3 {
            let t = (p[d] - boxLo[d]) / boxLength[d] * Double(grid.counts[d])
            c[d] = t.isFinite ? max(0, min(grid.counts[d] - 1, Int(t.rounded(.down).clamped(-1, 1e9)))) : -1
        }
        return c
    }

    func setUpSwapsAndBins() {
        swaps = []
        for d in 0..<3 {
            var down = gridCoordinates, up = gridCoordinates
            down[d] = (down[d] - 1 + grid.counts[d]) % grid.counts[d]
            up[d] = (up[d] + 1) % grid.counts[d]
            // Atoms near the lower face go to the lower neighbour (its upper ghosts), and back.
            swaps.append(Swap(dim: d, sendProc: grid.rank(down), recvProc: grid.rank(up),
                              shift: gridCoordinates[d] == 0 ? boxLength[d] : 0))
            swaps.append(Swap(dim: d, sendProc: grid.rank(up), recvProc: grid.rank(down),
                              shift: gridCoordinates[d] == grid.counts[d] - 1 ? -boxLength[d] : 0))
        }
        setUpBins()
    }

    /// Periodic image of coordinate `c` along axis `d` inside [lo, hi) (one box length at most).
    @inline(__always) func wrapped(_ c: Double, _ d: Int) -> Double {
        if c < boxLo[d] { return c + boxLength[d] }
        if c >= boxHi[d] { return c - boxLength[d] }
        return c
    }

    /// Values per atom moving between bricks: x, v, type, id, q, molecule.
    static let exchangeStride = 10

    func packExchange(_ i: Int, into record: inout [Double]) {
        record += [x[3 * i], x[3 * i + 1], x[3 * i + 2], v[3 * i], v[3 * i + 1], v[3 * i + 2],
                   Double(type[i]), Double(id[i]), q[i], Double(mol[i])]
    }

    /// Appends an owned atom from an exchange record.
    func unpackExchange(_ r: ArraySlice<Double>) {
        let b = r.startIndex
        reserveAtoms(nlocal + 64, keep: nlocal)
        for c in 0..<3 { x[3 * nlocal + c] = r[b + c]; v[3 * nlocal + c] = r[b + 3 + c] }
        type[nlocal] = Int32(r[b + 6])
        id[nlocal] = Int64(r[b + 7])
        q[nlocal] = r[b + 8]
        mol[nlocal] = Int64(r[b + 9])
        nlocal += 1
    }

    /// Removes owned atom i: the last owned atom takes its place.
    func removeOwned(_ i: Int) {
        let last = nlocal - 1
        for k in 0..<3 { x[3 * i + k] = x[3 * last + k]; v[3 * i + k] = v[3 * last + k] }
        type[i] = type[last]
        id[i] = id[last]
        q[i] = q[last]
        mol[i] = mol[last]
        nlocal -= 1
    }

    func wrapAndMigrate() {
        nghost = 0
        var lost = 0
        var i = 0
        while i < nlocal {
            var inside = true
            for d in 0..<3 {
                let c = wrapped(x[3 * i + d], d)
                x[3 * i + d] = c
                if !(c >= boxLo[d] && c < boxHi[d]) { inside = false }  // also NaN
            }
            if inside { i += 1; continue }
            // Moved more than a box length since the last rebuild (or blew up): lost.
            lost += 1
            removeOwned(i)
        }
        let stride = Self.exchangeStride
        for d in 0..<3 where grid.counts[d] > 1 {
            let p = grid.counts[d], me = gridCoordinates[d]
            var toLower: [Double] = [], toUpper: [Double] = []
            i = 0
            while i < nlocal {
                let c = x[3 * i + d]
                let t = (c - boxLo[d]) / boxLength[d] * Double(p)
                let target = t.isFinite && t > -1 && t < Double(p + 1) ? max(0, min(p - 1, Int(t.rounded(.down)))) : -1
                if target == me { i += 1; continue }
                if target == (me + 1) % p { packExchange(i, into: &toUpper) }
                else if target == (me - 1 + p) % p { packExchange(i, into: &toLower) }
                else { lost += 1 }
                removeOwned(i)
            }
            var down = gridCoordinates, up = gridCoordinates
            down[d] = (me - 1 + p) % p
            up[d] = (me + 1) % p
            let received = exchange(toLower, to: grid.rank(down), from: grid.rank(up))
                + exchange(toUpper, to: grid.rank(up), from: grid.rank(down))
            for k in 0..<(received.count / stride) { unpackExchange(received[(k * stride)..<((k + 1) * stride)]) }
        }
        _ = lost
    }

    /// Variable-length exchange: counts first, then the values.
    func exchange(_ values: [Double], to destination: Int, from source: Int) -> [Double] {
        var sendCount = values.count, recvCount = 0
        withUnsafeBytes(of: &sendCount) { s in
            withUnsafeMutableBytes(of: &recvCount) { r in comm.sendrecv(s, to: destination, into: r, from: source) }
        }
        var received = [Double](repeating: 0, count: recvCount)
        values.withUnsafeBytes { s in
            received.withUnsafeMutableBytes { r in comm.sendrecv(s, to: destination, into: r, from: source) }
        }
        return received
    }

    /// Ghost atoms within cutoff + skin of the brick, by six swaps (LAMMPS Comm::borders):
    /// along x, then y (including x ghosts), then z (including both), so edges and corners come too.
    func borders() {
        nghost = 0
        let stride = 7  // x, type, id, q, molecule
        for s in 0..<swaps.count {
            let d = swaps[s].dim
            if s % 2 == 0 { bordersLimit = nlocal + nghost }
            let limit = bordersLimit
            var list = swaps[s].sendIndices
            list.removeAll(keepingCapacity: true)
            if s % 2 == 0 {
                let hi = subLo[d] + cutGhost
                for i in 0..<limit where x[3 * i + d] < hi { list.append(Int32(i)) }
            } else {
                let lo = subHi[d] - cutGhost
                for i in 0..<limit where x[3 * i + d] >= lo { list.append(Int32(i)) }
            }
            swaps[s].sendIndices = list
            var values: [Double] = []
            values.reserveCapacity(stride * list.count)
            let shift = swaps[s].shift
            for i32 in list {
                let i = Int(i32)
                var p = (x[3 * i], x[3 * i + 1], x[3 * i + 2])
                switch d { case 0: p.0 += shift; case 1: p.1 += shift; default: p.2 += shift }
                values += [p.0, p.1, p.2, Double(type[i]), Double(id[i]), q[i], Double(mol[i])]
            }
            let received = swaps[s].sendProc == comm.rank && swaps[s].recvProc == comm.rank
                ? values : exchange(values, to: swaps[s].sendProc, from: swaps[s].recvProc)
            let n = received.count / stride
            let first = nlocal + nghost
            reserveAtoms(first + n + 64, keep: first)
            for k in 0..<n {
                let j = first + k
                for c in 0..<3 { x[3 * j + c] = received[stride * k + c] }
                type[j] = Int32(received[stride * k + 3])
                id[j] = Int64(received[stride * k + 4])
                q[j] = received[stride * k + 5]
                mol[j] = Int64(received[stride * k + 6])
            }
            swaps[s].firstRecv = first
            swaps[s].recvCount = n
            nghost += n
        }
        let largest = swaps.map { 3 * max($0.sendIndices.count, $0.recvCount) }.max() ?? 0
        sendBuffer.reserve(largest, keep: 0)
        recvBuffer.reserve(largest, keep: 0)
    }

    /// Positions (or another per-atom vector, such as SHAKE's predicted positions) of ghosts
    /// from their owners, periodic shift applied; every step between rebuilds.
    func forwardCommunicate(_ values: RawArray<Double>? = nil) {
        let x = (values ?? self.x).pointer
        for s in swaps.indices {
            let swap = swaps[s]
            let d = swap.dim, shift = swap.shift
            let buf = sendBuffer.pointer
            swap.sendIndices.withUnsafeBufferPointer { list in
                for k in 0..<list.count {
                    let i = Int(list[k])
                    buf[3 * k] = x[3 * i]
                    buf[3 * k + 1] = x[3 * i + 1]
                    buf[3 * k + 2] = x[3 * i + 2]
                    buf[3 * k + d] += shift
                }
            }
            let destination = x + 3 * swap.firstRecv
            if swap.sendProc == comm.rank && swap.recvProc == comm.rank {
                destination.update(from: buf, count: 3 * swap.recvCount)
            } else {
                comm.sendrecv(UnsafeRawBufferPointer(start: buf, count: 24 * swap.sendIndices.count), to: swap.sendProc,
                              into: UnsafeMutableRawBufferPointer(start: destination, count: 24 * swap.recvCount),
                              from: swap.recvProc)
            }
        }
    }

    /// Forces on ghosts back to their owners, swaps in reverse order (Newton's third law).
    func reverseCommunicate() {
        let f = f.pointer
        for s in swaps.indices.reversed() {
            let swap = swaps[s]
            let source = f + 3 * swap.firstRecv
            let buf = recvBuffer.pointer
            let n = swap.sendIndices.count
            if swap.sendProc == comm.rank && swap.recvProc == comm.rank {
                buf.update(from: source, count: 3 * n)
            } else {
                comm.sendrecv(UnsafeRawBufferPointer(start: source, count: 24 * swap.recvCount), to: swap.recvProc,
                              into: UnsafeMutableRawBufferPointer(start: buf, count: 24 * n), from: swap.sendProc)
            }
            swap.sendIndices.withUnsafeBufferPointer { list in
                for k in 0..<n {
                    let i = Int(list[k])
                    f[3 * i] += buf[3 * k]
                    f[3 * i + 1] += buf[3 * k + 1]
                    f[3 * i + 2] += buf[3 * k + 2]
                }
            }
        }
    }

    /// Half list: each pair within cutoff + skin once over all ranks. Owned pairs by index;
    /// an owned–ghost pair only if the ghost lies "above" (z, then y, then x), as LAMMPS'
}
