// What every job driver is given: the ranks, where to print, the job's text and identity, and
// the checkpoint schedule. The command line builds one; tests build one around in-process ranks.
import ForgeCore
import Foundation
import ResultsIO

public final class RunContext {
    public let comm: Communicator
    /// No progress or notes on stderr.
    public let quiet: Bool
    /// The job text (TOML, or the command line), stored in the result file and hashed to tell
    /// whose checkpoint a file is.
    public let config: String
    public let started = Date()
    /// The catalog's run id, the same on every rank (written as the result's `run_id`).
    public internal(set) var runID: String
    /// When to write checkpoints (signal, `checkpoint_every`).
    public let schedule: CheckpointSchedule
    /// Set by a driver for the catalog: the result file and a few metrics.
    public internal(set) var resultPath: String?
    public internal(set) var metrics: [String: Double] = [:]
    private let output: (String) -> Void
    private let errors: (String) -> Void

    /// `print` and `errors` receive whole lines, on rank 0 only.
    public init(comm: Communicator, config: String, quiet: Bool = false, checkpointEvery: Double = 0,
                runID: String = UUID().uuidString.lowercased(),
                print: @escaping (String) -> Void = { Swift.print($0) },
                errors: @escaping (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) {
        self.comm = comm
        self.config = config
        self.quiet = quiet
        self.schedule = CheckpointSchedule(interval: checkpointEvery)
        self.runID = comm.broadcast(comm.isRoot ? runID : "", root: 0)
        self.output = print
        self.errors = errors
    }

    /// A line of the run's report on stdout (rank 0).
    public func say(_ text: String) { if comm.isRoot { output(text) } }

    /// "qforge: …" on stderr (rank 0), unless quiet (`always`: what a batch log must show,
    /// such as a resumed checkpoint).
    public func note(_ text: String, always: Bool = false) { if comm.isRoot && (always || !quiet) { errors("qforge: " + text) } }

    /// Progress of a long loop on stderr (rank 0), unless quiet.
    public func progress(_ label: String) -> ProgressReporter { ProgressReporter(label: label, enabled: !quiet && comm.isRoot) }

    /// The root attributes of this run's result file.
    public func metadata(kind: String) -> RunMetadata {
        RunMetadata(jobKind: kind, config: config, ranks: comm.size, wallSeconds: Date().timeIntervalSince(started),
                    runID: runID, created: RunMetadata.timestamp(started))
    }

    /// Bytes and wall time of each output (result, frames, restarts, checkpoints), in the order
    /// first written.
    private(set) var writes: [(name: String, statistics: WriteStatistics)] = []

    /// Adds one write of `bytes` that began at `start` (collective writes: every rank calls it).
    func recordWrite(_ name: String, bytes: UInt64, since start: Date) {
        recordWrite(name, bytes: bytes, seconds: Date().timeIntervalSince(start))
    }

    func recordWrite(_ name: String, bytes: UInt64, seconds: Double) {
        if let k = writes.firstIndex(where: { $0.name == name }) {
            writes[k].statistics.add(bytes: bytes, seconds: seconds)
        } else {
            var statistics = WriteStatistics()
            statistics.add(bytes: bytes, seconds: seconds)
            writes.append((name, statistics))
        }
    }

    /// The checkpoint line of the run summary, when any was written.
    func reportCheckpoints() {
        if let s = schedule.summary { say("  " + s) }
    }

    /// One summary line per output (after it is published): bytes, write time and bandwidth.
    func reportWrites() {
        for (name, statistics) in writes {
            let count = statistics.writes == 1 ? "" : "\(statistics.writes) writes, "
            say("  write \(name): \(count)\(statistics.summary)")
        }
    }
}
