// MD checkpoints on preemption (SIGUSR1/SIGTERM): the H5MD trajectory written so far plus a
// /restart group, in one file "<output>.checkpoint". Running the same job again replays the
// trajectory into a fresh result file and continues from the restart state.
import ForgeCore
import Foundation

public enum MDCheckpoint {

    /// What a resumed run needs: the state, the step the job ends at, and whose checkpoint it is.
    public struct Resume: Sendable {
        public var contents: MDRestartFile.Contents
        public var endStep: Int
        public var configSHA256: String
    }

    /// Reads a checkpoint; refuses one written by a different job (another config text).
    public static func read(_ path: String, configSHA256: String) throws -> Resume {
        let contents = try MDRestartFile.read(path)
        let g = try H5File.open(path).openGroup("restart")
        guard let owner = try g.attributeIfPresent("config_sha256")?.stringValue,
              let end = try g.attributeIfPresent("end_step")?.intValue else {
            throw InputError("not a QForge MD checkpoint (a restart file without job identity); move it away to start afresh", file: path)
        }
        guard owner == configSHA256 else {
            throw InputError("checkpoint belongs to a different job (its config differs from this one); delete it to start afresh", file: path)
        }
        return Resume(contents: contents, endStep: Int(end), configSHA256: owner)
    }
}

extension H5MDWriter {
    /// Rank 0, for a checkpoint: adds the /restart group (the header of `restart`, unwritten
    /// per-atom rows) and the job's identity to the trajectory written so far; returns the atom
    /// datasets' byte offsets, where every rank writes its rows before `closeAsCheckpoint`.
    public func addRestart(_ header: MDRestartFile.Contents, atomCount: Int, optional: [String], configSHA256: String, endStep: Int) throws -> [UInt64] {
        let offsets = try MDRestartFile.create(header, atomCount: atomCount, optional: optional, in: file)
        let g = try file.openGroup("restart")
        try g.setAttribute("config_sha256", configSHA256)
        try g.setAttribute("end_step", Int64(endStep))
        return offsets
    }

    /// Rank 0, once every rank's rows are synced: closes the file and renames it (the writer's
    /// `.partial`) to `checkpoint`.
    public func closeAsCheckpoint(to checkpoint: String) throws {
        try closeOwnHandle()
        try file.flush()
        try file.close()
        try publish(partial: path, final: checkpoint)
    }

    /// Rows per block when copying frames: memory stays bounded whatever the atom count.
    static let replayBlockRows: UInt64 = 1 << 16

    /// Copies every frame and observable row of an earlier H5MD file (a checkpoint) into this
    /// one, values and units unchanged; per-atom rows in blocks of `replayBlockRows`.
    public func replay(from source: String) throws {
        let src = try H5File.open(source)
        let trajectory = try src.openGroup("particles/trajectory")
        let steps = try trajectory.openDataset("position/step").readAll(Int64.self)
        let times = try trajectory.openDataset("position/time").readAll(Double.self)
        let n = UInt64(particleCount)
        let values = try Self.atomElements.map { try trajectory.openDataset("\($0.name)/value") }
        let edges = try trajectory.openDataset("box/edges/value")
        let rows = try ownHandle()
        let block = min(Self.replayBlockRows, max(n, 1))
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: Int(block) * Self.atomElements.map(\.rowBytes).max()!, alignment: 16)
        defer { scratch.deallocate() }
        for k in steps.indices {
            let frame = UInt64(k)
            let e = try edges.read(Double.self, offset: [frame, 0], count: [1, 3])
            let offsets = try beginFrame(step: Int(steps[k]), time: times[k], boxEdges: SIMD3(e[0], e[1], e[2]))
            for ((element, value), offset) in zip(zip(Self.atomElements, values), offsets) {
                let stored = try value.type()  // read as stored: the bytes are copied unconverted
                let shape = try value.shape()
                var first: UInt64 = 0
                while first < n {
                    let count = min(block, n - first)
                    var start = shape.map { _ in UInt64(0) }, extent = shape
                    (start[0], start[1], extent[0], extent[1]) = (frame, first, 1, count)
                    try value.read(into: scratch, memoryType: stored, offset: start, count: extent)
                    try rows.write(UnsafeRawBufferPointer(start: scratch, count: Int(count) * element.rowBytes),
                                   at: offset + first * UInt64(element.rowBytes))
                    first += count
                }
            }
        }
        let connectivity = { (name: String) throws -> [[Int64]] in
            guard src.exists("connectivity/\(name)") else { return [] }
            let d = try src.openDataset("connectivity/\(name)")
            let flat = try d.readAll(Int64.self), width = name == "bonds" ? 2 : 3
            return stride(from: 0, to: flat.count, by: width).map { Array(flat[$0..<($0 + width)]) }
        }
        if trajectory.exists("charge") || src.exists("connectivity") || trajectory.exists("qm") {
            try writeTopology(charges: trajectory.exists("charge") ? try trajectory.openDataset("charge").readAll(Double.self) : nil,
                              bonds: try connectivity("bonds"), angles: try connectivity("angles"),
                              quantum: trajectory.exists("qm") ? try trajectory.openDataset("qm").readAll(Int32.self) : nil)
        }
        let sourceObservables = try src.openGroup("observables")
        let group = try file.openGroup("observables")
        for name in try sourceObservables.childNames() {
            let value = try sourceObservables.openDataset("\(name)/value")
            let time = try sourceObservables.openDataset("\(name)/time")
            let element = try H5MDElement(in: group, name: name, valueType: .file(Double.self), rowShape: [],
                                          unit: try value.attributeIfPresent("unit")?.stringValue,
                                          timeUnit: try time.attributeIfPresent("unit")?.stringValue)
            observables[name] = element
            let rows = try value.readAll(Double.self)
            guard !rows.isEmpty else { continue }
            try element.step.append(try sourceObservables.openDataset("\(name)/step").readAll(Int64.self))
            try element.time.append(try time.readAll(Double.self))
            try element.value.append(rows)
        }
    }
}
