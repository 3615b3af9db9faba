// `kind = "statevector"` (and `qforge sv`): an OpenQASM 2 circuit on the distributed statevector.
import Circuits
import ForgeCore
import Foundation
import ResultsIO
import Statevector

/// Everything a statevector run needs, from `qforge sv` flags or a `kind = "statevector"` job file.
public struct StatevectorJob {
    public var circuit: String
    public var output: String
    public var shots: Int = 0
    public var seed: UInt64 = 1
    public var observables: [String] = []
    public var precision: Precision = .double
    public var writeState = true
    /// Largest dense fused block in qubits; 0: no fusion.
    public var maxFused = 3
    public var threads = defaultThreadsPerRank()

    public init(circuit: String, output: String) {
        self.circuit = circuit
        self.output = output
    }

    /// Parses, simulates and writes the result file. Polls the checkpoint schedule between
    /// blocks of instructions: a periodic checkpoint is written and the run continues from it
    /// exactly as a resumed run would; a signal writes one and throws `Interrupted`.
    public func run(_ context: RunContext) throws {
        let comm = context.comm
        let outputPath = output

        let program = try comm.agree { try QASMParser.parse(contentsOf: circuit) }
        let paulis = try observables.map { try PauliString(parsing: $0, qubits: program.qubitCount) }
        try comm.agree { if comm.isRoot { try ensureWritable(path: outputPath) } }
        let simulator = try comm.agree {
            try Simulator(qubits: program.qubitCount, precision: precision, comm: comm)
        }
        simulator.fusion = maxFused > 0 ? FusionLimits(maxDenseQubits: maxFused) : nil
        simulator.threads = threads
        let source = (try? String(contentsOfFile: circuit, encoding: .utf8)) ?? ""
        // What must match for a checkpoint to continue this run: the circuit and what changes
        // the arithmetic (precision, fusion). Ranks, threads, shots and observables may differ.
        let checkpoint = CheckpointFile(output: outputPath, owner: SHA256.hex("\(source)\u{0}\(precision.rawValue)\u{0}\(maxFused)".utf8))
        var position = try resumeFromCheckpoint(checkpoint, program: program, simulator: simulator, context: context)
        let resumed = position != nil
        // Trajectory runs (mid-circuit measurement) cannot continue from a saved state: they take
        // no periodic checkpoints and a signal ends them without one.
        let resumable = Simulator.resumableInstructionCount(program) != nil
        var decision = CheckpointSchedule.Decision.proceed
        simulator.interruptCheck = {
            decision = context.schedule.poll(comm)
            if !resumable && decision == .checkpoint { decision = .proceed }
            return decision != .proceed
        }

        let progress = context.progress("gates")
        let simulationStart = Date()
        var finished: SimulationResult? = nil
        while finished == nil {
            do {
                finished = try simulator.run(program, options: SimulationOptions(shots: shots, seed: seed, observables: paulis),
                                           resume: position.map { ($0.done, $0.layout) }) {
                    progress.update(done: $0, of: $1)
                }
            } catch let stop as SimulationInterrupted {
                guard stop.resumable, resumable else {
                    progress.finish()
                    let signal: Int32
                    if case .stop(let s) = decision { signal = s } else { signal = 0 }
                    throw RuntimeError("interrupted by signal \(signal); circuits with mid-circuit measure, reset or if() run one trajectory per shot and are not checkpointed")
                }
                let here = StatevectorCheckpoint.Position(done: stop.done, layout: stop.layout)
                try context.schedule.record {
                    try writeCheckpoint(checkpoint, here, qubits: program.qubitCount, simulator: simulator, context: context)
                }
                if case .stop(let signal) = decision {
                    progress.finish()
                    throw Interrupted(checkpoint: checkpoint.path, signal: signal)
                }
                position = here
            }
        }
        let result = finished!
        progress.finish()
        let simulationSeconds = Date().timeIntervalSince(simulationStart)

        // Rank 0 creates the file with the amplitudes allocated; every rank writes its slice at
        // once; rank 0 finishes the metadata and publishes it once every slice is on disk.
        let writeStart = Date()
        let partial = partialPath(for: outputPath)
        let dataOffset = try prepareOnRoot(comm: comm) {
            [try StatevectorFile.create(path: partial, qasm: source, qubits: program.qubitCount,
                                        gates: program.sourceGateCount,
                                        amplitudeCount: writeState ? UInt64(1) << UInt64(program.qubitCount) : nil,
                                        precision: precision.rawValue) ?? 0]
        }[0]
        var written: UInt64 = 0
        if writeState { written = try writeSlices(of: simulator, to: partial, dataOffset: dataOffset, comm: comm) }
        var sent = [Double(result.bytesSent), Double(result.baselineBytesSent)]
        comm.allreduceSum(&sent)
        let metadata = context.metadata(kind: "statevector")
        try comm.agree {
            guard comm.isRoot else { return }
            try StatevectorFile.finish(path: partial, metadata: metadata, counts: result.counts, shots: shots,
                                       seed: seed, expectations: result.expectations)
            try publish(partial: partial, final: outputPath)
        }
        context.recordWrite("result", bytes: written, since: writeStart)
        if resumed || context.schedule.written > 0 { checkpoint.remove(comm) }
        let gates = program.instructions.count
        context.resultPath = outputPath
        context.metrics = ["qubits": Double(program.qubitCount), "gates": Double(gates), "shots": Double(shots)]
        guard comm.isRoot else { return }
        let wall = metadata.wallSeconds
        context.say("qforge sv: \(program.qubitCount) qubits, \(gates) operations, \(comm.size) rank\(comm.size == 1 ? "" : "s") × \(threads) thread\(threads == 1 ? "" : "s"), \(precision) precision, \(VectorWidth.name(simulator.vectorBits)) kernels")
        context.say(String(format: "  simulation %.3f s (%.0f operations/s), wall %.3f s", simulationSeconds,
                     Double(gates) / max(simulationSeconds, 1e-9), wall))
        if comm.size > 1 {
            let size = UInt64(comm.size)
            context.say("  bytes sent per rank: \(formatBytes(UInt64(sent[0]) / size)) (one exchange per global gate would send \(formatBytes(UInt64(sent[1]) / size)))")
        }
        if result.trajectories > 0 {
            context.say("  mid-circuit measurement/reset/if: \(result.trajectories) trajector\(result.trajectories == 1 ? "y" : "ies")")
        }
        for e in result.expectations {
            context.say(String(format: "  <%@> = %.12f", e.label, e.value))
        }
        if let counts = result.counts {
            let width = max(program.clbitCount, 1)
            let top = counts.sorted { $0.count > $1.count }.prefix(8)
            context.say("  counts (\(shots) shots, seed \(seed), top \(top.count) of \(counts.count)):")
            for c in top {
                let bits = String(c.outcome, radix: 2)
                let padded = String(repeating: "0", count: max(0, (program.clbitCount > 0 ? width : program.qubitCount) - bits.count)) + bits
                context.say("    \(padded)  \(c.count)")
            }
        }
        context.reportCheckpoints()
        context.reportWrites()
        context.say("  wrote \(outputPath)")
    }
}

extension StatevectorJob {
    /// Loads `<output>.checkpoint` into the simulator when there is one for this job.
    private func resumeFromCheckpoint(_ checkpoint: CheckpointFile, program: Circuit, simulator: Simulator,
                                      context: RunContext) throws -> StatevectorCheckpoint.Position? {
        let comm = context.comm, path = checkpoint.path
        guard checkpoint.exists(comm) else { return nil }
        guard let total = Simulator.resumableInstructionCount(program) else {
            throw InputError("a checkpoint exists but this circuit (mid-circuit measure, reset or if) cannot resume; delete it to start afresh", file: path)
        }
        let position = try comm.agree {
            try StatevectorCheckpoint.read(path, configSHA256: checkpoint.owner, qubits: program.qubitCount, precision: precision.rawValue)
        }
        try comm.agree {
            try simulator.withMutableLocalAmplitudes { local in
                switch local {
                case .double(let a): try StatevectorCheckpoint.readAmplitudes(path: path, offset: simulator.localOffset, into: a)
                case .single(let a): try StatevectorCheckpoint.readAmplitudes(path: path, offset: simulator.localOffset, into: a)
                }
            }
        }
        context.note("resuming from \(path): \(position.done) of \(total) operations done", always: true)
        return position
    }

    /// The state as it is in memory (physical qubit order) with its position, as `.partial`
    /// then renamed over the previous checkpoint.
    private func writeCheckpoint(_ checkpoint: CheckpointFile, _ position: StatevectorCheckpoint.Position,
                                 qubits: Int, simulator: Simulator, context: RunContext) throws {
        let comm = context.comm
        let start = Date()
        let partial = partialPath(for: checkpoint.path)
        let dataOffset = try prepareOnRoot(comm: comm) {
            [try StatevectorCheckpoint.create(path: partial, qubits: qubits, precision: precision.rawValue,
                                              position: position, configSHA256: checkpoint.owner)]
        }[0]
        let written = try writeSlices(of: simulator, to: partial, dataOffset: dataOffset, comm: comm)
        try comm.agree { if comm.isRoot { try publish(partial: partial, final: checkpoint.path) } }
        context.recordWrite("checkpoint", bytes: written, since: start)
    }

    /// Every rank writes its slice of the state, as it is in memory, into `path` (which rank 0
    /// created) at once, and syncs it; returns the bytes all ranks wrote.
    private func writeSlices(of simulator: Simulator, to path: String, dataOffset: UInt64, comm: Communicator) throws -> UInt64 {
        let total = UInt64(1) << UInt64(simulator.qubits)
        return try writeConcurrently(comm: comm, path: path) { file in
            try simulator.withLocalAmplitudes { local in
                switch local {
                case .double(let a):
                    try StatevectorFile.writeAmplitudes(file, dataOffset: dataOffset, total: total, first: simulator.localOffset, interleaved: a)
                case .single(let a):
                    try StatevectorFile.writeAmplitudes(file, dataOffset: dataOffset, total: total, first: simulator.localOffset, interleaved: a)
                }
            }
        }
    }
}

extension StatevectorJob {
    public static let keys: Set<String> = ["kind", "circuit", "output", "shots", "seed", "observables", "precision", "write_state", "threads", "max_fused", "checkpoint_every"]

    public init(file: JobFile, output: String) throws {
        try file.checkKeys(allowed: Self.keys)
        circuit = try file.require("circuit", file.path)
        self.output = output
        shots = try file.integer("shots") ?? 0
        guard shots >= 0 else { throw file.error("'shots' must be ≥ 0", at: "shots") }
        let seedValue = try file.integer("seed") ?? 1
        guard seedValue >= 0 else { throw file.error("'seed' must be ≥ 0", at: "seed") }
        seed = UInt64(seedValue)
        observables = try file.strings("observables") ?? []
        if let p = try file.string("precision") {
            guard let value = Precision(rawValue: p) else { throw file.error("'precision' must be \"double\" or \"single\"", at: "precision") }
            precision = value
        }
        writeState = try file.boolean("write_state") ?? true
        if let t = try file.integer("threads") {
            guard t >= 1 else { throw file.error("'threads' must be ≥ 1", at: "threads") }
            threads = t
        }
        if let f = try file.integer("max_fused") {
            guard (0...6).contains(f) else { throw file.error("'max_fused' must be between 0 and 6", at: "max_fused") }
            maxFused = f
        }
    }
}
