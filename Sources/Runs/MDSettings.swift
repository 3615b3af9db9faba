// `kind = "md"` job files: every key, its default and its checks (docs/md.md lists them).
import Dynamics
import ForgeCore
import Foundation

public struct MDSettings: Sendable {
    public enum Source: Sendable {
        case lattice(LatticeSpec)
        case dataFile(path: String)
        case restart(path: String)
    }

    public static let keys: Set<String> = [
        "kind", "output", "units", "checkpoint_every",
        "system.lattice", "system.density", "system.lattice_constant", "system.cells", "system.types",
        "system.basis_types", "system.masses", "system.data_file", "system.restart",
        "pair.style", "pair.cutoff", "pair.epsilon", "pair.sigma", "pair.shift", "pair.mixing", "pair.coeff",
        "pair.coul_cutoff", "kspace.style", "kspace.accuracy", "kspace.g_ewald", "kspace.kmax", "kspace.mesh", "kspace.order",
        "special.lj", "special.coul", "bond.style", "bond.coeff", "angle.style", "angle.coeff",
        "constraints.style", "constraints.bonds", "constraints.angles", "constraints.tolerance", "constraints.iterations",
        "velocity.temperature", "velocity.seed",
        "neighbor.skin", "neighbor.every", "neighbor.check",
        "run.timestep", "run.steps", "run.integrator",
        "thermostat.temperature", "thermostat.damp", "thermostat.seed",
        "output.thermo", "output.trajectory", "output.restart", "output.restart_every",
    ]

    public let file: JobFile
    public var units: UnitStyle = .lj
    public var source: Source
    /// Mass per type from the job (lattice: required for > 1 type; defaults to 1).
    public var masses: [Double]?
    public var velocity: (temperature: Double, seed: UInt64)?
    public var neighbor: NeighborSettings
    public var timestep: Double
    public var steps: Int
    public var integrator: Integrator
    public var thermoEvery: Int
    public var trajectoryEvery: Int
    public var restartPath: String?
    public var restartEvery: Int
    /// Seconds of wall time between periodic checkpoints (nil: the command line's, else 0).
    public var checkpointEvery: Double?
    /// "lj/cut", "lj/cut/coul/cut" or "lj/cut/coul/long".
    public var pairStyle = "lj/cut"
    /// Coulomb cutoff (Coulomb styles; defaults to pair.cutoff as in LAMMPS).
    public var coulCutoff: Double?
    public var kspace: KSpaceSettings?
    public var special = SpecialFactors()
    public var bondStyle: String?
    public var angleStyle: String?
    /// SHAKE: constrained bond and angle types (1-based, as in the job file).
    public var shakeBonds: [Int] = [], shakeAngles: [Int] = []
    public var shakeTolerance = 1e-4
    public var shakeIterations = 20

    /// `extraKeys`: those another kind adds to the MD keys (qmmm's [qm] and [qm_mm]).
    public init(file: JobFile, extraKeys: Set<String> = []) throws {
        self.file = file
        try file.checkKeys(allowed: Self.keys.union(extraKeys))
        func positive(_ key: String, _ value: Double?) throws -> Double? {
            guard let value else { return nil }
            guard value > 0, value.isFinite else { throw file.error("'\(key)' must be > 0", at: key) }
            return value
        }
        if let u = try file.string("units") {
            guard let style = UnitStyle(rawValue: u) else {
                throw file.error("'units' must be \"lj\", \"real\" or \"metal\"", at: "units")
            }
            units = style
        }

        // System.
        let sourceKeys = ["system.lattice", "system.data_file", "system.restart"].filter { file.has($0) }
        guard sourceKeys.count == 1 else {
            if sourceKeys.isEmpty { throw InputError("missing required key: one of 'system.lattice', 'system.data_file', 'system.restart'", file: file.path) }
            throw file.error("give only one of 'system.lattice', 'system.data_file', 'system.restart'", at: sourceKeys[1])
        }
        if let name = try file.string("system.lattice") {
            guard let kind = LatticeKind(rawValue: name) else {
                throw file.error("'system.lattice' must be \"fcc\", \"bcc\" or \"sc\"", at: "system.lattice")
            }
            let density = try positive("system.density", try file.number("system.density"))
            let constant = try positive("system.lattice_constant", try file.number("system.lattice_constant"))
            guard (density == nil) != (constant == nil) else {
                if density == nil { throw file.error("a lattice needs 'system.density' (reduced) or 'system.lattice_constant'", at: "system.lattice") }
                throw file.error("give either 'system.density' or 'system.lattice_constant', not both", at: "system.lattice_constant")
            }
            let cellsValue = try file.require("system.cells") { key -> [Int]? in
                guard let e = file.entries[key] else { return nil }
                switch e.value {
                case .integer(let n): return [n, n, n]
                case .array(let items) where items.count == 3:
                    return try items.map {
                        guard case .integer(let n) = $0 else { throw file.error("'system.cells' must be an integer or [nx, ny, nz]", at: key) }
                        return n
                    }
                default: throw file.error("'system.cells' must be an integer or [nx, ny, nz]", at: key)
                }
            }
            guard cellsValue.allSatisfy({ $0 >= 1 && $0 <= 10_000 }) else { throw file.error("'system.cells' must be ≥ 1", at: "system.cells") }
            var a = constant ?? 0
            if let density {
                guard units == .lj else { throw file.error("'system.density' is reduced (LJ units); use 'system.lattice_constant'", at: "system.density") }
                a = kind.latticeConstant(density: density)
            }
            let typeCount = try file.integer("system.types") ?? 1
            guard typeCount >= 1 else { throw file.error("'system.types' must be ≥ 1", at: "system.types") }
            var basisTypes: [Int32]? = nil
            if file.has("system.basis_types") {
                guard case .array(let items)? = file.entries["system.basis_types"]?.value, items.count == kind.basis.count else {
                    throw file.error("'system.basis_types' must list \(kind.basis.count) types (one per basis atom of \(kind.rawValue))", at: "system.basis_types")
                }
                basisTypes = try items.map {
                    guard case .integer(let t) = $0, (1...typeCount).contains(t) else {
                        throw file.error("'system.basis_types' entries must be types 1…\(typeCount)", at: "system.basis_types")
                    }
                    return Int32(t - 1)
                }
            }
            source = .lattice(LatticeSpec(kind: kind, constant: a, cells: SIMD3(cellsValue[0], cellsValue[1], cellsValue[2]), basisTypes: basisTypes))
            _ = typeCount
        } else if let path = try file.path("system.data_file") {
            source = .dataFile(path: path)
        } else {
            source = .restart(path: try file.require("system.restart", file.path))
        }
        for key in ["system.density", "system.lattice_constant", "system.cells", "system.types", "system.basis_types"] where file.has(key) {
            if case .lattice = source { continue }
            throw file.error("'\(key)' applies to 'system.lattice' only", at: key)
        }
        if file.has("system.masses") {
            masses = try Self.numbers(file, "system.masses").map {
                guard $0 > 0 else { throw file.error("'system.masses' must be > 0", at: "system.masses") }
                return $0
            }
        }

        // Pair and k-space styles.
        pairStyle = try file.string("pair.style") ?? "lj/cut"
        guard ["lj/cut", "lj/cut/coul/cut", "lj/cut/coul/long"].contains(pairStyle) else {
            throw file.error("'pair.style' must be \"lj/cut\", \"lj/cut/coul/cut\" or \"lj/cut/coul/long\"", at: "pair.style")
        }
        let ljCutoff = try file.require("pair.cutoff", file.number)
        if pairStyle == "lj/cut" {
            if file.has("pair.coul_cutoff") { throw file.error("'pair.coul_cutoff' needs a Coulomb pair style (lj/cut/coul/cut or lj/cut/coul/long)", at: "pair.coul_cutoff") }
        } else {
            coulCutoff = try positive("pair.coul_cutoff", try file.number("pair.coul_cutoff")) ?? ljCutoff
        }
        let kspaceKeys = ["kspace.style", "kspace.accuracy", "kspace.g_ewald", "kspace.kmax", "kspace.mesh", "kspace.order"]
        if pairStyle == "lj/cut/coul/long" {
            guard file.has("kspace.style") else {
                throw file.error("pair style lj/cut/coul/long needs a [kspace] section (style = \"ewald\" or \"pppm\") for the long-range part", at: "pair.style")
            }
            kspace = try Self.kspaceSettings(file)
        } else if let key = kspaceKeys.first(where: file.has) {
            throw file.error("[kspace] needs pair style lj/cut/coul/long (the real-space part it completes)", at: key)
        }
        if file.has("special.lj") || file.has("special.coul") {
            func factors(_ key: String) throws -> [Double] {
                let values = try Self.numbers(file, key)
                if values.isEmpty { return [0, 0, 0] }
                guard values.count == 3, values.allSatisfy({ (0...1).contains($0) }) else {
                    throw file.error("'\(key)' must be three factors in 0…1 (1-2, 1-3, 1-4 pairs)", at: key)
                }
                return values
            }
            special = SpecialFactors(lj: try factors("special.lj"), coul: try factors("special.coul"))
        }
        if let m = try file.string("pair.mixing"), MixingRule(rawValue: m) == nil {
            throw file.error("'pair.mixing' must be \"geometric\" or \"arithmetic\"", at: "pair.mixing")
        }

        // Bonded styles and constraints.
        for key in ["bond.style", "angle.style"] {
            guard let style = try file.string(key) else { continue }
            guard style == "harmonic" else { throw file.error("'\(key)' must be \"harmonic\"", at: key) }
        }
        bondStyle = try file.string("bond.style")
        angleStyle = try file.string("angle.style")
        if file.has("bond.coeff") && bondStyle == nil { throw file.error("'bond.coeff' needs 'bond.style'", at: "bond.coeff") }
        if file.has("angle.coeff") && angleStyle == nil { throw file.error("'angle.coeff' needs 'angle.style'", at: "angle.coeff") }
        if let style = try file.string("constraints.style") {
            guard style == "shake" else { throw file.error("'constraints.style' must be \"shake\"", at: "constraints.style") }
            func types(_ key: String) throws -> [Int] {
                try Self.numbers(file, key).map {
                    guard $0 >= 1, $0 == $0.rounded() else { throw file.error("'\(key)' lists bond or angle types (integers ≥ 1)", at: key) }
                    return Int($0)
                }
            }
            shakeBonds = try types("constraints.bonds")
            shakeAngles = try types("constraints.angles")
            guard !shakeBonds.isEmpty else { throw file.error("SHAKE needs 'constraints.bonds' (the constrained bond types)", at: "constraints.style") }
            if let t = try file.number("constraints.tolerance") {
                guard t > 0, t < 1 else { throw file.error("'constraints.tolerance' must be in (0, 1)", at: "constraints.tolerance") }
                shakeTolerance = t
            }
            if let n = try file.integer("constraints.iterations") {
                guard n >= 1 else { throw file.error("'constraints.iterations' must be ≥ 1", at: "constraints.iterations") }
                shakeIterations = n
            }
        } else if let key = ["constraints.bonds", "constraints.angles", "constraints.tolerance", "constraints.iterations"].first(where: file.has) {
            throw file.error("'\(key)' needs 'constraints.style = \"shake\"'", at: key)
        }

        // Velocities.
        if file.has("velocity.temperature") || file.has("velocity.seed") {
            let t = try file.require("velocity.temperature", file.number)
            guard t >= 0 else { throw file.error("'velocity.temperature' must be ≥ 0", at: "velocity.temperature") }
            let seed = try file.integer("velocity.seed") ?? 12345
            guard seed > 0 else { throw file.error("'velocity.seed' must be > 0", at: "velocity.seed") }
            velocity = (t, UInt64(seed))
            if case .restart = source { throw file.error("a restart continues with its own velocities; remove 'velocity.*'", at: "velocity.temperature") }
        }

        // Neighbour lists (LAMMPS defaults: skin 0.3σ in LJ, 2 Å otherwise; every 1, check yes).
        let skin = try file.number("neighbor.skin") ?? (units == .lj ? 0.3 : 2.0)
        guard skin >= 0 else { throw file.error("'neighbor.skin' must be ≥ 0", at: "neighbor.skin") }
        let every = try file.integer("neighbor.every") ?? 1
        guard every >= 1 else { throw file.error("'neighbor.every' must be ≥ 1", at: "neighbor.every") }
        neighbor = NeighborSettings(skin: skin, every: every, check: try file.boolean("neighbor.check") ?? true)

        // Run.
        timestep = try positive("run.timestep", try file.number("run.timestep")) ?? [UnitStyle.lj: 0.005, .real: 1.0, .metal: 0.001][units]!
        steps = try file.require("run.steps", file.integer)
        guard steps >= 0 else { throw file.error("'run.steps' must be ≥ 0", at: "run.steps") }
        let integratorName = try file.string("run.integrator") ?? "nve"
        let thermostatKeys = ["thermostat.temperature", "thermostat.damp", "thermostat.seed"]
        switch integratorName {
        case "nve":
            for key in thermostatKeys where file.has(key) { throw file.error("'\(key)' needs run.integrator = \"langevin\" or \"nose-hoover\"", at: key) }
            integrator = .nve
        case "langevin", "nose-hoover":
            let t = try positive("thermostat.temperature", try file.require("thermostat.temperature", file.number))!
            let damp = try positive("thermostat.damp", try file.require("thermostat.damp", file.number))!
            if integratorName == "langevin" {
                let seed = try file.integer("thermostat.seed") ?? 48279
                guard seed > 0 else { throw file.error("'thermostat.seed' must be > 0", at: "thermostat.seed") }
                integrator = .langevin(temperature: t, damp: damp, seed: UInt64(seed))
            } else {
                if file.has("thermostat.seed") { throw file.error("'thermostat.seed' applies to langevin only", at: "thermostat.seed") }
                integrator = .noseHoover(temperature: t, damp: damp)
            }
        default:
            throw file.error("'run.integrator' must be \"nve\", \"langevin\" or \"nose-hoover\"", at: "run.integrator")
        }

        // Output.
        thermoEvery = try file.integer("output.thermo") ?? max(1, steps / 10)
        trajectoryEvery = try file.integer("output.trajectory") ?? 0
        restartEvery = try file.integer("output.restart_every") ?? 0
        for key in ["output.thermo", "output.trajectory", "output.restart_every"] {
            if let n = try file.integer(key), n < 0 { throw file.error("'\(key)' must be ≥ 0", at: key) }
        }
        if thermoEvery == 0 { thermoEvery = max(steps, 1) }
        restartPath = try file.string("output.restart")
        checkpointEvery = try file.checkpointInterval()
        if restartEvery > 0 && restartPath == nil {
            throw file.error("'output.restart_every' needs 'output.restart' (the checkpoint file)", at: "output.restart_every")
        }
    }

    func numbers(_ key: String) throws -> [Double] { try Self.numbers(file, key) }

    /// [kspace]: style, relative accuracy, and optionally LAMMPS' kspace_modify settings.
    static func kspaceSettings(_ file: JobFile) throws -> KSpaceSettings {
        let name = try file.require("kspace.style", file.string)
        guard let style = KSpaceSettings.Style(rawValue: name) else {
            throw file.error("'kspace.style' must be \"ewald\" or \"pppm\"", at: "kspace.style")
        }
        func triple(_ key: String) throws -> SIMD3<Int>? {
            guard file.has(key) else { return nil }
            let v = try numbers(file, key)
            guard v.count == 3, v.allSatisfy({ $0 >= 1 && $0 == $0.rounded() && $0 < 16384 }) else {
                throw file.error("'\(key)' must be three positive integers [nx, ny, nz]", at: key)
            }
            return SIMD3(Int(v[0]), Int(v[1]), Int(v[2]))
        }
        let gEwald = try file.number("kspace.g_ewald")
        if let g = gEwald, !(g > 0 && g.isFinite) { throw file.error("'kspace.g_ewald' must be > 0", at: "kspace.g_ewald") }
        let kmax = try triple("kspace.kmax"), mesh = try triple("kspace.mesh")
        let order = try file.integer("kspace.order") ?? 5
        if style == .ewald {
            for key in ["kspace.mesh", "kspace.order"] where file.has(key) { throw file.error("'\(key)' applies to style \"pppm\"", at: key) }
        } else {
            if file.has("kspace.kmax") { throw file.error("'kspace.kmax' applies to style \"ewald\"", at: "kspace.kmax") }
            guard (2...7).contains(order) else { throw file.error("'kspace.order' must be 2…7", at: "kspace.order") }
        }
        let accuracy = try file.number("kspace.accuracy")
        if accuracy == nil && (gEwald == nil || (style == .ewald ? kmax == nil : mesh == nil)) {
            throw file.error("'kspace.accuracy' is needed unless g_ewald and \(style == .ewald ? "kmax" : "mesh") are given", at: "kspace.style")
        }
        if let a = accuracy, !(a > 0 && a < 1) { throw file.error("'kspace.accuracy' must be in (0, 1) (relative force accuracy)", at: "kspace.accuracy") }
        return KSpaceSettings(style: style, accuracy: accuracy ?? 1e-5, gEwald: gEwald, kmax: kmax, mesh: mesh, order: order)
    }

    /// Coefficients per type: the data file's, overridden by "TYPE K value" lines (LAMMPS bond_coeff
    /// and angle_coeff, θ0 in degrees).
    func coefficients(_ key: String, types: Int, fromData: [[Double]]) throws -> [[Double]] {
        var coeffs: [[Double]?] = fromData.count == types ? fromData : Array(repeating: nil, count: types)
        for line in try file.strings(key) ?? [] {
            let w = line.split(separator: " ").map { Double($0) }
            guard w.count == 3, let t = w[0], let k = w[1], let v = w[2], t == t.rounded(), (1...Double(types)).contains(t), k >= 0, v >= 0 else {
                throw file.error("'\(key)' entries are \"TYPE K \(key.hasPrefix("bond") ? "r0" : "theta0")\" with TYPE in 1…\(types), got \"\(line)\"", at: key)
            }
            coeffs[Int(t) - 1] = [k, v]
        }
        if let missing = coeffs.firstIndex(where: { $0 == nil }) {
            throw file.error("no coefficients for \(key.hasPrefix("bond") ? "bond" : "angle") type \(missing + 1) (in the data file's Coeffs section or '\(key)')",
                             at: file.has(key) ? key : (key.hasPrefix("bond") ? "bond.style" : "angle.style"))
        }
        return coeffs.map { $0! }
    }

    /// The pair style for `typeCount` types.
    /// The pair style; LJ pairs among `quantumTypes` (0-based: a QM/MM quantum region's, whose
    /// own energy is quantum) are switched off.
    public func pair(typeCount: Int, units: UnitStyle, quantumTypes: Set<Int32> = []) throws -> any PairStyle {
        var lj = try ljParameters(typeCount: typeCount)
        for i in quantumTypes { for j in quantumTypes {
            lj.set(Int(i), Int(j), epsilon: 0, sigma: lj.sigma[Int(i) * lj.typeCount + Int(j)], cutoff: lj.cutoff[Int(i) * lj.typeCount + Int(j)])
        } }
        switch pairStyle {
        case "lj/cut/coul/cut": return LJCutCoul(lj, coulomb: .cut, coulCutoff: coulCutoff!, qqrd2e: units.qqrd2e)
        case "lj/cut/coul/long": return LJCutCoul(lj, coulomb: .long, coulCutoff: coulCutoff!, qqrd2e: units.qqrd2e)
        default: return LJCut(lj)
        }
    }

    static func numbers(_ file: JobFile, _ key: String) throws -> [Double] {
        guard let e = file.entries[key] else { return [] }
        switch e.value {
        case .integer(let i): return [Double(i)]
        case .float(let d): return [d]
        case .array(let items):
            return try items.map {
                switch $0 {
                case .integer(let i): return Double(i)
                case .float(let d): return d
                default: throw file.error("'\(key)' must be a number or an array of numbers", at: key)
                }
            }
        default: throw file.error("'\(key)' must be a number or an array of numbers", at: key)
        }
    }

    /// ε, σ, cutoff for `typeCount` types: `pair.epsilon` / `pair.sigma` per type (a single number
    /// applies to all; default 1), `pair.cutoff` global, cross terms by `pair.mixing`, and
    /// `pair.coeff = ["I J eps sigma [cutoff]", …]` overriding single pairs (LAMMPS pair_coeff).
    public func ljParameters(typeCount: Int) throws -> LJParameters {
        func perType(_ key: String) throws -> [Double] {
            let values = try numbers(key)
            if values.isEmpty { return Array(repeating: 1, count: typeCount) }
            if values.count == 1 { return Array(repeating: values[0], count: typeCount) }
            guard values.count == typeCount else { throw file.error("'\(key)' has \(values.count) values for \(typeCount) atom types", at: key) }
            return values
        }
        let eps = try perType("pair.epsilon"), sigma = try perType("pair.sigma")
        guard eps.allSatisfy({ $0 >= 0 }) else { throw file.error("'pair.epsilon' must be ≥ 0", at: "pair.epsilon") }
        guard sigma.allSatisfy({ $0 >= 0 }) else { throw file.error("'pair.sigma' must be ≥ 0", at: "pair.sigma") }
        let cutoff = try file.require("pair.cutoff", file.number)
        guard cutoff > 0 else { throw file.error("'pair.cutoff' must be > 0", at: "pair.cutoff") }
        let mixing = MixingRule(rawValue: try file.string("pair.mixing") ?? "geometric")!
        var p = LJParameters(epsilon: eps, sigma: sigma, cutoff: Array(repeating: cutoff, count: typeCount),
                             mixing: mixing, shift: try file.boolean("pair.shift") ?? false)
        for line in try file.strings("pair.coeff") ?? [] {
            let w = line.split(separator: " ").map(String.init)
            guard w.count == 4 || w.count == 5, let i = Int(w[0]), let j = Int(w[1]),
                  let e = Double(w[2]), let s = Double(w[3]) else {
                throw file.error("'pair.coeff' entries are \"I J epsilon sigma [cutoff]\", got \"\(line)\"", at: "pair.coeff")
            }
            guard (1...typeCount).contains(i), (1...typeCount).contains(j) else {
                throw file.error("'pair.coeff' \"\(line)\": types must be 1…\(typeCount)", at: "pair.coeff")
            }
            let c = w.count == 5 ? Double(w[4]) : cutoff
            guard let c, c > 0, e >= 0, s >= 0 else { throw file.error("'pair.coeff' \"\(line)\": bad value", at: "pair.coeff") }
            p.set(i - 1, j - 1, epsilon: e, sigma: s, cutoff: c)
        }
        return p
    }
}
