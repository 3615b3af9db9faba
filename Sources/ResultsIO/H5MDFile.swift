// H5MD 1.1 trajectories (the README's "Result files") and MD restart files.
//
// Serial HDF5: only rank 0 holds the file; each frame's particles are gathered to rank 0 by the
// caller (one gather of 56 bytes per atom per frame) and written here in global id order.
import CHDF5
import ForgeCore
import Foundation

/// `unit` attribute strings; nil leaves the attribute out. MDAnalysis rejects unit strings it
/// does not know, so LJ reduced runs write no units on particle data (readers pass
/// `convert_units=False`) and say `unit_system = "lj"` on /particles instead.
public struct H5MDUnits: Sendable {
    public var system: String
    public var length: String?, time: String?, velocity: String?
    public var energy: String, temperature: String, pressure: String
    public init(system: String, length: String?, time: String?, velocity: String?, energy: String, temperature: String, pressure: String) {
        (self.system, self.length, self.time, self.velocity) = (system, length, time, velocity)
        (self.energy, self.temperature, self.pressure) = (energy, temperature, pressure)
    }
}

/// One H5MD time-dependent element: step, time, value.
final class H5MDElement {
    let step: H5Dataset, time: H5Dataset, value: H5Dataset

    init(in group: H5Location, name: String, valueType: H5Type, rowShape: [UInt64], unit: String?, timeUnit: String?) throws {
        let g = try group.createGroup(name)
        step = try g.createDataset("step", type: .file(Int64.self), shape: [0], maxShape: [nil], chunk: [256])
        time = try g.createDataset("time", type: .file(Double.self), shape: [0], maxShape: [nil], chunk: [256])
        value = try g.createDataset("value", type: valueType, shape: [0] + rowShape, maxShape: [nil] + rowShape.map { $0 },
                                    chunk: [1] + rowShape.map { max($0, 1) })
        if let unit { try value.setAttribute("unit", unit) }
        if let timeUnit { try time.setAttribute("unit", timeUnit) }
    }

    func append<T: H5Scalar>(step s: Int, time t: Double, _ values: [T]) throws {
        try step.append([Int64(s)])
        try time.append([t])
        try value.append(values)
    }
}

public final class H5MDWriter {
    public let path: String
    let file: H5File
    let particleCount: Int
    let units: H5MDUnits
    let position, velocity, species, identifier, edges: H5MDElement
    var observables: [String: H5MDElement] = [:]

    /// Creates the file (pass the `.partial` name) with /h5md metadata and empty trajectory elements.
    public init(path: String, particleCount: Int, units: H5MDUnits, creatorVersion: String, author: String) throws {
        self.path = path
        self.particleCount = particleCount
        self.units = units
        file = try H5File.create(path)
        let h5md = try file.createGroup("h5md")
        try h5md.setAttribute("version", [Int32(1), Int32(1)])
        let authorGroup = try h5md.createGroup("author")
        try authorGroup.setAttribute("name", author)
        let creator = try h5md.createGroup("creator")
        try creator.setAttribute("name", "QForge")
        try creator.setAttribute("version", creatorVersion)
        let particles = try file.createGroup("particles")
        try particles.setAttribute("unit_system", units.system)
        let trajectory = try particles.createGroup("trajectory")
        let box = try trajectory.createGroup("box")
        try box.setAttribute("dimension", Int32(3))
        try box.setAttribute("boundary", ["periodic", "periodic", "periodic"])
        let n = UInt64(particleCount)
        edges = try H5MDElement(in: box, name: "edges", valueType: .file(Double.self), rowShape: [3], unit: units.length, timeUnit: units.time)
        position = try H5MDElement(in: trajectory, name: "position", valueType: .file(Double.self), rowShape: [n, 3], unit: units.length, timeUnit: units.time)
        velocity = try H5MDElement(in: trajectory, name: "velocity", valueType: .file(Double.self), rowShape: [n, 3], unit: units.velocity, timeUnit: units.time)
        species = try H5MDElement(in: trajectory, name: "species", valueType: .file(Int32.self), rowShape: [n], unit: nil, timeUnit: units.time)
        identifier = try H5MDElement(in: trajectory, name: "id", valueType: .file(Int64.self), rowShape: [n], unit: nil, timeUnit: units.time)
        _ = try file.createGroup("observables")
    }

    /// One frame; arrays in global id order (positions and velocities x, y, z per particle).
    public func appendFrame(step: Int, time: Double, boxEdges: SIMD3<Double>, ids: [Int64], species types: [Int32],
                            positions: [Double], velocities: [Double]) throws {
        guard ids.count == particleCount, positions.count == 3 * particleCount, velocities.count == 3 * particleCount else {
            throw RuntimeError("H5MD frame at step \(step): \(ids.count) particles, expected \(particleCount)")
        }
        try edges.append(step: step, time: time, [boxEdges.x, boxEdges.y, boxEdges.z])
        try position.append(step: step, time: time, positions)
        try velocity.append(step: step, time: time, velocities)
        try species.append(step: step, time: time, types)
        try identifier.append(step: step, time: time, ids)
    }

    /// Whether the time-independent per-particle data (charge, connectivity) is written.
    public private(set) var hasTopology = false

    /// Time-independent data in id order, written once: H5MD 1.1 `charge` (in e, or the LJ
    /// unit) in the particle group, and the H5MD connectivity module's `/connectivity/bonds` and
    /// `/connectivity/angles` (rows of atom ids, the values of the particles' `id` element).
    public func writeTopology(charges: [Double]?, bonds: [[Int64]] = [], angles: [[Int64]] = []) throws {
        hasTopology = true
        let trajectory = try file.openGroup("particles/trajectory")
        if let charges {
            let dataset = try trajectory.writeDataset("charge", charges)
            if units.length != nil { try dataset.setAttribute("unit", "e") }
        }
        guard !bonds.isEmpty || !angles.isEmpty else { return }
        let connectivity = try file.createGroup("connectivity")
        for (name, rows) in [("bonds", bonds), ("angles", angles)] where !rows.isEmpty {
            let dataset = try connectivity.writeDataset(name, rows.flatMap { $0 }, shape: [UInt64(rows.count), UInt64(rows[0].count)])
            try dataset.setAttribute("particles_group", "/particles/trajectory")
            try dataset.setAttribute("identifiers", "id")
        }
    }

    public enum ObservableKind: Sendable { case energy, temperature, pressure }

    /// One row of each observable (created on first use with its unit).
    public func appendObservables(step: Int, time: Double, _ values: [(name: String, kind: ObservableKind, value: Double)]) throws {
        for (name, kind, value) in values {
            if observables[name] == nil {
                let unit: String
                switch kind { case .energy: unit = units.energy; case .temperature: unit = units.temperature; case .pressure: unit = units.pressure }
                let group = try file.openGroup("observables")
                observables[name] = try H5MDElement(in: group, name: name, valueType: .file(Double.self), rowShape: [], unit: unit, timeUnit: units.time)
            }
            try observables[name]!.append(step: step, time: time, [value])
        }
    }

    /// Root attributes (DESIGN §3) and close.
    public func finish(metadata: RunMetadata) throws {
        try metadata.write(to: file)
        try file.flush()
        try file.close()
    }
}

/// A checkpoint: every atom (id order), box, step, time and thermostat state, so a run
/// continues as if it had not stopped. Written by rank 0, read by every rank.
public enum MDRestartFile {
    public struct Contents: Sendable {
        public var units: String
        public var step: Int
        public var time: Double
        public var boxLo: [Double], boxHi: [Double]
        public var masses: [Double]
        public var ids: [Int64]
        public var types: [Int32]
        public var positions: [Double], velocities: [Double], forces: [Double]
        public var thermostat: [Double]
        /// Engine-specific state beyond the particles, by name (Born–Oppenheimer MD: the VQE
        /// warm-start parameters, the potential energy, the energy history); empty for LJ MD.
        public var auxiliary: [String: [Double]] = [:]
        /// Charge and molecule id per atom (empty: none).
        public var charges: [Double] = []
        public var molecules: [Int64] = []
        /// Topology: bonds as (type, id, id) and angles as (type, id, id, id) rows, flattened,
        /// 0-based types; harmonic coefficients (K, r0 or θ0) per type, flattened.
        public var bonds: [Int64] = [], angles: [Int64] = []
        public var bondCoeffs: [Double] = [], angleCoeffs: [Double] = []
        public init(units: String, step: Int, time: Double, boxLo: [Double], boxHi: [Double], masses: [Double], ids: [Int64],
                    types: [Int32], positions: [Double], velocities: [Double], forces: [Double], thermostat: [Double]) {
            (self.units, self.step, self.time, self.boxLo, self.boxHi, self.masses) = (units, step, time, boxLo, boxHi, masses)
            (self.ids, self.types, self.positions, self.velocities, self.thermostat) = (ids, types, positions, velocities, thermostat)
            self.forces = forces
        }
    }

    /// Writes `path`.partial and renames it to `path`.
    public static func write(_ c: Contents, to path: String) throws {
        try writeAndPublish(path) { try write(c, in: $0) }
    }

    /// The /restart group in an open file (a restart file, or an H5MD checkpoint).
    static func write(_ c: Contents, in file: H5File) throws {
        do {
            let g = try file.createGroup("restart")
            try g.setAttribute("format", "qforge-md-restart-1")
            try g.setAttribute("units", c.units)
            try g.setAttribute("step", Int64(c.step))
            try g.setAttribute("time", c.time)
            try g.writeDataset("box_lo", c.boxLo)
            try g.writeDataset("box_hi", c.boxHi)
            try g.writeDataset("masses", c.masses)
            try g.writeDataset("thermostat", c.thermostat.isEmpty ? [0.0] : c.thermostat)
            try g.setAttribute("thermostat_count", Int64(c.thermostat.count))
            try g.writeDataset("id", c.ids)
            try g.writeDataset("type", c.types)
            try g.writeDataset("position", c.positions, shape: [UInt64(c.ids.count), 3])
            try g.writeDataset("velocity", c.velocities, shape: [UInt64(c.ids.count), 3])
            try g.writeDataset("force", c.forces, shape: [UInt64(c.ids.count), 3])
            if !c.charges.isEmpty { try g.writeDataset("charge", c.charges) }
            if !c.molecules.isEmpty { try g.writeDataset("molecule", c.molecules) }
            for (name, values) in [("bonds", c.bonds), ("angles", c.angles)] where !values.isEmpty { try g.writeDataset(name, values) }
            for (name, values) in [("bond_coeffs", c.bondCoeffs), ("angle_coeffs", c.angleCoeffs)] where !values.isEmpty {
                try g.writeDataset(name, values)
            }
            if !c.auxiliary.isEmpty {
                let aux = try g.createGroup("auxiliary")
                for (name, values) in c.auxiliary where !values.isEmpty { try aux.writeDataset(name, values) }
            }
        }
    }

    public static func read(_ path: String) throws -> Contents {
        guard H5File.isHDF5(path) else { throw InputError("not a QForge MD restart file (not HDF5, or missing)", file: path) }
        let file = try H5File.open(path)
        guard file.exists("restart"), let g = try? file.openGroup("restart"),
              (try? g.attribute("format").stringValue) == "qforge-md-restart-1" else {
            throw InputError("not a QForge MD restart file (no /restart group)", file: path)
        }
        let thermostatCount = Int(try g.attribute("thermostat_count").intValue ?? 0)
        var auxiliary: [String: [Double]] = [:]
        if g.exists("auxiliary") {
            let aux = try g.openGroup("auxiliary")
            for name in try aux.childNames() { auxiliary[name] = try aux.openDataset(name).readAll(Double.self) }
        }
        var contents = Contents(
            units: try g.attribute("units").stringValue ?? "lj",
            step: Int(try g.attribute("step").intValue ?? 0),
            time: try g.attribute("time").doubleValue ?? 0,
            boxLo: try g.openDataset("box_lo").readAll(Double.self),
            boxHi: try g.openDataset("box_hi").readAll(Double.self),
            masses: try g.openDataset("masses").readAll(Double.self),
            ids: try g.openDataset("id").readAll(Int64.self),
            types: try g.openDataset("type").readAll(Int32.self),
            positions: try g.openDataset("position").readAll(Double.self),
            velocities: try g.openDataset("velocity").readAll(Double.self),
            forces: try g.openDataset("force").readAll(Double.self),
            thermostat: Array(try g.openDataset("thermostat").readAll(Double.self).prefix(thermostatCount)))
        contents.auxiliary = auxiliary
        if g.exists("charge") { contents.charges = try g.openDataset("charge").readAll(Double.self) }
        if g.exists("molecule") { contents.molecules = try g.openDataset("molecule").readAll(Int64.self) }
        if g.exists("bonds") { contents.bonds = try g.openDataset("bonds").readAll(Int64.self) }
        if g.exists("angles") { contents.angles = try g.openDataset("angles").readAll(Int64.self) }
        if g.exists("bond_coeffs") { contents.bondCoeffs = try g.openDataset("bond_coeffs").readAll(Double.self) }
        if g.exists("angle_coeffs") { contents.angleCoeffs = try g.openDataset("angle_coeffs").readAll(Double.self) }
        return contents
    }
}
