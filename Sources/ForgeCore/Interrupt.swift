#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// The one owner of SIGUSR1, SIGTERM and SIGINT in a run. Slurm's warning signal
/// (`#SBATCH --signal=B:USR1@120`), `scancel`, preemption, the end of the time limit and Ctrl-C
/// only set a flag here; engines poll it at safe points (between gates, between MD steps),
/// agree across ranks, write a checkpoint and exit with `Interrupt.exitCode`, which job scripts
/// map to a requeue. Nothing else in the process installs a handler for these signals, so a
/// signal can never end a run before its checkpoint (a second SIGTERM during the write is only
/// noted; a third Ctrl-C ends an interactive run at once).
public enum Interrupt {
    /// EX_TEMPFAIL (sysexits.h): "checkpoint written; run the same command again to continue".
    public static let exitCode: Int32 = 75

    private static let received = Atomic<Int32>(0)
    private static let interrupts = Atomic<Int32>(0)

    /// Installs the handlers (idempotent). Call once at start-up, before any engine runs.
    public static func install(signals: [Int32] = [SIGUSR1, SIGTERM, SIGINT]) {
        _ = received.load(ordering: .relaxed)  // initialise the statics before any signal arrives
        _ = interrupts.load(ordering: .relaxed)
        for s in signals {
            signal(s) { sig in
                // Async-signal-safe: atomics and _exit only.
                Interrupt.received.store(sig, ordering: .relaxed)
                if sig == SIGINT && Interrupt.interrupts.add(1, ordering: .relaxed).newValue >= 3 { _exit(128 + SIGINT) }
            }
        }
        watcher.start()
    }

    /// Calls `body` (on a background thread, outside the signal handler) with each new signal
    /// number noted — for whoever must act before an engine's next safe point, which may never
    /// come (a rank died and mpirun kills the others a second after its SIGTERM).
    public static func observe(_ body: @escaping @Sendable (Int32) -> Void) { watcher.add(body) }

    private static let watcher = SignalWatcher()

    /// The signal number received on this rank, or 0.
    public static var signalNumber: Int32 { received.load(ordering: .relaxed) }
    public static var requested: Bool { signalNumber != 0 }

    /// For tests: behave as if `sig` had arrived (or clear with 0).
    public static func simulate(_ sig: Int32) { received.store(sig, ordering: .relaxed) }
}

/// Polls the noted signal every 20 ms and tells the observers of each change.
private final class SignalWatcher: @unchecked Sendable {
    private let lock = NSLock()
    private var observers: [@Sendable (Int32) -> Void] = []
    private var started = false

    func add(_ body: @escaping @Sendable (Int32) -> Void) {
        lock.lock(); observers.append(body); lock.unlock()
    }

    func start() {
        lock.lock(); defer { lock.unlock() }
        guard !started else { return }
        started = true
        let thread = Thread { [self] in
            var seen: Int32 = 0
            while true {
                let now = Interrupt.signalNumber
                if now != 0 && now != seen {
                    seen = now
                    lock.lock(); let current = observers; lock.unlock()
                    for body in current { body(now) }
                }
                usleep(20_000)
            }
        }
        thread.start()
    }
}

/// When a long run writes a checkpoint: on a signal (and then stops) or every `interval` seconds
/// of wall time (and then goes on: `checkpoint_every`, so a SIGKILL, an OOM kill or a lost node
/// costs at most that much work). Engines poll it at their safe points.
public final class CheckpointSchedule {
    public enum Decision: Equatable, Sendable {
        case proceed
        /// Periodic: write a checkpoint and continue.
        case checkpoint
        /// A signal arrived on some rank: write a checkpoint and stop.
        case stop(signal: Int32)
    }

    /// Seconds between periodic checkpoints; 0: only on a signal.
    public let interval: Double
    private var last = Date()
    /// Checkpoints written so far and the wall time they took (for the run summary).
    public private(set) var written = 0
    public private(set) var seconds = 0.0

    public init(interval: Double) { self.interval = max(0, interval) }

    /// Collective (one allgather): every rank gets the same decision. Rank 0's clock decides
    /// periodic checkpoints, so ranks never disagree on the time.
    public func poll(_ comm: Communicator) -> Decision {
        let due = interval > 0 && Date().timeIntervalSince(last) >= interval
        let all = comm.allgather([Double(Interrupt.signalNumber), due ? 1 : 0])
        let signal = stride(from: 0, to: all.count, by: 2).map { all[$0] }.max() ?? 0
        if signal > 0 { return .stop(signal: Int32(signal)) }
        return all[1] > 0 ? .checkpoint : .proceed
    }

    /// Times `write` (a checkpoint) for the summary and restarts the periodic clock.
    public func record<R>(_ write: () throws -> R) rethrows -> R {
        let start = Date()
        let result = try write()
        seconds += Date().timeIntervalSince(start)
        written += 1
        last = Date()
        return result
    }

    /// "2 checkpoints, 0.31 s" for the run summary; nil when none was written.
    public var summary: String? {
        guard written > 0 else { return nil }
        return String(format: "%d checkpoint%@ written, %.3f s (%.3f s each)", written, written == 1 ? "" : "s", seconds, seconds / Double(written))
    }
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
