import ArgumentParser
import Catalog
import ForgeCore
import Foundation

/// Options shared by the run commands (`qforge sv`, `qforge run`) for the run catalog.
struct CatalogOptions: ParsableArguments {
    @Option(name: .customLong("catalog"), help: ArgumentHelp(
        "Record the run in a SQLite file, a postgres:// database, an http(s):// catalog server, or 'off'.",
        discussion: "Default: $QFORGE_CATALOG, else results/catalog.sqlite. A server needs $QFORGE_API_KEY (a recorder key).",
        valueName: "path|url"))
    var catalog: String?

    @Option(help: "Account charged for the run. Default: $SLURM_JOB_ACCOUNT, else $QFORGE_ACCOUNT, else 'default'.")
    var account: String?

    @Flag(name: .customLong("enforce-budget"), help: "Refuse to start if the account's remaining budget cannot cover the estimated cost.")
    var enforceBudget = false

    @Option(name: .customLong("time-limit"), help: ArgumentHelp(
        "Requested wall time for the cost estimate: seconds, MM:SS, HH:MM:SS or D-HH:MM:SS.",
        discussion: "Default: from $SLURM_JOB_END_TIME under Slurm.", valueName: "time"))
    var timeLimit: String?

    func validate() throws {
        if let t = timeLimit, TimeLimit.seconds(t) == nil {
            throw ValidationError("--time-limit must be seconds, MM:SS, HH:MM:SS or D-HH:MM:SS")
        }
        if let a = account, !Account.isValidName(a) {
            throw ValidationError("--account must be 1–64 characters of A-Z a-z 0-9 . _ -")
        }
    }

    var environment: [String: String] { ProcessInfo.processInfo.environment }

    var target: CatalogTarget { CatalogTarget.parse(catalog ?? environment["QFORGE_CATALOG"] ?? CatalogTarget.defaultPath) }

    var resolvedAccount: String {
        let env = environment
        return account ?? env["SLURM_JOB_ACCOUNT"].flatMap { $0.isEmpty ? nil : $0 } ?? env["QFORGE_ACCOUNT"] ?? "default"
    }

    /// Seconds of wall time requested: --time-limit, else Slurm's end time minus now.
    var timeLimitSeconds: Int64? {
        if let t = timeLimit { return TimeLimit.seconds(t) }
        if let end = environment["SLURM_JOB_END_TIME"].flatMap(Int64.init) {
            return max(0, end - Int64(Date().timeIntervalSince1970))
        }
        return nil
    }
}

enum TimeLimit {
    /// Slurm's time formats: "90" (seconds here), "MM:SS", "HH:MM:SS", "D-HH[:MM[:SS]]".
    static func seconds(_ text: String) -> Int64? {
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

/// The engine's catalog hook: `begin` records the run as running (rank 0 only), `end` records
/// how it ended with its result file and metrics. Catalog trouble never fails the run: the
/// record is spooled instead. Only --enforce-budget can stop a run, before it starts.
final class RunRecording {
    let runID: String
    /// Set by the engine before the run ends (rank 0).
    var metrics: [String: Double] = [:]
    var resultPath: String?

    private let recorder: RunRecorder?
    private var record: RunRecord?
    private let started = DispatchTime.now()
    private var ended = false
    private let lock = NSLock()
    private var signalSources: [DispatchSourceSignal] = []
    private let timeLimit: Int64?

    private init(runID: String, recorder: RunRecorder?, record: RunRecord?, timeLimit: Int64?) {
        self.runID = runID
        self.recorder = recorder
        self.record = record
        self.timeLimit = timeLimit
    }

    /// `threads`: threads per rank the job runs (core-hours are ranks × threads × hours).
    static func begin(kind: String, options: CatalogOptions?, comm: Communicator, threads: Int? = nil) throws -> RunRecording {
        let runID = UUID().uuidString.lowercased()
        guard comm.isRoot, let options, options.target != .off else {
            return RunRecording(runID: runID, recorder: nil, record: nil, timeLimit: nil)
        }
        let env = options.environment
        let recorder = RunRecorder(target: options.target, spoolDirectory: env["QFORGE_SPOOL"] ?? "results/.catalog-spool",
                                   apiKey: env["QFORGE_API_KEY"], actor: "engine")
        let threads = max(1, threads ?? defaultThreadsPerRank(environment: env))
        let nodes = (env["SLURM_JOB_NUM_NODES"] ?? env["SLURM_NNODES"]).flatMap(Int.init) ?? 1
        var run = RunRecord(
            id: runID, app: "qforge-\(kind)", appVersion: qforgeVersion, kind: kind, account: options.resolvedAccount,
            user: env["SLURM_JOB_USER"] ?? env["USER"] ?? currentUserName(), host: ProcessInfo.processInfo.hostName,
            launcher: env["SLURM_JOB_ID"] != nil ? "slurm" : (env["OMPI_COMM_WORLD_SIZE"] != nil || comm.size > 1 ? "mpirun" : "direct"),
            slurmJobId: env["SLURM_JOB_ID"], slurmArrayJobId: env["SLURM_ARRAY_JOB_ID"], slurmArrayTaskId: env["SLURM_ARRAY_TASK_ID"],
            partition: env["SLURM_JOB_PARTITION"], nodes: max(nodes, 1), ranks: comm.size, threads: threads,
            startedAt: Date(), command: CommandLine.arguments.joined(separator: " "))
        let timeLimit = options.timeLimitSeconds

        // Budget: warn at 80 % and 100 %; with --enforce-budget refuse a run the rest cannot cover.
        var refusal: String?
        do {
            let view = try recorder.budget(account: run.account, partition: run.partition)
            let (account, rate) = (view.account, view.rate)
            if let seen = view.lastSeen {
                warn("catalog unreachable; checking the budget against the usage last seen at \(Timestamp.format(seen)) plus spooled runs")
            }
            let estimate = timeLimit.flatMap { seconds in
                rate.map { Cost.cents(coreMs: Int64(run.ranks * run.threads) * seconds * 1000, nodeMs: Int64(run.nodes) * seconds * 1000, rate: $0) }
            }
            run.estimatedCostCents = estimate
            if let account, let budget = account.budgetCents {
                let used = account.usedCents ?? 0
                let cur = account.currency
                if used >= budget {
                    warn("account '\(account.name)' has used 100% of its budget (\(Money.format(cents: used)) of \(Money.format(cents: budget)) \(cur))")
                } else if used + (estimate ?? 0) >= budget * 8 / 10 {
                    let pct = budget > 0 ? (used * 100) / budget : 100
                    warn("account '\(account.name)' has used \(pct)% of its budget (\(Money.format(cents: used)) of \(Money.format(cents: budget)) \(cur))"
                        + (estimate.map { "; this run is estimated at \(Money.format(cents: $0)) \(cur)" } ?? ""))
                }
                if options.enforceBudget, used + (estimate ?? 0) > budget || used >= budget {
                    refusal = "account '\(account.name)': remaining budget \(Money.format(cents: budget - used)) \(cur) cannot cover the estimated cost \(Money.format(cents: estimate ?? 0)) \(cur) (--enforce-budget)"
                }
            }
        } catch {
            if options.enforceBudget { warn("cannot check the budget (\(error)); starting anyway") }
        }
        let recording = RunRecording(runID: runID, recorder: recorder, record: run, timeLimit: timeLimit)
        if let refusal {
            throw RuntimeError(refusal)
        }
        if let why = recorder.record(run) { Self.warn(why) }
        // Deliver a few records an earlier run could not, now that the catalog may be back.
        if !recorder.spooled().isEmpty {
            let report = recorder.sync(limit: 50)
            if report.delivered > 0 { note("delivered \(report.delivered) spooled run record\(report.delivered == 1 ? "" : "s") to the catalog") }
        }
        recording.watchSignals()
        return recording
    }

    /// Records the end once: completed (no error), cancelled (preempted: checkpoint written,
    /// exit 75), failed (exit 2 for bad input, else 1).
    func end(error: Error?) {
        switch error {
        case nil: end(state: .completed, exitCode: 0)
        case is Interrupted: end(state: .cancelled, exitCode: Int(Interrupt.exitCode))
        case is InputError: end(state: .failed, exitCode: 2)
        default: end(state: .failed, exitCode: 1)
        }
    }

    func end(state: RunState, exitCode: Int) {
        lock.lock(); defer { lock.unlock() }
        guard !ended, var run = record, let recorder else { return }
        ended = true
        signalSources.forEach { $0.cancel() }
        run.state = state
        run.exitCode = exitCode
        run.endedAt = Date()
        run.elapsedMs = Int64((DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1_000_000)
        run.metrics = metrics
        if let path = resultPath, let (size, sha) = try? Catalog.SHA256Hex.file(path) {
            run.resultPath = URL(fileURLWithPath: path).standardizedFileURL.path
            run.resultSize = size
            run.resultSha256 = sha
        }
        if let why = recorder.record(run) { Self.warn(why) }
    }

    /// SIGTERM/SIGINT (scancel, Slurm's time limit, Ctrl-C): record cancelled or timeout, then exit.
    private func watchSignals() {
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { exit(128 + sig) }
                let elapsed = Int64((DispatchTime.now().uptimeNanoseconds - self.started.uptimeNanoseconds) / 1_000_000_000)
                let timedOut = self.timeLimit.map { elapsed >= $0 - 5 } ?? false
                self.end(state: timedOut ? .timeout : .cancelled, exitCode: Int(128 + sig))
                exit(128 + sig)
            }
            source.resume()
            signalSources.append(source)
        }
    }

    private static func warn(_ message: String) {
        FileHandle.standardError.write("qforge: warning: \(message)\n".data(using: .utf8)!)
    }

    private static func note(_ message: String) {
        FileHandle.standardError.write("qforge: \(message)\n".data(using: .utf8)!)
    }
}

func currentUserName() -> String {
    guard let pw = getpwuid(getuid()), let name = pw.pointee.pw_name else { return "unknown" }
    return String(cString: name)
}

extension RunRecording {
    /// Runs `body` between `begin` and `end`: any job kind records itself this way.
    static func recorded(kind: String, options: CatalogOptions?, resultPath: String? = nil, threads: Int? = nil,
                         _ body: (RunRecording) throws -> Void) throws {
        let comm = Launch.communicator
        let recording = try comm.agree { try RunRecording.begin(kind: kind, options: options, comm: comm, threads: threads) }
        recording.resultPath = resultPath
        do {
            try body(recording)
            recording.end(error: nil)
        } catch {
            recording.end(error: error)
            throw error
        }
    }
}

extension StatevectorJob {
    /// A statevector run, recorded in the catalog (see `RunRecording`).
    func run(config: String, quiet: Bool) throws {
        try RunRecording.recorded(kind: "statevector", options: catalog, threads: threads) { recording in
            try execute(config: config, quiet: quiet, recording: recording)
        }
    }
}
