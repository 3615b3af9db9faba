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

/// A fresh, empty catalog on one backend, and a way to open further connections to it (as
/// other processes would).
struct TestCatalog: Sendable {
    let backend: String
    let store: SQLCatalogStore
    let open: @Sendable () throws -> SQLCatalogStore
}

/// The backends every store test runs against: SQLite always; PostgreSQL at
/// `$QFORGE_TEST_POSTGRES_URL`, else a throwaway server started with scripts/start-postgres
/// (skipped, with the reason printed, where PostgreSQL cannot be installed).
enum Backends {
    static func sqlite() throws -> TestCatalog {
        let path = tempDir() + "/catalog.sqlite"
        return TestCatalog(backend: "sqlite", store: try SQLiteStore(path: path), open: { try SQLiteStore(path: path, busyTimeout: 30) })
    }

    static func postgres() throws -> TestCatalog? {
        guard let base = PostgresServer.url else { return nil }
        // Each catalog in a schema of its own, so tests never see each other's rows.
        let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try PostgresServer.admin!.unsafeExecute("CREATE SCHEMA \(schema)")
        let url = base + (base.contains("?") ? "&" : "?") + "search_path=\(schema)"
        return TestCatalog(backend: "postgres", store: try PostgresStore(url: url), open: { try PostgresStore(url: url) })
    }

    static func all() throws -> [TestCatalog] { [try sqlite()] + (try postgres().map { [$0] } ?? []) }
}

/// Runs `body` once per backend, each on a fresh catalog.
func forEachBackend(_ body: (TestCatalog) throws -> Void) throws {
    for catalog in try Backends.all() {
        print("-- backend: \(catalog.backend)")
        try body(catalog)
    }
}

enum PostgresServer {
    nonisolated(unsafe) static var stopCommand: String?

    /// The server's URL, starting one on first use when none is given; nil (reason printed) if impossible.
    static let url: String? = {
        let env = ProcessInfo.processInfo.environment
        if let given = env["QFORGE_TEST_POSTGRES_URL"], !given.isEmpty { return given }
        if env["QFORGE_TEST_POSTGRES"] == "skip" { print("skipping PostgreSQL store tests: QFORGE_TEST_POSTGRES=skip"); return nil }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scripts/start-postgres").standardized.path
        // popen, not Process: Foundation's waitUntilExit can hang on Linux once the pipe is drained.
        let errorFile = NSTemporaryDirectory() + "qforge-start-postgres-\(getpid()).err"
        guard let pipe = popen("bash '\(script)' 2>'\(errorFile)'", "r") else { print("skipping PostgreSQL store tests: cannot run \(script)"); return nil }
        var output = ""
        var line = [CChar](repeating: 0, count: 4096)
        while fgets(&line, Int32(line.count), pipe) != nil { output += String(cString: line) }
        let status = pclose(pipe)
        let errors = (try? String(contentsOfFile: errorFile, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: errorFile)
        var found: [String: String] = [:]
        for line in output.split(separator: "\n") where line.hasPrefix("export ") {
            let kv = line.dropFirst(7).split(separator: "=", maxSplits: 1)
            if kv.count == 2 { found[String(kv[0])] = String(kv[1]) }
        }
        guard status == 0, let url = found["QFORGE_TEST_POSTGRES_URL"] else {
            print("skipping PostgreSQL store tests: scripts/start-postgres failed (status \(status)): \(errors.trimmingCharacters(in: .whitespacesAndNewlines))")
            return nil
        }
        stopCommand = "bash '\(script)' stop '\(found["PGDATA_DIR"] ?? "")' >/dev/null 2>&1"
        atexit { if let command = PostgresServer.stopCommand { _ = system(command) } }
        print("PostgreSQL store tests against \(url) (started by scripts/start-postgres)")
        return url
    }()

    static let admin: PostgresStore? = url.flatMap { try? PostgresStore(url: $0) }
}
