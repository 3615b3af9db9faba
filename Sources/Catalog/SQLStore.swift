import Foundation

/// The catalog over any SQL database with the `Schema` tables: the one implementation of
/// `CatalogStore` that `SQLiteStore` (GRDB) and `PostgresStore` (postgres-nio) share; they
/// differ only in how a statement reaches the database.
public class SQLCatalogStore: CatalogStore, @unchecked Sendable {
    let database: any SQLDatabase
    /// Currency of accounts created implicitly by a recorded run.
    public let defaultCurrency: String

    init(database: any SQLDatabase, defaultCurrency: String) {
        self.database = database
        self.defaultCurrency = defaultCurrency
    }

    public func ping() throws { _ = try database.read { try $0.query("SELECT 1") } }

    // MARK: Runs

    static let runColumns = [
        "id", "app", "app_version", "kind", "account", "\"user\"", "host", "launcher", "slurm_job_id", "slurm_array_job_id",
        "slurm_array_task_id", "partition", "nodes", "ranks", "threads", "started_at", "ended_at", "elapsed_ms", "core_ms",
        "state", "exit_code", "result_path", "result_size", "result_sha256", "metrics", "estimated_cost_cents", "command",
        "recorded_at", "updated_at",
    ]

    /// Inserts, or updates unless a `running` record would replace a terminal one; RETURNING
    /// yields a row only when something was written.
    static let upsertSQL: String = {
        let cols = runColumns.joined(separator: ", ")
        let marks = runColumns.map { _ in "?" }.joined(separator: ", ")
        let updates = runColumns.filter { $0 != "id" && $0 != "recorded_at" }.map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        return """
        INSERT INTO runs (\(cols)) VALUES (\(marks))
        ON CONFLICT (id) DO UPDATE SET \(updates)
        WHERE runs.state = 'running' OR excluded.state <> 'running' RETURNING id
        """
    }()

    static func arguments(_ r: RunRecord, now: Int64) -> [SQLValue] {
        let values: [any SQLBindable] = [
            r.id, r.app, r.appVersion, r.kind, r.account, r.user, r.host, r.launcher, r.slurmJobId, r.slurmArrayJobId,
            r.slurmArrayTaskId, r.partition, r.nodes, r.ranks, r.threads, Timestamp.ms(r.startedAt),
            r.endedAt.map(Timestamp.ms), r.elapsedMs, r.elapsedMs == nil ? nil : r.coreMs, r.state.rawValue, r.exitCode,
            r.resultPath, r.resultSize, r.resultSha256, MetricsText.encode(r.metrics), r.estimatedCostCents, r.command, now, now,
        ]
        return values.map(\.sqlValue)
    }

    public func upsertRuns(_ batch: [RunUpsert]) throws -> [Result<RunRecord, CatalogError>] {
        var results = [Result<RunRecord, CatalogError>?](repeating: nil, count: batch.count)
        for (i, item) in batch.enumerated() {
            do { try item.run.validate() } catch let e as CatalogError { results[i] = .failure(e) }
        }
        guard results.contains(where: { $0 == nil }) else { return results.map { $0! } }
        let now = Timestamp.ms(Date())
        do {
            let written = try database.write { s in
                let rates = RateTable(s)
                return try batch.indices.map { i -> Result<RunRecord, CatalogError>? in
                    results[i] == nil ? try upsert(s, batch[i], now: now, rates: rates) : nil
                }
            }
            for (i, r) in written.enumerated() where r != nil { results[i] = r }
            remember(batch.indices.filter { if case .success = written[$0] { return true }; return false }.map { batch[$0] })
        } catch where batch.count > 1 {
            // One item broke the shared transaction: give each its own, so only it fails.
            for (i, item) in batch.enumerated() where results[i] == nil {
                do {
                    results[i] = try database.write { try upsert($0, item, now: now, rates: RateTable($0)) }
                    remember([item])
                } catch let e as CatalogError {
                    results[i] = .failure(e)
                } catch {
                    results[i] = .failure(.unavailable("cannot record run \(item.run.id): \(error)"))
                }
            }
        }
        return results.map { $0! }
    }

    private func upsert(_ s: any SQLSession, _ item: RunUpsert, now: Int64, rates: RateTable) throws -> Result<RunRecord, CatalogError> {
        let run = item.run
        if let allowed = item.accounts {
            guard allowed.contains(run.account) else { return .failure(.forbidden("this key cannot record for account '\(run.account.prefix(64))'")) }
            if let owner = try s.queryOne("SELECT account FROM runs WHERE id = ?", run.id)?.text("account"), !allowed.contains(owner) {
                return .failure(.forbidden("run '\(run.id)' belongs to another account"))
            }
        }
        try ensureAccountAndApp(s, run: run, now: now)
        if try !s.query(Self.upsertSQL, Self.arguments(run, now: now)).isEmpty {  // else a stale `running` record after the end
            let charged = run.state.isTerminal && run.elapsedMs != nil
            let charge = charged ? try self.charge(s, run: run, rates: rates) : nil
            try appendAudit(s, actor: item.actor, action: "run.\(run.state.rawValue)", target: run.id, detail: nil, now: now)
            // The row is what was just written (no need to read it back): a charged run has the
            // charge just made, a running one none. Only an ended run without elapsed time may
            // keep an older charge, so it is read back below.
            if charged || run.state == .running {
                var stored = run
                stored.startedAt = Timestamp.date(ms: Timestamp.ms(run.startedAt))
                stored.endedAt = run.endedAt.map { Timestamp.date(ms: Timestamp.ms($0)) }
                stored.coreHours = run.elapsedMs == nil ? nil : Cost.hours(ms: run.coreMs)
                stored.costCents = charge?.cents
                stored.currency = charge?.currency
                return .success(stored)
            }
        }
        guard let stored = try s.queryOne(Self.selectRun + " WHERE r.id = ?", run.id) else { return .failure(.notFound("run \(run.id) vanished")) }
        return .success(Self.decodeRun(stored))
    }

    /// (account, app, version) rows this store has seen exist: nothing deletes them, so each is
    /// inserted once per process rather than once per run.
    private let knownLock = NSLock()
    private var known: Set<[String]> = []

    /// Marks committed runs' account and app as existing.
    private func remember(_ items: [RunUpsert]) {
        knownLock.withLock {
            if known.count > 10_000 { known.removeAll() }
            for item in items { known.insert([item.run.account, item.run.app, item.run.appVersion]) }
        }
    }

    private func ensureAccountAndApp(_ s: any SQLSession, run: RunRecord, now: Int64) throws {
        let key = [run.account, run.app, run.appVersion]
        if knownLock.withLock({ known.contains(key) }) { return }
        try s.execute("INSERT INTO accounts (name, currency, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING", run.account, defaultCurrency, now)
        try s.execute("INSERT INTO apps (name, kind, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING", run.app, run.kind, now)
        try s.execute("INSERT INTO app_versions (app, version, created_at) VALUES (?, ?, ?) ON CONFLICT (app, version) DO NOTHING",
                      run.app, run.appVersion, now)
    }

    /// Charges an ended run at the rate valid at its start (none: no charge); returns the charge.
    private func charge(_ s: any SQLSession, run: RunRecord, rates: RateTable) throws -> (cents: Int64, currency: String)? {
        guard let rate = try rates.rate(partition: run.partition, at: run.startedAt), let rateID = rate.id else {
            try s.execute("DELETE FROM charges WHERE run_id = ?", run.id)
            return nil
        }
        let cents = Cost.cents(coreMs: run.coreMs, nodeMs: run.nodeMs, rate: rate)
        try s.execute("""
            INSERT INTO charges (run_id, rate_id, account, app, started_at, core_ms, node_ms, amount_cents, currency)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (run_id) DO UPDATE SET rate_id = excluded.rate_id, account = excluded.account, app = excluded.app,
                started_at = excluded.started_at, core_ms = excluded.core_ms, node_ms = excluded.node_ms,
                amount_cents = excluded.amount_cents, currency = excluded.currency
            """, run.id, rateID, run.account, run.app, Timestamp.ms(run.startedAt), run.coreMs, run.nodeMs, cents, rate.currency)
        return (cents, rate.currency)
    }

    /// The rates table, read once per write transaction (when a run is first charged) rather
    /// than queried per run; inside the transaction no other writer can change it.
    final class RateTable {
        private let session: any SQLSession
        private var rates: [Rate]?
        init(_ session: any SQLSession) { self.session = session }

        /// What `SQLCatalogStore.rate(_:partition:at:)` would return (`SpoolTests` holds `Rate.pick` to it).
        func rate(partition: String?, at: Date) throws -> Rate? {
            if rates == nil { rates = try session.query("SELECT * FROM rates", [SQLValue]()).map(SQLCatalogStore.decodeRate) }
            // Compared at the store's millisecond resolution, as the SQL query compares.
            return Rate.pick(from: rates!, partition: partition, at: Timestamp.date(ms: Timestamp.ms(at)))
        }
    }

    static let selectRun = """
        SELECT r.*, c.amount_cents AS cost_cents, c.currency AS cost_currency FROM runs r LEFT JOIN charges c ON c.run_id = r.id
        """

    static func decodeRun(_ row: SQLRow) -> RunRecord {
        var r = RunRecord(
            id: row.requiredText("id"), app: row.requiredText("app"), appVersion: row.requiredText("app_version"),
            kind: row.requiredText("kind"), account: row.requiredText("account"), user: row.requiredText("user"),
            host: row.text("host"), launcher: row.requiredText("launcher"), slurmJobId: row.text("slurm_job_id"),
            slurmArrayJobId: row.text("slurm_array_job_id"), slurmArrayTaskId: row.text("slurm_array_task_id"),
            partition: row.text("partition"), nodes: Int(row.requiredInt("nodes")), ranks: Int(row.requiredInt("ranks")),
            threads: Int(row.requiredInt("threads")), startedAt: Timestamp.date(ms: row.requiredInt("started_at")),
            endedAt: row.int("ended_at").map { Timestamp.date(ms: $0) }, elapsedMs: row.int("elapsed_ms"),
            state: RunState(rawValue: row.requiredText("state")) ?? .failed, exitCode: row.int("exit_code").map { Int($0) },
            resultPath: row.text("result_path"), resultSize: row.int("result_size"), resultSha256: row.text("result_sha256"),
            metrics: MetricsText.decode(row.text("metrics") ?? "{}"),
            estimatedCostCents: row.int("estimated_cost_cents"), command: row.text("command"))
        r.coreHours = row.int("core_ms").map(Cost.hours(ms:))
        r.costCents = row.int("cost_cents")
        r.currency = row.text("cost_currency")
        return r
    }

    public func run(id: String) throws -> RunRecord? {
        guard RunRecord.isValidID(id) else { return nil }  // never stored, so never found
        return try database.query(Self.selectRun + " WHERE r.id = ?", id).first.map(Self.decodeRun)
    }

    public func runs(_ filter: RunFilter) throws -> Page<RunRecord> {
        guard (1...1000).contains(filter.limit) else { throw CatalogError.invalid("'limit' must be 1–1000") }
        // Text with NUL is never stored (and PostgreSQL cannot even compare it): it matches nothing.
        if ([filter.app, filter.user].compactMap { $0 } + (filter.accounts ?? [])).contains(where: { $0.utf8.contains(0) }) {
            return Page(items: [], nextCursor: nil)
        }
        var clauses: [String] = []
        var args: [SQLValue] = []
        if let accounts = filter.accounts {
            if accounts.isEmpty { return Page(items: [], nextCursor: nil) }
            clauses.append("r.account IN (" + accounts.map { _ in "?" }.joined(separator: ", ") + ")")
            args += accounts.map(\.sqlValue)
        }
        if let app = filter.app { clauses.append("r.app = ?"); args.append(.text(app)) }
        if let state = filter.state { clauses.append("r.state = ?"); args.append(.text(state.rawValue)) }
        if let user = filter.user { clauses.append("r.\"user\" = ?"); args.append(.text(user)) }
        if let since = filter.since { clauses.append("r.started_at >= ?"); args.append(.int(Timestamp.ms(since))) }
        if let until = filter.until { clauses.append("r.started_at < ?"); args.append(.int(Timestamp.ms(until))) }
        if let cursor = filter.cursor {
            guard let (ms, id) = RunCursor.decode(cursor) else { throw CatalogError.invalid("invalid 'cursor'") }
            clauses.append("(r.started_at < ? OR (r.started_at = ? AND r.id < ?))")
            args += [.int(ms), .int(ms), .text(id)]
        }
        let sql = Self.selectRun + (clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND "))
            + " ORDER BY r.started_at DESC, r.id DESC LIMIT \(filter.limit + 1)"
        var items = try database.query(sql, args).map(Self.decodeRun)
        var next: String?
        if items.count > filter.limit {
            items.removeLast()
            next = items.last.map { RunCursor.encode(ms: Timestamp.ms($0.startedAt), id: $0.id) }
        }
        return Page(items: items, nextCursor: next)
    }

    // MARK: Apps

    public func apps() throws -> [AppRecord] {
        try database.read { s in
            let apps = try s.query("SELECT name, kind FROM apps ORDER BY name")
            let versions = try s.query("SELECT app, version, source_commit, created_at FROM app_versions ORDER BY app, created_at, version")
            var byApp: [String: [AppVersion]] = [:]
            for v in versions {
                byApp[v.requiredText("app"), default: []].append(AppVersion(version: v.requiredText("version"), sourceCommit: v.text("source_commit"),
                                                                             createdAt: Timestamp.date(ms: v.requiredInt("created_at"))))
            }
            return apps.map { AppRecord(name: $0.requiredText("name"), kind: $0.requiredText("kind"), versions: byApp[$0.requiredText("name")] ?? []) }
        }
    }

    public func addApp(name: String, kind: String, version: String?, sourceCommit: String?, actor: String) throws {
        guard RunRecord.isValidID(name), !kind.isEmpty, kind.utf8.count <= 100 else { throw CatalogError.invalid("app name must be 1–64 characters of [A-Za-z0-9._-] and kind non-empty") }
        if let version, version.isEmpty || version.utf8.count > 100 { throw CatalogError.invalid("'version' must be 1–100 bytes") }
        let now = Timestamp.ms(Date())
        try database.write { s in
            try s.execute("INSERT INTO apps (name, kind, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET kind = excluded.kind", name, kind, now)
            if let version {
                try s.execute("""
                    INSERT INTO app_versions (app, version, source_commit, created_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (app, version) DO UPDATE SET source_commit = COALESCE(excluded.source_commit, app_versions.source_commit)
                    """, name, version, sourceCommit, now)
            }
            try appendAudit(s, actor: actor, action: "app.put", target: name, detail: version.map { "version \($0)" }, now: now)
        }
    }

    // MARK: Accounts

    public func accounts(names requested: [String]?) throws -> [Account] {
        let names = requested?.filter { !$0.utf8.contains(0) }  // NUL is never stored
        if let names, names.isEmpty { return [] }
        // CAST: PostgreSQL sums BIGINT into NUMERIC.
        var sql = """
            SELECT a.name, a.currency, a.budget_cents, a.description,
                CAST((SELECT COALESCE(SUM(amount_cents), 0) FROM charges c WHERE c.account = a.name) AS BIGINT) AS used,
                CAST((SELECT COUNT(*) FROM runs r WHERE r.account = a.name) AS BIGINT) AS runs,
                CAST((SELECT COALESCE(SUM(core_ms), 0) FROM runs r WHERE r.account = a.name) AS BIGINT) AS core_ms
            FROM accounts a
            """
        if let names { sql += " WHERE a.name IN (" + names.map { _ in "?" }.joined(separator: ", ") + ")" }
        sql += " ORDER BY a.name"
        return try database.read { s in
            try s.query(sql, (names ?? []).map(\.sqlValue)).map { row in
                var a = Account(name: row.requiredText("name"), currency: row.requiredText("currency"), budgetCents: row.int("budget_cents"),
                                description: row.text("description"))
                let used = row.requiredInt("used")
                a.usedCents = used
                a.remainingCents = a.budgetCents.map { $0 - used }
                a.runs = Int(row.requiredInt("runs"))
                a.coreHours = Cost.hours(ms: row.requiredInt("core_ms"))
                return a
            }
        }
    }

    public func putAccount(_ account: Account, actor: String) throws -> Account {
        guard Account.isValidName(account.name) else { throw CatalogError.invalid("account name must be 1–64 characters of [A-Za-z0-9._-]") }
        guard Currency.isValid(account.currency) else { throw CatalogError.invalid("'currency' must be 3 capital letters") }
        if let b = account.budgetCents, b < 0 { throw CatalogError.invalid("'budget_cents' must be ≥ 0") }
        if let d = account.description, d.utf8.count > 1000 { throw CatalogError.invalid("'description' must be at most 1000 bytes") }
        let now = Timestamp.ms(Date())
        try database.write { s in
            try s.execute("""
                INSERT INTO accounts (name, currency, budget_cents, description, created_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET currency = excluded.currency, budget_cents = excluded.budget_cents,
                    description = excluded.description
                """, account.name, account.currency, account.budgetCents, account.description, now)
            try appendAudit(s, actor: actor, action: "account.put", target: account.name,
                            detail: "budget \(account.budgetCents.map { Money.format(cents: $0) } ?? "none") \(account.currency)", now: now)
        }
        return try self.account(account.name)!
    }

    // MARK: Rates

    static func decodeRate(_ row: SQLRow) -> Rate {
        Rate(id: row.int("id"), partition: row.requiredText("partition"), currency: row.requiredText("currency"),
             coreHourMicros: row.requiredInt("core_hour_micros"), nodeHourMicros: row.requiredInt("node_hour_micros"),
             validFrom: Timestamp.date(ms: row.requiredInt("valid_from")), validTo: row.int("valid_to").map { Timestamp.date(ms: $0) })
    }

    static func rate(_ s: any SQLSession, partition: String?, at: Date) throws -> Rate? {
        let ms = Timestamp.ms(at)
        return try s.queryOne("""
            SELECT * FROM rates WHERE (partition = ? OR partition = '*') AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)
            ORDER BY CASE WHEN partition = '*' THEN 1 ELSE 0 END, valid_from DESC, id DESC LIMIT 1
            """, partition ?? "*", ms, ms).map(decodeRate)
    }

    public func rate(partition: String?, at: Date) throws -> Rate? {
        try database.read { try Self.rate($0, partition: partition, at: at) }
    }

    public func rates() throws -> [Rate] {
        try database.read { try $0.query("SELECT * FROM rates ORDER BY partition, valid_from, id").map(Self.decodeRate) }
    }

    public func addRate(_ rate: Rate, actor: String) throws -> Rate {
        try rate.validate()
        let now = Timestamp.ms(Date())
        return try database.write { s in
            let id = try s.queryOne("""
                INSERT INTO rates (partition, currency, core_hour_micros, node_hour_micros, valid_from, valid_to, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id
                """, rate.partition, rate.currency, rate.coreHourMicros, rate.nodeHourMicros,
                Timestamp.ms(rate.validFrom), rate.validTo.map(Timestamp.ms), now)!.requiredInt("id")
            var stored = rate
            stored.id = id
            try appendAudit(s, actor: actor, action: "rate.add", target: String(id),
                            detail: "\(rate.partition) \(Money.formatMicros(rate.coreHourMicros))/core-h \(Money.formatMicros(rate.nodeHourMicros))/node-h \(rate.currency)",
                            now: now)
            return stored
        }
    }

    // MARK: Invoices

    public func invoice(account: String, period: String) throws -> Invoice {
        try database.read { try Self.invoice($0, account: account, period: period) }
    }

    static func invoice(_ s: any SQLSession, account: String, period: String) throws -> Invoice {
        guard let month = Timestamp.month(period) else { throw CatalogError.invalid("period must be YYYY-MM") }
        guard !account.utf8.contains(0), let acct = try s.queryOne("SELECT currency FROM accounts WHERE name = ?", account) else {
            throw CatalogError.notFound("no account '\(account)'")
        }
        func line(_ row: SQLRow, amount: String) -> InvoiceLine {
            InvoiceLine(app: row.requiredText("app"), runs: Int(row.requiredInt("runs")), coreHours: Cost.hours(ms: row.requiredInt("core_ms")),
                        coreMs: row.requiredInt("core_ms"), amountCents: row.requiredInt(amount), currency: row.requiredText("currency"))
        }
        if let issued = try s.queryOne("SELECT * FROM invoices WHERE account = ? AND period = ?", account, period) {
            let id = issued.requiredInt("id")
            let lines = try s.query("SELECT * FROM invoice_lines WHERE invoice_id = ? ORDER BY app, currency", id).map { line($0, amount: "amount_cents") }
            return Invoice(id: id, account: account, period: period, status: "issued", currency: issued.requiredText("currency"), lines: lines,
                           totalCents: issued.requiredInt("total_cents"), issuedAt: Timestamp.date(ms: issued.requiredInt("issued_at")))
        }
        let lines = try s.query("""
            SELECT app, currency, CAST(COUNT(*) AS BIGINT) AS runs, CAST(SUM(core_ms) AS BIGINT) AS core_ms,
                CAST(SUM(amount_cents) AS BIGINT) AS amount FROM charges
            WHERE account = ? AND started_at >= ? AND started_at < ? GROUP BY app, currency ORDER BY app, currency
            """, account, Timestamp.ms(month.start), Timestamp.ms(month.end)).map { line($0, amount: "amount") }
        let currency = lines.first?.currency ?? acct.requiredText("currency")
        return Invoice(id: nil, account: account, period: period, status: "draft", currency: currency, lines: lines,
                       totalCents: lines.reduce(0) { $0 + $1.amountCents }, issuedAt: nil)
    }

    public func issueInvoice(account: String, period: String, actor: String) throws -> Invoice {
        try database.write { s in
            let draft = try Self.invoice(s, account: account, period: period)
            guard draft.status == "draft" else { return draft }
            guard Set(draft.lines.map(\.currency)).count <= 1 else { throw CatalogError.conflict("charges in several currencies; issue per currency is not supported") }
            let now = Timestamp.ms(Date())
            let id = try s.queryOne("INSERT INTO invoices (account, period, currency, total_cents, issued_at, issued_by) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                                    account, period, draft.currency, draft.totalCents, now, actor)!.requiredInt("id")
            for line in draft.lines {
                try s.execute("INSERT INTO invoice_lines (invoice_id, app, currency, runs, core_ms, amount_cents) VALUES (?, ?, ?, ?, ?, ?)",
                              id, line.app, line.currency, line.runs, line.coreMs, line.amountCents)
            }
            try appendAudit(s, actor: actor, action: "invoice.issue", target: "\(account)/\(period)",
                            detail: "total \(Money.format(cents: draft.totalCents)) \(draft.currency)", now: now)
            return try Self.invoice(s, account: account, period: period)
        }
    }

    // MARK: Keys

    static func decodeKey(_ row: SQLRow) -> APIKey {
        APIKey(id: row.requiredInt("id"), name: row.requiredText("name"), prefix: row.requiredText("prefix"),
               role: Role(rawValue: row.requiredText("role")) ?? .reader,
               accounts: row.requiredText("accounts").split(separator: ",").map(String.init),
               createdAt: Timestamp.date(ms: row.requiredInt("created_at")), revokedAt: row.int("revoked_at").map { Timestamp.date(ms: $0) })
    }

    public func createKey(name: String, role: Role, accounts: [String], actor: String) throws -> (APIKey, String) {
        guard !name.isEmpty, name.utf8.count <= 200 else { throw CatalogError.invalid("key name must be 1–200 bytes") }
        guard accounts.allSatisfy(Account.isValidName) else { throw CatalogError.invalid("invalid account name") }
        if role != .admin, accounts.isEmpty { throw CatalogError.invalid("a \(role.rawValue) key needs at least one account") }
        let (prefix, token) = KeyToken.make()
        let now = Timestamp.ms(Date())
        let key = try database.write { s in
            let row = try s.queryOne("INSERT INTO api_keys (name, prefix, hash, role, accounts, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
                                     name, prefix, KeyToken.hash(token), role.rawValue, accounts.sorted().joined(separator: ","), now)!
            let key = Self.decodeKey(row)
            try appendAudit(s, actor: actor, action: "key.create", target: "\(key.id)",
                            detail: "\(prefix) \(role.rawValue) [\(accounts.sorted().joined(separator: ","))]", now: now)
            return key
        }
        return (key, token)
    }

    public func keys() throws -> [APIKey] {
        try database.read { try $0.query("SELECT * FROM api_keys ORDER BY id").map(Self.decodeKey) }
    }

    public func revokeKey(id: Int64, actor: String) throws -> APIKey {
        let now = Timestamp.ms(Date())
        return try database.write { s in
            guard let row = try s.queryOne("SELECT * FROM api_keys WHERE id = ?", id) else { throw CatalogError.notFound("no key \(id)") }
            guard row.int("revoked_at") == nil else { return Self.decodeKey(row) }
            let revoked = try s.queryOne("UPDATE api_keys SET revoked_at = ? WHERE id = ? RETURNING *", now, id)!
            try appendAudit(s, actor: actor, action: "key.revoke", target: "\(id)", detail: row.text("prefix"), now: now)
            return Self.decodeKey(revoked)
        }
    }

    public func authenticate(token: String) throws -> APIKey? {
        guard let prefix = KeyToken.prefix(of: token) else { return nil }
        let row = try database.query("SELECT * FROM api_keys WHERE prefix = ?", prefix).first
        guard let row, row.int("revoked_at") == nil, KeyToken.constantTimeEqual(row.requiredText("hash"), KeyToken.hash(token)) else { return nil }
        return Self.decodeKey(row)
    }

    // MARK: Audit and health

    private func appendAudit(_ s: any SQLSession, actor: String, action: String, target: String, detail: String?, now: Int64) throws {
        try s.execute("INSERT INTO audit (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)", now, actor, action, target, detail)
    }

    public func audit(limit: Int, after: Int64?) throws -> [AuditEntry] {
        guard (1...1000).contains(limit) else { throw CatalogError.invalid("'limit' must be 1–1000") }
        return try database.read { s in
            try s.query("SELECT * FROM audit WHERE id > ? ORDER BY id LIMIT ?", after ?? 0, limit).map {
                AuditEntry(id: $0.requiredInt("id"), at: Timestamp.date(ms: $0.requiredInt("at")), actor: $0.requiredText("actor"),
                           action: $0.requiredText("action"), target: $0.requiredText("target"), detail: $0.text("detail"))
            }
        }
    }

    public func runCounts() throws -> [RunState: Int] {
        try database.read { s in
            var out: [RunState: Int] = [:]
            for row in try s.query("SELECT state, CAST(COUNT(*) AS BIGINT) AS n FROM runs GROUP BY state") {
                if let state = RunState(rawValue: row.requiredText("state")) { out[state] = Int(row.requiredInt("n")) }
            }
            return out
        }
    }

    /// Runs raw SQL (tests only: e.g. proving the audit log refuses updates).
    public func unsafeExecute(_ sql: String) throws { try database.write { try $0.execute(sql, [SQLValue]()) } }
}

/// Job metrics as stored: compact JSON text with sorted keys. Written and (in the common case)
/// read by hand: `JSONSerialization` was the largest single cost of recording a run and of
/// reading one back.
enum MetricsText {
    static func encode(_ metrics: [String: Double]) -> String {
        guard metrics.values.allSatisfy(\.isFinite) else { return "{}" }  // not JSON (as JSONSerialization refused it)
        var w = RunJSON.Writer()
        w.metrics(metrics)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    static func decode(_ text: String) -> [String: Double] {
        if let flat = decodeFlat(text) { return flat }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return [:] }
        return object.compactMapValues { ($0 as? NSNumber)?.doubleValue }
    }

    /// `{"name":number,…}` with no escapes or spaces — what `encode` writes; nil for anything
    /// else (older rows, hand-edited text), which the general parser then reads.
    static func decodeFlat(_ text: String) -> [String: Double]? {
        var text = text
        return text.withUTF8 { s -> [String: Double]? in
            guard s.count >= 2, s[0] == 0x7B, s[s.count - 1] == 0x7D else { return nil }
            var out: [String: Double] = [:]
            var i = 1
            if s.count == 2 { return out }
            while true {
                guard i < s.count, s[i] == 0x22 else { return nil }
                let nameStart = i + 1
                i = nameStart
                while i < s.count, s[i] != 0x22 {
                    if s[i] == 0x5C || s[i] < 0x20 { return nil }
                    i += 1
                }
                guard i + 1 < s.count, s[i + 1] == 0x3A else { return nil }
                let name = String(decoding: UnsafeBufferPointer(rebasing: s[nameStart..<i]), as: UTF8.self)
                i += 2
                let numberStart = i
                // JSON number characters only (Double(_:) alone would also take "nan" or hex).
                while i < s.count, s[i] != 0x2C, s[i] != 0x7D {
                    guard (s[i] >= 0x30 && s[i] <= 0x39) || s[i] == 0x2D || s[i] == 0x2B || s[i] == 0x2E || s[i] | 0x20 == 0x65 else { return nil }
                    i += 1
                }
                guard i < s.count, let value = Double(String(decoding: UnsafeBufferPointer(rebasing: s[numberStart..<i]), as: UTF8.self)),
                      value.isFinite else { return nil }
                out[name] = value
                if s[i] == 0x7D { return i == s.count - 1 ? out : nil }
                i += 1
            }
        }
    }
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
