// One home for job files: `kind` picks the spec, each spec parses its keys (paths relative to
// the job file through `JobFile.resolve`), and `Job.run` drives it with catalog recording.
import ForgeCore
import Foundation

/// A parsed job, ready to run: any kind, from a job file or the command line.
public struct Job {
    public enum Spec {
        case statevector(StatevectorJob)
        case md(MDJob)
        case vqe(VQEJob)
        case bomd(BOMDJob)
        case qmmm(MDJob)
    }

    public let spec: Spec
    /// The job text (stored in the result, and the identity its checkpoints carry).
    public let config: String
    /// Seconds between periodic checkpoints from the job (`checkpoint_every`), if it says.
    public let checkpointEvery: Double?

    public init(spec: Spec, config: String, checkpointEvery: Double? = nil) {
        self.spec = spec
        self.config = config
        self.checkpointEvery = checkpointEvery
    }

    public static let kinds = ["statevector", "md", "vqe", "bomd", "qmmm"]

    /// Parses a job file. `output`: the command line's `-o`, which overrides the file's key.
    /// Default result: `results/<job name>.h5` (`.h5md` for md).
    public init(file: JobFile, output: String? = nil) throws {
        let kind = try file.require("kind", file.string)
        let name = ((file.path as NSString).lastPathComponent as NSString).deletingPathExtension
        let output = try output ?? file.string("output") ?? "results/\(name).\(kind == "md" ? "h5md" : "h5")"
        let spec: Spec
        switch kind {
        case "statevector": spec = .statevector(try StatevectorJob(file: file, output: output))
        case "md": spec = .md(try MDJob(file: file, output: output))
        case "vqe": spec = .vqe(try VQEJob(file: file, output: output))
        case "bomd": spec = .bomd(try BOMDJob(file: file, output: output))
        case "qmmm": spec = .qmmm(try MDJob(file: file, output: output, quantumRegion: true))
        default:
            throw file.error("unknown job kind '\(kind)' (known: \(Self.kinds.joined(separator: ", ")))", at: "kind")
        }
        self.init(spec: spec, config: file.text, checkpointEvery: try file.checkpointInterval())
    }

    public var kind: String {
        switch spec {
        case .statevector: return "statevector"
        case .md: return "md"
        case .vqe: return "vqe"
        case .bomd: return "bomd"
        case .qmmm: return "qmmm"
        }
    }

    /// Threads per rank the job runs (for the catalog's core-hours).
    var threads: Int? {
        if case .statevector(let s) = spec { return s.threads }
        return nil
    }

    /// Runs the job in `context` (no catalog): what tests call, on in-process ranks.
    public func run(_ context: RunContext) throws {
        switch spec {
        case .statevector(let job): try job.run(context)
        case .md(let job): try job.run(context)
        case .vqe(let job): try job.run(context)
        case .bomd(let job): try job.run(context)
        case .qmmm(let job): try job.run(context)
        }
    }

    /// Runs the job recorded in the catalog: running at the start, then completed, cancelled
    /// (a signal: checkpoint written, exit 75) or failed. `checkpointEvery` (the command line's
    /// `--checkpoint-every`) overrides the job's.
    public func run(comm: Communicator, catalog: CatalogSettings?, quiet: Bool, checkpointEvery: Double? = nil) throws {
        let recording = try comm.agree { try RunRecording.begin(kind: kind, settings: catalog, comm: comm, threads: threads) }
        var context: RunContext? = nil
        do {
            let c = RunContext(comm: comm, config: config, quiet: quiet,
                               checkpointEvery: checkpointEvery ?? self.checkpointEvery ?? 0, runID: recording.runID)
            context = c
            try run(c)
            recording.end(error: nil, context: c)
        } catch {
            recording.end(error: error, context: context)
            throw error
        }
    }
}
