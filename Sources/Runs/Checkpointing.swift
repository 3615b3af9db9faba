// One checkpoint/resume/publish path for every job kind:
// - a result is written as `<output>.partial` and published (fsync, rename) when complete;
// - a checkpoint is `<output>.checkpoint`, also written as `.partial` and renamed, so a second
//   signal or a kill during the write leaves the previous checkpoint intact;
// - a run that finds a checkpoint of its own job (same config text) continues from it, and
//   removes it once the result is published.
// A periodic checkpoint (`checkpoint_every`) is written exactly as a signal's, and the run then
// continues as a resumed run would: one code path, so both give the uninterrupted result.
import ForgeCore
import Foundation
import ResultsIO

#if canImport(Glibc)
import Glibc
#endif

/// `<output>.checkpoint`, looked up and removed collectively (rank 0 touches the file system).
struct CheckpointFile {
    let path: String
    /// Whose checkpoint it is (a SHA-256): it continues only the job that wrote it.
    let owner: String

    init(output: String, owner: String) {
        path = checkpointPath(for: output)
        self.owner = owner
    }

    /// Owned by the job text itself (any change to the job refuses the checkpoint).
    init(output: String, context: RunContext) {
        self.init(output: output, owner: SHA256.hex(Array(context.config.utf8)))
    }

    /// True on every rank when rank 0 sees the file.
    func exists(_ comm: Communicator) -> Bool {
        comm.broadcast(comm.isRoot && FileManager.default.fileExists(atPath: path) ? "1" : "", root: 0) == "1"
    }

    /// After the result is published, the checkpoint has nothing left to give.
    func remove(_ comm: Communicator) {
        if comm.isRoot { unlink(path) }
    }
}

/// An H5MD trajectory (MD, Born–Oppenheimer MD, QM/MM) being written to `<output>.partial`:
/// rank 0 holds it with HDF5 (metadata, step, time, box, observables), every rank writes its own
/// atoms' rows through its `SharedFile`. Checkpoints are the frames so far plus a /restart
/// group, in one file.
final class TrajectoryOutput {
    let output: String
    let partial: String
    let checkpoint: CheckpointFile
    let context: RunContext
    /// Rank 0's writer (nil on other ranks and after publishing).
    private(set) var writer: H5MDWriter?
    /// Every rank's handle on `.partial` for its rows (nil when no file is open).
    private var rows: SharedFile?
    private let create: () throws -> H5MDWriter
    /// Bytes every rank wrote into frames, and when the current file was opened (for the summary).
    private var frameBytes: UInt64 = 0
    private var frameSeconds = 0.0

    /// `create` makes an empty H5MD file at the path it is given (rank 0 only).
    init(output: String, context: RunContext, create: @escaping (String) throws -> H5MDWriter) {
        self.output = output
        self.partial = partialPath(for: output)
        self.context = context
        self.checkpoint = CheckpointFile(output: output, context: context)
        let partial = self.partial
        self.create = { try create(partial) }
    }

    /// The checkpoint this job left, if any (collective; every rank reads it).
    func resumePoint() throws -> MDCheckpoint.Resume? {
        let comm = context.comm
        guard checkpoint.exists(comm) else { return nil }
        return try comm.agree { try MDCheckpoint.read(checkpoint.path, configSHA256: checkpoint.owner) }
    }

    /// Creates `.partial`; when continuing, copies the checkpoint's frames into it first. Every
    /// rank then opens it for its rows.
    func open(replaying: Bool) throws {
        let comm = context.comm
        try comm.agree {
            guard comm.isRoot else { return }
            let w = try create()
            writer = w
            if replaying { try w.replay(from: checkpoint.path) }
        }
        rows = try comm.agree { try SharedFile(path: partial) }
    }

    /// One frame, every rank at once: rank 0 appends step, time and box and allocates the
    /// frame's rows; every rank writes its atoms' rows of each per-atom element (`columns` in
    /// `H5MDWriter.atomElements` order). Collective.
    func appendFrame(step: Int, time: Double, boxEdges: SIMD3<Double>, owned: OwnedRows, columns: [AtomColumn]) throws {
        precondition(columns.map(\.name) == H5MDWriter.atomElements.map(\.name), "frame columns out of order")
        let comm = context.comm
        let start = Date()
        let offsets = try prepareOnRoot(comm: comm) { try writer?.beginFrame(step: step, time: time, boxEdges: boxEdges) ?? [] }
        frameBytes += try writeRows { rows in
            for (column, offset) in zip(columns, offsets) { try rows.writeRows(column, owned: owned, at: offset) }
        }
        frameSeconds += Date().timeIntervalSince(start)
    }

    /// Every rank writes through its handle (collective); returns the bytes all ranks wrote.
    private func writeRows(_ body: (SharedFile) throws -> Void) throws -> UInt64 {
        let comm = context.comm
        let bytes = try comm.agree { () throws -> UInt64 in
            guard let rows else { throw RuntimeError("trajectory '\(partial)' is not open") }
            let before = rows.bytesWritten
            try body(rows)
            return rows.bytesWritten - before
        }
        var total = [bytes]
        comm.allreduceSum(&total)
        return total[0]
    }

    /// Syncs and closes every rank's handle (collective): its rows are then on disk.
    private func closeRows() throws {
        defer { rows = nil }
        try context.comm.agree { try rows?.close() }
    }

    /// Acts on the schedule's decision at a safe point. `restart` (collective, called only when
    /// the decision is not `.proceed`) is the state to continue from, each rank its own atoms.
    /// Periodic: the checkpoint is written and the trajectory reopened from it, as a resumed run
    /// would. Stop: throws `Interrupted` after writing it (no `.partial` is left).
    func write(_ decision: CheckpointSchedule.Decision, endStep: Int, restart: () -> DistributedRestart) throws {
        guard decision != .proceed else { return }
        let comm = context.comm
        let state = restart()
        let start = Date()
        try context.schedule.record {
            let offsets = try prepareOnRoot(comm: comm) {
                try writer?.addRestart(state.header, atomCount: state.atomCount, optional: state.optionalColumns, configSHA256: checkpoint.owner, endStep: endStep) ?? []
            }
            let bytes = try writeRows { try state.writeRows(into: $0, at: offsets) }
            try closeRows()
            try comm.agree {
                guard let writer else { return }
                self.writer = nil
                try writer.closeAsCheckpoint(to: checkpoint.path)
            }
            context.recordWrite("checkpoint", bytes: bytes, since: start)
            if case .stop = decision { return }
            try open(replaying: true)
        }
        if case .stop(let signal) = decision {
            throw Interrupted(checkpoint: checkpoint.path, signal: signal)
        }
    }

    /// Finishes the file (root attributes, `extra` groups), publishes it and drops the checkpoint.
    func publish(kind: String, extra: (H5MDWriter) throws -> Void = { _ in }) throws {
        let comm = context.comm
        let start = Date()
        try closeRows()
        try comm.agree {
            guard comm.isRoot, let writer else { return }
            try extra(writer)
            try writer.finish(metadata: context.metadata(kind: kind))
            self.writer = nil
            try ResultsIO.publish(partial: partial, final: output)
        }
        frameSeconds += Date().timeIntervalSince(start)
        context.recordWrite("frames", bytes: frameBytes, seconds: frameSeconds)
        checkpoint.remove(comm)
        context.resultPath = output
    }

    /// A failed run leaves no `.partial` behind (a checkpoint, if any, stays for the next try).
    func discard() {
        writer = nil
        rows = nil
        if context.comm.isRoot { unlink(partial) }
    }
}
