// `kind = "vqe"`: ground-state energy by VQE on the distributed statevector (Sources/Chemistry).
// `kind = "bomd"`: Born–Oppenheimer MD of the nuclei on the VQE surface, written as H5MD.
// `kind = "qmmm"`: the same dynamics with the molecule in a Lennard-Jones bath. Every rank builds the same Hamiltonian; the statevector
// is split over the ranks; rank 0 writes the result file.
import Chemistry
import Dynamics
import ForgeCore
import Foundation
import ResultsIO
import Statevector

/// The `[molecule]` table (or `fcidump`) shared by the chemistry job kinds.
struct MoleculeSpec {
    static let keys: Set<String> = ["molecule.elements", "molecule.positions", "molecule.units", "molecule.charge", "molecule.multiplicity", "molecule.velocities",
                                    "molecule.basis", "molecule.frozen_core", "active_space.electrons", "active_space.orbitals"]

    var elements: [Element] = []
    /// bohr
    var positions: [SIMD3<Double>] = []
    var charge = 0, multiplicity = 1
    /// Å per bohr when the job is in Å, else 1 (for reporting positions in the job's unit).
    var lengthUnit = angstromPerBohr
    var fcidumpPath: String?
    /// Basis set (a shipped name, or a NWChem-format file relative to the job file) and active space.
    var activeSpace = ActiveSpaceSettings()
    let file: JobFile

    init(file: JobFile, allowFCIDUMP: Bool) throws {
        self.file = file
        if allowFCIDUMP, let path = try file.path("fcidump") {
            if let key = file.keys.first(where: { $0.hasPrefix("molecule.") || $0.hasPrefix("active_space.") || $0.hasPrefix("embedding.") }) {
                throw file.error("give either 'fcidump' or [molecule]/[active_space] tables, not both", at: key)
            }
            fcidumpPath = path
            return
        }
        let symbols = try file.require("molecule.elements", file.strings)
        elements = try symbols.map { s in
            guard let e = Element(symbol: s) else {
                throw file.error("unsupported element '\(s)' (the shipped basis sets cover \(Element.allCases.first!.rawValue)–\(Element.allCases.last!.rawValue))", at: "molecule.elements")
            }
            return e
        }
        if let u = try file.string("molecule.units") {
            switch u.lowercased() {
            case "angstrom": lengthUnit = angstromPerBohr
            case "bohr": lengthUnit = 1
            default: throw file.error("'molecule.units' must be \"angstrom\" or \"bohr\"", at: "molecule.units")
            }
        }
        positions = try Self.vectors(file, "molecule.positions", count: elements.count).map { $0 / lengthUnit }
        charge = try file.integer("molecule.charge") ?? 0
        multiplicity = try file.integer("molecule.multiplicity") ?? 1
        if let b = try file.string("molecule.basis") {
            activeSpace.basis = BasisSet.builtInNames.contains(b.lowercased()) ? b : file.resolve(b)
        }
        activeSpace.frozenCore = try file.boolean("molecule.frozen_core") ?? false
        for key in ["active_space.electrons", "active_space.orbitals"] {
            if let n = try file.integer(key), n < 1 { throw file.error("'\(key)' must be ≥ 1", at: key) }
        }
        activeSpace.activeElectrons = try file.integer("active_space.electrons")
        activeSpace.activeOrbitals = try file.integer("active_space.orbitals")
        if file.has("embedding.charges") {
            // [[x, y, z, q], …] in the molecule's length unit, charges in e.
            let key = "embedding.charges"
            let message = "'\(key)' must be a list of [x, y, z, q] (positions in the molecule's unit, charge in e)"
            guard case .array(let rows)? = file.entries[key]?.value, !rows.isEmpty else { throw file.error(message, at: key) }
            activeSpace.charges = try rows.map { row in
                guard case .array(let items) = row, items.count == 4 else { throw file.error(message, at: key) }
                let v = try items.map { x -> Double in
                    switch x {
                    case .integer(let i): return Double(i)
                    case .float(let d) where d.isFinite: return d
                    default: throw file.error(message, at: key)
                    }
                }
                return SIMD4(v[0] / lengthUnit, v[1] / lengthUnit, v[2] / lengthUnit, v[3])
            }
            for c in activeSpace.charges {
                for p in positions where ((SIMD3(c.x, c.y, c.z) - p) * (SIMD3(c.x, c.y, c.z) - p)).sum() < 1e-6 {
                    throw file.error("a point charge sits on an atom (an infinite attraction)", at: key)
                }
            }
        }
        do {
            _ = try Molecule(elements: elements, positions: positions, charge: charge, multiplicity: multiplicity)
        } catch let e as MoleculeError {
            let key = e.atom != nil ? "molecule.positions" : file.has("molecule.charge") ? "molecule.charge" : file.has("molecule.multiplicity") ? "molecule.multiplicity" : "molecule.elements"
            throw file.error(e.message, at: key)
        }
    }

    /// `count` triples [[x, y, z], …] from `key`.
    static func vectors(_ file: JobFile, _ key: String, count: Int) throws -> [SIMD3<Double>] {
        guard let entry = file.entries[key] else { throw InputError("missing required key '\(key)'", file: file.path) }
        let message = "'\(key)' must be \(count) triples [[x, y, z], …], one per element"
        guard case .array(let rows) = entry.value, rows.count == count else { throw file.error(message, at: key) }
        return try rows.map { row in
            guard case .array(let xyz) = row, xyz.count == 3 else { throw file.error(message, at: key) }
            let v = try xyz.map { x -> Double in
                switch x {
                case .integer(let i): return Double(i)
                case .float(let d) where d.isFinite: return d
                default: throw file.error(message, at: key)
                }
            }
            return SIMD3(v[0], v[1], v[2])
        }
    }

    var molecule: Molecule { get throws { try Molecule(elements: elements, positions: positions, charge: charge, multiplicity: multiplicity) } }

    /// The electronic Hamiltonian (and the RHF energy when computed in-engine).
    func hamiltonian() throws -> (ElectronicHamiltonian, Double?, String) {
        if let path = fcidumpPath {
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw file.error("cannot read FCIDUMP file '\(path)'", at: "fcidump")
            }
            do {
                return (try ElectronicHamiltonian(fcidump: text), nil, "fcidump " + (path as NSString).lastPathComponent)
            } catch let e as ElectronicHamiltonian.FCIDUMPError {
                throw InputError(e.message, file: path, line: e.line)
            }
        }
        let (h, rhf) = try hamiltonian(at: positions)
        return (h, rhf, "\(activeSpace.basis) rhf " + elements.map(\.rawValue).joined())
    }

    /// The (active-space) electronic Hamiltonian and RHF energy at `positions` (bohr); a setting
    /// that cannot work is reported at its job key.
    func hamiltonian(at positions: [SIMD3<Double>]) throws -> (ElectronicHamiltonian, Double) {
        do {
            let (h, rhf) = try ElectronicHamiltonian.activeSpace(elements: elements, positions: positions, charge: charge,
                                                                 multiplicity: multiplicity, settings: activeSpace)
            return (h, rhf.energy)
        } catch let e as ActiveSpaceError {
            throw file.error(e.message, at: file.has(e.key) ? e.key : "molecule.elements")
        } catch let e as SCFError {
            throw file.error(e.description, at: "molecule.positions")
        }
    }
}

/// The `[vqe]` table.
struct VQESettings {
    static let keys: Set<String> = ["vqe.ansatz", "vqe.gradient_tolerance", "vqe.max_iterations", "vqe.exact", "vqe.adapt_tolerance", "vqe.max_operators"]
    var ansatz = "uccsd"
    var optimizer = OptimizerSettings()
    var exact = true
    var adaptTolerance = 1e-6
    var maxOperators = 60

    init(file: JobFile, adaptAllowed: Bool) throws {
        if let a = try file.string("vqe.ansatz") {
            guard a == "uccsd" || (adaptAllowed && a == "adapt") else {
                throw file.error(adaptAllowed ? "'vqe.ansatz' must be \"uccsd\" or \"adapt\"" : "'vqe.ansatz' must be \"uccsd\" here (dynamics warm-starts a fixed ansatz)", at: "vqe.ansatz")
            }
            ansatz = a
        }
        if let g = try file.number("vqe.gradient_tolerance") {
            guard g > 0 && g < 1 else { throw file.error("'vqe.gradient_tolerance' must be between 0 and 1", at: "vqe.gradient_tolerance") }
            optimizer.gradientTolerance = g
        }
        if let m = try file.integer("vqe.max_iterations") {
            guard m >= 1 else { throw file.error("'vqe.max_iterations' must be ≥ 1", at: "vqe.max_iterations") }
            optimizer.maxIterations = m
        }
        exact = try file.boolean("vqe.exact") ?? true
        if let t = try file.number("vqe.adapt_tolerance") {
            guard t > 0 else { throw file.error("'vqe.adapt_tolerance' must be > 0", at: "vqe.adapt_tolerance") }
            adaptTolerance = t
        }
        if let m = try file.integer("vqe.max_operators") {
            guard m >= 1 else { throw file.error("'vqe.max_operators' must be ≥ 1", at: "vqe.max_operators") }
            maxOperators = m
        }
    }
}

/// Exact sector energy, or nil when the sector is too large for dense diagonalisation.
func exactEnergy(_ q: QubitHamiltonian, _ h: ElectronicHamiltonian) -> Double? {
    try? exactGroundEnergy(q, orbitals: h.orbitalCount, alpha: h.alphaElectrons, beta: h.betaElectrons)
}

func vqeRecord(_ r: VQEResult, q: QubitHamiltonian, h: ElectronicHamiltonian, exact: Double?, hartreeFock: Double?,
               ansatz: String, history: [Double]? = nil, source: String) -> VQERecord {
    VQERecord(pauliLabels: q.terms.map(\.pauli.label), coefficients: q.terms.map(\.coefficient),
              energyHistory: history ?? r.energyHistory, parameters: r.parameters, energy: r.energy, exactEnergy: exact,
              hartreeFockEnergy: hartreeFock, ansatz: ansatz, excitations: r.excitations.map(\.description),
              qubits: q.qubitCount, electrons: h.electronCount, converged: r.converged, iterations: r.iterations, source: source)
}

public struct VQEJob {
    static let keys: Set<String> = Set(["kind", "output", "fcidump", "checkpoint_every", "embedding.charges"]).union(MoleculeSpec.keys.subtracting(["molecule.velocities"])).union(VQESettings.keys)
    let file: JobFile
    let output: String
    let molecule: MoleculeSpec
    let settings: VQESettings

    public init(file: JobFile, output: String) throws {
        try file.checkKeys(allowed: Self.keys)
        self.file = file
        self.output = output
        molecule = try MoleculeSpec(file: file, allowFCIDUMP: true)
        settings = try VQESettings(file: file, adaptAllowed: true)
    }

    public func run(_ context: RunContext) throws {
        let comm = context.comm
        let say = context.say
        try comm.agree { if comm.isRoot { try ensureWritable(path: output) } }
        let (h, hartreeFock, source) = try comm.agree { try molecule.hamiltonian() }
        let q = QubitHamiltonian(jordanWigner: h)
        let objective = try comm.agree {
            try VariationalEnergy(hamiltonian: q, reference: hartreeFockIndex(h), excitations: uccsdExcitations(h), comm: comm,
                                  threads: defaultThreadsPerRank())
        }
        say("qforge vqe: \(q.qubitCount) qubits, \(h.electronCount) electrons, \(q.terms.count) Pauli terms in \(q.groups.groupCount) groups, \(settings.ansatz) ansatz, \(comm.size) rank\(comm.size == 1 ? "" : "s")")
        if let hartreeFock { say(String(format: "  E(RHF)   = %.12f", hartreeFock)) }
        let progress: (Int, Double) -> Void = { k, e in context.note((settings.ansatz == "adapt" ? "vqe operator " : "vqe iteration ") + String(format: "%d: E = %.12f", k, e)) }
        let result = settings.ansatz == "adapt"
            ? runADAPTVQE(objective, pool: generalizedExcitations(h), poolTolerance: settings.adaptTolerance, maxOperators: settings.maxOperators,
                          settings: settings.optimizer, onIteration: progress)
            : try runCheckpointedVQE(objective, context: context, progress: progress)
        let exact = settings.exact ? exactEnergy(q, h) : nil
        say(String(format: "  E(VQE)   = %.12f  (%d parameters, %d iterations, %d evaluations", result.energy, result.parameters.count,
                   result.iterations, result.evaluations) + (result.converged ? ")" : ", NOT converged)"))
        if let exact { say(String(format: "  E(exact) = %.12f  (VQE − exact = %.3e)", exact, result.energy - exact)) }
        context.metrics = ["energy_hartree": result.energy, "parameters": Double(result.parameters.count),
                           "iterations": Double(result.iterations)]
        var record = vqeRecord(result, q: q, h: h, exact: exact, hartreeFock: hartreeFock, ansatz: settings.ansatz, source: source)
        record.elements = molecule.elements.map(\.rawValue)
        record.positionsAngstrom = molecule.positions.flatMap { [$0.x, $0.y, $0.z].map { $0 * angstromPerBohr } }
        let partial = partialPath(for: output)
        try comm.agree {
            guard comm.isRoot else { return }
            do {
                try record.writeFile(path: partial, metadata: context.metadata(kind: "vqe"))
                try publish(partial: partial, final: output)
            } catch { unlink(partial); throw error }
        }
        if settings.ansatz != "adapt" { CheckpointFile(output: output, context: context).remove(comm) }
        context.reportCheckpoints()
        context.resultPath = output
        say("  wrote \(output)")
    }

    /// UCCSD-VQE whose optimiser state is checkpointed between iterations (signal or
    /// `checkpoint_every`) and continued from `<output>.checkpoint` bit for bit. ADAPT runs are
    /// not checkpointed: a signal is noted and they run on to the end.
    func runCheckpointedVQE(_ objective: VariationalEnergy, context: RunContext, progress: (Int, Double) -> Void) throws -> VQEResult {
        let comm = context.comm
        let checkpoint = CheckpointFile(output: output, context: context)
        var resume: BFGSState? = nil
        if checkpoint.exists(comm) {
            let o = try comm.agree { try VQECheckpoint.read(checkpoint.path, owner: checkpoint.owner) }
            guard o.parameters.count == objective.excitations.count, o.inverseHessian.count == o.parameters.count * o.parameters.count else {
                throw InputError("checkpoint has \(o.parameters.count) parameters, this job \(objective.excitations.count); delete it to start afresh", file: checkpoint.path)
            }
            resume = BFGSState(x: o.parameters, value: o.energy, gradient: o.gradient, inverseHessian: o.inverseHessian,
                               iteration: o.iteration, history: o.history)
            context.say("qforge vqe: continuing from checkpoint \(checkpoint.path) after iteration \(o.iteration)")
        }
        return try runVQE(objective, settings: settings.optimizer, resume: resume, onIteration: progress) { state in
            let decision = context.schedule.poll(comm)
            guard decision != .proceed else { return }
            try context.schedule.record {
                try comm.agree {
                    guard comm.isRoot else { return }
                    try VQECheckpoint.write(VQECheckpoint.Optimizer(parameters: state.x, energy: state.value, gradient: state.gradient,
                                                                    inverseHessian: state.inverseHessian, iteration: state.iteration,
                                                                    history: state.history),
                                            owner: checkpoint.owner, to: checkpoint.path)
                }
            }
            if case .stop(let signal) = decision { throw Interrupted(checkpoint: checkpoint.path, signal: signal) }
        }
    }
}

/// The `[run]` table of the dynamics kinds.
struct DynamicsRun {
    static let keys: Set<String> = ["run.timestep", "run.steps", "run.trajectory_every", "run.force_step"]
    /// fs, steps, frames every, central-difference step (bohr).
    let timestep: Double, steps: Int, trajectoryEvery: Int, forceStep: Double

    init(file: JobFile) throws {
        timestep = try file.number("run.timestep") ?? 0.1
        guard timestep > 0 && timestep <= 2 else { throw file.error("'run.timestep' (fs) must be in (0, 2]", at: "run.timestep") }
        steps = try file.require("run.steps", file.integer)
        guard steps >= 0 else { throw file.error("'run.steps' must be ≥ 0", at: "run.steps") }
        trajectoryEvery = try file.integer("run.trajectory_every") ?? 1
        guard trajectoryEvery >= 1 else { throw file.error("'run.trajectory_every' must be ≥ 1", at: "run.trajectory_every") }
        forceStep = try file.number("run.force_step") ?? 1e-3
        guard forceStep >= 1e-5 && forceStep <= 0.05 else { throw file.error("'run.force_step' (bohr) must be between 1e-5 and 0.05", at: "run.force_step") }
    }
}

/// Forces and energy terms of one geometry: total potential energy, forces, extra observables.
typealias NuclearForces = (energy: Double, forces: [SIMD3<Double>], terms: [(name: String, value: Double)])

/// Velocity Verlet of `state` with H5MD output (Å, fs, hartree) plus /hamiltonian and /vqe of the
/// final geometry: shared by `bomd` and `qmmm`. Checkpoints (signal, `checkpoint_every`) between
/// two steps hold the frames so far, the nuclei, forces and the VQE warm start.
func runNuclearDynamics(kind: String, context: RunContext, output: String, run: DynamicsRun, state initial: NuclearState,
                        species: [Int32], boxEdge: Double, molecule: MoleculeSpec, potential: VQEPotential, exact: Bool,
                        force: @escaping ([SIMD3<Double>]) throws -> NuclearForces) throws {
    let comm = context.comm
    try comm.agree { if comm.isRoot { try ensureWritable(path: output) } }
    var state = initial
    var terms: [(name: String, value: Double)] = []
    let step = { (x: [SIMD3<Double>]) throws -> (energy: Double, forces: [SIMD3<Double>]) in
        do {
            let r = try force(x)
            terms = r.terms
            return (r.energy, r.forces)
        } catch let e as MoleculeError {
            throw RuntimeError("the molecule left the valid region during the run: \(e.message)")
        }
    }
    let n = state.positions.count
    let units = H5MDUnits(system: kind, length: "Angstrom", time: "fs", velocity: "Angstrom fs-1",
                          energy: "hartree", temperature: "K", pressure: "hartree bohr-3")
    let trajectory = TrajectoryOutput(output: output, context: context) { path in
        try H5MDWriter(path: path, particleCount: n, units: units, creatorVersion: qforgeVersion,
                       author: ProcessInfo.processInfo.environment["USER"] ?? "qforge")
    }
    // A checkpoint of this very job (left by a preempted attempt) is continued, not restarted.
    let resume = try trajectory.resumePoint()
    var history: [Double] = []
    var firstStep = 1
    if let resume {
        let c = resume.contents
        func vectors(_ flat: [Double]) -> [SIMD3<Double>] { stride(from: 0, to: flat.count, by: 3).map { SIMD3(flat[$0], flat[$0 + 1], flat[$0 + 2]) } }
        guard c.units == kind, c.positions.count == 3 * state.positions.count,
              let parameters = c.auxiliary["vqe_parameters"], let energy = c.auxiliary["potential_energy"]?.first else {
            throw InputError("checkpoint is not one of this \(kind) job's; delete it to start afresh", file: trajectory.checkpoint.path)
        }
        (state.positions, state.velocities, state.forces) = (vectors(c.positions), vectors(c.velocities), vectors(c.forces))
        state.potentialEnergy = energy
        history = c.auxiliary["energy_history"] ?? []
        potential.warmStart(from: parameters)
        firstStep = c.step + 1
        context.say("qforge \(kind): continuing from checkpoint \(trajectory.checkpoint.path) at step \(c.step)")
    } else {
        (state.potentialEnergy, state.forces) = try comm.agree { try step(state.positions) }
    }
    let dt = run.timestep * AtomicUnits.femtosecond
    let toAngstromPerFs = angstromPerBohr * AtomicUnits.femtosecond
    func frame(_ k: Int) throws {
        history.append(potential.last?.result.energy ?? .nan)
        let time = Double(k) * run.timestep
        // Every rank holds the few nuclei: rank 0 writes their rows.
        try trajectory.appendFrame(step: k, time: time, boxEdges: SIMD3(repeating: boxEdge * angstromPerBohr),
                                   owned: comm.isRoot ? .all(n) : .none, columns: [
                                       .values("position", state.positions.flatMap { [$0.x, $0.y, $0.z].map { $0 * angstromPerBohr } }, width: 3),
                                       .values("velocity", state.velocities.flatMap { [$0.x, $0.y, $0.z].map { $0 * toAngstromPerFs } }, width: 3),
                                       .values("species", species), .values("id", (0..<n).map { Int64($0 + 1) })])
        guard let writer = trajectory.writer else { return }
        try writer.appendObservables(step: k, time: time, [
            ("potential_energy", .energy, state.potentialEnergy),
            ("kinetic_energy", .energy, state.kineticEnergy),
            ("total_energy", .energy, state.potentialEnergy + state.kineticEnergy),
            ("temperature", .temperature, state.temperature),
        ] + terms.map { (name: $0.name, kind: H5MDWriter.ObservableKind.energy, value: $0.value) })
    }
    context.say(["Step", "Time/fs", "E_pot/Ha", "E_kin/Ha", "E_total/Ha"].enumerated().map { k, title in
        String(repeating: " ", count: [8, 10, 20, 20, 20][k] - title.count) + title }.joined(separator: " "))
    func row(_ k: Int) {
        context.say(String(format: "%8d %10.4f %20.12f %20.12f %20.12f", k, Double(k) * run.timestep, state.potentialEnergy, state.kineticEnergy,
                           state.potentialEnergy + state.kineticEnergy))
    }
    let progress = context.progress("\(kind) steps")
    /// The nuclei, forces and VQE warm start after step k (every rank holds them).
    func contents(after k: Int) -> MDRestartFile.Contents {
        var contents = MDRestartFile.Contents(
            units: kind, step: k, time: Double(k) * run.timestep, boxLo: [0, 0, 0], boxHi: Array(repeating: boxEdge, count: 3),
            masses: state.masses, ids: (0..<n).map { Int64($0 + 1) }, types: species,
            positions: state.positions.flatMap { [$0.x, $0.y, $0.z] }, velocities: state.velocities.flatMap { [$0.x, $0.y, $0.z] },
            forces: state.forces.flatMap { [$0.x, $0.y, $0.z] }, thermostat: [])
        contents.auxiliary = ["vqe_parameters": potential.parameters ?? [], "potential_energy": [state.potentialEnergy],
                             "energy_history": history]
        return contents
    }
    do {
        try trajectory.open(replaying: resume != nil)
        if resume == nil {
            try comm.agree { try frame(0) }
            row(0)
        }
        for k in stride(from: firstStep, through: run.steps, by: 1) {
            try state.advance(dt: dt, step)
            if k % run.trajectoryEvery == 0 || k == run.steps {
                try comm.agree { try frame(k) }
                row(k)
            }
            progress.update(done: k, of: run.steps)
            if k < run.steps {
                let decision = context.schedule.poll(comm)
                if case .stop = decision { progress.finish() }
                try trajectory.write(decision, endStep: run.steps) { contents(after: k).distributed(isRoot: comm.isRoot) }
            }
        }
        progress.finish()
        guard let last = potential.last else { throw RuntimeError("no VQE result") }
        let qmPositions = Array(state.positions[0..<molecule.elements.count])
        let h = try comm.agree { try molecule.hamiltonian(at: qmPositions).0 }
        var record = vqeRecord(last.result, q: last.hamiltonian, h: h, exact: exact ? exactEnergy(last.hamiltonian, h) : nil,
                               hartreeFock: last.hartreeFock, ansatz: "uccsd", history: history, source: "\(molecule.activeSpace.basis) rhf at the final geometry")
        record.elements = molecule.elements.map(\.rawValue)
        record.positionsAngstrom = qmPositions.flatMap { [$0.x, $0.y, $0.z].map { $0 * angstromPerBohr } }
        context.metrics["vqe_runs"] = Double(potential.vqeRuns)
        context.metrics["steps"] = Double(run.steps)
        try trajectory.publish(kind: kind) { try $0.addVQE(record) }
        context.reportCheckpoints()
        context.reportWrites()
        context.say("  \(potential.vqeRuns) VQE runs; wrote \(output)")
    } catch let stop as Interrupted {
        throw stop   // the checkpoint took the .partial's place
    } catch {
        trajectory.discard()
        throw error
    }
}

/// What `bomd` and `qmmm` share: the molecule (with its velocities), the VQE settings and the
/// `[run]` table, and the VQE potential built from them.
struct NuclearDynamicsSpec {
    static let keys: Set<String> = Set(["kind", "output", "checkpoint_every"]).union(DynamicsRun.keys).union(MoleculeSpec.keys)
        .union(VQESettings.keys.subtracting(["vqe.adapt_tolerance", "vqe.max_operators"]))
    let molecule: MoleculeSpec
    let settings: VQESettings
    let dynamics: DynamicsRun
    /// bohr per a.u. time
    let velocities: [SIMD3<Double>]

    init(file: JobFile) throws {
        molecule = try MoleculeSpec(file: file, allowFCIDUMP: false)
        settings = try VQESettings(file: file, adaptAllowed: false)
        dynamics = try DynamicsRun(file: file)
        velocities = try molecule.velocities(file: file)
    }

    /// UCCSD-VQE energies of the molecule on the statevector split over `comm`'s ranks.
    func potential(_ comm: Communicator) -> VQEPotential {
        let potential = VQEPotential(elements: molecule.elements, charge: molecule.charge, multiplicity: molecule.multiplicity,
                                     comm: comm, settings: settings.optimizer)
        potential.activeSpace = molecule.activeSpace
        potential.threads = defaultThreadsPerRank()
        return potential
    }

    var masses: [Double] { molecule.elements.map { $0.mass * AtomicUnits.massPerAMU } }
    var species: [Int32] { molecule.elements.map { Int32($0.nuclearCharge) } }
}

/// `kind = "bomd"`: the molecule alone, in vacuum.
public struct BOMDJob {
    public let output: String
    let spec: NuclearDynamicsSpec

    public init(file: JobFile, output: String) throws {
        try file.checkKeys(allowed: NuclearDynamicsSpec.keys)
        self.output = output
        spec = try NuclearDynamicsSpec(file: file)
    }

    public func run(_ context: RunContext) throws {
        let comm = context.comm
        let (molecule, dynamics) = (spec.molecule, spec.dynamics)
        let potential = spec.potential(comm)
        let state = NuclearState(positions: molecule.positions, velocities: spec.velocities, masses: spec.masses)
        context.say("qforge bomd: \(molecule.elements.map(\.rawValue).joined()) (\(molecule.elements.count) nuclei), \(dynamics.steps) steps of \(dynamics.timestep) fs, UCCSD-VQE forces by central differences (h = \(dynamics.forceStep) bohr), \(comm.size) rank\(comm.size == 1 ? "" : "s")")
        try runNuclearDynamics(kind: "bomd", context: context, output: output, run: dynamics, state: state,
                               species: spec.species, boxEdge: 0, molecule: molecule,
                               potential: potential, exact: spec.settings.exact) { x in
            let r = try potential.energyAndForces(x, step: dynamics.forceStep)
            return (r.energy, r.forces, [])
        }
    }
}

extension MoleculeSpec {
    /// `molecule.velocities` (job length unit per fs) in bohr per atomic time unit; zeros if absent.
    func velocities(file: JobFile) throws -> [SIMD3<Double>] {
        let scale = 1 / (lengthUnit * AtomicUnits.femtosecond)
        return file.has("molecule.velocities")
            ? try MoleculeSpec.vectors(file, "molecule.velocities", count: elements.count).map { $0 * scale }
            : Array(repeating: .zero, count: elements.count)
    }
}
