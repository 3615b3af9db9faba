import ArgumentParser
import ForgeCore
import Foundation
import Runs
import Statevector

struct StatevectorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sv",
        abstract: "Simulate an OpenQASM 2 circuit on the distributed statevector and write HDF5.",
        discussion: """
        The 2^n amplitudes are split over the MPI ranks (a power of two; rank-index
        qubits are the highest ones). Terminal measurements are sampled from the final
        state with --shots; a circuit with mid-circuit measure, reset or if() runs one
        trajectory per shot. The kernels use 512-bit vectors where the CPU has
        AVX-512, else 256-bit (AVX2); QFORGE_SIMD=256 or 512 forces one (`qforge
        --version` lists what this binary and CPU support). Results are the same bits
        either way.

        Examples:
          qforge sv configs/ghz.qasm -o results/ghz.h5 --shots 1000 --seed 7
          mpirun -np 4 qforge sv big.qasm --no-state --observable "Z0 Z1"
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

    @Option(name: .customLong("max-fused"), help: "Largest fused gate in qubits (dense blocks; diagonal blocks up to 8); 0 turns fusion off: every gate sweeps the whole state.")
    var maxFused: Int = 3

    @Option(help: "Threads per rank (default: QFORGE_THREADS, OMP_NUM_THREADS, SLURM_CPUS_PER_TASK, else 1). Results are identical for any count.")
    var threads: Int = defaultThreadsPerRank()

    @Flag(name: .customLong("no-state"), help: "Do not write /state/amplitudes (large states).")
    var noState = false

    @Flag(help: "No progress output on stderr.")
    var quiet = false

    @OptionGroup(title: "Checkpoints")
    var checkpoints: CheckpointOptions

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
            output: output ?? "results/" + ((circuit as NSString).lastPathComponent as NSString).deletingPathExtension + ".h5")
        (job.shots, job.seed, job.observables, job.precision) = (shots, seed, observables, precision)
        (job.writeState, job.maxFused, job.threads) = (!noState, maxFused, threads)
        try Job(spec: .statevector(job), config: CommandLine.arguments.joined(separator: " "))
            .run(comm: Launch.communicator, catalog: catalog.settings, quiet: quiet, checkpointEvery: checkpoints.every)
    }
}

extension Precision: ExpressibleByArgument {}
