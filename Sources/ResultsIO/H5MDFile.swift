// H5MD 1.1 trajectories (the README's "Result files") and MD restart files.
//
// Rank 0 holds the file with serial HDF5 and writes everything small (step, time, box,
// observables, metadata). Per-atom data (frames of position, velocity, species, id; restart
// columns) is written by every rank at once, each its own atoms' rows (SharedFile.swift): a
// frame of a per-atom element is one chunk [1, N, …], allocated when rank 0 appends the frame
// and never filled, so its rows lie in global id order at a byte offset rank 0 shares. The
// layout is the one h5py and MDAnalysis read; no rank ever holds the whole system.
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

    /// `perAtom`: each frame's value rows are written outside HDF5 (allocated early, never filled).
    init(in group: H5Location, name: String, valueType: H5Type, rowShape: [UInt64], unit: String?, timeUnit: String?,
         perAtom: Bool = false) throws {
        let g = try group.createGroup(name)
        step = try g.createDataset("step", type: .file(Int64.self), shape: [0], maxShape: [nil], chunk: [256])
        time = try g.createDataset("time", type: .file(Double.self), shape: [0], maxShape: [nil], chunk: [256])
        value = try g.createDataset("value", type: valueType, shape: [0] + rowShape, maxShape: [nil] + rowShape.map { $0 },
                                    chunk: [1] + rowShape.map { max($0, 1) }, allocateEarly: perAtom)
        if let unit { try value.setAttribute("unit", unit) }
        if let timeUnit { try time.setAttribute("unit", timeUnit) }
    }

    func append<T: H5Scalar>(step s: Int, time t: Double, _ values: [T]) throws {
        try appendStepTime(step: s, time: t)
        try value.append(values)
    }

    /// Appends step and time, and one unwritten value row (a per-atom frame); returns the byte
    /// offset of the new frame's first atom.
    func appendUnwrittenFrame(step s: Int, time t: Double) throws -> UInt64 {
        try appendStepTime(step: s, time: t)
        var shape = try value.shape()
        let frame = shape[0]
        shape[0] += 1
        try value.extend(to: shape)
        var chunk = shape.map { _ in UInt64(0) }
        chunk[0] = frame
        return try value.chunkFileOffset(at: chunk)
    }

    private func appendStepTime(step s: Int, time t: Double) throws {
        try step.append([Int64(s)])
        try time.append([t])
    }
}

public final class H5MDWriter {
    public let path: String
    let file: H5File
    let particleCount: Int
    let units: H5MDUnits
    let edges: H5MDElement
    /// The per-atom elements of /particles/trajectory, in `atomElements` order.
    let perAtom: [H5MDElement]
    var observables: [String: H5MDElement] = [:]
    /// Rank 0's own handle for the rows it copies alone (`replay`); opened on first use.
    private var ownRows: SharedFile?

    /// The per-atom elements of a frame, in the order `beginFrame` gives their offsets (and the
    /// ranks' columns come), with the stored bytes of one atom's row. A new per-atom element
    /// (e.g. H5MD's `charge`) is one more entry here, in `init` and in the callers' columns.
    public static let atomElements: [(name: String, rowBytes: Int)] = [("position", 24), ("velocity", 24), ("species", 4), ("id", 8)]

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
        let atomic = particleCount > 0
        perAtom = [
            try H5MDElement(in: trajectory, name: "position", valueType: .file(Double.self), rowShape: [n, 3], unit: units.length,
                            timeUnit: units.time, perAtom: atomic),
            try H5MDElement(in: trajectory, name: "velocity", valueType: .file(Double.self), rowShape: [n, 3], unit: units.velocity,
                            timeUnit: units.time, perAtom: atomic),
            try H5MDElement(in: trajectory, name: "species", valueType: .file(Int32.self), rowShape: [n], unit: nil,
                            timeUnit: units.time, perAtom: atomic),
            try H5MDElement(in: trajectory, name: "id", valueType: .file(Int64.self), rowShape: [n], unit: nil,
                            timeUnit: units.time, perAtom: atomic),
        ]
        _ = try file.createGroup("observables")
    }

    /// Rank 0, for a frame every rank writes: appends step, time and box, allocates the frame's
    /// per-atom rows and returns the byte offset of row 0 of each (`atomElements` order). The
    /// ranks then write their atoms' rows there (`SharedFile.writeRows`).
    public func beginFrame(step: Int, time: Double, boxEdges: SIMD3<Double>) throws -> [UInt64] {
        guard particleCount > 0 else { throw RuntimeError("H5MD frame at step \(step): no particles") }
        try edges.append(step: step, time: time, [boxEdges.x, boxEdges.y, boxEdges.z])
        return try perAtom.map { try $0.appendUnwrittenFrame(step: step, time: time) }
    }

    func ownHandle() throws -> SharedFile {
        if let ownRows { return ownRows }
        let handle = try SharedFile(path: path)
        ownRows = handle
        return handle
    }

    /// Syncs and closes rank 0's own row handle (before the file is closed and published).
    func closeOwnHandle() throws {
        try ownRows?.close()
        ownRows = nil
    }

    /// Whether the time-independent per-particle data (charge, connectivity) is written.
    public private(set) var hasTopology = false

    /// Time-independent data in id order, written once: H5MD 1.1 `charge` (in e, or the LJ
    /// unit) in the particle group, and the H5MD connectivity module's `/connectivity/bonds` and
    /// `/connectivity/angles` (rows of atom ids, the values of the particles' `id` element).
    /// `quantum`: 1 for the atoms of a QM/MM quantum region, 0 for the rest (`qm`, int32).
    public func writeTopology(charges: [Double]?, bonds: [[Int64]] = [], angles: [[Int64]] = [], quantum: [Int32]? = nil) throws {
        hasTopology = true
        let trajectory = try file.openGroup("particles/trajectory")
        if let charges {
            let dataset = try trajectory.writeDataset("charge", charges)
            if units.length != nil { try dataset.setAttribute("unit", "e") }
        }
        if let quantum { _ = try trajectory.writeDataset("qm", quantum) }
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

    /// Root attributes (DESIGN §3) and close (the ranks' rows are synced by then).
    public func finish(metadata: RunMetadata) throws {
        try closeOwnHandle()
        try metadata.write(to: file)
        try file.flush()
        try file.close()
    }
}

/// A checkpoint: every atom (id order), box, step, time and thermostat state, so a run
/// continues as if it had not stopped. Written by every rank at once (each its own atoms' rows),
/// read by every rank.
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

    /// The per-atom datasets of /restart, in the order `create` gives their offsets and
    /// `write` takes columns, with the stored bytes of one atom's row.
    public static let atomDatasets: [(name: String, rowBytes: Int)] = [("id", 8), ("type", 4), ("position", 24), ("velocity", 24), ("force", 24)]
    /// Per-atom datasets a charged or molecular system adds after those, in this order.
    public static let optionalAtomDatasets: [(name: String, rowBytes: Int)] = [("charge", 8), ("molecule", 8)]

    /// Every rank at once: rank 0 creates `path`.partial with the header, every rank writes its
    /// atoms' rows, all sync, rank 0 renames it to `path`. Returns the bytes the ranks wrote.
    @discardableResult
    public static func write(_ restart: DistributedRestart, comm: Communicator, to path: String) throws -> UInt64 {
        let partial = partialPath(for: path)
        let offsets = try prepareOnRoot(comm: comm) {
            let file = try H5File.create(partial)
            let offsets = try create(restart.header, atomCount: restart.atomCount, optional: restart.optionalColumns, in: file)
            try file.close()
            return offsets
        }
        let bytes = try writeConcurrently(comm: comm, path: partial) { try restart.writeRows(into: $0, at: offsets) }
        try writeOnRoot(comm: comm) { try publish(partial: partial, final: path) }
        return bytes
    }

    /// Rank 0: the /restart group of `c` in an open file (a restart file, or an H5MD checkpoint)
    /// with `atomCount` unwritten rows per atom dataset; `c`'s own per-atom arrays are not
    /// written. Returns the byte offsets of the atom datasets (`atomDatasets` order).
    static func create(_ c: Contents, atomCount: Int, optional: [String], in file: H5File) throws -> [UInt64] {
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
        let n = UInt64(atomCount)
        var types: [(H5Type, [UInt64])] = [(.file(Int64.self), [n]), (.file(Int32.self), [n]), (.file(Double.self), [n, 3]),
                                           (.file(Double.self), [n, 3]), (.file(Double.self), [n, 3])]
        var names = atomDatasets.map(\.name)
        for name in optional {
            names.append(name)
            types.append(name == "charge" ? (.file(Double.self), [n]) : (.file(Int64.self), [n]))
        }
        // The topology (every rank holds it whole): bonds and angles by atom id, coefficients.
        for (name, values) in [("bonds", c.bonds), ("angles", c.angles)] where !values.isEmpty { try g.writeDataset(name, values) }
        for (name, values) in [("bond_coeffs", c.bondCoeffs), ("angle_coeffs", c.angleCoeffs)] where !values.isEmpty {
            try g.writeDataset(name, values)
        }
        var offsets: [UInt64] = []
        for (name, (type, shape)) in zip(names, types) {
            let dataset = try g.createDataset(name, type: type, shape: shape, allocateEarly: n > 0)
            offsets.append(n > 0 ? try dataset.fileOffset() : 0)
            try dataset.close()
        }
        if !c.auxiliary.isEmpty {
            let aux = try g.createGroup("auxiliary")
            for (name, values) in c.auxiliary where !values.isEmpty { try aux.writeDataset(name, values) }
        }
        return offsets
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

/// A restart as the ranks write it: the header (units, step, box, masses, thermostat, auxiliary;
/// rank 0's is written, its per-atom arrays are ignored) and each rank's own atoms' rows as
/// columns in `MDRestartFile.atomDatasets` order.
public struct DistributedRestart {
    public var header: MDRestartFile.Contents
    public var atomCount: Int
    public var owned: OwnedRows
    public var columns: [AtomColumn]

    public init(header: MDRestartFile.Contents, atomCount: Int, owned: OwnedRows, columns: [AtomColumn]) {
        let allowed = MDRestartFile.atomDatasets + MDRestartFile.optionalAtomDatasets
        let base = MDRestartFile.atomDatasets.count
        precondition(columns.count >= base && columns.prefix(base).map(\.name) == MDRestartFile.atomDatasets.map(\.name)
                     && columns.allSatisfy { c in allowed.contains { $0.name == c.name && $0.rowBytes == c.rowBytes } },
                     "restart columns out of order")
        (self.header, self.atomCount, self.owned, self.columns) = (header, atomCount, owned, columns)
    }

    /// Names of the optional per-atom columns (charge, molecule) this restart carries.
    public var optionalColumns: [String] { columns.dropFirst(MDRestartFile.atomDatasets.count).map(\.name) }

    /// This rank's rows, at the atom datasets' byte offsets.
    public func writeRows(into file: SharedFile, at offsets: [UInt64]) throws {
        for (column, offset) in zip(columns, offsets) { try file.writeRows(column, owned: owned, at: offset) }
    }
}

extension MDRestartFile.Contents {
    /// A state every rank holds whole (Born–Oppenheimer MD, QM/MM: a few atoms): rank 0 writes
    /// every row, the other ranks none.
    public func distributed(isRoot: Bool) -> DistributedRestart {
        DistributedRestart(header: self, atomCount: ids.count, owned: isRoot ? .all(ids.count) : .none,
                           columns: [.values("id", ids), .values("type", types), .values("position", positions, width: 3),
                                     .values("velocity", velocities, width: 3), .values("force", forces, width: 3)]
                               + (charges.isEmpty ? [] : [.values("charge", charges)]) + (molecules.isEmpty ? [] : [.values("molecule", molecules)]))
    }
}
