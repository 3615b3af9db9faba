#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Preemption: Slurm (`#SBATCH --signal=B:USR1@120`, forwarded by the job script to mpirun, which
/// passes SIGUSR1 to every rank) or a user asks a run to stop. Engines poll at safe points
/// (between gates, between MD steps), agree across ranks, write a checkpoint and exit with
/// `Interrupt.exitCode`, which job scripts map to a requeue.
public enum Interrupt {
    /// EX_TEMPFAIL (sysexits.h): "checkpoint written; run the same command again to continue".
    public static let exitCode: Int32 = 75

    private static let received = Atomic<Int32>(0)

    /// Installs handlers for SIGUSR1 and SIGTERM (idempotent). Call once at start-up.
    public static func install(signals: [Int32] = [SIGUSR1, SIGTERM]) {
        _ = received.load(ordering: .relaxed)  // initialise the static before any signal arrives
        for s in signals {
            signal(s) { sig in Interrupt.received.store(sig, ordering: .relaxed) }
        }
    }

    /// The signal number received on this rank, or 0.
    public static var signalNumber: Int32 { received.load(ordering: .relaxed) }
    public static var requested: Bool { signalNumber != 0 }

    /// For tests: behave as if `sig` had arrived (or clear with 0).
    public static func simulate(_ sig: Int32) { received.store(sig, ordering: .relaxed) }
}

extension Communicator {
    /// True on every rank when any rank received an interrupt. Collective: every rank must call
    /// it at the same point of the computation.
    public func interruptRequested() -> Bool { any(Interrupt.requested) }

    /// The signal that stopped the run: the largest signal number any rank received (0: none).
    /// Collective.
    public func interruptSignal() -> Int32 { Int32(allgather([Double(Interrupt.signalNumber)]).max() ?? 0) }
}

/// Thrown by an engine after it wrote its checkpoint; the command line maps it to
/// `Interrupt.exitCode` and a one-line message naming the checkpoint.
public struct Interrupted: Error, CustomStringConvertible {
    public let checkpoint: String
    public let signal: Int32
    public init(checkpoint: String, signal: Int32) { self.checkpoint = checkpoint; self.signal = signal }
    public var description: String {
        "interrupted by signal \(signal); checkpoint written to \(checkpoint); run the same command again to continue"
    }
}
