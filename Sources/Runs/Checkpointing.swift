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

/// An H5MD trajectory (MD, Born–Oppenheimer MD, QM/MM) being written by rank 0 to
/// `<output>.partial`, with its checkpoints: the frames so far plus a /restart group, in one file.
final class TrajectoryOutput {
    let output: String
    let partial: String
    let checkpoint: CheckpointFile
    let context: RunContext
    /// Rank 0's writer (nil on other ranks and after publishing).
    private(set) var writer: H5MDWriter?
    private let create: () throws -> H5MDWriter

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

    /// Creates `.partial`; when continuing, copies the checkpoint's frames into it first.
    func open(replaying: Bool) throws {
        let comm = context.comm
        try comm.agree {
            guard comm.isRoot else { return }
            let w = try create()
            writer = w
            if replaying { try w.replay(from: checkpoint.path) }
        }
    }

    /// Acts on the schedule's decision at a safe point. `contents` (rank 0; gathered by the
    /// caller, collectively, only when the decision is not `.proceed`) is the state to continue
    /// from. Periodic: the checkpoint is written and the trajectory reopened from it, as a
    /// resumed run would. Stop: throws `Interrupted` after writing it (no `.partial` is left).
    func write(_ decision: CheckpointSchedule.Decision, endStep: Int, contents: () -> MDRestartFile.Contents?) throws {
        guard decision != .proceed else { return }
        let comm = context.comm
        let state = contents()
        try context.schedule.record {
            try comm.agree {
                guard let writer, let state else { return }
                self.writer = nil
                try writer.closeAsCheckpoint(state, configSHA256: checkpoint.owner, endStep: endStep, to: checkpoint.path)
            }
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
        try comm.agree {
            guard comm.isRoot, let writer else { return }
            try extra(writer)
            try writer.finish(metadata: context.metadata(kind: kind))
            self.writer = nil
            try ResultsIO.publish(partial: partial, final: output)
        }
        checkpoint.remove(comm)
        context.resultPath = output
    }

    /// A failed run leaves no `.partial` behind (a checkpoint, if any, stays for the next try).
    func discard() {
        writer = nil
        if context.comm.isRoot { unlink(partial) }
    }
}
