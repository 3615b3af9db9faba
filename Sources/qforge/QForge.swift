import ArgumentParser
import ForgeCore
import Foundation
import MPIBackend
import Statevector

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
        version: "\(qforgeVersion)\nMPI: \(MPICommunicator.libraryVersion)\nSIMD: \(VectorWidth.supported.map { "\($0)-bit (\(VectorWidth.name($0)))" }.joined(separator: ", ")) kernels; using \(VectorWidth.preferred)",  // jobs/qforge-job.sh reads it to choose srun's --mpi
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
        if command is RunCommand || command is StatevectorCommand {
            if let tasks = Launcher.unwiredSrunTasks() {
                // Each task would be a 1-rank MPI job running the whole job and writing the same files.
                if ProcessInfo.processInfo.environment["SLURM_PROCID"] == "0" {
                    reportError("srun started \(tasks) tasks that MPI cannot join: use `srun --mpi=pmix` (Open MPI) or `srun --mpi=pmi2` (MPICH), or mpirun")
                }
                return 2
            }
            if let started = Launcher.worldSize(), Launch.communicator.size != started {
                // Another MPI's launcher: every rank came up alone and would run the whole job.
                reportError("the launcher started \(started) ranks but this qforge's MPI (\(MPICommunicator.libraryVersion)) sees \(Launch.communicator.size): launch it with the mpiexec of that MPI (scripts/mpirun, QFORGE_MPIEXEC)")
                return 2
            }
            if let problem = VectorWidth.requestProblem {
                reportError(problem)
                return 2
            }
            Interrupt.install()
        }
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
        guard Launcher.startedByMPI() else { return SerialCommunicator() }
        let comm = MPICommunicator()
        mpi = comm
        return comm
    }()

    static var isRoot: Bool {
        Launcher.rank() == 0  // before MPI is up, the launcher's environment tells the rank
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
