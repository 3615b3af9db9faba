import Catalog
import Foundation

func tempDir(_ name: String = "catalog") -> String {
    let dir = NSTemporaryDirectory() + "qforge-\(name)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

func date(_ s: String) -> Date { Timestamp.parse(s)! }

func makeRun(_ id: String, account: String = "chem", app: String = "qforge-statevector", start: String = "2026-11-10T12:00:00Z",
             ranks: Int = 4, threads: Int = 2, elapsedMs: Int64? = 1_800_000, state: RunState = .completed,
             partition: String? = nil) -> RunRecord {
    var r = RunRecord(id: id, app: app, appVersion: "0.1.0", kind: "statevector", account: account, user: "ada",
                      launcher: "slurm", slurmJobId: "1234", partition: partition, nodes: 1, ranks: ranks, threads: threads,
                      startedAt: date(start))
    if state.isTerminal {
        r.state = state
        r.exitCode = state == .completed ? 0 : 1
        r.elapsedMs = elapsedMs
        r.endedAt = r.startedAt.addingTimeInterval(Double(elapsedMs ?? 0) / 1000)
        r.metrics = ["qubits": 20, "gates": 400, "shots": 1000]
    }
    return r
}

/// Strings that would break a query built by string concatenation.
let injectionStrings = [
    "'; DROP TABLE runs; --", "\" OR 1=1 --", "chem' OR '1'='1", "x\\'; DELETE FROM audit; --",
    "%' UNION SELECT * FROM api_keys --", "\u{0}", "Robert'); DROP TABLE accounts;--",
]
