// `kind = "md"`: molecular dynamics (the Dynamics engine), results in H5MD. `kind = "qmmm"` is the
// same run with a quantum region (QMMMRun.swift) as the engine's external force.
import Chemistry
import Dynamics
import ForgeCore
import Foundation
import ResultsIO

public struct MDJob {
    public let settings: MDSettings
    public let output: String
    /// The quantum region of a `qmmm` job (nil: plain MD).
    let qm: QMRegionSpec?
    var kind: String { qm == nil ? "md" : "qmmm" }

    public init(file: JobFile, output: String, quantumRegion: Bool = false) throws {
        settings = try MDSettings(file: file, extraKeys: quantumRegion ? QMRegionSpec.keys : [])
        qm = quantumRegion ? try QMRegionSpec(file: file, units: settings.units) : nil
        self.output = output
    }

    var file: JobFile { settings.file }

    /// The key naming the system source, for error locations.
    var systemKey: String {
        switch settings.source {
        case .lattice: return "system.lattice"
        case .dataFile: return "system.data_file"
        case .restart: return "system.restart"
        }
    }

    /// The whole system on every rank, its type count, and the data file (for error lines).
    func loadSystem() throws -> (ParticleState, Int, LAMMPSDataFile?, RawTopology) {
        switch settings.source {
        case .lattice(let spec):
            let types = try file.integer("system.types") ?? 1
            var masses = settings.masses ?? Array(repeating: 1, count: types)
            if masses.count == 1 && types > 1 { masses = Array(repeating: masses[0], count: types) }
            guard masses.count == types else { throw file.error("'system.masses' has \(masses.count) values for \(types) types", at: "system.masses") }
            return (spec.particles(masses: masses), types, nil, RawTopology())
        case .dataFile(let path):
            var data = try LAMMPSDataFile(contentsOf: path)
            if let m = settings.masses {
                guard m.count == data.typeCount else { throw file.error("'system.masses' has \(m.count) values for \(data.typeCount) types", at: "system.masses") }
                data.state.masses = m
            }
            return (data.state, data.typeCount, data, Self.rawTopology(data))
        case .restart(let path):
            let r = try MDRestartFile.read(path)
            guard r.units == settings.units.rawValue else {
                throw file.error("restart file is in '\(r.units)' units but the job says '\(settings.units.rawValue)'", at: "system.restart")
            }
            return (try Self.state(restart: r, path: path, masses: settings.masses), r.masses.count, nil, Self.rawTopology(r))
        }
    }

    /// The whole system as a restart (or checkpoint) left it.
    static func state(restart r: MDRestartFile.Contents, path: String, masses: [Double]?) throws -> ParticleState {
        let n = r.ids.count
        guard r.positions.count == 3 * n, r.velocities.count == 3 * n, r.types.count == n, r.boxLo.count == 3, r.boxHi.count == 3 else {
            throw InputError("restart file is inconsistent (array sizes)", file: path)
        }
        var state = ParticleState(boxLo: SIMD3(r.boxLo[0], r.boxLo[1], r.boxLo[2]), boxHi: SIMD3(r.boxHi[0], r.boxHi[1], r.boxHi[2]),
                                  masses: masses ?? r.masses, ids: r.ids, types: r.types,
                                  positions: r.positions, velocities: r.velocities)
        state.step = r.step
        state.time = r.time
        state.thermostatState = r.thermostat
        state.forces = r.forces.count == 3 * n ? r.forces : nil
        if r.charges.count == n { state.charges = r.charges }
        if r.molecules.count == n { state.molecules = r.molecules }
        return state
    }

    /// Bonds and angles (by atom id), coefficients and bond/angle type counts of a system.
    struct RawTopology {
        var bonds: [Bond] = [], angles: [Angle] = []
        var bondCoeffs: [[Double]] = [], angleCoeffs: [[Double]] = []
        var bondTypes = 0, angleTypes = 0
    }

    static func rawTopology(_ data: LAMMPSDataFile) -> RawTopology {
        RawTopology(bonds: data.bonds, angles: data.angles, bondCoeffs: data.bondCoeffs, angleCoeffs: data.angleCoeffs,
                    bondTypes: data.bondTypes, angleTypes: data.angleTypes)
    }

    static func rawTopology(_ r: MDRestartFile.Contents) -> RawTopology {
        var t = RawTopology()
        t.bonds = stride(from: 0, to: r.bonds.count - 2, by: 3).map { Bond(type: Int32(r.bonds[$0]), atoms: (r.bonds[$0 + 1], r.bonds[$0 + 2])) }
        t.angles = stride(from: 0, to: r.angles.count - 3, by: 4).map {
            Angle(type: Int32(r.angles[$0]), atoms: (r.angles[$0 + 1], r.angles[$0 + 2], r.angles[$0 + 3]))
        }
        t.bondCoeffs = stride(from: 0, to: r.bondCoeffs.count - 1, by: 2).map { [r.bondCoeffs[$0], r.bondCoeffs[$0 + 1]] }
        t.angleCoeffs = stride(from: 0, to: r.angleCoeffs.count - 1, by: 2).map { [r.angleCoeffs[$0], r.angleCoeffs[$0 + 1]] }
        t.bondTypes = t.bondCoeffs.count
        t.angleTypes = t.angleCoeffs.count
        return t
    }

    /// The engine's topology: the system's bonds and angles with the job's styles, coefficients
    /// and SHAKE settings (nil for an atomic system without constraints).
    func topology(_ raw: RawTopology) throws -> Topology? {
        let s = settings
        if !raw.bonds.isEmpty && s.bondStyle == nil {
            throw file.error("the system has \(raw.bonds.count) bonds: set [bond] style = \"harmonic\"", at: systemKey)
        }
        if !raw.angles.isEmpty && s.angleStyle == nil {
            throw file.error("the system has \(raw.angles.count) angles: set [angle] style = \"harmonic\"", at: systemKey)
        }
        if raw.bonds.isEmpty && !s.shakeBonds.isEmpty {
            throw file.error("SHAKE needs bonds: the system has none (give a data file in atom_style full)", at: "constraints.style")
        }
        guard !raw.bonds.isEmpty || !raw.angles.isEmpty else { return nil }
        let bondCoeffs = raw.bonds.isEmpty ? [] : try s.coefficients("bond.coeff", types: raw.bondTypes, fromData: raw.bondCoeffs)
        let angleCoeffs = raw.angles.isEmpty ? [] : try s.coefficients("angle.coeff", types: raw.angleTypes, fromData: raw.angleCoeffs)
        for t in s.shakeBonds where t > raw.bondTypes {
            throw file.error("'constraints.bonds': bond type \(t) outside 1…\(raw.bondTypes)", at: "constraints.bonds")
        }
        for t in s.shakeAngles where t > raw.angleTypes {
            throw file.error("'constraints.angles': angle type \(t) outside 1…\(raw.angleTypes)", at: "constraints.angles")
        }
        var topology = Topology(bonds: raw.bonds, angles: raw.angles, bondCoeffs: bondCoeffs, angleCoeffs: angleCoeffs)
        topology.shakeBondTypes = Set(s.shakeBonds.map { Int32($0 - 1) })
        topology.shakeAngleTypes = Set(s.shakeAngles.map { Int32($0 - 1) })
        topology.shakeTolerance = s.shakeTolerance
        topology.shakeIterations = s.shakeIterations
        return topology
    }

    /// Words an engine failure as the bad input that caused it.
    func inputError(_ error: Error, data: LAMMPSDataFile?, state: ParticleState) -> Error {
        switch error {
        case let e as DecompositionError:
            let b = e.box
            return file.error(String(format: "cannot split the box (%.4g × %.4g × %.4g) over %d ranks: every brick must be at least cutoff + skin = %.4g wide; use fewer ranks or a larger system",
                                     b.x, b.y, b.z, e.ranks, e.cutGhost), at: systemKey)
        case DynamicsFailure.overlap(let a, let b, let d):
            let message = String(format: "atoms %lld and %lld overlap (distance %.3g): infinite force", a, b, d)
            if let data, let k = state.ids.firstIndex(of: b) {
                return InputError(message, file: dataPath, line: data.atomLines[k])
            }
            return file.error(message, at: systemKey)
        case DynamicsFailure.lostAtoms(let step, let found, let expected):
            return file.error("lost atoms at step \(step): \(found) of \(expected) left (atoms moved farther than a brick or a box length between neighbour-list rebuilds; reduce 'run.timestep' or 'neighbor.every')",
                              at: file.has("run.timestep") ? "run.timestep" : "run.steps")
        case let e as QMMMInputError:
            return file.error(e.message, at: e.key)
        case let e as PPPMError:
            return file.error(e.description, at: "kspace.style")
        case let e as TopologyError:
            return file.error(e.message, at: "constraints.style")
        case DynamicsFailure.missingBondPartner(let atom, let step):
            return file.error("at step \(step) a bond, angle or SHAKE partner (atom \(atom)) is farther than cutoff + skin from its partner's rank; the molecule is stretched across the box or the system blew up", at: systemKey)
        case DynamicsFailure.notFinite(let step):
            return file.error("energy is not finite at step \(step) (the system blew up; reduce 'run.timestep')",
                              at: file.has("run.timestep") ? "run.timestep" : "run.steps")
        default:
            return error
        }
    }

    var dataPath: String? {
        if case .dataFile(let p) = settings.source { return p }
        return nil
    }

    /// Runs the job to its end (or to a signal: checkpoint, then `Interrupted`) and publishes
    /// the H5MD file. A checkpoint of this very job, left by a preempted attempt, is continued.
    public func run(_ context: RunContext) throws {
        let comm = context.comm
        let s = settings
        try comm.agree { if comm.isRoot { try ensureWritable(path: output) } }
        if let r = s.restartPath { try comm.agree { if comm.isRoot { try ensureWritable(path: r) } } }
        let units = s.units
        let h5Units = H5MDUnits(system: units.rawValue,
                                length: units == .lj ? nil : units.length, time: units == .lj ? nil : units.time,
                                velocity: units == .lj ? nil : units.velocity,
                                energy: units.energy + (units.normalizeThermo ? " per atom" : ""),
                                temperature: units.temperature, pressure: units.pressure)
        var atomCount = 0
        let trajectory = TrajectoryOutput(output: output, context: context) { path in
            try H5MDWriter(path: path, particleCount: atomCount, units: h5Units, creatorVersion: qforgeVersion,
                           author: ProcessInfo.processInfo.environment["USER"] ?? "qforge")
        }
        let resume = try trajectory.resumePoint()
        var (state, typeCount, data, raw) = try comm.agree { () throws -> (ParticleState, Int, LAMMPSDataFile?, RawTopology) in
            guard let resume else { return try loadSystem() }
            return (try Self.state(restart: resume.contents, path: trajectory.checkpoint.path, masses: nil), resume.contents.masses.count, nil,
                    Self.rawTopology(resume.contents))
        }
        let topology = try comm.agree { try self.topology(raw) }
        if let resume { context.say("qforge \(kind): continuing from checkpoint \(trajectory.checkpoint.path) at step \(resume.contents.step)") }
        let quantumTypes = try comm.agree { try prepareQuantumRegion(&state, topology: raw) }
        let pair = try comm.agree { () throws -> any PairStyle in
            let p = try s.pair(typeCount: typeCount, units: units, quantumTypes: quantumTypes)
            let box = state.boxHi - state.boxLo
            let shortest = min(box.x, box.y, box.z)
            if let coul = p.coulombCutoff, shortest < 2 * coul {
                throw file.error(String(format: "Coulomb cutoff %.4g is beyond half the shortest box edge (%.4g): a charge would meet its own image", coul, shortest),
                                 at: file.has("pair.coul_cutoff") ? "pair.coul_cutoff" : "pair.cutoff")
            }
            if shortest < 2 * p.lj.maxCutoff {
                let message = String(format: "box edge %.4g is shorter than twice the cutoff (2 × %.4g): an atom would meet its own image", shortest, p.lj.maxCutoff)
                if let data { throw InputError(message, file: dataPath, line: data.boxLine) }
                throw file.error(message, at: "pair.cutoff")
            }
            if p.coulombCutoff != nil && state.charges == nil {
                throw file.error("pair style \(p.name) needs charges: give a data file in atom_style charge or full", at: "pair.style")
            }
            return p
        }
        if let q = state.charges, s.kspace != nil {
            let net = q.reduce(0, +)
            if abs(net) > 1e-5 {
                context.note(String(format: "WARNING: system is not charge neutral, net charge = %.8g (a uniform neutralising background is added, as LAMMPS does)", net), always: true)
            }
        }

        let velocity: (temperature: Double, seed: UInt64)?
        if resume != nil { velocity = nil } else if let v = s.velocity { velocity = v } else if state.velocities == nil { velocity = (0, 1) } else { velocity = nil }
        var coupling: QMMMCoupling? = nil
        if let qm {
            let (potential, shared) = try comm.agree { try qm.potential(comm) }
            if let parameters = resume?.contents.auxiliary["vqe_parameters"], !parameters.isEmpty { potential.warmStart(from: parameters) }
            coupling = QMMMCoupling(spec: qm, potential: potential)
            context.say("qforge qmmm: quantum region \(qm.elements.map(\.rawValue).joined()) (atoms \(qm.ids.map(String.init).joined(separator: " "))), UCCSD-VQE in \(qm.basis), "
                        + (qm.electrostatic ? String(format: "electrostatic embedding: molecules within %.4g Å (switched off over the last %.4g Å)", qm.cutoff, qm.switchWidth) : "mechanical embedding")
                        + "; the VQE statevector " + (shared ? "split over all \(comm.size) ranks" : "whole on every rank"))
        }
        let engine = try comm.agree { () throws -> MDEngine in
            do {
                return try MDEngine(comm: comm, units: s.units, pair: pair, kspace: s.kspace, special: s.special, topology: topology, state: state, neighbor: s.neighbor,
                                    timestep: s.timestep, integrator: s.integrator, velocity: velocity, external: coupling)
            } catch { throw inputError(error, data: data, state: state) }
        }
        atomCount = engine.totalAtoms
        let norm = units.normalizeThermo ? 1 / Double(engine.totalAtoms) : 1
        do {
            try trajectory.open(replaying: resume != nil)
            let end = resume?.endStep ?? engine.step + s.steps
            try runLoop(engine: engine, trajectory: trajectory, rows: AtomRowIndex(ids: state.ids), norm: norm, context: context,
                        endStep: end, resumed: resume != nil)
            if let coupling {
                let record = try comm.agree { try vqeRecord(coupling) }
                try trajectory.publish(kind: kind) { try $0.addVQE(record) }
            } else {
                try trajectory.publish(kind: kind)
            }
            context.reportWrites()
            context.say("  wrote \(output)")
        } catch let stop as Interrupted {
            throw stop  // the checkpoint took the .partial's place
        } catch {
            trajectory.discard()
            throw inputError(error, data: data, state: state)
        }
    }

    /// Steps from the engine's step to `endStep`. `resumed`: the file already holds the frame of
    /// the first step.
    func runLoop(engine: MDEngine, trajectory: TrajectoryOutput, rows: AtomRowIndex, norm: Double, context: RunContext,
                 endStep last: Int, resumed: Bool) throws {
        let comm = engine.comm
        let s = settings
        let first = engine.step, steps = last - first
        context.say("qforge \(kind): \(engine.totalAtoms) atoms, \(s.units.rawValue) units, \(comm.size) rank\(comm.size == 1 ? "" : "s") as \(engine.grid.counts.x)×\(engine.grid.counts.y)×\(engine.grid.counts.z) bricks, \(steps) steps of \(s.timestep)")
        for line in engine.kspace?.summary ?? [] { context.say(line) }
        // LAMMPS thermo_style custom step temp epair etotal press [evdwl ecoul elong].
        let coulomb = engine.pair.coulombCutoff != nil
        let molecular = engine.molecularTopology != nil
        let columns = ["Temp", "E_pair", "TotEng", "Press"] + (coulomb ? ["E_vdwl", "E_coul", "E_long"] : [])
            + (molecular ? ["E_bond", "E_angle"] : []) + (qm != nil ? ["E_qm"] : []) + (molecular || qm != nil ? ["PotEng"] : [])
        context.say(pad("Step", 10) + columns.map { " " + pad($0, 20) }.joined())
        func row(_ t: Thermo) throws {
            guard t.potentialEnergy.isFinite, t.kineticEnergy.isFinite, t.pressure.isFinite else { throw DynamicsFailure.notFinite(step: t.step) }
            var values = [t.temperature, t.pairEnergy * norm, t.totalEnergy * norm, t.pressure]
            if coulomb { values += [t.vdwl * norm, t.coul * norm, t.long * norm] }
            if molecular { values += [t.bond * norm, t.angle * norm] }
            if qm != nil { values.append(t.external * norm) }
            if molecular || qm != nil { values.append(t.potentialEnergy * norm) }
            context.say(String(format: "%10d", t.step) + values.map { String(format: " %20.14g", $0) }.joined())
        }
        var outputTime = 0.0
        let setupThermo = engine.thermo()
        try row(setupThermo)
        let frames = s.trajectoryEvery > 0
        if frames && !resumed { try writeFrame(engine: engine, thermo: setupThermo, trajectory: trajectory, rows: rows, norm: norm) }
        let progress = context.progress("\(kind) steps")
        (engine.external as? QMMMCoupling)?.resetTimers()
        let loopStart = Date()
        // A checkpoint (signal or periodic) asked for at a step whose lists were not rebuilt waits
        // here, with the step it was asked at.
        var pending: (decision: CheckpointSchedule.Decision, since: Int)? = nil
        for k in 0..<steps {
            let step = first + k + 1
            let isThermo = step % s.thermoEvery == 0 || step == last
            let isFrame = (frames && step % s.trajectoryEvery == 0) || step == last
            let isRestart = s.restartPath != nil && ((s.restartEvery > 0 && step % s.restartEvery == 0) || step == last)
            let overdue = pending.map { step - $0.since > 100 } ?? false
            try engine.advance(energy: isThermo || isFrame, forceRebuild: isRestart || overdue)
            let t0 = Date()
            if isThermo || isFrame {
                let t = engine.thermo()
                if isThermo { try row(t) }
                if isFrame { try writeFrame(engine: engine, thermo: t, trajectory: trajectory, rows: rows, norm: norm) }
            }
            if isRestart, let path = s.restartPath { try writeRestart(engine: engine, rows: rows, path: path, context: context) }
            outputTime += Date().timeIntervalSince(t0)
            progress.update(done: k + 1, of: steps)
            // Checkpoints only at a step whose lists were rebuilt anyway, so the continued run
            // repeats this one bit for bit. Poll there and every 100 steps (a cold solid may
            // seldom rebuild); if no rebuild comes within 100 steps of the request, force one
            // (the continuation is then exact to round-off only). A signal outranks a periodic
            // checkpoint.
            let rebuilt = engine.lastBuild == step
            guard step < last && (rebuilt || step % 100 == 0) else { continue }
            var decision = context.schedule.poll(comm)
            if let waiting = pending?.decision, case .proceed = decision { decision = waiting }
            guard decision != .proceed else { continue }
            if rebuilt {
                if case .stop = decision { progress.finish() }
                try trajectory.write(decision, endStep: last) { restart(engine: engine, rows: rows) }
                pending = nil
            } else if pending == nil || decision != pending?.decision {
                pending = (decision, pending?.since ?? step)
            }
        }
        progress.finish()
        if steps == 0 {
            try writeFrame(engine: engine, thermo: setupThermo, trajectory: trajectory, rows: rows, norm: norm)
            if let path = s.restartPath { try writeRestart(engine: engine, rows: rows, path: path, context: context) }
        }
        let loop = Date().timeIntervalSince(loopStart)
        report(engine: engine, first: first, loop: loop, output: outputTime, context: context)
        context.metrics = ["atoms": Double(engine.totalAtoms), "steps": Double(steps)]
    }

    /// One H5MD frame: every rank writes its own atoms' rows (no gather), rank 0 the observables.
    /// The time-independent charges (id order) are gathered to rank 0 once, with the first frame.
    func writeFrame(engine: MDEngine, thermo t: Thermo, trajectory: TrajectoryOutput, rows: AtomRowIndex, norm: Double) throws {
        let atoms = LocalAtoms(engine: engine, index: rows)
        let charged = engine.pair.coulombCutoff != nil || engine.charges.qsqsum > 0
        let needsTopology = (charged || engine.molecularTopology != nil) && !(trajectory.writer?.hasTopology ?? true)
        if engine.comm.any(needsTopology) {
            let charges = charged ? gatherCharges(atoms, comm: engine.comm) : nil
            try engine.comm.agree {
                guard let writer = trajectory.writer else { return }
                let t = engine.molecularTopology
                let quantum = qm.map { qm in rows.sortedIDs.map { qm.ids.contains($0) ? Int32(1) : 0 } }
                try writer.writeTopology(charges: charges,
                                         bonds: t?.bonds.map { [$0.atoms.0, $0.atoms.1] } ?? [],
                                         angles: t?.angles.map { [$0.atoms.0, $0.atoms.1, $0.atoms.2] } ?? [], quantum: quantum)
            }
        }
        try trajectory.appendFrame(step: t.step, time: t.time, boxEdges: engine.boxLength, owned: atoms.owned,
                                   columns: [atoms.vector("position", 2), atoms.vector("velocity", 5),
                                             atoms.species, atoms.identifiers])
        try engine.comm.agree {
            guard let writer = trajectory.writer else { return }
            var values: [(name: String, kind: H5MDWriter.ObservableKind, value: Double)] = [
                ("potential_energy", .energy, t.potentialEnergy * norm),
                ("kinetic_energy", .energy, t.kineticEnergy * norm),
                ("total_energy", .energy, t.totalEnergy * norm),
                ("temperature", .temperature, t.temperature),
                ("pressure", .pressure, t.pressure),
            ]
            if case .noseHoover = engine.integrator {
                values.append(("conserved_energy", .energy, (t.totalEnergy + t.thermostatEnergy) * norm))
            }
            if let coupling = engine.external as? QMMMCoupling {
                // QM/MM: the region's own energy, its electrostatic coupling to the MM charges
                // (both inside E_qm), and the MD engine's energy (MM–MM and QM–MM LJ).
                values += [("qm_energy", .energy, coupling.qmEnergy * norm), ("coupling_energy", .energy, coupling.couplingEnergy * norm),
                           ("mm_energy", .energy, (t.potentialEnergy - t.external) * norm),
                           ("qm_charges", .energy, Double(coupling.chargesInside))]
            }
            try writer.appendObservables(step: t.step, time: t.time, values)
        }
    }

    func writeRestart(engine: MDEngine, rows: AtomRowIndex, path: String, context: RunContext) throws {
        let start = Date()
        let bytes = try MDRestartFile.write(restart(engine: engine, rows: rows), comm: engine.comm, to: path)
        context.recordWrite("restart", bytes: bytes, since: start)
    }

    /// The box, step and thermostat state, and this rank's atoms (each rank writes its own rows).
    func restart(engine: MDEngine, rows: AtomRowIndex) -> DistributedRestart {
        let atoms = LocalAtoms(engine: engine, index: rows)
        var thermostat: [Double] = []
        if case .noseHoover = engine.integrator { thermostat = [engine.thermostatXi, engine.thermostatEta] }
        var header = MDRestartFile.Contents(
            units: settings.units.rawValue, step: engine.step, time: engine.time,
            boxLo: [engine.boxLo.x, engine.boxLo.y, engine.boxLo.z], boxHi: [engine.boxHi.x, engine.boxHi.y, engine.boxHi.z],
            masses: engine.masses, ids: [], types: [], positions: [], velocities: [], forces: [], thermostat: thermostat)
        if let t = engine.molecularTopology {
            header.bonds = t.bonds.flatMap { [Int64($0.type), $0.atoms.0, $0.atoms.1] }
            header.angles = t.angles.flatMap { [Int64($0.type), $0.atoms.0, $0.atoms.1, $0.atoms.2] }
            header.bondCoeffs = t.bondCoeffs.flatMap { $0 }
            header.angleCoeffs = t.angleCoeffs.flatMap { $0 }
        }
        if let coupling = engine.external as? QMMMCoupling { header.auxiliary["vqe_parameters"] = coupling.potential.parameters ?? [] }
        var columns = [atoms.identifiers, atoms.types, atoms.vector("position", 2), atoms.vector("velocity", 5), atoms.vector("force", 8)]
        if engine.pair.coulombCutoff != nil || engine.charges.qsqsum > 0 { columns.append(atoms.scalar("charge", 11)) }
        if engine.molecularTopology != nil { columns.append(atoms.int64("molecule", 12)) }
        return DistributedRestart(header: header, atomCount: engine.totalAtoms, owned: atoms.owned, columns: columns)
    }

    /// Charges of every atom in id order on rank 0 (nil elsewhere): 16 bytes per atom, once per
    /// result file (the time-independent H5MD `charge`).
    func gatherCharges(_ atoms: LocalAtoms, comm: Communicator) -> [Double]? {
        let records = atoms.records, r = MDEngine.recordSize
        var pairs: [Double] = []
        for k in stride(from: 0, to: records.count, by: r) { pairs += [records[k], records[k + 11]] }
        guard let parts = comm.gather(pairs.withUnsafeBytes { Array($0) }, root: 0) else { return nil }
        var all: [(Double, Double)] = []
        for p in parts {
            p.withUnsafeBytes { raw in
                let v = raw.bindMemory(to: Double.self)
                for k in stride(from: 0, to: v.count, by: 2) { all.append((v[k], v[k + 1])) }
            }
        }
        return all.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// Right-aligns `text` in `width` columns.
    func pad(_ text: String, _ width: Int) -> String {
        String(repeating: " ", count: max(0, width - text.count)) + text
    }

    /// LAMMPS-style loop summary: time, rate, and the Pair/Bond/Kspace/Neigh/Comm/Output/Modify/Other split.
    func report(engine: MDEngine, first: Int, loop: Double, output: Double, context: RunContext) {
        let comm = engine.comm
        let t = engine.times
        let other = max(0, loop - t.pair - t.bond - t.kspace - t.neighbor - t.comm - t.modify - t.external - output)
        let coupling = engine.external as? QMMMCoupling
        // QM/MM: the external force's time as the VQE (with its nuclear forces) and the coupling
        // (gathering charges, densities, potentials and fields, scattering forces).
        let qmTime = coupling?.vqeTime ?? 0, couplingTime = coupling?.couplingTime ?? 0
        let mine = [t.pair, t.bond, t.kspace, t.neighbor, t.comm, qmTime, couplingTime, output, t.modify, other,
                    Double(peakResidentBytes() ?? 0)]
        let all = comm.allgather(mine)
        guard comm.isRoot else { return }
        let say = context.say
        let steps = engine.step - first
        say(String(format: "Loop time of %.6g on %d procs for %d steps with %d atoms", loop, comm.size, steps, engine.totalAtoms))
        let rate = Double(steps) * Double(engine.totalAtoms) / max(loop, 1e-12)
        say(String(format: "Performance: %.6g timesteps/s, %.6g atom-steps/s, %d neighbour-list builds", Double(steps) / max(loop, 1e-12), rate, engine.rebuildCount))
        say("Section |  min time  |  avg time  |  max time  | %total")
        for (k, name) in ["Pair", "Bond", "Kspace", "Neigh", "Comm", "QM", "Couple", "Output", "Modify", "Other"].enumerated() {
            // LAMMPS prints Bond and Kspace only when those styles are defined.
            if name == "Bond" && engine.molecularTopology == nil { continue }
            if name == "Kspace" && engine.kspace == nil { continue }
            if (name == "QM" || name == "Couple") && coupling == nil { continue }
            let values = (0..<comm.size).map { all[mine.count * $0 + k] }
            let avg = values.reduce(0, +) / Double(values.count)
            say(name.padding(toLength: 7, withPad: " ", startingAt: 0)
                + String(format: " | %10.5g | %10.5g | %10.5g | %6.2f", values.min()!, avg, values.max()!, 100 * avg / max(loop, 1e-12)))
        }
        let peaks = (0..<comm.size).map { all[mine.count * $0 + mine.count - 1] }
        if let high = peaks.max(), high > 0 {
            say("Peak memory per rank: min \(formatBytes(UInt64(peaks.min()!))), max \(formatBytes(UInt64(high)))")
        }
        context.reportCheckpoints()
    }
}

/// This rank's atoms as `MDEngine.localRecords()` gives them (id, type, x, v, f, q, molecule;
/// positions wrapped), in row order, as per-atom columns for H5MD frames and restarts.
struct LocalAtoms {
    let records: [Double]
    let owned: OwnedRows

    init(engine: MDEngine, index: AtomRowIndex) {
        let records = engine.localRecords(), r = MDEngine.recordSize
        owned = OwnedRows(ids: stride(from: 0, to: records.count, by: r).map { Int64(records[$0]) }, index: index)
        self.records = records
    }

    /// Three f64 per atom from record field `field` (2: position, 5: velocity, 8: force).
    func vector(_ name: String, _ field: Int) -> AtomColumn {
        let records = records, r = MDEngine.recordSize
        return AtomColumn(name, rowBytes: 24) { i, out in
            for d in 0..<3 { out.storeBytes(of: records[r * i + field + d], toByteOffset: 8 * d, as: Double.self) }
        }
    }

    /// H5MD species: the type, 1-based (int32).
    var species: AtomColumn { int32("species", plus: 1) }
    /// Restart types: 0-based, as the engine holds them (int32).
    var types: AtomColumn { int32("type", plus: 0) }

    private func int32(_ name: String, plus: Int32) -> AtomColumn {
        let records = records, r = MDEngine.recordSize
        return AtomColumn(name, rowBytes: 4) { i, out in out.storeBytes(of: Int32(records[r * i + 1]) + plus, as: Int32.self) }
    }

    /// One f64 per atom from record field `field` (11: charge).
    func scalar(_ name: String, _ field: Int) -> AtomColumn {
        let records = records, r = MDEngine.recordSize
        return AtomColumn(name, rowBytes: 8) { i, out in out.storeBytes(of: records[r * i + field], as: Double.self) }
    }

    /// One i64 per atom from record field `field` (12: molecule id).
    func int64(_ name: String, _ field: Int) -> AtomColumn {
        let records = records, r = MDEngine.recordSize
        return AtomColumn(name, rowBytes: 8) { i, out in out.storeBytes(of: Int64(records[r * i + field]), as: Int64.self) }
    }

    var identifiers: AtomColumn { int64("id", 0) }
}
