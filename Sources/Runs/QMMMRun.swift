// `kind = "qmmm"`: a quantum region (UCCSD-VQE on the distributed statevector) inside a classical
// system run by the MD engine, in one run. The MM region is the MD engine itself — data file,
// pair and k-space styles, SHAKE, thermostats, domain decomposition — and the QM atoms are atoms
// of that system, named by id. Each step, after the MD forces, `QMMMCoupling` (an external force,
// LAMMPS' fix external) gathers the QM atoms and the MM charges near them to every rank, runs the
// VQE with those charges in its Hamiltonian (electrostatic embedding), and adds the forces on the
// QM nuclei and on the charges to their owners; the one Verlet integrator moves all atoms.
import Chemistry
import Dynamics
import ForgeCore
import Foundation
import ResultsIO
import Statevector

/// kcal/mol per hartree (the MD engine's `real` energy unit).
let kcalPerMolPerHartree = 627.509474

/// The `[qm]` and `[qm_mm]` tables.
struct QMRegionSpec {
    static let keys: Set<String> = Set(["qm.atoms", "qm.elements", "qm.charge", "qm.multiplicity", "qm.basis", "qm.force_step",
                                        "qm.statevector",
                                        "qm_mm.embedding", "qm_mm.cutoff", "qm_mm.switch", "qm_mm.group_margin", "qm_mm.core_radius"])
        .union(VQESettings.keys.subtracting(["vqe.adapt_tolerance", "vqe.max_operators"]))
    let ids: [Int64]
    let elements: [Element]
    let charge: Int, multiplicity: Int
    let basis: String
    let vqe: VQESettings
    /// Central-difference step of the nuclear forces, bohr.
    let forceStep: Double
    let electrostatic: Bool
    /// "auto", "split" (over all ranks) or "whole" (on every rank): where the VQE statevector lives.
    let statevector: String
    let file: JobFile
    /// Å: charges of groups within `cutoff` of a QM atom enter the Hamiltonian, scaled by a
    /// switch that falls from 1 to 0 over the last `switchWidth`; atoms up to `groupMargin` beyond
    /// the cutoff are gathered so that molecules stay whole; no MM atom may come within `coreRadius`.
    let cutoff: Double, switchWidth: Double, groupMargin: Double, coreRadius: Double

    init(file: JobFile, units: UnitStyle) throws {
        guard units == .real else {
            throw file.error("qmmm runs in 'units = \"real\"' (Å, fs, kcal/mol; the quantum region's hartree and bohr are converted)", at: file.has("units") ? "units" : "kind")
        }
        let rawIDs = try file.require("qm.atoms") { key -> [Int]? in
            guard let e = file.entries[key] else { return nil }
            guard case .array(let items) = e.value, !items.isEmpty else { throw file.error("'qm.atoms' must be a list of atom ids", at: key) }
            return try items.map {
                guard case .integer(let i) = $0, i >= 1 else { throw file.error("'qm.atoms' must be a list of atom ids (≥ 1)", at: key) }
                return i
            }
        }
        guard Set(rawIDs).count == rawIDs.count else { throw file.error("'qm.atoms' lists an atom twice", at: "qm.atoms") }
        ids = rawIDs.map(Int64.init)
        let symbols = try file.require("qm.elements", file.strings)
        guard symbols.count == ids.count else {
            throw file.error("'qm.elements' has \(symbols.count) elements for \(ids.count) atoms in 'qm.atoms'", at: "qm.elements")
        }
        elements = try symbols.map { s in
            guard let e = Element(symbol: s) else { throw file.error("unsupported element '\(s)'", at: "qm.elements") }
            return e
        }
        charge = try file.integer("qm.charge") ?? 0
        multiplicity = try file.integer("qm.multiplicity") ?? 1
        let b = try file.string("qm.basis") ?? "sto-3g"
        basis = BasisSet.builtInNames.contains(b.lowercased()) ? b : file.resolve(b)
        vqe = try VQESettings(file: file, adaptAllowed: false)
        forceStep = try file.number("qm.force_step") ?? 1e-3
        guard forceStep >= 1e-5 && forceStep <= 0.05 else { throw file.error("'qm.force_step' (bohr) must be between 1e-5 and 0.05", at: "qm.force_step") }
        let embedding = try file.string("qm_mm.embedding") ?? "electrostatic"
        guard embedding == "electrostatic" || embedding == "mechanical" else {
            throw file.error("'qm_mm.embedding' must be \"electrostatic\" or \"mechanical\"", at: "qm_mm.embedding")
        }
        electrostatic = embedding == "electrostatic"
        statevector = try file.string("qm.statevector") ?? "auto"
        guard ["auto", "split", "whole"].contains(statevector) else {
            throw file.error("'qm.statevector' must be \"auto\", \"split\" or \"whole\"", at: "qm.statevector")
        }
        self.file = file
        func length(_ key: String, _ fallback: Double) throws -> Double {
            let v = try file.number(key) ?? fallback
            guard v >= 0, v.isFinite else { throw file.error("'\(key)' (Å) must be ≥ 0", at: key) }
            return v
        }
        cutoff = try length("qm_mm.cutoff", 8)
        switchWidth = try length("qm_mm.switch", 1)
        groupMargin = try length("qm_mm.group_margin", 3)
        coreRadius = try length("qm_mm.core_radius", 1)
        guard cutoff > 0 else { throw file.error("'qm_mm.cutoff' (Å) must be > 0", at: "qm_mm.cutoff") }
        guard switchWidth < cutoff else { throw file.error("'qm_mm.switch' must be shorter than 'qm_mm.cutoff'", at: "qm_mm.switch") }
    }

    /// S(R) and dS/dR: 1 inside cutoff − width, 0 beyond the cutoff, the quintic smoothstep
    /// between (continuous energy and forces as a group crosses).
    func switching(_ r: Double) -> (s: Double, ds: Double) {
        if r >= cutoff { return (0, 0) }
        let on = cutoff - switchWidth
        if r <= on || switchWidth == 0 { return (1, 0) }
        let x = (r - on) / switchWidth
        return (1 - x * x * x * (10 - 15 * x + 6 * x * x), -30 * x * x * (1 - x) * (1 - x) / switchWidth)
    }

    /// The VQE of the region. `auto`: its statevector is split over all ranks when they are a power
    /// of two and leave each rank at least 2^10 amplitudes, else every rank holds it whole (a small
    /// region gains nothing from splitting — docs/qmmm.md has the measurement — and a replicated
    /// VQE costs no rank traffic).
    func potential(_ comm: Communicator) throws -> (VQEPotential, shared: Bool) {
        let molecule = try Molecule(elements: elements, positions: elements.indices.map { SIMD3(2 * Double($0), 0, 0) }, charge: charge, multiplicity: multiplicity)
        let qubits = 2 * (try Basis(molecule: molecule, basisSet: BasisSet.named(basis)).functionCount)
        let powerOfTwo = comm.size & (comm.size - 1) == 0, rankBits = comm.size.trailingZeroBitCount
        let shared: Bool
        switch statevector {
        case "split":
            guard powerOfTwo, rankBits < qubits else {
                throw file.error("'qm.statevector = \"split\"' needs a power-of-two rank count below 2^\(qubits) (the region has \(qubits) qubits), got \(comm.size)", at: "qm.statevector")
            }
            shared = comm.size > 1
        case "whole": shared = false
        default: shared = comm.size > 1 && powerOfTwo && qubits - rankBits >= 10
        }
        let p = VQEPotential(elements: elements, charge: charge, multiplicity: multiplicity, comm: shared ? comm : SerialCommunicator(),
                             settings: vqe.optimizer)
        p.activeSpace.basis = basis
        p.threads = defaultThreadsPerRank()
        return (p, shared)
    }
}

/// Bad QM/MM input found while the engine runs its first step, with the job-file key to blame.
struct QMMMInputError: Error {
    let message: String, key: String
}

/// The quantum region as an external force of the MD engine (see the file header).
final class QMMMCoupling: ExternalForce {
    let spec: QMRegionSpec
    let potential: VQEPotential
    let index: [Int64: Int]
    /// The last step's terms (kcal/mol) and counts, the same on every rank.
    private(set) var qmEnergy = 0.0, couplingEnergy = 0.0
    private(set) var chargesInside = 0
    /// Wall time in the VQE (with its forces) and in gathering, densities and scattering (from
    /// the last `resetTimers`).
    private(set) var vqeTime = 0.0, couplingTime = 0.0
    func resetTimers() { (vqeTime, couplingTime) = (0, 0) }
    private(set) var positionsBohr: [SIMD3<Double>] = []
    private var checked = false

    init(spec: QMRegionSpec, potential: VQEPotential) {
        (self.spec, self.potential) = (spec, potential)
        index = Dictionary(uniqueKeysWithValues: spec.ids.enumerated().map { ($1, $0) })
    }

    /// One gathered MM atom: its owner (rank, local index), id, molecule and charge, and its
    /// position as the QM region sees it (the image nearest QM atom 0, Å).
    struct Candidate {
        var rank: Int, local: Int, id: Int64, molecule: Int64, charge: Double
        var position: SIMD3<Double>
        static let width = 8
    }

    func apply(_ engine: MDEngine, energy: Bool) throws -> Double {
        let comm = engine.comm
        let start = Date()
        // The QM atoms on every rank, made whole about atom 0.
        let n = spec.ids.count
        var flat = [Double](repeating: 0, count: 3 * n)
        var ownedQM: [(k: Int, local: Int)] = []
        engine.forEachOwnedAtom { a in
            guard let k = index[a.id] else { return }
            for d in 0..<3 { flat[3 * k + d] = a.position[d] }
            ownedQM.append((k, a.index))
        }
        comm.allreduceSum(&flat)
        let p0 = SIMD3(flat[0], flat[1], flat[2])
        let qm = (0..<n).map { p0 + engine.minimumImage(p0, SIMD3(flat[3 * $0], flat[3 * $0 + 1], flat[3 * $0 + 2])) }
        if !checked { try checkRegion(qm, engine) }

        // MM atoms near the region, from every rank (a few hundred: gathered, sorted by id so the
        // sums do not depend on the rank count).
        let reach = spec.cutoff + spec.groupMargin
        var mine: [Double] = []
        var tooClose: (Int64, Double)? = nil
        engine.forEachOwnedAtom { a in
            guard index[a.id] == nil else { return }
            let x = p0 + engine.minimumImage(p0, a.position)
            let nearest = qm.map { ((x - $0) * (x - $0)).sum() }.min()!.squareRoot()
            if nearest < spec.coreRadius { tooClose = (a.id, nearest) }
            guard spec.electrostatic, a.charge != 0, nearest < reach else { return }
            mine += [Double(comm.rank), Double(a.index), Double(a.id), Double(a.molecule), a.charge, x.x, x.y, x.z]
        }
        var close = [tooClose.map { Double($0.0) } ?? 0, tooClose?.1 ?? 0]
        comm.allreduceSum(&close)
        if close[0] != 0 {
            throw QMMMInputError(message: String(format: "MM atom %lld is %.3g Å from the quantum region, inside 'qm_mm.core_radius' (%.3g Å)", Int64(close[0]), close[1], spec.coreRadius),
                                 key: checked ? "run.timestep" : "qm.atoms")
        }
        checked = true
        var candidates: [Candidate] = []
        for part in gatherVariable(mine, comm: comm) {
            for k in stride(from: 0, to: part.count, by: Candidate.width) {
                let position = SIMD3<Double>(part[k + 5], part[k + 6], part[k + 7])
                candidates.append(Candidate(rank: Int(part[k]), local: Int(part[k + 1]), id: Int64(part[k + 2]), molecule: Int64(part[k + 3]),
                                            charge: part[k + 4], position: position))
            }
        }
        candidates.sort { $0.id < $1.id }

        // Charge groups: a molecule (or a lone atom) enters whole, scaled by S of its atom nearest
        // to a QM atom, so neutral molecules stay neutral and nothing jumps at the cutoff.
        var groups: [Int64: [Int]] = [:], order: [Int64] = []
        for (k, c) in candidates.enumerated() {
            let key = c.molecule != 0 ? c.molecule : -c.id
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(k)
        }
        var charges: [PointCharge] = [], members: [Int] = [], scale: [Double] = []
        var switched: [(atoms: [Int], first: Int, s: Double, ds: Double, atom: Int, qmAtom: Int, distance: Double)] = []
        for key in order {
            let atoms = groups[key]!
            var best = (distance: Double.infinity, atom: 0, qmAtom: 0)
            for k in atoms {
                for (j, r) in qm.enumerated() {
                    let d = ((candidates[k].position - r) * (candidates[k].position - r)).sum().squareRoot()
                    if d < best.distance { best = (d, k, j) }
                }
            }
            let (s, ds) = spec.switching(best.distance)
            guard s > 0 else { continue }
            if ds != 0 { switched.append((atoms, charges.count, s, ds, best.atom, best.qmAtom, best.distance)) }
            for k in atoms {
                charges.append((candidates[k].position / angstromPerBohr, candidates[k].charge * s))
                members.append(k)
                scale.append(s)
            }
        }
        chargesInside = charges.count
        positionsBohr = qm.map { $0 / angstromPerBohr }

        let t0 = Date()
        couplingTime += t0.timeIntervalSince(start)
        let result: EmbeddedEnergy
        do {
            result = try potential.embedded(positionsBohr, charges: charges, forceStep: spec.forceStep)
        } catch let e as MoleculeError {
            throw RuntimeError("the quantum region left the valid region during the run: \(e.message)")
        }
        let t1 = Date()
        vqeTime += t1.timeIntervalSince(t0)

        // Forces to the owners, in kcal/mol/Å.
        let forceUnit = kcalPerMolPerHartree / angstromPerBohr
        for (k, local) in ownedQM { engine.addForce(result.nuclearForces[k] * forceUnit, toOwned: local) }
        for (c, k) in members.enumerated() where candidates[k].rank == comm.rank {
            engine.addForce(result.chargeForces[c] * forceUnit, toOwned: candidates[k].local)
        }
        // The switch's own force: E depends on R_g through every scaled charge, dE/dR_g =
        // S'(R_g) Σ_i q_i φ_i, along the nearest MM–QM pair.
        for g in switched {
            var dEdR = 0.0
            for (offset, k) in g.atoms.enumerated() { dEdR += candidates[k].charge * result.potentials[g.first + offset] }
            dEdR *= g.ds * kcalPerMolPerHartree
            let u = (candidates[g.atom].position - qm[g.qmAtom]) / g.distance
            if candidates[g.atom].rank == comm.rank { engine.addForce(-dEdR * u, toOwned: candidates[g.atom].local) }
            if let owned = ownedQM.first(where: { $0.k == g.qmAtom }) { engine.addForce(dEdR * u, toOwned: owned.local) }
        }
        qmEnergy = (result.energy - result.coupling) * kcalPerMolPerHartree
        couplingEnergy = result.coupling * kcalPerMolPerHartree
        couplingTime += Date().timeIntervalSince(t1)
        return result.energy * kcalPerMolPerHartree
    }

    /// Bad regions, once at the first step: the region plus its cutoff must fit in the box (no
    /// charge seen twice), and the QM atoms must be in the system.
    func checkRegion(_ qm: [SIMD3<Double>], _ engine: MDEngine) throws {
        var diameter = 0.0
        for a in qm { for b in qm { diameter = max(diameter, ((a - b) * (a - b)).sum().squareRoot()) } }
        let shortest = engine.boxLength.min()
        if 2 * spec.cutoff > shortest {
            throw QMMMInputError(message: String(format: "'qm_mm.cutoff' %.4g Å is beyond half the shortest box edge (%.4g Å): a charge would be seen with its image", spec.cutoff, shortest), key: "qm_mm.cutoff")
        }
        if diameter + 2 * spec.cutoff > shortest {
            throw QMMMInputError(message: String(format: "the quantum region (%.4g Å across) plus twice 'qm_mm.cutoff' exceeds the box (%.4g Å): the region crosses the box; use a smaller region or cutoff, or a larger box", diameter, shortest), key: "qm.atoms")
        }
    }
}

/// Every rank's `values` (any count) on every rank, in rank order.
func gatherVariable(_ values: [Double], comm: Communicator) -> [[Double]] {
    let counts = comm.allgather([Double(values.count)]).map { Int($0) }
    let width = counts.max() ?? 0
    let all = comm.allgather(values + [Double](repeating: 0, count: width - values.count))
    return counts.enumerated().map { r, c in Array(all[(r * width)..<(r * width + c)]) }
}

extension MDJob {
    /// Checks `[qm] atoms` against the system and returns their (0-based) types, whose LJ pairs
    /// among themselves are switched off. With electrostatic embedding the QM atoms' MM charges
    /// are zeroed: the region's electrostatics is quantum. A bond or angle touching a QM atom is
    /// refused (its energy would be counted twice, and link atoms are not there).
    func prepareQuantumRegion(_ state: inout ParticleState, topology: RawTopology) throws -> Set<Int32> {
        guard let qm else { return [] }
        var row: [Int64: Int] = [:]
        for (k, id) in state.ids.enumerated() { row[id] = k }
        var types = Set<Int32>()
        for id in qm.ids {
            guard let k = row[id] else { throw file.error("'qm.atoms': atom \(id) is not in the system", at: "qm.atoms") }
            types.insert(state.types[k])
        }
        let region = Set(qm.ids)
        let bonded = topology.bonds.map { [$0.atoms.0, $0.atoms.1] } + topology.angles.map { [$0.atoms.0, $0.atoms.1, $0.atoms.2] }
        if let atoms = bonded.first(where: { $0.contains(where: region.contains) }) {
            throw file.error("a bond or angle of the system joins QM atom(s) \(atoms.filter(region.contains).map(String.init).joined(separator: ", ")) (atoms \(atoms.map(String.init).joined(separator: " "))): the quantum region's bonds are quantum; remove them from the data file (QM/MM across a covalent bond, with link atoms, is not supported)", at: "qm.atoms")
        }
        if let k = state.ids.indices.first(where: { !region.contains(state.ids[$0]) && types.contains(state.types[$0]) }) {
            throw file.error("MM atom \(state.ids[k]) has type \(state.types[k] + 1), a type of the quantum region: give the QM atoms types of their own", at: "qm.atoms")
        }
        if qm.electrostatic {
            guard var q = state.charges else {
                throw file.error("electrostatic embedding needs the MM charges: give a data file in atom_style charge or full (or set qm_mm.embedding = \"mechanical\")", at: file.has("qm_mm.embedding") ? "qm_mm.embedding" : "qm.atoms")
            }
            for id in qm.ids { q[row[id]!] = 0 }
            state.charges = q
        }
        return types
    }

    /// The last step's VQE with its Hamiltonian (the /hamiltonian and /vqe groups).
    func vqeRecord(_ coupling: QMMMCoupling) throws -> VQERecord {
        let potential = coupling.potential
        guard let last = potential.last else { throw RuntimeError("no VQE result") }
        let h = try ElectronicHamiltonian.activeSpace(elements: potential.elements, positions: coupling.positionsBohr, charge: potential.charge,
                                                      multiplicity: potential.multiplicity, settings: potential.activeSpace).hamiltonian
        let exact = (qm?.vqe.exact ?? true) ? exactEnergy(last.hamiltonian, h) : nil
        var record = Runs.vqeRecord(last.result, q: last.hamiltonian, h: h, exact: exact, hartreeFock: last.hartreeFock, ansatz: "uccsd",
                                    history: [last.result.energy], source: "\(potential.activeSpace.basis) rhf at the final geometry, \(coupling.chargesInside) MM charges")
        record.elements = potential.elements.map(\.rawValue)
        record.positionsAngstrom = coupling.positionsBohr.flatMap { [$0.x, $0.y, $0.z].map { $0 * angstromPerBohr } }
        return record
    }
}
