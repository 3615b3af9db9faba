import Catalog
import ForgeCore
import Foundation

/// Where and for whom a run is recorded: `--catalog`, `--account`, `--enforce-budget`,
/// `--time-limit` and the environment they default from (Slurm's, QFORGE_*).
public struct CatalogSettings: Sendable {
    public var catalog: String?
    public var account: String?
    public var enforceBudget = false
    public var timeLimit: String?
    public var environment: [String: String]

    public init(catalog: String? = nil, account: String? = nil, enforceBudget: Bool = false, timeLimit: String? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.catalog = catalog
        self.account = account
        self.enforceBudget = enforceBudget
        self.timeLimit = timeLimit
        self.environment = environment
    }

    public var target: CatalogTarget { CatalogTarget.parse(catalog ?? environment["QFORGE_CATALOG"] ?? CatalogTarget.defaultPath) }

    public var resolvedAccount: String {
        account ?? environment["SLURM_JOB_ACCOUNT"].flatMap { $0.isEmpty ? nil : $0 } ?? environment["QFORGE_ACCOUNT"] ?? "default"
    }

    /// Seconds of wall time requested: --time-limit, else Slurm's end time minus now.
    public var timeLimitSeconds: Int64? {
        if let t = timeLimit { return TimeLimit.seconds(t) }
        if let end = environment["SLURM_JOB_END_TIME"].flatMap(Int64.init) {
            return max(0, end - Int64(Date().timeIntervalSince1970))
        }
        return nil
    }

    /// The catalog record of a run starting now: who, where, how many ranks and threads, and
    /// the Slurm job it belongs to (from the launcher's environment).
    public func startingRecord(runID: String, kind: String, ranks: Int, threads: Int?) -> RunRecord {
        let env = environment
        let threads = max(1, threads ?? defaultThreadsPerRank(environment: env))
        let nodes = (env["SLURM_JOB_NUM_NODES"] ?? env["SLURM_NNODES"]).flatMap(Int.init) ?? 1
        let underMPI = Launcher.startedByMPI(env) || ranks > 1
        return RunRecord(
            id: runID, app: "qforge-\(kind)", appVersion: qforgeVersion, kind: kind, account: resolvedAccount,
            user: env["SLURM_JOB_USER"] ?? env["USER"] ?? currentUserName(), host: ProcessInfo.processInfo.hostName,
            launcher: env["SLURM_JOB_ID"] != nil ? "slurm" : (underMPI ? "mpirun" : "direct"),
            slurmJobId: env["SLURM_JOB_ID"], slurmArrayJobId: env["SLURM_ARRAY_JOB_ID"], slurmArrayTaskId: env["SLURM_ARRAY_TASK_ID"],
            partition: env["SLURM_JOB_PARTITION"], nodes: max(nodes, 1), ranks: ranks, threads: threads,
            startedAt: Date(), command: CommandLine.arguments.joined(separator: " "))
    }
}

public enum TimeLimit {
    /// Slurm's time formats: "90" (seconds here), "MM:SS", "HH:MM:SS", "D-HH[:MM[:SS]]".
    public static func seconds(_ text: String) -> Int64? {
        var days: Int64 = 0
        var rest = Substring(text)
        if let dash = rest.firstIndex(of: "-") {
            guard let d = Int64(rest[..<dash]), d >= 0 else { return nil }
            days = d
            rest = rest[rest.index(after: dash)...]
        }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false).map { Int64($0) }
        guard !parts.isEmpty, parts.count <= 3, parts.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
        let p = parts.map { $0! }
        let s: Int64
        if days > 0 || text.contains("-") {
            s = p[0] * 3600 + (p.count > 1 ? p[1] * 60 : 0) + (p.count > 2 ? p[2] : 0)
        } else {
            switch p.count {
            case 1: s = p[0]
            case 2: s = p[0] * 60 + p[1]
            default: s = p[0] * 3600 + p[1] * 60 + p[2]
            }
        }
        let total = days * 86_400 + s
        return total > 0 && total < 366 * 86_400 ? total : nil
    }
}

/// What the budget says about a run about to start: warnings at 80 % and 100 % of the budget,
/// and with --enforce-budget a refusal when the rest cannot cover the estimated cost.
public struct BudgetVerdict: Equatable, Sendable {
    public var warnings: [String] = []
    public var refusal: String?

    public init(account: Account?, estimateCents: Int64?, enforce: Bool) {
        guard let account, let budget = account.budgetCents else { return }
        let used = account.usedCents ?? 0
        let cur = account.currency
        if used >= budget {
            warnings.append("account '\(account.name)' has used 100% of its budget (\(Money.format(cents: used)) of \(Money.format(cents: budget)) \(cur))")
        } else if used + (estimateCents ?? 0) >= budget * 8 / 10 {
            let pct = budget > 0 ? (used * 100) / budget : 100
            warnings.append("account '\(account.name)' has used \(pct)% of its budget (\(Money.format(cents: used)) of \(Money.format(cents: budget)) \(cur))"
                + (estimateCents.map { "; this run is estimated at \(Money.format(cents: $0)) \(cur)" } ?? ""))
        }
        if enforce, used + (estimateCents ?? 0) > budget || used >= budget {
            refusal = "account '\(account.name)': remaining budget \(Money.format(cents: budget - used)) \(cur) cannot cover the estimated cost \(Money.format(cents: estimateCents ?? 0)) \(cur) (--enforce-budget)"
        }
    }
}

/// The engine's catalog hook: `begin` records the run as running (rank 0 only), `end` records
/// how it ended with its result file and metrics. Catalog trouble never fails the run: the
/// record is spooled instead. Only --enforce-budget can stop a run, before it starts. Signals
/// are not its business: they reach it as the `Interrupted` a driver throws after its
/// checkpoint (`Interrupt` owns them).
final class RunRecording: @unchecked Sendable {
    let runID: String
    private let recorder: RunRecorder?
    private var record: RunRecord?
    private let started = DispatchTime.now()
    private var ended = false
    private let timeLimit: Int64?
    /// `end` and the signal observer may race: one record at a time, none after the end.
    private let lock = NSLock()

    private init(runID: String, recorder: RunRecorder?, record: RunRecord?, timeLimit: Int64?) {
        self.runID = runID
        self.recorder = recorder
        self.record = record
        self.timeLimit = timeLimit
    }

    /// Rank 0 records the run as running (other ranks, and `--catalog off`, record nothing).
    /// `threads`: threads per rank the job runs (core-hours are ranks × threads × hours).
    static func begin(kind: String, settings: CatalogSettings?, comm: Communicator, threads: Int? = nil) throws -> RunRecording {
        let runID = UUID().uuidString.lowercased()
        guard comm.isRoot, let settings, settings.target != .off else {
            return RunRecording(runID: runID, recorder: nil, record: nil, timeLimit: nil)
        }
        let env = settings.environment
        let recorder = RunRecorder(target: settings.target, spoolDirectory: env["QFORGE_SPOOL"] ?? "results/.catalog-spool",
                                   apiKey: env["QFORGE_API_KEY"], actor: "engine")
        var run = settings.startingRecord(runID: runID, kind: kind, ranks: comm.size, threads: threads)
        let timeLimit = settings.timeLimitSeconds
        var verdict = BudgetVerdict(account: nil, estimateCents: nil, enforce: false)
        do {
            let view = try recorder.budget(account: run.account, partition: run.partition)
            if let seen = view.lastSeen {
                warn("catalog unreachable; checking the budget against the usage last seen at \(Timestamp.format(seen)) plus spooled runs")
            }
            run.estimatedCostCents = timeLimit.flatMap { seconds in
                view.rate.map { Cost.cents(coreMs: Int64(run.ranks * run.threads) * seconds * 1000, nodeMs: Int64(run.nodes) * seconds * 1000, rate: $0) }
            }
            verdict = BudgetVerdict(account: view.account, estimateCents: run.estimatedCostCents, enforce: settings.enforceBudget)
        } catch {
            if settings.enforceBudget { warn("cannot check the budget (\(error)); starting anyway") }
        }
        verdict.warnings.forEach(warn)
        if let refusal = verdict.refusal { throw RuntimeError(refusal) }
        let recording = RunRecording(runID: runID, recorder: recorder, record: run, timeLimit: timeLimit)
        if let why = recorder.record(run) { warn(why) }
        // SIGTERM/SIGINT may be followed by SIGKILL before the engine's next safe point (mpirun
        // kills the other ranks a second after one dies): record the run as ended by the signal
        // now; the engine's own end (cancelled after its checkpoint, exit 75) replaces it.
        Interrupt.observe { [weak recording] sig in
            guard sig == SIGTERM || sig == SIGINT else { return }
            recording?.endProvisionally(signal: sig)
        }
        // Deliver a few records an earlier run could not, now that the catalog may be back.
        if !recorder.spooled().isEmpty {
            let report = recorder.sync(limit: 50)
            if report.delivered > 0 { note("delivered \(report.delivered) spooled run record\(report.delivered == 1 ? "" : "s") to the catalog") }
        }
        return recording
    }

    /// How a run that ended with `error` is recorded: completed; cancelled with exit 75 after a
    /// checkpoint (timeout when the signal came at the end of the time limit); failed with
    /// exit 2 for bad input, else 1.
    static func outcome(of error: Error?, elapsedSeconds: Int64, timeLimit: Int64?) -> (state: RunState, exitCode: Int) {
        switch error {
        case nil: return (.completed, 0)
        case is Interrupted:
            let timedOut = timeLimit.map { elapsedSeconds >= $0 - 5 } ?? false
            return (timedOut ? .timeout : .cancelled, Int(Interrupt.exitCode))
        case is InputError: return (.failed, 2)
        default: return (.failed, 1)
        }
    }

    /// What the run would be if the signal's sender killed it now: cancelled (or timeout) with
    /// the shell's 128 + signal. Not the end: `end` still records how the run really ended.
    func endProvisionally(signal: Int32) {
        lock.lock(); defer { lock.unlock() }
        guard !ended, var run = record, let recorder else { return }
        let elapsedMs = Int64((DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1_000_000)
        let timedOut = timeLimit.map { elapsedMs / 1000 >= $0 - 5 } ?? false
        run.state = timedOut ? .timeout : .cancelled
        run.exitCode = Int(128 + signal)
        run.endedAt = Date()
        run.elapsedMs = elapsedMs
        if let why = recorder.record(run) { Self.warn(why) }
    }

    /// Records the end once, with the result file and metrics the driver left in `context`.
    func end(error: Error?, context: RunContext?) {
        lock.lock(); defer { lock.unlock() }
        guard !ended, var run = record, let recorder else { return }
        ended = true
        let elapsedMs = Int64((DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1_000_000)
        let (state, exitCode) = Self.outcome(of: error, elapsedSeconds: elapsedMs / 1000, timeLimit: timeLimit)
        run.state = state
        run.exitCode = exitCode
        run.endedAt = Date()
        run.elapsedMs = elapsedMs
        run.metrics = context?.metrics ?? [:]
        if error == nil, let path = context?.resultPath, let (size, sha) = try? Catalog.SHA256Hex.file(path) {
            run.resultPath = URL(fileURLWithPath: path).standardizedFileURL.path
            run.resultSize = size
            run.resultSha256 = sha
        }
        if let why = recorder.record(run) { Self.warn(why) }
    }

    private static func warn(_ message: String) {
        FileHandle.standardError.write("qforge: warning: \(message)\n".data(using: .utf8)!)
    }

    private static func note(_ message: String) {
        FileHandle.standardError.write("qforge: \(message)\n".data(using: .utf8)!)
    }
}

public func currentUserName() -> String {
    guard let pw = getpwuid(getuid()), let name = pw.pointee.pw_name else { return "unknown" }
    return String(cString: name)
}

