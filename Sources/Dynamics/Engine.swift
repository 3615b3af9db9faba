// The molecular-dynamics engine: the atoms of one brick and the step in LAMMPS' Verlet::run order
// (fix initial integrate, exchange/borders or forward comm, neighbour list, pair, kspace, reverse
// comm, fix post-force and final integrate). The parts live beside it: Comm.swift (domain
// traffic), Neighbor.swift (bins and lists), Pair.swift, KSpace.swift, Bonded.swift, Fixes.swift
// (the `Fix`es: nve, nvt, langevin, external, shake), Shake.swift, Thermo.swift. Kernels never
// see MPI: rank traffic goes through Communicator.
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


/// Wall time spent in each phase, seconds (this rank).
public struct PhaseTimes: Sendable {
    public var pair = 0.0, bond = 0.0, kspace = 0.0, neighbor = 0.0, comm = 0.0, modify = 0.0
    /// In the external force (QM/MM: the quantum region and its coupling).
    public var external = 0.0
}

/// Errors found while the run goes on (all ranks agree on them).
public enum DynamicsFailure: Error, Sendable {
    case lostAtoms(step: Int, found: Int, expected: Int)
    case overlap(idA: Int64, idB: Int64, distance: Double)
    case notFinite(step: Int)
    /// A bond, angle or SHAKE partner is neither owned nor a ghost of the rank that needs it.
    case missingBondPartner(atom: Int64, step: Int)
}

@inline(__always) func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

public final class MDEngine {
    public let comm: Communicator
    public let units: UnitStyle
    public private(set) var pair: any PairStyle
    public let kspace: (any KSpace)?
    public let special: SpecialFactors
    /// Σq, Σq² over all atoms.
    public let charges: ChargeSums
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
    public internal(set) var lastBuild: Int = 0
    public internal(set) var rebuildCount = 0
    public var times = PhaseTimes()
    /// Nosé–Hoover ξ (thermostat velocity) and η (position).
    public internal(set) var thermostatXi = 0.0, thermostatEta = 0.0

    // Atoms: owned in [0, nlocal), ghosts in [nlocal, nlocal + nghost).
    public internal(set) var nlocal = 0
    public internal(set) var nghost = 0
    let x = RawArray<Double>(capacity: 3 * 1024, initial: 0)
    let v = RawArray<Double>(capacity: 3 * 1024, initial: 0)
    let f = RawArray<Double>(capacity: 3 * 1024, initial: 0)
    let type = RawArray<Int32>(capacity: 1024, initial: 0)
    let id = RawArray<Int64>(capacity: 1024, initial: 0)
    let q = RawArray<Double>(capacity: 1024, initial: 0)
    /// Molecule id (0: none), as LAMMPS atom_style full.
    let mol = RawArray<Int64>(capacity: 1024, initial: 0)
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
    var bordersLimit = 0
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
    var lastPair = PairTally()
    var lastKSpace = KSpaceTally()
    var lastBonded = BondedTally()
    var lastShakeVirial = 0.0
    var lastExternal = 0.0
    /// Forces from outside (QM/MM), after k-space and before SHAKE.
    public let external: (any ExternalForce)?
    /// The fixes the Verlet step calls (integrator, thermostat, external force, SHAKE), in order.
    var fixes: [any Fix] = []

    // Molecular topology (nil: atomic system) and its lists in local indices.
    let topology: TopologyIndex?
    /// The bonds, angles and constraints this engine runs with (nil: an atomic system).
    public var molecularTopology: Topology? { topology?.topology }
    var atomMap: [Int64: Int32] = [:]
    var bondList: [SIMD3<Int32>] = []
    var angleList: [SIMD4<Int32>] = []
    var shakeList: [Int] = []
    /// Local indices of each listed cluster's atoms (−1 past its size).
    var shakeLocal: [SIMD4<Int32>] = []
    let xshake = RawArray<Double>(capacity: 3 * 1024, initial: 0)

    /// 3N − 3 minus one per SHAKE constraint (LAMMPS compute temp with fix shake's dof).
    public var degreesOfFreedom: Double { Double(3 * totalAtoms - 3 - (topology?.constraintCount ?? 0)) }

    /// Sets up the brick of this rank from the whole system, creates velocities if the state has
    /// none, builds ghosts and lists and computes the first forces.
    /// Throws `DynamicsFailure` (overlap, lost atoms) or `DecompositionError`; the job runner words
    /// them as input errors pointing into the job or data file.
    public init(comm: Communicator, units: UnitStyle, pair: any PairStyle, kspace: KSpaceSettings? = nil,
                special: SpecialFactors = SpecialFactors(), topology: Topology? = nil, state: ParticleState,
                neighbor: NeighborSettings, timestep: Double, integrator: Integrator,
                velocity: (temperature: Double, seed: UInt64)?, external: (any ExternalForce)? = nil) throws {
        self.comm = comm
        self.external = external
        self.units = units
        self.special = special
        self.topology = try topology.map(TopologyIndex.init)
        let qs = state.charges ?? []
        charges = ChargeSums(qsum: qs.reduce(0, +), qsqsum: qs.reduce(0) { $0 + $1 * $1 }, natoms: state.count)
        var pair = pair
        if let k = kspace, let cutoff = pair.coulombCutoff {
            let solver: any KSpace
            switch k.style {
            case .ewald:
                solver = Ewald(box: state.boxHi - state.boxLo, charges: charges, units: units, cutoff: cutoff,
                               accuracy: k.accuracy, gEwald: k.gEwald, kmax: k.kmax)
            case .pppm:
                solver = try PPPM(origin: state.boxLo, box: state.boxHi - state.boxLo, charges: charges, units: units, cutoff: cutoff,
                                  accuracy: k.accuracy, gEwald: k.gEwald, mesh: k.mesh, order: k.order)
            }
            pair.gEwald = solver.gEwald
            self.kspace = solver
        } else {
            self.kspace = nil
        }
        self.pair = pair
        masses = state.masses
        inverseMass = state.masses.map { 1 / $0 }
        boxLo = state.boxLo
        boxHi = state.boxHi
        boxLength = state.boxHi - state.boxLo
        neighborSettings = neighbor
        cutGhost = pair.cutoff + neighbor.skin
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
        fixes = Self.fixes(integrator: integrator, external: external, constraints: !(self.topology?.clusters.isEmpty ?? true))
        setUpSwapsAndBins()

        // Keep the atoms of this brick.
        let n = state.count
        var mine: [Int] = []
        for i in 0..<n {
            var p = SIMD3<Double>()
            for d in 0..<3 { p[d] = wrapped(state.positions[3 * i + d], d) }
            if brickCoordinates(of: p) == gridCoordinates { mine.append(i) }
        }
        reserveAtoms(mine.count + 64, keep: 0)
        for (k, i) in mine.enumerated() {
            for d in 0..<3 {
                x[3 * k + d] = wrapped(state.positions[3 * i + d], d)
                v[3 * k + d] = state.velocities?[3 * i + d] ?? 0
            }
            type[k] = state.types[i]
            id[k] = state.ids[i]
            q[k] = state.charges?[i] ?? 0
            mol[k] = state.molecules?[i] ?? 0
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

    func reserveAtoms(_ n: Int, keep: Int) {
        x.reserve(3 * n, keep: 3 * keep)
        v.reserve(3 * n, keep: 3 * keep)
        f.reserve(3 * n, keep: 3 * keep)
        xhold.reserve(3 * n, keep: 3 * keep)
        type.reserve(n, keep: keep)
        id.reserve(n, keep: keep)
        q.reserve(n, keep: keep)
        mol.reserve(n, keep: keep)
        atomBin.reserve(n, keep: keep)
    }

    // MARK: set-up and steps

    /// LAMMPS Verlet::setup: migrate, ghosts, list, forces (with energy), thermostat forces.
    func setUp() throws {
        try rebuild()
        try checkOverlaps()
        computeForces(energy: true)
        lastBonded = computeBonded(energy: true)
        computeKSpace(energy: true)
        reverseCommunicate()
        for fix in fixes { try fix.setup(self) }
    }

    /// One velocity-Verlet step. `energy`: compute potential energy and virial this step.
    /// `forceRebuild`: rebuild the lists this step (restart files are written at rebuild steps).
    public func advance(energy: Bool, forceRebuild: Bool = false) throws {
        step += 1
        time += timestep
        var t0 = now()
        for fix in fixes { fix.initialIntegrate(self) }
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
        if topology != nil {
            let tally = computeBonded(energy: energy)
            if energy { lastBonded = tally }
            t1 = now(); times.bond += t1 - t0; t0 = t1
        }
        computeKSpace(energy: energy)
        t1 = now(); times.kspace += t1 - t0; t0 = t1
        reverseCommunicate()
        t1 = now(); times.comm += t1 - t0; t0 = t1
        let externalBefore = times.external
        for fix in fixes { try fix.postForce(self, energy: energy) }
        for fix in fixes { fix.finalIntegrate(self) }
        t1 = now(); times.modify += t1 - t0 - (times.external - externalBefore)
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
        try buildTopologyLists()
        xhold.pointer.update(from: x.pointer, count: 3 * nlocal)
        lastBuild = step
        rebuildCount += 1
    }

    /// Periodic wrap of owned atoms, then atoms that left the brick move to the neighbour brick
    /// along x, then y, then z (LAMMPS Comm::exchange). Atoms that went further are lost.
    // MARK: forces

    /// The pair style over the half list; ghost forces are sent home by reverseCommunicate().
    func computeForces(energy: Bool) {
        f.pointer.update(repeating: 0, count: 3 * (nlocal + nghost))
        let input = PairInput(x: x.pointer, f: f.pointer, type: type.pointer, q: q.pointer, nlocal: nlocal,
                              start: neighborStart.pointer, list: neighbors.pointer)
        let tally = pair.compute(input, special: special, energy: energy)
        if energy { lastPair = tally }
    }

    /// The k-space part on the owned atoms (collective).
    func computeKSpace(energy: Bool) {
        guard let kspace else { return }
        let tally = kspace.compute(KSpaceInput(x: x.pointer, q: q.pointer, f: f.pointer, nlocal: nlocal), comm: comm, energy: energy)
        if energy { lastKSpace = tally }
    }
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
