import Foundation

/// What an MPI launcher tells each process through its environment, readable before MPI is up:
/// Open MPI's mpirun sets OMPI_COMM_WORLD_*, MPICH's and Intel MPI's Hydra (mpiexec) and Slurm's
/// PMI-2 plugin (`srun --mpi=pmi2`) set PMI_*, PMIx launchers (`srun --mpi=pmix`, prterun) set
/// PMIX_RANK, and Cray's PALS sets PALS_RANKID.
public enum Launcher {
    static let rankVariables = ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "PALS_RANKID"]

    /// True when an MPI launcher started this process (a plain command skips MPI_Init's cost).
    public static func startedByMPI(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        rankVariables.contains { environment[$0] != nil }
    }

    /// This process's rank as the launcher gave it, 0 when there is none.
    public static func rank(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        rankVariables.lazy.compactMap { environment[$0].flatMap(Int.init) }.first ?? 0
    }

    /// The number of ranks the launcher started, where it says (Open MPI, Hydra, PMI-2).
    public static func worldSize(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        (environment["OMPI_COMM_WORLD_SIZE"] ?? environment["PMI_SIZE"]).flatMap(Int.init)
    }

    /// The tasks of an `srun` that gave them no MPI wiring (Slurm's default `--mpi=none` on many
    /// sites): each would run the whole job alone and write the same files. Nil when all is well.
    public static func unwiredSrunTasks(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        guard !startedByMPI(environment),
              let tasks = environment["SLURM_STEP_NUM_TASKS"].flatMap(Int.init), tasks > 1 else { return nil }
        return tasks
    }
}
