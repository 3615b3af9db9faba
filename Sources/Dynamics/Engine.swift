// The molecular-dynamics engine: owned + ghost atoms of one brick, Verlet neighbour lists from
// cell bins, the lj/cut force kernel, velocity Verlet and thermostats. The step order and the
// timers follow LAMMPS' Verlet::run. Kernels never see MPI: halo swaps go through Communicator.
import ForgeCore
import Foundation

public enum Integrator: Sendable, Equatable {
    case nve
    /// Langevin (LAMMPS fix langevin): drag −m v/damp plus a uniform random force.
    case langevin(temperature: Double, damp: Double, seed: UInt64)
    /// One Nosé–Hoover thermostat (time-reversible half-step splitting around velocity Verlet).
    case noseHoover(temperature: Double, damp: Double)
}

public struct NeighborSettings: Sendable, Equatable {
    public var skin: Double
    /// Consider a rebuild every this many steps …
    public var every: Int
    /// … and rebuild only if an atom moved more than skin/2 (false: always rebuild then).
    public var check: Bool
    public init(skin: Double, every: Int, check: Bool) { (self.skin, self.every, self.check) = (skin, every, check) }
}

/// Global thermodynamic state (identical on every rank).
public struct Thermo: Sendable, Equatable {
    public var step: Int
    public var time: Double
    public var atoms: Int
    public var temperature: Double
    /// Totals in energy units.
    public var potentialEnergy: Double
    public var kineticEnergy: Double
    public var pressure: Double
    /// Nosé–Hoover thermostat energy (0 otherwise): total + this is conserved.
    public var thermostatEnergy: Double
    public var totalEnergy: Double { potentialEnergy + kineticEnergy }
}

/// Wall time spent in each phase, seconds (this rank).
public struct PhaseTimes: Sendable {
    public var pair = 0.0, neighbor = 0.0, comm = 0.0, modify = 0.0
}

/// Errors found while the run goes on (all ranks agree on them).
public enum DynamicsFailure: Error, Sendable {
    case lostAtoms(step: Int, found: Int, expected: Int)
    case overlap(idA: Int64, idB: Int64, distance: Double)
    case notFinite(step: Int)
}

@inline(__always) private func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

public final class MDEngine {
    public let comm: Communicator
    public let units: UnitStyle
    public let parameters: LJParameters
    let table: LJTable
    public let masses: [Double]
    public let boxLo: SIMD3<Double>
    public let boxHi: SIMD3<Double>
    public let boxLength: SIMD3<Double>
    public let grid: BrickGrid
    public let gridCoordinates: SIMD3<Int>
    public let subLo: SIMD3<Double>
    public let subHi: SIMD3<Double>
    public let neighborSettings: NeighborSettings
    public let cutGhost: Double
    public let totalAtoms: Int
    public let timestep: Double
    public let integrator: Integrator
    public private(set) var step: Int
    public private(set) var time: Double
    public private(set) var lastBuild: Int = 0
    public private(set) var rebuildCount = 0
    public var times = PhaseTimes()
    /// Nosé–Hoover ξ (thermostat velocity) and η (position).
    public private(set) var thermostatXi = 0.0, thermostatEta = 0.0

    // Atoms: owned in [0, nlocal), ghosts in [nlocal, nlocal + nghost).
    public private(set) var nlocal = 0
    public private(set) var nghost = 0
    let x = RawArray<Double>(capacity: 3 * 1024, initial: 0)
    let v = RawArray<Double>(capacity: 3 * 1024, initial: 0)
    let f = RawArray<Double>(capacity: 3 * 1024, initial: 0)
    let type = RawArray<Int32>(capacity: 1024, initial: 0)
    let id = RawArray<Int64>(capacity: 1024, initial: 0)
    let xhold = RawArray<Double>(capacity: 3 * 1024, initial: 0)
    let inverseMass: [Double]

    // Halo swaps (LAMMPS Comm::borders): 2 per dimension.
    struct Swap {
        var dim: Int
        var sendProc: Int, recvProc: Int
        var shift: Double
        var sendIndices: [Int32] = []
        var firstRecv = 0, recvCount = 0
    }
    var swaps: [Swap] = []
    let sendBuffer = RawArray<Double>(capacity: 4096, initial: 0)
    let recvBuffer = RawArray<Double>(capacity: 4096, initial: 0)

    // Neighbour list (half, Newton's third law across ghosts) in CSR form.
    let neighborStart = RawArray<Int32>(capacity: 1024, initial: 0)
    let neighbors = RawArray<Int32>(capacity: 40 * 1024, initial: 0)
    // Bins over the brick plus its ghost shell.
    var binCounts = SIMD3<Int>(1, 1, 1), binPad = SIMD3<Int>(0, 0, 0)
    var binSize = SIMD3<Double>(1, 1, 1), binOrigin = SIMD3<Double>(0, 0, 0)
    var stencil: [Int] = []
    let binStart = RawArray<Int32>(capacity: 1024, initial: 0)
    let binAtoms = RawArray<Int32>(capacity: 1024, initial: 0)
    let atomBin = RawArray<Int32>(capacity: 1024, initial: 0)

    // Results of the last force computation (local sums; energy only when asked).
    var localEnergy = 0.0, localVirial = 0.0

    public var degreesOfFreedom: Double { Double(3 * totalAtoms - 3) }

    /// Sets up the brick of this rank from the whole system, creates velocities if the state has
    /// none, builds ghosts and lists and computes the first forces.
    /// Throws `DynamicsFailure` (overlap, lost atoms) or `DecompositionError`; the job runner words
    /// them as input errors pointing into the job or data file.
    public init(comm: Communicator, units: UnitStyle, parameters: LJParameters, state: ParticleState,
                neighbor: NeighborSettings, timestep: Double, integrator: Integrator,
                velocity: (temperature: Double, seed: UInt64)?) throws {
        self.comm = comm
        self.units = units
        self.parameters = parameters
        table = LJTable(parameters)
        masses = state.masses
        inverseMass = state.masses.map { 1 / $0 }
        boxLo = state.boxLo
        boxHi = state.boxHi
        boxLength = state.boxHi - state.boxLo
        neighborSettings = neighbor
        cutGhost = parameters.maxCutoff + neighbor.skin
        totalAtoms = state.count
        self.timestep = timestep
        self.integrator = integrator
        step = state.step
        time = state.time
        if state.thermostatState.count == 2 {
            thermostatXi = state.thermostatState[0]
            thermostatEta = state.thermostatState[1]
        }
        guard let g = BrickGrid.choose(ranks: comm.size, box: boxLength, minWidth: cutGhost) else {
            throw DecompositionError(ranks: comm.size, box: boxLength, cutGhost: cutGhost)
        }
        grid = g
        gridCoordinates = g.coordinates(of: comm.rank)
        var lo = SIMD3<Double>(), hi = SIMD3<Double>()
        for d in 0..<3 {
            lo[d] = boxLo[d] + boxLength[d] * Double(gridCoordinates[d]) / Double(g.counts[d])
            hi[d] = gridCoordinates[d] == g.counts[d] - 1 ? boxHi[d]
                : boxLo[d] + boxLength[d] * Double(gridCoordinates[d] + 1) / Double(g.counts[d])
        }
        subLo = lo
        subHi = hi
        setUpSwapsAndBins()

        // Keep the atoms of this brick.
        let n = state.count
        var mine: [Int] = []
        for i in 0..<n {
            var p = SIMD3(state.positions[3 * i], state.positions[3 * i + 1], state.positions[3 * i + 2])
            for d in 0..<3 {
                if p[d] < boxLo[d] { p[d] += boxLength[d] }
                if p[d] >= boxHi[d] { p[d] -= boxLength[d] }
            }
            if brickCoordinates(of: p) == gridCoordinates { mine.append(i) }
        }
        reserveAtoms(mine.count + 64, keep: 0)
        for (k, i) in mine.enumerated() {
            for d in 0..<3 {
                var c = state.positions[3 * i + d]
                if c < boxLo[d] { c += boxLength[d] }
                if c >= boxHi[d] { c -= boxLength[d] }
                x[3 * k + d] = c
                v[3 * k + d] = state.velocities?[3 * i + d] ?? 0
            }
            type[k] = state.types[i]
            id[k] = state.ids[i]
        }
        nlocal = mine.count
        var count = [Double(nlocal)]
        comm.allreduceSum(&count)
        guard Int(count[0]) == n else { throw DynamicsFailure.lostAtoms(step: step, found: Int(count[0]), expected: n) }
        if let velocity { createVelocities(temperature: velocity.temperature, seed: velocity.seed) }
        try setUp()
        if let forces = state.forces, forces.count == 3 * n {
            var index: [Int64: Int] = [:]
            for (k, atomID) in state.ids.enumerated() { index[atomID] = k }
            for i in 0..<nlocal {
                guard let k = index[id[i]] else { continue }
                for d in 0..<3 { f[3 * i + d] = forces[3 * k + d] }
            }
        }
    }

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
        // Bins of about half the ghost cutoff over the brick + ghost shell, padded so the
        // stencil never leaves the grid.
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

    func reserveAtoms(_ n: Int, keep: Int) {
        x.reserve(3 * n, keep: 3 * keep)
        v.reserve(3 * n, keep: 3 * keep)
        f.reserve(3 * n, keep: 3 * keep)
        xhold.reserve(3 * n, keep: 3 * keep)
        type.reserve(n, keep: keep)
        id.reserve(n, keep: keep)
        atomBin.reserve(n, keep: keep)
    }

    // MARK: velocities

    /// Uniform random velocities per atom from (seed, id) — the same on any rank count — with
    /// zero total momentum, scaled to `temperature` with dof = 3N − 3 (LAMMPS `velocity create`).
    func createVelocities(temperature: Double, seed: UInt64) {
        var momentum = [0.0, 0.0, 0.0, 0.0]
        for i in 0..<nlocal {
            var rng = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: id[i]) &* 0xD1B5_4A32_D192_ED03)
            let m = masses[Int(type[i])]
            for d in 0..<3 {
                let value = (rng.nextUnit() - 0.5) / m.squareRoot()
                v[3 * i + d] = value
                momentum[d] += m * value
            }
            momentum[3] += m
        }
        comm.allreduceSum(&momentum)
        for i in 0..<nlocal {
            for d in 0..<3 { v[3 * i + d] -= momentum[d] / momentum[3] }
        }
        let current = currentTemperature()
        if current > 0 {
            let factor = (temperature / current).squareRoot()
            for k in 0..<(3 * nlocal) { v[k] *= factor }
        }
    }

    /// Σ m v² (this rank, in mass·velocity² units).
    func localTwiceKinetic() -> Double {
        var sum = 0.0
        let v = v.pointer, type = type.pointer
        for i in 0..<nlocal {
            let m = masses[Int(type[i])]
            sum += m * (v[3 * i] * v[3 * i] + v[3 * i + 1] * v[3 * i + 1] + v[3 * i + 2] * v[3 * i + 2])
        }
        return sum
    }

    public func currentTemperature() -> Double {
        var s = [localTwiceKinetic()]
        comm.allreduceSum(&s)
        return s[0] * units.mvv2e / (degreesOfFreedom * units.boltz)
    }

    // MARK: set-up and steps

    /// LAMMPS Verlet::setup: migrate, ghosts, list, forces (with energy), thermostat forces.
    func setUp() throws {
        try rebuild()
        try checkOverlaps()
        computeForces(energy: true)
        reverseCommunicate()
        applyPostForce()
    }

    /// One velocity-Verlet step. `energy`: compute potential energy and virial this step.
    /// `forceRebuild`: rebuild the lists this step (restart files are written at rebuild steps).
    public func advance(energy: Bool, forceRebuild: Bool = false) throws {
        step += 1
        time += timestep
        var t0 = now()
        if case .noseHoover = integrator { noseHooverHalfStep() }
        initialIntegrate()
        var t1 = now()
        times.modify += t1 - t0
        t0 = t1
        if forceRebuild || decideRebuild() {
            t1 = now(); times.comm += t1 - t0; t0 = t1
            try rebuild()
            t1 = now(); times.neighbor += t1 - t0; t0 = t1
        } else {
            forwardCommunicate()
            t1 = now(); times.comm += t1 - t0; t0 = t1
        }
        computeForces(energy: energy)
        t1 = now(); times.pair += t1 - t0; t0 = t1
        reverseCommunicate()
        t1 = now(); times.comm += t1 - t0; t0 = t1
        applyPostForce()
        finalIntegrate()
        if case .noseHoover = integrator { noseHooverHalfStep() }
        t1 = now(); times.modify += t1 - t0
    }

    func initialIntegrate() {
        let dtf = 0.5 * timestep * units.ftm2v, dtv = timestep
        let x = x.pointer, v = v.pointer, f = f.pointer, type = type.pointer
        inverseMass.withUnsafeBufferPointer { invm in
            for i in 0..<nlocal {
                let dtfm = dtf * invm[Int(type[i])]
                for d in 0..<3 {
                    v[3 * i + d] += dtfm * f[3 * i + d]
                    x[3 * i + d] += dtv * v[3 * i + d]
                }
            }
        }
    }

    func finalIntegrate() {
        let dtf = 0.5 * timestep * units.ftm2v
        let v = v.pointer, f = f.pointer, type = type.pointer
        inverseMass.withUnsafeBufferPointer { invm in
            for i in 0..<nlocal {
                let dtfm = dtf * invm[Int(type[i])]
                for d in 0..<3 { v[3 * i + d] += dtfm * f[3 * i + d] }
            }
        }
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

    // MARK: rebuild: wrap, migrate, sort, ghosts, neighbour list

    func rebuild() throws {
        wrapAndMigrate()
        var count = [Double(nlocal)]
        comm.allreduceSum(&count)
        guard Int(count[0]) == totalAtoms else {
            throw DynamicsFailure.lostAtoms(step: step, found: Int(count[0]), expected: totalAtoms)
        }
        sortOwned()
        borders()
        buildNeighborList()
        xhold.pointer.update(from: x.pointer, count: 3 * nlocal)
        lastBuild = step
        rebuildCount += 1
    }

    /// Periodic wrap of owned atoms, then atoms that left the brick move to the neighbour brick
    /// along x, then y, then z (LAMMPS Comm::exchange). Atoms that went further are lost.
    func wrapAndMigrate() {
        nghost = 0
        var lost = 0
        var i = 0
        while i < nlocal {
            var inside = true
            for d in 0..<3 {
                var c = x[3 * i + d]
                if c < boxLo[d] { c += boxLength[d] }
                if c >= boxHi[d] { c -= boxLength[d] }
                x[3 * i + d] = c
                if !(c >= boxLo[d] && c < boxHi[d]) { inside = false }  // also NaN
            }
            if inside { i += 1; continue }
            // Moved more than a box length since the last rebuild (or blew up): lost.
            lost += 1
            let last = nlocal - 1
            for k in 0..<3 { x[3 * i + k] = x[3 * last + k]; v[3 * i + k] = v[3 * last + k] }
            type[i] = type[last]
            id[i] = id[last]
            nlocal -= 1
        }
        let stride = 8
        for d in 0..<3 where grid.counts[d] > 1 {
            let p = grid.counts[d], me = gridCoordinates[d]
            var toLower: [Double] = [], toUpper: [Double] = []
            i = 0
            while i < nlocal {
                let c = x[3 * i + d]
                let t = (c - boxLo[d]) / boxLength[d] * Double(p)
                let target = t.isFinite && t > -1 && t < Double(p + 1) ? max(0, min(p - 1, Int(t.rounded(.down)))) : -1
                if target == me { i += 1; continue }
                let record = [x[3 * i], x[3 * i + 1], x[3 * i + 2], v[3 * i], v[3 * i + 1], v[3 * i + 2],
                              Double(type[i]), Double(id[i])]
                if target == (me + 1) % p { toUpper += record }
                else if target == (me - 1 + p) % p { toLower += record }
                else { lost += 1 }
                // Remove atom i: the last owned atom takes its place.
                let last = nlocal - 1
                for k in 0..<3 { x[3 * i + k] = x[3 * last + k]; v[3 * i + k] = v[3 * last + k] }
                type[i] = type[last]
                id[i] = id[last]
                nlocal -= 1
            }
            var down = gridCoordinates, up = gridCoordinates
            down[d] = (me - 1 + p) % p
            up[d] = (me + 1) % p
            let received = exchange(toLower, to: grid.rank(down), from: grid.rank(up))
                + exchange(toUpper, to: grid.rank(up), from: grid.rank(down))
            let n = received.count / stride
            reserveAtoms(nlocal + n + 64, keep: nlocal)
            for k in 0..<n {
                let r = k * stride
                for c in 0..<3 { x[3 * nlocal + c] = received[r + c]; v[3 * nlocal + c] = received[r + 3 + c] }
                type[nlocal] = Int32(received[r + 6])
                id[nlocal] = Int64(received[r + 7])
                nlocal += 1
            }
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
        for (k, key) in keys.enumerated() {
            let i = key.index
            for d in 0..<3 { x[3 * k + d] = xs[3 * i + d]; v[3 * k + d] = vs[3 * i + d] }
            type[k] = ts[i]
            id[k] = ids[i]
        }
    }

    /// Ghost atoms within cutoff + skin of the brick, by six swaps (LAMMPS Comm::borders):
    /// along x, then y (including x ghosts), then z (including both), so edges and corners come too.
    func borders() {
        nghost = 0
        let stride = 5
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
                values += [p.0, p.1, p.2, Double(type[i]), Double(id[i])]
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
            }
            swaps[s].firstRecv = first
            swaps[s].recvCount = n
            nghost += n
        }
        let largest = swaps.map { 3 * max($0.sendIndices.count, $0.recvCount) }.max() ?? 0
        sendBuffer.reserve(largest, keep: 0)
        recvBuffer.reserve(largest, keep: 0)
    }
    private var bordersLimit = 0

    /// Positions of ghosts from their owners, every step between rebuilds.
    func forwardCommunicate() {
        let x = x.pointer
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
        for i in 0..<nlocal {
            let xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2]
            let b = Int(bin[i])
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
                        if count == neighbors.capacity { neighbors.reserve(2 * count, keep: count) }
                        neighbors[count] = Int32(j)
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
        let n = parameters.typeCount
        outer: for i in 0..<nlocal {
            for k in Int(neighborStart[i])..<Int(neighborStart[i + 1]) {
                let j = Int(neighbors[k])
                let dx = x[3 * i] - x[3 * j], dy = x[3 * i + 1] - x[3 * j + 1], dz = x[3 * i + 2] - x[3 * j + 2]
                let r2 = dx * dx + dy * dy + dz * dz
                let s = parameters.sigma[Int(type[i]) * n + Int(type[j])]
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

    // MARK: forces

    /// lj/cut over the half list; ghost forces are sent home by reverseCommunicate().
    func computeForces(energy: Bool) {
        f.pointer.update(repeating: 0, count: 3 * (nlocal + nghost))
        if table.n == 1 {
            // One type: constants in registers, no per-pair type lookup.
            if energy { singleTypeKernel(energy: true) } else { singleTypeKernel(energy: false) }
        } else {
            if energy { kernel(energy: true) } else { kernel(energy: false) }
        }
    }

    @inline(__always) private func singleTypeKernel(energy: Bool) {
        let x = x.pointer, f = f.pointer
        let start = neighborStart.pointer, list = neighbors.pointer
        let cutsq = table.cutsq[0], lj1 = table.lj1[0], lj2 = table.lj2[0]
        let lj3 = table.lj3[0], lj4 = table.lj4[0], offset = table.offset[0]
        var e = 0.0, w = 0.0
        for i in 0..<nlocal {
            let xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2]
            var fx = 0.0, fy = 0.0, fz = 0.0
            for k in Int(start[i])..<Int(start[i + 1]) {
                let j3 = 3 &* Int(list[k])
                let dx = xi - x[j3], dy = yi - x[j3 &+ 1], dz = zi - x[j3 &+ 2]
                let r2 = dx * dx + dy * dy + dz * dz
                if r2 < cutsq {
                    let r2inv = 1 / r2
                    let r6inv = r2inv * r2inv * r2inv
                    let fpair = r6inv * (lj1 * r6inv - lj2) * r2inv
                    fx += dx * fpair
                    fy += dy * fpair
                    fz += dz * fpair
                    f[j3] -= dx * fpair
                    f[j3 &+ 1] -= dy * fpair
                    f[j3 &+ 2] -= dz * fpair
                    if energy {
                        e += r6inv * (lj3 * r6inv - lj4) - offset
                        w += r2 * fpair
                    }
                }
            }
            f[3 * i] += fx
            f[3 * i + 1] += fy
            f[3 * i + 2] += fz
        }
        if energy { localEnergy = e; localVirial = w }
    }

    @inline(__always) private func kernel(energy: Bool) {
        let x = x.pointer, f = f.pointer, type = type.pointer
        let start = neighborStart.pointer, list = neighbors.pointer
        let n = table.n
        var e = 0.0, w = 0.0
        table.cutsq.withUnsafeBufferPointer { cutsq in
        table.lj1.withUnsafeBufferPointer { lj1 in
        table.lj2.withUnsafeBufferPointer { lj2 in
        table.lj3.withUnsafeBufferPointer { lj3 in
        table.lj4.withUnsafeBufferPointer { lj4 in
        table.offset.withUnsafeBufferPointer { offset in
            for i in 0..<nlocal {
                let xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2]
                let ti = Int(type[i]) &* n
                var fx = 0.0, fy = 0.0, fz = 0.0
                for k in Int(start[i])..<Int(start[i + 1]) {
                    let j = Int(list[k])
                    let dx = xi - x[3 &* j], dy = yi - x[3 &* j &+ 1], dz = zi - x[3 &* j &+ 2]
                    let r2 = dx * dx + dy * dy + dz * dz
                    let t = ti &+ Int(type[j])
                    if r2 < cutsq[t] {
                        let r2inv = 1 / r2
                        let r6inv = r2inv * r2inv * r2inv
                        let fpair = r6inv * (lj1[t] * r6inv - lj2[t]) * r2inv
                        fx += dx * fpair
                        fy += dy * fpair
                        fz += dz * fpair
                        f[3 &* j] -= dx * fpair
                        f[3 &* j &+ 1] -= dy * fpair
                        f[3 &* j &+ 2] -= dz * fpair
                        if energy {
                            e += r6inv * (lj3[t] * r6inv - lj4[t]) - offset[t]
                            w += r2 * fpair
                        }
                    }
                }
                f[3 * i] += fx
                f[3 * i + 1] += fy
                f[3 * i + 2] += fz
            }
        }}}}}}
        if energy { localEnergy = e; localVirial = w }
    }

    // MARK: thermostats

    /// Langevin forces after the pair forces (LAMMPS fix langevin, uniform noise). The random
    /// numbers come from (seed, step, atom id), so they do not depend on ranks or restarts.
    func applyPostForce() {
        guard case .langevin(let temperature, let damp, let seed) = integrator else { return }
        let f = f.pointer, v = v.pointer
        let tsqrt = temperature.squareRoot()
        for i in 0..<nlocal {
            let m = masses[Int(type[i])]
            let gamma1 = -m / damp / units.ftm2v
            let gamma2 = m.squareRoot() * (24 * units.boltz / damp / timestep / units.mvv2e).squareRoot() / units.ftm2v * tsqrt
            var rng = SplitMix64(seed: (seed &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(step) &* 0xBF58_476D_1CE4_E5B9)
                                 ^ (UInt64(bitPattern: id[i]) &* 0x94D0_49BB_1331_11EB))
            for d in 0..<3 {
                f[3 * i + d] += gamma1 * v[3 * i + d] + gamma2 * (rng.nextUnit() - 0.5)
            }
        }
    }

    /// Half a timestep of the Nosé–Hoover thermostat: ξ quarter step, scale v, η, ξ quarter step.
    func noseHooverHalfStep() {
        guard case .noseHoover(let temperature, let damp) = integrator else { return }
        let target = degreesOfFreedom * units.boltz * temperature
        let q = target * damp * damp
        var ke2 = [localTwiceKinetic()]
        comm.allreduceSum(&ke2)
        var twoKE = ke2[0] * units.mvv2e
        let dt4 = 0.25 * timestep, dt2 = 0.5 * timestep
        thermostatXi += dt4 * (twoKE - target) / q
        let scale = Foundation.exp(-thermostatXi * dt2)
        for k in 0..<(3 * nlocal) { v[k] *= scale }
        twoKE *= scale * scale
        thermostatEta += thermostatXi * dt2
        thermostatXi += dt4 * (twoKE - target) / q
    }

    // MARK: thermo and data

    /// Thermo of the last force computation (which must have computed energy). Collective.
    public func thermo() -> Thermo {
        var sums = [localEnergy, localVirial, localTwiceKinetic()]
        comm.allreduceSum(&sums)
        let kinetic = 0.5 * sums[2] * units.mvv2e
        let temperature = sums[2] * units.mvv2e / (degreesOfFreedom * units.boltz)
        let volume = boxLength.x * boxLength.y * boxLength.z
        let pressure = (degreesOfFreedom * units.boltz * temperature + sums[1]) / (3 * volume) * units.nktv2p
        var thermostatEnergy = 0.0
        if case .noseHoover(let t, let damp) = integrator {
            let target = degreesOfFreedom * units.boltz * t
            thermostatEnergy = 0.5 * target * damp * damp * thermostatXi * thermostatXi + target * thermostatEta
        }
        return Thermo(step: step, time: time, atoms: totalAtoms, temperature: temperature,
                      potentialEnergy: sums[0], kineticEnergy: kinetic, pressure: pressure,
                      thermostatEnergy: thermostatEnergy)
    }

    /// Values per record of `localRecords()`.
    public static let recordSize = 11

    /// Owned atoms as (id, type, x, y, z, vx, vy, vz, fx, fy, fz) records, positions wrapped into the box.
    public func localRecords() -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(Self.recordSize * nlocal)
        for i in 0..<nlocal {
            out.append(Double(id[i]))
            out.append(Double(type[i]))
            for d in 0..<3 {
                var c = x[3 * i + d]
                if c < boxLo[d] { c += boxLength[d] }
                if c >= boxHi[d] { c -= boxLength[d] }
                out.append(c)
            }
            for d in 0..<3 { out.append(v[3 * i + d]) }
            for d in 0..<3 { out.append(f[3 * i + d]) }
        }
        return out
    }

    /// Total momentum Σ m v (collective).
    public func totalMomentum() -> SIMD3<Double> {
        var p = [0.0, 0.0, 0.0]
        for i in 0..<nlocal {
            let m = masses[Int(type[i])]
            for d in 0..<3 { p[d] += m * v[3 * i + d] }
        }
        comm.allreduceSum(&p)
        return SIMD3(p[0], p[1], p[2])
    }

    /// Neighbour pairs stored (this rank).
    public var neighborPairCount: Int { Int(neighborStart[nlocal]) }
}

/// The box cannot be cut into as many bricks as ranks (each at least cutoff + skin wide).
public struct DecompositionError: Error, Sendable {
    public var ranks: Int
    public var box: SIMD3<Double>
    public var cutGhost: Double
}

extension Double {
    @inline(__always) func clamped(_ lo: Double, _ hi: Double) -> Double { Swift.min(Swift.max(self, lo), hi) }
}

extension MDEngine {
    /// Forces on owned atoms by id (for tests against a brute-force reference).
    public func localForces() -> [Int64: SIMD3<Double>] {
        var out: [Int64: SIMD3<Double>] = [:]
        for i in 0..<nlocal { out[id[i]] = SIMD3(f[3 * i], f[3 * i + 1], f[3 * i + 2]) }
        return out
    }
}
