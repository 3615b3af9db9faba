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
    /// Adds the restart state and the job's identity to the trajectory written so far, closes the
    /// file and renames it (the writer's `.partial`) to `checkpoint`.
    public func closeAsCheckpoint(_ contents: MDRestartFile.Contents, configSHA256: String, endStep: Int,
                                  to checkpoint: String) throws {
        try MDRestartFile.write(contents, in: file)
        let g = try file.openGroup("restart")
        try g.setAttribute("config_sha256", configSHA256)
        try g.setAttribute("end_step", Int64(endStep))
        try file.flush()
        try file.close()
        try publish(partial: path, final: checkpoint)
    }

    /// Copies every frame and observable row of an earlier H5MD file (a checkpoint) into this
    /// one, values and units unchanged.
    public func replay(from source: String) throws {
        let src = try H5File.open(source)
        let trajectory = try src.openGroup("particles/trajectory")
        let steps = try trajectory.openDataset("position/step").readAll(Int64.self)
        let times = try trajectory.openDataset("position/time").readAll(Double.self)
        let n = UInt64(particleCount)
        let position = try trajectory.openDataset("position/value"), velocity = try trajectory.openDataset("velocity/value")
        let species = try trajectory.openDataset("species/value"), ids = try trajectory.openDataset("id/value")
        let edges = try trajectory.openDataset("box/edges/value")
        for k in steps.indices {
            let row = UInt64(k)
            let e = try edges.read(Double.self, offset: [row, 0], count: [1, 3])
            try appendFrame(step: Int(steps[k]), time: times[k], boxEdges: SIMD3(e[0], e[1], e[2]),
                            ids: try ids.read(Int64.self, offset: [row, 0], count: [1, n]),
                            species: try species.read(Int32.self, offset: [row, 0], count: [1, n]),
                            positions: try position.read(Double.self, offset: [row, 0, 0], count: [1, n, 3]),
                            velocities: try velocity.read(Double.self, offset: [row, 0, 0], count: [1, n, 3]))
        }
        let rows = { (name: String) throws -> [[Int64]] in
            guard src.exists("connectivity/\(name)") else { return [] }
            let d = try src.openDataset("connectivity/\(name)")
            let flat = try d.readAll(Int64.self), width = name == "bonds" ? 2 : 3
            return stride(from: 0, to: flat.count, by: width).map { Array(flat[$0..<($0 + width)]) }
        }
        if trajectory.exists("charge") || src.exists("connectivity") {
            try writeTopology(charges: trajectory.exists("charge") ? try trajectory.openDataset("charge").readAll(Double.self) : nil,
                              bonds: try rows("bonds"), angles: try rows("angles"))
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
