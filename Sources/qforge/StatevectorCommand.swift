import ArgumentParser
import Circuits
import ForgeCore
import Foundation
import ResultsIO
import Statevector

struct StatevectorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sv",
        abstract: "Simulate an OpenQASM 2 circuit on the distributed statevector and write HDF5.",
        discussion: """
        The 2^n amplitudes are split over the MPI ranks (a power of two; rank-index qubits are the
        highest ones). Terminal measurements are sampled from the final state with --shots; a
        circuit with mid-circuit measure, reset or if() runs one trajectory per shot.

        Examples:
          qforge sv configs/ghz.qasm -o results/ghz.h5 --shots 1000 --seed 7
          mpirun -np 4 qforge sv big.qasm -o results/big.h5 --no-state --observable "Z0 Z1" --observable X3
          qforge sv qft.qasm -o results/qft.h5 --precision single
        """
    )

    @Argument(help: "OpenQASM 2.0 file (include \"qelib1.inc\" is built in).")
    var circuit: String

    @Option(name: .shortAndLong, help: "Result file (HDF5). Default: results/<circuit name>.h5")
    var output: String?

    @Option(help: "Number of measurement samples (0: no counts).")
    var shots: Int = 0

    @Option(help: "Random seed for sampling and mid-circuit measurement.")
    var seed: UInt64 = 1

    @Option(name: .customLong("observable"), help: "Pauli product whose expectation to compute, e.g. \"Z0 Z1\" or \"X0 Y2\" (repeatable).")
    var observables: [String] = []

    @Option(help: "Amplitude precision: double (complex128) or single (complex64).")
    var precision: Precision = .double

    @Option(name: .customLong("max-fused"), help: "Largest fused gate in qubits (dense blocks; diagonal blocks up to 8); 0 turns fusion off.")
    var maxFused: Int = 3

    @Option(help: "Threads per rank (default: QFORGE_THREADS, OMP_NUM_THREADS, SLURM_CPUS_PER_TASK, else 1). Results are identical for any count.")
    var threads: Int = defaultThreadsPerRank()

    @Flag(name: .customLong("no-state"), help: "Do not write /state/amplitudes (large states).")
    var noState = false

    @Flag(help: "No progress output on stderr.")
    var quiet = false

    @OptionGroup(title: "Run catalog")
    var catalog: CatalogOptions

    func validate() throws {
        guard shots >= 0 else { throw ValidationError("--shots must be ≥ 0") }
        guard (0...6).contains(maxFused) else { throw ValidationError("--max-fused must be between 0 and 6") }
        guard threads >= 1 else { throw ValidationError("--threads must be ≥ 1") }
    }

    func run() throws {
        var job = StatevectorJob(
            circuit: circuit,
            output: output ?? "results/" + ((circuit as NSString).lastPathComponent as NSString).deletingPathExtension + ".h5",
            shots: shots, seed: seed, observables: observables, precision: precision, writeState: !noState,
            maxFused: maxFused, threads: threads)
        job.catalog = catalog
        try job.run(config: CommandLine.arguments.joined(separator: " "), quiet: quiet)
    }
}

/// Everything a statevector run needs, from `qforge sv` flags or a `kind = "statevector"` job file.
struct StatevectorJob {
    var circuit: String
    var output: String
    var shots: Int = 0
    var seed: UInt64 = 1
    var observables: [String] = []
    var precision: Precision = .double
    var writeState = true
    /// Where the run is recorded (RunRecording.swift); nil records nothing.
    var catalog: CatalogOptions?
    /// Largest dense fused block in qubits; 0: no fusion.
    var maxFused = 3
    var threads = defaultThreadsPerRank()

    /// Parses, simulates and writes the result file; `config` is stored as the root attribute.
    func execute(config: String, quiet: Bool, recording: RunRecording) throws {
        let comm = Launch.communicator
        let started = Date()
        let outputPath = output

        let program = try comm.agree { try QASMParser.parse(contentsOf: circuit) }
        let paulis = try observables.map { try PauliString(parsing: $0, qubits: program.qubitCount) }
        try comm.agree { if comm.isRoot { try ensureWritable(path: outputPath) } }
        let simulator = try comm.agree {
            try Simulator(qubits: program.qubitCount, precision: precision, comm: comm)
        }
        simulator.fusion = maxFused > 0 ? FusionLimits(maxDenseQubits: maxFused) : nil
        simulator.threads = threads
        var runID = comm.isRoot ? recording.runID : ""
        runID = comm.broadcast(runID, root: 0)

        let source = (try? String(contentsOfFile: circuit, encoding: .utf8)) ?? ""
        let checkpoint = StatevectorCheckpoint.path(for: outputPath)
        // What must match for a checkpoint to continue this run: the circuit and what changes
        // the arithmetic (precision, fusion). Ranks and threads may differ.
        let identity = SHA256.hex("\(source)\u{0}\(precision.rawValue)\u{0}\(maxFused)".utf8)
        let resume = try resumeFromCheckpoint(checkpoint, identity: identity, program: program, simulator: simulator, comm: comm)
        simulator.interruptCheck = { comm.interruptRequested() }

        let progress = ProgressReporter(label: "gates", enabled: !quiet && comm.isRoot)
        let simulationStart = Date()
        let result: SimulationResult
        do {
            result = try simulator.run(program, options: SimulationOptions(shots: shots, seed: seed, observables: paulis),
                                       resume: resume.map { ($0.done, $0.layout) }) {
                progress.update(done: $0, of: $1)
            }
        } catch let stop as SimulationInterrupted {
            progress.finish()
            let signal = comm.interruptSignal()
            guard stop.resumable else {
                throw RuntimeError("interrupted by signal \(signal); circuits with mid-circuit measure, reset or if() run one trajectory per shot and are not checkpointed")
            }
            try writeCheckpoint(checkpoint, StatevectorCheckpoint.Position(done: stop.done, layout: stop.layout),
                                identity: identity, qubits: program.qubitCount, simulator: simulator, comm: comm)
            throw Interrupted(checkpoint: checkpoint, signal: signal)
        }
        progress.finish()
        let simulationSeconds = Date().timeIntervalSince(simulationStart)

        // Serial HDF5: rank 0 creates the file, then each rank writes its own slice in turn.
        let partial = outputPath + ".partial"
        try comm.agree {
            if comm.isRoot {
                try StatevectorFile.create(path: partial, qasm: source, qubits: program.qubitCount,
                                           gates: program.sourceGateCount,
                                           amplitudeCount: writeState ? UInt64(1) << UInt64(program.qubitCount) : nil,
                                           precision: precision.rawValue)
            }
        }
        if writeState {
            try writeDistributed(comm: comm) {
                try simulator.withLocalAmplitudes { local in
                    switch local {
                    case .double(let a): try StatevectorFile.writeAmplitudes(path: partial, offset: simulator.localOffset, interleaved: a)
                    case .single(let a): try StatevectorFile.writeAmplitudes(path: partial, offset: simulator.localOffset, interleaved: a)
                    }
                }
            }
        }
        var sent = [Double(result.bytesSent), Double(result.baselineBytesSent)]
        comm.allreduceSum(&sent)
        let wall = Date().timeIntervalSince(started)
        try comm.agree {
            guard comm.isRoot else { return }
            let metadata = RunMetadata(
                qforgeVersion: qforgeVersion, jobKind: "statevector", runID: runID,
                created: ISO8601DateFormatter().string(from: started), ranks: comm.size, wallSeconds: wall,
                config: config,
                slurmJobID: ProcessInfo.processInfo.environment["SLURM_JOB_ID"])
            try StatevectorFile.finish(path: partial, metadata: metadata, counts: result.counts, shots: shots,
                                       seed: seed, expectations: result.expectations)
            try publish(partial: partial, final: outputPath)
            if resume != nil { try? FileManager.default.removeItem(atPath: checkpoint) }
        }

        guard comm.isRoot else { return }
        let gates = program.instructions.count
        recording.resultPath = outputPath
        recording.metrics = ["qubits": Double(program.qubitCount), "gates": Double(gates), "shots": Double(shots)]
        print("qforge sv: \(program.qubitCount) qubits, \(gates) operations, \(comm.size) rank\(comm.size == 1 ? "" : "s") × \(threads) thread\(threads == 1 ? "" : "s"), \(precision) precision")
        print(String(format: "  simulation %.3f s (%.0f operations/s), wall %.3f s", simulationSeconds,
                     Double(gates) / max(simulationSeconds, 1e-9), wall))
        if comm.size > 1 {
            let size = UInt64(comm.size)
            print("  bytes sent per rank: \(formatBytes(UInt64(sent[0]) / size)) (one exchange per global gate would send \(formatBytes(UInt64(sent[1]) / size)))")
        }
        if result.trajectories > 0 {
            print("  mid-circuit measurement/reset/if: \(result.trajectories) trajector\(result.trajectories == 1 ? "y" : "ies")")
        }
        for e in result.expectations {
            print(String(format: "  <%@> = %.12f", e.label, e.value))
        }
        if let counts = result.counts {
            let width = max(program.clbitCount, 1)
            let top = counts.sorted { $0.count > $1.count }.prefix(8)
            print("  counts (\(shots) shots, seed \(seed), top \(top.count) of \(counts.count)):")
            for c in top {
                let bits = String(c.outcome, radix: 2)
                let padded = String(repeating: "0", count: max(0, (program.clbitCount > 0 ? width : program.qubitCount) - bits.count)) + bits
                print("    \(padded)  \(c.count)")
            }
        }
        print("  wrote \(outputPath)")
    }
}

extension StatevectorJob {
    /// Loads `<output>.checkpoint` into the simulator when there is one for this job.
    private func resumeFromCheckpoint(_ path: String, identity: String, program: Circuit, simulator: Simulator,
                                      comm: Communicator) throws -> StatevectorCheckpoint.Position? {
        guard comm.broadcast(comm.isRoot && FileManager.default.fileExists(atPath: path) ? "yes" : "", root: 0) == "yes" else { return nil }
        guard let total = Simulator.resumableInstructionCount(program) else {
            throw InputError("a checkpoint exists but this circuit (mid-circuit measure, reset or if) cannot resume; delete it to start afresh", file: path)
        }
        let position = try comm.agree {
            try StatevectorCheckpoint.read(path, configSHA256: identity, qubits: program.qubitCount, precision: precision.rawValue)
        }
        try comm.agree {
            try simulator.withMutableLocalAmplitudes { local in
                switch local {
                case .double(let a): try StatevectorCheckpoint.readAmplitudes(path: path, offset: simulator.localOffset, into: a)
                case .single(let a): try StatevectorCheckpoint.readAmplitudes(path: path, offset: simulator.localOffset, into: a)
                }
            }
        }
        if comm.isRoot {
            FileHandle.standardError.write(Data("qforge: resuming from \(path): \(position.done) of \(total) operations done\n".utf8))
        }
        return position
    }

    /// Every rank writes its slice as it is in memory (physical qubit order) into `path`.
    private func writeCheckpoint(_ path: String, _ position: StatevectorCheckpoint.Position, identity: String,
                                 qubits: Int, simulator: Simulator, comm: Communicator) throws {
        let partial = path + ".partial"
        try comm.agree {
            if comm.isRoot {
                try StatevectorCheckpoint.create(path: partial, qubits: qubits, precision: precision.rawValue,
                                                 position: position, configSHA256: identity)
            }
        }
        try writeDistributed(comm: comm) {
            try simulator.withLocalAmplitudes { local in
                switch local {
                case .double(let a): try StatevectorFile.writeAmplitudes(path: partial, offset: simulator.localOffset, interleaved: a)
                case .single(let a): try StatevectorFile.writeAmplitudes(path: partial, offset: simulator.localOffset, interleaved: a)
                }
            }
        }
        try comm.agree { if comm.isRoot { try publish(partial: partial, final: path) } }
    }
}

extension Precision: ExpressibleByArgument {}
