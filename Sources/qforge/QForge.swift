import ArgumentParser
import ForgeCore
import Foundation
import MPIBackend

struct QForge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "qforge",
        abstract: "HPC batch engine: distributed statevector, molecular dynamics, run catalog; results in HDF5.",
        discussion: """
        Run under mpirun to distribute the work over ranks; only rank 0 prints.

        Examples:
          qforge run configs/ghz.toml
          mpirun -np 4 qforge run configs/md-argon-nvt.toml
          qforge catalog runs --account myproject
          qforge sv configs/ghz.qasm -o results/ghz.h5 --shots 1000 --seed 7
          mpirun -np 2 qforge sv configs/qft.qasm -o results/qft.h5 --observable "Z0 Z1"
          qforge inspect results/ghz.h5
        """,
        version: qforgeVersion,
        subcommands: [RunCommand.self, StatevectorCommand.self, InspectCommand.self, CatalogCommand.self]
    )

    /// Parses and runs a command; maps every error to the documented exit codes
    /// (0 ok, 1 runtime failure, 2 bad input or usage) with one `qforge: error:` line.
    static func main(arguments: [String]) -> Int32 {
        let command: ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            let code = exitCode(for: error)
            if code == .success { // --help, --version
                print(fullMessage(for: error))
                return 0
            }
            let message = message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid usage"
            reportError(message.replacingOccurrences(of: "Error: ", with: ""))
            return 2
        }
        // SIGUSR1/SIGTERM/SIGINT only set a flag (Interrupt is their one owner): engines
        // checkpoint at their next safe point. Commands that never poll it (inspect, catalog
        // serve) keep the default: a signal ends them.
        if command is RunCommand || command is StatevectorCommand { Interrupt.install() }
        do {
            var command = command
            try command.run()
            return 0
        } catch let e as Interrupted {
            if Launch.isRoot { FileHandle.standardError.write("qforge: \(e.description)\n".data(using: .utf8)!) }
            return Interrupt.exitCode
        } catch let e as InputError {
            reportError(e.description)
            return 2
        } catch let e as RuntimeError {
            reportError(e.description)
            return 1
        } catch let e as ExitCode {
            return e.rawValue
        } catch where exitCode(for: error) == .success {
            // `qforge help sv` and friends: the parser's help command "throws" its text.
            print(fullMessage(for: error))
            return 0
        } catch {
            reportError(String(describing: error))
            return 1
        }
    }
}

/// The communicator for this process: MPI under a launcher, serial otherwise.
enum Launch {
    nonisolated(unsafe) private static var mpi: MPICommunicator?
    nonisolated(unsafe) static var communicator: Communicator = {
        guard MPICommunicator.launchedByMPI else { return SerialCommunicator() }
        let comm = MPICommunicator()
        mpi = comm
        return comm
    }()

    static var isRoot: Bool {
        // Before MPI is up, the launcher's environment tells the rank.
        let env = ProcessInfo.processInfo.environment
        return (env["OMPI_COMM_WORLD_RANK"] ?? env["PMIX_RANK"] ?? env["PMI_RANK"] ?? "0") == "0"
    }

    /// Finalizes MPI if this process started it.
    static func finalize() {
        mpi?.finalize()
    }
}

/// One line on stderr, from rank 0 only.
func reportError(_ message: String) {
    guard Launch.isRoot else { return }
    FileHandle.standardError.write("qforge: error: \(message)\n".data(using: .utf8)!)
}

/// stdout, from rank 0 only.
func say(_ text: String) {
    if Launch.isRoot { print(text) }
}
