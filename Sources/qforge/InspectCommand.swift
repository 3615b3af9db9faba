import ArgumentParser
import ResultsIO

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Summarise a QForge result file (any kind).",
        discussion: """
        Prints the run's metadata, its key figures and every group and dataset in the file:
        statevector — the most probable basis states, counts and expectation values;
        MD (H5MD) — atoms, frames, box, each observable's last value and mean; VQE —
        energy, exact energy and error, iterations, Hamiltonian terms; restart files
        and checkpoints — step and atoms.

        Examples:
          qforge inspect results/ghz.h5
          qforge inspect results/md-argon-nvt.h5md
          qforge inspect results/qforge-md-42.h5md.checkpoint
        """
    )

    @Argument(help: "HDF5 result file.")
    var file: String

    func run() throws {
        print(try inspectSummary(path: file), terminator: "")
    }
}
