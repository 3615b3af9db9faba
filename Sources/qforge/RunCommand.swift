import ArgumentParser
import ForgeCore
import Foundation
import Runs

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a job file (TOML); `kind` selects the engine.",
        discussion: """
        Paths in the job file are relative to the job file's folder; `output` is
        relative to the current directory (default results/<job name>.h5). See
        README.md for every key.

        SIGUSR1, SIGTERM (scancel, preemption) and Ctrl-C write <output>.checkpoint at
        the next safe point and exit with 75; the same command continues from it.
        checkpoint_every (job key) or --checkpoint-every also writes one every N
        seconds, so a kill loses at most that.

        Example job (configs/ghz.toml):
          kind = "statevector"
          circuit = "ghz.qasm"
          shots = 1000
          seed = 7
          observables = ["Z0 Z9"]

        Kinds: statevector, md, vqe (VQE ground energy), bomd (Born–Oppenheimer MD on
        the VQE energy), qmmm (a VQE region in an MD system, electrostatic embedding);
        docs/md.md, docs/vqe.md and docs/qmmm.md cover them.

        Examples:
          qforge run configs/ghz.toml
          qforge run configs/h2-vqe.toml
          mpirun -np 2 qforge run configs/qft12.toml -o results/qft.h5
          mpirun -np 2 qforge run configs/h2-water-qmmm.toml
        """
    )

    @Argument(help: "Job file (TOML).")
    var job: String

    @Option(name: .shortAndLong, help: "Result file; overrides the job's `output`.")
    var output: String?

    @Flag(help: "No progress output on stderr.")
    var quiet = false

    @OptionGroup(title: "Run catalog")
    var catalog: CatalogOptions

    @OptionGroup(title: "Checkpoints")
    var checkpoints: CheckpointOptions

    func run() throws {
        try Job(file: try JobFile(contentsOf: job), output: output)
            .run(comm: Launch.communicator, catalog: catalog.settings, quiet: quiet, checkpointEvery: checkpoints.every)
    }
}

/// `--checkpoint-every`, shared by the run commands.
struct CheckpointOptions: ParsableArguments {
    @Option(name: .customLong("checkpoint-every"), help: ArgumentHelp(
        "Also write a checkpoint every this many seconds of wall time (0: only on SIGUSR1/SIGTERM/SIGINT).",
        discussion: "Overrides the job's checkpoint_every. The same command continues from <output>.checkpoint after a kill.",
        valueName: "seconds"))
    var every: Double?

    func validate() throws {
        if let e = every, !(e >= 0 && e.isFinite) { throw ValidationError("--checkpoint-every must be ≥ 0 seconds") }
    }
}
