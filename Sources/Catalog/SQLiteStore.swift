import Foundation
import GRDB

/// The embedded catalog: one SQLite file in WAL mode (or in memory for tests), through GRDB.
/// Many processes may record at once: writers wait up to `busyTimeout` for the write lock.
public final class SQLiteStore: CatalogStore, @unchecked Sendable {
    let db: any DatabaseWriter
    public let path: String?
    /// Currency of accounts created implicitly by a recorded run.
    public let defaultCurrency: String

    public init(path: String, busyTimeout: TimeInterval = 10, defaultCurrency: String = "EUR") throws {
        var config = Configuration()
        config.busyMode = .timeout(busyTimeout)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        db = try DatabasePool(path: path, configuration: config)
        self.path = path
        self.defaultCurrency = defaultCurrency
        try Self.migrator.migrate(db)
    }

    /// An in-memory catalog (tests, benchmarks of the HTTP layer).
    public init(inMemory: Void = (), defaultCurrency: String = "EUR") throws {
        db = try DatabaseQueue()
        path = nil
        self.defaultCurrency = defaultCurrency
        try Self.migrator.migrate(db)
    }

    nonisolated(unsafe) static let migrator: DatabaseMigrator = {
        var m = DatabaseMigrator()
        for (id, statements) in Schema.migrations(.sqlite) {
            m.registerMigration(id) { db in
                for sql in statements { try db.execute(sql: sql) }
            }
        }
        return m
    }()

    /// Applied migration identifiers, oldest first.
    public func appliedMigrations() throws -> [String] {
        try db.read { try Self.migrator.appliedMigrations($0) }
    }

    public func ping() throws { _ = try db.read { try Int.fetchOne($0, sql: "SELECT 1") } }

    // MARK: Runs

    static let runColumns = [
        "id", "app", "app_version", "kind", "account", "\"user\"", "host", "launcher", "slurm_job_id", "slurm_array_job_id",
        "slurm_array_task_id", "partition", "nodes", "ranks", "threads", "started_at", "ended_at", "elapsed_ms", "core_ms",
        "state", "exit_code", "result_path", "result_size", "result_sha256", "metrics", "estimated_cost_cents", "command",
        "recorded_at", "updated_at",
    ]

    static let upsertSQL: String = {
        let cols = runColumns.joined(separator: ", ")
        let marks = runColumns.map { _ in "?" }.joined(separator: ", ")
        let updates = runColumns.filter { $0 != "id" && $0 != "recorded_at" }.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        return """
        INSERT INTO runs (\(cols)) VALUES (\(marks))
        ON CONFLICT (id) DO UPDATE SET \(updates)
        WHERE runs.state = 'running' OR excluded.state <> 'running'
        """
    }()

    static func arguments(_ r: RunRecord, now: Int64) -> StatementArguments {
        let metrics = (try? String(decoding: JSONSerialization.data(withJSONObject: r.metrics, options: [.sortedKeys]), as: UTF8.self)) ?? "{}"
        let values: [(any DatabaseValueConvertible)?] = [
            r.id, r.app, r.appVersion, r.kind, r.account, r.user, r.host, r.launcher, r.slurmJobId, r.slurmArrayJobId,
            r.slurmArrayTaskId, r.partition, r.nodes, r.ranks, r.threads, Timestamp.ms(r.startedAt),
            r.endedAt.map(Timestamp.ms), r.elapsedMs, r.elapsedMs == nil ? nil : r.coreMs, r.state.rawValue, r.exitCode,
            r.resultPath, r.resultSize, r.resultSha256, metrics, r.estimatedCostCents, r.command, now, now,
        ]
        return StatementArguments(values)
    }

    public func upsertRun(_ run: RunRecord, actor: String) throws -> RunRecord {
        try run.validate()
        let now = Timestamp.ms(Date())
        try db.write { db in
            try ensureAccountAndApp(db, run: run, now: now)
            try db.cachedStatement(sql: Self.upsertSQL).execute(arguments: Self.arguments(run, now: now))
            guard db.changesCount > 0 else { return }  // a stale `running` record after the end
            if run.state.isTerminal, run.elapsedMs != nil {
                try charge(db, run: run)
            }
            try appendAudit(db, actor: actor, action: "run.\(run.state.rawValue)", target: run.id, detail: nil, now: now)
        }
        return try self.run(id: run.id) ?? run
    }

    private func ensureAccountAndApp(_ db: Database, run: RunRecord, now: Int64) throws {
        try db.cachedStatement(sql: "INSERT INTO accounts (name, currency, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING")
            .execute(arguments: [run.account, defaultCurrency, now])
        try db.cachedStatement(sql: "INSERT INTO apps (name, kind, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING")
            .execute(arguments: [run.app, run.kind, now])
        try db.cachedStatement(sql: "INSERT INTO app_versions (app, version, created_at) VALUES (?, ?, ?) ON CONFLICT (app, version) DO NOTHING")
            .execute(arguments: [run.app, run.appVersion, now])
    }

    private func charge(_ db: Database, run: RunRecord) throws {
        guard let rate = try Self.rate(db, partition: run.partition, at: run.startedAt), let rateID = rate.id else {
            try db.execute(sql: "DELETE FROM charges WHERE run_id = ?", arguments: [run.id])
            return
        }
        let cents = Cost.cents(coreMs: run.coreMs, nodeMs: run.nodeMs, rate: rate)
        try db.cachedStatement(sql: """
            INSERT INTO charges (run_id, rate_id, account, app, started_at, core_ms, node_ms, amount_cents, currency)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (run_id) DO UPDATE SET rate_id = excluded.rate_id, account = excluded.account, app = excluded.app,
                started_at = excluded.started_at, core_ms = excluded.core_ms, node_ms = excluded.node_ms,
                amount_cents = excluded.amount_cents, currency = excluded.currency
            """).execute(arguments: [run.id, rateID, run.account, run.app, Timestamp.ms(run.startedAt), run.coreMs, run.nodeMs, cents, rate.currency])
    }

    static let selectRun = """
        SELECT r.*, c.amount_cents AS cost_cents, c.currency AS cost_currency FROM runs r LEFT JOIN charges c ON c.run_id = r.id
        """

    static func decodeRun(_ row: Row) -> RunRecord {
        var r = RunRecord(
            id: row["id"], app: row["app"], appVersion: row["app_version"], kind: row["kind"], account: row["account"],
            user: row["user"], host: row["host"], launcher: row["launcher"], slurmJobId: row["slurm_job_id"],
            slurmArrayJobId: row["slurm_array_job_id"], slurmArrayTaskId: row["slurm_array_task_id"], partition: row["partition"],
            nodes: row["nodes"], ranks: row["ranks"], threads: row["threads"], startedAt: Timestamp.date(ms: row["started_at"]),
            endedAt: (row["ended_at"] as Int64?).map { Timestamp.date(ms: $0) }, elapsedMs: row["elapsed_ms"],
            state: RunState(rawValue: row["state"]) ?? .failed, exitCode: row["exit_code"], resultPath: row["result_path"],
            resultSize: row["result_size"], resultSha256: row["result_sha256"], metrics: [:],
            estimatedCostCents: row["estimated_cost_cents"], command: row["command"])
        if let text = row["metrics"] as String?, let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] {
            r.metrics = object.compactMapValues { ($0 as? NSNumber)?.doubleValue }
        }
        r.coreHours = (row["core_ms"] as Int64?).map(Cost.hours(ms:))
        r.costCents = row["cost_cents"]
        r.currency = row["cost_currency"]
        return r
    }

    public func run(id: String) throws -> RunRecord? {
        try db.read { db in
            try Row.fetchOne(db.cachedStatement(sql: Self.selectRun + " WHERE r.id = ?"), arguments: [id]).map(Self.decodeRun)
        }
    }

    public func runs(_ filter: RunFilter) throws -> Page<RunRecord> {
        guard (1...1000).contains(filter.limit) else { throw CatalogError.invalid("'limit' must be 1–1000") }
        var clauses: [String] = []
        var args: [(any DatabaseValueConvertible)?] = []
        if let accounts = filter.accounts {
            if accounts.isEmpty { return Page(items: [], nextCursor: nil) }
            clauses.append("r.account IN (" + accounts.map { _ in "?" }.joined(separator: ", ") + ")")
            args += accounts as [(any DatabaseValueConvertible)?]
        }
        if let app = filter.app { clauses.append("r.app = ?"); args.append(app) }
        if let state = filter.state { clauses.append("r.state = ?"); args.append(state.rawValue) }
        if let user = filter.user { clauses.append("r.\"user\" = ?"); args.append(user) }
        if let since = filter.since { clauses.append("r.started_at >= ?"); args.append(Timestamp.ms(since)) }
        if let until = filter.until { clauses.append("r.started_at < ?"); args.append(Timestamp.ms(until)) }
        if let cursor = filter.cursor {
            guard let (ms, id) = RunCursor.decode(cursor) else { throw CatalogError.invalid("invalid 'cursor'") }
            clauses.append("(r.started_at < ? OR (r.started_at = ? AND r.id < ?))")
            args += [ms, ms, id]
        }
        let sql = Self.selectRun + (clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND "))
            + " ORDER BY r.started_at DESC, r.id DESC LIMIT \(filter.limit + 1)"
        var items = try db.read { db in
            try Row.fetchAll(db.cachedStatement(sql: sql), arguments: StatementArguments(args)).map(Self.decodeRun)
        }
        var next: String?
        if items.count > filter.limit {
            items.removeLast()
            next = items.last.map { RunCursor.encode(ms: Timestamp.ms($0.startedAt), id: $0.id) }
        }
        return Page(items: items, nextCursor: next)
    }

    // MARK: Apps

    public func apps() throws -> [AppRecord] {
        try db.read { db in
            let apps = try Row.fetchAll(db, sql: "SELECT name, kind FROM apps ORDER BY name")
            let versions = try Row.fetchAll(db, sql: "SELECT app, version, source_commit, created_at FROM app_versions ORDER BY app, created_at, version")
            var byApp: [String: [AppVersion]] = [:]
            for v in versions {
                byApp[v["app"], default: []].append(AppVersion(version: v["version"], sourceCommit: v["source_commit"], createdAt: Timestamp.date(ms: v["created_at"])))
            }
            return apps.map { AppRecord(name: $0["name"], kind: $0["kind"], versions: byApp[$0["name"] as String] ?? []) }
        }
    }

    public func addApp(name: String, kind: String, version: String?, sourceCommit: String?, actor: String) throws {
        guard RunRecord.isValidID(name), !kind.isEmpty, kind.utf8.count <= 100 else { throw CatalogError.invalid("app name must be 1–64 characters of [A-Za-z0-9._-] and kind non-empty") }
        if let version, version.isEmpty || version.utf8.count > 100 { throw CatalogError.invalid("'version' must be 1–100 bytes") }
        let now = Timestamp.ms(Date())
        try db.write { db in
            try db.execute(sql: "INSERT INTO apps (name, kind, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET kind = excluded.kind",
                           arguments: [name, kind, now])
            if let version {
                try db.execute(sql: """
                    INSERT INTO app_versions (app, version, source_commit, created_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (app, version) DO UPDATE SET source_commit = COALESCE(excluded.source_commit, app_versions.source_commit)
                    """, arguments: [name, version, sourceCommit, now])
            }
            try appendAudit(db, actor: actor, action: "app.put", target: name, detail: version.map { "version \($0)" }, now: now)
        }
    }

    // MARK: Accounts

    public func accounts(names: [String]?) throws -> [Account] {
        if let names, names.isEmpty { return [] }
        var sql = """
            SELECT a.name, a.currency, a.budget_cents, a.description,
                (SELECT COALESCE(SUM(amount_cents), 0) FROM charges c WHERE c.account = a.name) AS used,
                (SELECT COUNT(*) FROM runs r WHERE r.account = a.name) AS runs,
                (SELECT COALESCE(SUM(core_ms), 0) FROM runs r WHERE r.account = a.name) AS core_ms
            FROM accounts a
            """
        var args: [(any DatabaseValueConvertible)?] = []
        if let names {
            sql += " WHERE a.name IN (" + names.map { _ in "?" }.joined(separator: ", ") + ")"
            args = names
        }
        sql += " ORDER BY a.name"
        return try db.read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(args)).map { row in
                var a = Account(name: row["name"], currency: row["currency"], budgetCents: row["budget_cents"], description: row["description"])
                let used: Int64 = row["used"]
                a.usedCents = used
                a.remainingCents = a.budgetCents.map { $0 - used }
                a.runs = row["runs"]
                a.coreHours = Cost.hours(ms: row["core_ms"])
                return a
            }
        }
    }

    public func putAccount(_ account: Account, actor: String) throws -> Account {
        guard Account.isValidName(account.name) else { throw CatalogError.invalid("account name must be 1–64 characters of [A-Za-z0-9._-]") }
        guard Currency.isValid(account.currency) else { throw CatalogError.invalid("'currency' must be 3 capital letters") }
        if let b = account.budgetCents, b < 0 { throw CatalogError.invalid("'budget_cents' must be ≥ 0") }
        let now = Timestamp.ms(Date())
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO accounts (name, currency, budget_cents, description, created_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET currency = excluded.currency, budget_cents = excluded.budget_cents,
                    description = excluded.description
                """, arguments: [account.name, account.currency, account.budgetCents, account.description, now])
            try appendAudit(db, actor: actor, action: "account.put", target: account.name,
                            detail: "budget \(account.budgetCents.map { Money.format(cents: $0) } ?? "none") \(account.currency)", now: now)
        }
        return try self.account(account.name)!
    }

    // MARK: Rates

    static func decodeRate(_ row: Row) -> Rate {
        Rate(id: row["id"], partition: row["partition"], currency: row["currency"], coreHourMicros: row["core_hour_micros"],
             nodeHourMicros: row["node_hour_micros"], validFrom: Timestamp.date(ms: row["valid_from"]),
             validTo: (row["valid_to"] as Int64?).map { Timestamp.date(ms: $0) })
    }

    static func rate(_ db: Database, partition: String?, at: Date) throws -> Rate? {
        let ms = Timestamp.ms(at)
        return try Row.fetchOne(db.cachedStatement(sql: """
            SELECT * FROM rates WHERE (partition = ? OR partition = '*') AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)
            ORDER BY CASE WHEN partition = '*' THEN 1 ELSE 0 END, valid_from DESC, id DESC LIMIT 1
            """), arguments: [partition ?? "*", ms, ms]).map(decodeRate)
    }

    public func rate(partition: String?, at: Date) throws -> Rate? {
        try db.read { try Self.rate($0, partition: partition, at: at) }
    }

    public func rates() throws -> [Rate] {
        try db.read { try Row.fetchAll($0, sql: "SELECT * FROM rates ORDER BY partition, valid_from, id").map(Self.decodeRate) }
    }

    public func addRate(_ rate: Rate, actor: String) throws -> Rate {
        try rate.validate()
        let now = Timestamp.ms(Date())
        return try db.write { db in
            try db.execute(sql: """
                INSERT INTO rates (partition, currency, core_hour_micros, node_hour_micros, valid_from, valid_to, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [rate.partition, rate.currency, rate.coreHourMicros, rate.nodeHourMicros,
                                 Timestamp.ms(rate.validFrom), rate.validTo.map(Timestamp.ms), now])
            var stored = rate
            stored.id = db.lastInsertedRowID
            try appendAudit(db, actor: actor, action: "rate.add", target: String(db.lastInsertedRowID),
                            detail: "\(rate.partition) \(Money.formatMicros(rate.coreHourMicros))/core-h \(Money.formatMicros(rate.nodeHourMicros))/node-h \(rate.currency)",
                            now: now)
            return stored
        }
    }

    // MARK: Invoices

    public func invoice(account: String, period: String) throws -> Invoice {
        try db.read { try Self.invoice($0, account: account, period: period) }
    }

    static func invoice(_ db: Database, account: String, period: String) throws -> Invoice {
        guard let month = Timestamp.month(period) else { throw CatalogError.invalid("period must be YYYY-MM") }
        guard let acct = try Row.fetchOne(db, sql: "SELECT currency FROM accounts WHERE name = ?", arguments: [account]) else {
            throw CatalogError.notFound("no account '\(account)'")
        }
        if let issued = try Row.fetchOne(db, sql: "SELECT * FROM invoices WHERE account = ? AND period = ?", arguments: [account, period]) {
            let id: Int64 = issued["id"]
            let lines = try Row.fetchAll(db, sql: "SELECT * FROM invoice_lines WHERE invoice_id = ? ORDER BY app, currency", arguments: [id]).map {
                InvoiceLine(app: $0["app"], runs: $0["runs"], coreHours: Cost.hours(ms: $0["core_ms"]), coreMs: $0["core_ms"],
                            amountCents: $0["amount_cents"], currency: $0["currency"])
            }
            return Invoice(id: id, account: account, period: period, status: "issued", currency: issued["currency"], lines: lines,
                           totalCents: issued["total_cents"], issuedAt: Timestamp.date(ms: issued["issued_at"]))
        }
        let lines = try Row.fetchAll(db, sql: """
            SELECT app, currency, COUNT(*) AS runs, SUM(core_ms) AS core_ms, SUM(amount_cents) AS amount FROM charges
            WHERE account = ? AND started_at >= ? AND started_at < ? GROUP BY app, currency ORDER BY app, currency
            """, arguments: [account, Timestamp.ms(month.start), Timestamp.ms(month.end)]).map {
            InvoiceLine(app: $0["app"], runs: $0["runs"], coreHours: Cost.hours(ms: $0["core_ms"]), coreMs: $0["core_ms"],
                        amountCents: $0["amount"], currency: $0["currency"])
        }
        let currency = lines.first?.currency ?? (acct["currency"] as String)
        return Invoice(id: nil, account: account, period: period, status: "draft", currency: currency, lines: lines,
                       totalCents: lines.reduce(0) { $0 + $1.amountCents }, issuedAt: nil)
    }

    public func issueInvoice(account: String, period: String, actor: String) throws -> Invoice {
        try db.write { db in
            let draft = try Self.invoice(db, account: account, period: period)
            guard draft.status == "draft" else { return draft }
            guard Set(draft.lines.map(\.currency)).count <= 1 else { throw CatalogError.conflict("charges in several currencies; issue per currency is not supported") }
            let now = Timestamp.ms(Date())
            try db.execute(sql: "INSERT INTO invoices (account, period, currency, total_cents, issued_at, issued_by) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [account, period, draft.currency, draft.totalCents, now, actor])
            let id = db.lastInsertedRowID
            for line in draft.lines {
                try db.execute(sql: "INSERT INTO invoice_lines (invoice_id, app, currency, runs, core_ms, amount_cents) VALUES (?, ?, ?, ?, ?, ?)",
                               arguments: [id, line.app, line.currency, line.runs, line.coreMs, line.amountCents])
            }
            try appendAudit(db, actor: actor, action: "invoice.issue", target: "\(account)/\(period)",
                            detail: "total \(Money.format(cents: draft.totalCents)) \(draft.currency)", now: now)
            return try Self.invoice(db, account: account, period: period)
        }
    }

    // MARK: Keys

    static func decodeKey(_ row: Row) -> APIKey {
        let accounts = (row["accounts"] as String).split(separator: ",").map(String.init)
        return APIKey(id: row["id"], name: row["name"], prefix: row["prefix"], role: Role(rawValue: row["role"]) ?? .reader,
                      accounts: accounts, createdAt: Timestamp.date(ms: row["created_at"]),
                      revokedAt: (row["revoked_at"] as Int64?).map { Timestamp.date(ms: $0) })
    }

    public func createKey(name: String, role: Role, accounts: [String], actor: String) throws -> (APIKey, String) {
        guard !name.isEmpty, name.utf8.count <= 200 else { throw CatalogError.invalid("key name must be 1–200 bytes") }
        guard accounts.allSatisfy(Account.isValidName) else { throw CatalogError.invalid("invalid account name") }
        if role != .admin, accounts.isEmpty { throw CatalogError.invalid("a \(role.rawValue) key needs at least one account") }
        let (prefix, token) = KeyToken.make()
        let now = Timestamp.ms(Date())
        let id: Int64 = try db.write { db in
            try db.execute(sql: "INSERT INTO api_keys (name, prefix, hash, role, accounts, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [name, prefix, KeyToken.hash(token), role.rawValue, accounts.sorted().joined(separator: ","), now])
            let id = db.lastInsertedRowID
            try appendAudit(db, actor: actor, action: "key.create", target: "\(id)",
                            detail: "\(prefix) \(role.rawValue) [\(accounts.sorted().joined(separator: ","))]", now: now)
            return id
        }
        let key = try db.read { try Row.fetchOne($0, sql: "SELECT * FROM api_keys WHERE id = ?", arguments: [id]).map(Self.decodeKey) }!
        return (key, token)
    }

    public func keys() throws -> [APIKey] {
        try db.read { try Row.fetchAll($0, sql: "SELECT * FROM api_keys ORDER BY id").map(Self.decodeKey) }
    }

    public func revokeKey(id: Int64, actor: String) throws -> APIKey {
        let now = Timestamp.ms(Date())
        return try db.write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE id = ?", arguments: [id]) else {
                throw CatalogError.notFound("no key \(id)")
            }
            if row["revoked_at"] as Int64? == nil {
                try db.execute(sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ?", arguments: [now, id])
                try appendAudit(db, actor: actor, action: "key.revoke", target: "\(id)", detail: row["prefix"], now: now)
            }
            return try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE id = ?", arguments: [id]).map(Self.decodeKey)!
        }
    }

    public func authenticate(token: String) throws -> APIKey? {
        guard let prefix = KeyToken.prefix(of: token) else { return nil }
        let row = try db.read { try Row.fetchOne($0.cachedStatement(sql: "SELECT * FROM api_keys WHERE prefix = ?"), arguments: [prefix]) }
        guard let row, row["revoked_at"] as Int64? == nil, KeyToken.constantTimeEqual(row["hash"], KeyToken.hash(token)) else { return nil }
        return Self.decodeKey(row)
    }

    // MARK: Audit and health

    private func appendAudit(_ db: Database, actor: String, action: String, target: String, detail: String?, now: Int64) throws {
        try db.cachedStatement(sql: "INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [now, actor, action, target, detail])
    }

    public func audit(limit: Int, after: Int64?) throws -> [AuditEntry] {
        guard (1...1000).contains(limit) else { throw CatalogError.invalid("'limit' must be 1–1000") }
        return try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit WHERE id > ? ORDER BY id LIMIT ?", arguments: [after ?? 0, limit]).map {
                AuditEntry(id: $0["id"], at: Timestamp.date(ms: $0["at"]), actor: $0["actor"], action: $0["action"],
                           target: $0["target"], detail: $0["detail"])
            }
        }
    }

    public func runCounts() throws -> [RunState: Int] {
        try db.read { db in
            var out: [RunState: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM runs GROUP BY state") {
                if let s = RunState(rawValue: row["state"]) { out[s] = row["n"] }
            }
            return out
        }
    }

    /// Runs raw SQL (tests only: e.g. proving the audit log refuses updates).
    public func unsafeExecute(_ sql: String) throws { try db.write { try $0.execute(sql: sql) } }
}

/// Keyset pagination over (started_at, id), newest first: the cursor is `<ms>.<id>`.
enum RunCursor {
    static func encode(ms: Int64, id: String) -> String { "\(ms).\(id)" }
    static func decode(_ s: String) -> (Int64, String)? {
        guard let dot = s.firstIndex(of: "."), let ms = Int64(s[..<dot]) else { return nil }
        let id = String(s[s.index(after: dot)...])
        return RunRecord.isValidID(id) ? (ms, id) : nil
    }
}
