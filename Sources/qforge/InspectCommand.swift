import ArgumentParser
import ResultsIO

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Summarise a QForge result file (any kind).",
        discussion: """
        Prints the run's metadata, its key figures (for a statevector: the most probable basis
        states, counts and expectation values) and every group and dataset in the file.

        Example:
          qforge inspect results/ghz.h5
        """
    )

    @Argument(help: "HDF5 result file.")
    var file: String

    func run() throws {
        print(try inspectSummary(path: file), terminator: "")
    }
}
