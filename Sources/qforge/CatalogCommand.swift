import ArgumentParser
import Catalog
import ForgeCore
import Runs
import Foundation

/// `qforge catalog …`: the run catalog from the command line (the local SQLite store), its
/// HTTP service and spool delivery.
struct CatalogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Runs, apps, usage, invoices and API keys in the run catalog.",
        discussion: """
        The catalog is a SQLite file (default results/catalog.sqlite, or
        $QFORGE_CATALOG); every `qforge sv` / `qforge run` records itself there unless
        --catalog says otherwise.

        Examples:
          qforge catalog runs --account chem --since 2026-11-01 --format csv
          qforge catalog accounts set chem --budget 500.00 --currency EUR
          qforge catalog rates add --partition '*' --core-hour 0.02 --from 2026-01-01
          qforge catalog invoice --account chem --month 2026-11 --issue
          qforge catalog keys create --name ci --role recorder --account chem
          qforge catalog serve --port 8080
        """,
        subcommands: [
            CatalogApps.self, CatalogRuns.self, CatalogUsage.self, CatalogAccounts.self, CatalogRates.self,
            CatalogInvoice.self, CatalogKeys.self, CatalogAudit.self, CatalogServe.self, CatalogSync.self,
        ]
    )
}

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}

/// The store a catalog command works on.
struct StoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Catalog: a SQLite file or a postgres://user@host[:port]/database URL.",
        discussion: "Default: $QFORGE_CATALOG (when a path or postgres:// URL), else results/catalog.sqlite.", valueName: "path|url"))
    var db: String?

    var path: String {
        if let db { return db }
        switch CatalogTarget.parse(ProcessInfo.processInfo.environment["QFORGE_CATALOG"] ?? "") {
        case .sqlite(let p): return p
        case .postgres(let url): return url
        default: return CatalogTarget.defaultPath
        }
    }

    /// `durable`: fsync each SQLite commit (the server, where group commit makes that cheap;
    /// PostgreSQL commits are durable anyway).
    func open(durable: Bool = false) throws -> SQLCatalogStore {
        do {
            if case .postgres(let url) = CatalogTarget.parse(path) { return try PostgresStore(url: url) }
            return try SQLiteStore(path: path, durable: durable)
        } catch let e as CatalogError {
            if case .invalid(let m) = e { throw InputError(m) }
            throw RuntimeError("cannot open catalog \(CatalogDisplay.redacted(path)): \(e)")
        } catch {
            throw RuntimeError("cannot open catalog \(CatalogDisplay.redacted(path)): \(error)")
        }
    }
}

struct FormatOption: ParsableArguments {
    @Option(help: "Output: table, json or csv.")
    var format: OutputFormat = .table
}

/// Store errors as the CLI's exit codes: bad or unknown input 2, anything else 1.
func catalogCall<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as CatalogError {
        switch e {
        case .invalid(let m), .notFound(let m), .conflict(let m), .forbidden(let m): throw InputError(m)
        case .unavailable(let m): throw RuntimeError(m)
        }
    }
}

/// Prints rows as an aligned table, CSV, or (given `json`) JSON.
func emit<T: Encodable>(_ value: T, format: OutputFormat, headers: [String], rows: [[String]]) throws {
    switch format {
    case .json:
        print(String(decoding: try CatalogJSON.encoder(pretty: true).encode(value), as: UTF8.self))
    case .csv:
        var out = CSV.line(headers)
        for r in rows { out += CSV.line(r) }
        print(out, terminator: "")
    case .table:
        var widths = headers.map(\.count)
        for r in rows { for (i, f) in r.enumerated() { widths[i] = max(widths[i], f.count) } }
        func line(_ fields: [String]) -> String {
            fields.enumerated().map { i, f in f.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }
        print(line(headers))
        for r in rows { print(line(r)) }
    }
}

func parseTime(_ text: String?, _ flag: String) throws -> Date? {
    guard let text else { return nil }
    guard let d = Timestamp.parse(text) else { throw InputError("\(flag) must be YYYY-MM-DD, an ISO-8601 time or Unix seconds") }
    return d
}

func parseCents(_ text: String, _ flag: String) throws -> Int64 {
    guard let c = Money.parseCents(text) else { throw InputError("\(flag) must be an amount like 120.50") }
    return c
}

// MARK: apps

struct CatalogApps: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apps", abstract: "List apps and versions; `apps add` registers one.",
                                                    subcommands: [List.self, Add.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        @OptionGroup var store: StoreOptions
        @OptionGroup var output: FormatOption
        func run() throws {
            let apps = try catalogCall { try store.open().apps() }
            let rows = apps.flatMap { a in a.versions.isEmpty ? [[a.name, a.kind, "", ""]] : a.versions.map { [a.name, a.kind, $0.version, $0.sourceCommit ?? ""] } }
            try emit(apps, format: output.format, headers: ["app", "kind", "version", "source_commit"], rows: rows)
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register an app (and a version).")
        @Argument var name: String
        @Option var kind: String
        @Option var version: String?
        @Option(name: .customLong("commit")) var sourceCommit: String?
        @OptionGroup var store: StoreOptions
        func run() throws {
            try catalogCall { try store.open().addApp(name: name, kind: kind, version: version, sourceCommit: sourceCommit, actor: "cli:\(currentUserName())") }
        }
    }
}

// MARK: runs

struct CatalogRuns: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs", abstract: "List runs (newest first), or show one by id.",
        discussion: "Example: qforge catalog runs --account chem --app qforge-statevector --state failed --since 2026-11-01")

    @Argument(help: "A run id: show that run.") var id: String?
    @Option var account: String?
    @Option var app: String?
    @Option var state: String?
    @Option var user: String?
    @Option(help: "Runs started at or after (YYYY-MM-DD or ISO-8601).") var since: String?
    @Option(help: "Runs started before.") var until: String?
    @Option(help: "At most this many runs (1–1000).") var limit: Int = 50
    @OptionGroup var store: StoreOptions
    @OptionGroup var output: FormatOption

    func run() throws {
        let db = try store.open()
        let runs: [RunRecord]
        if let id {
            guard let run = try catalogCall({ try db.run(id: id) }) else { throw InputError("no run '\(id)'") }
            runs = [run]
        } else {
            var filter = RunFilter(app: app, user: user, since: try parseTime(since, "--since"), until: try parseTime(until, "--until"), limit: limit)
            if let account { filter.accounts = [account] }
            if let state {
                guard let s = RunState(rawValue: state) else { throw InputError("--state must be one of \(RunState.allCases.map(\.rawValue).joined(separator: ", "))") }
                filter.state = s
            }
            runs = try catalogCall { try db.runs(filter).items }
        }
        let rows = runs.map { r in
            [r.id, r.app, r.account, r.user, r.state.rawValue, r.exitCode.map(String.init) ?? "", Timestamp.format(r.startedAt),
             r.elapsedMs.map { String(format: "%.3f", Double($0) / 1000) } ?? "", String(r.ranks), r.coreHours ?? "",
             r.costCents.map { Money.format(cents: $0) } ?? "", r.slurmJobId ?? "", r.resultPath ?? ""]
        }
        let headers = ["id", "app", "account", "user", "state", "exit", "started", "elapsed_s", "ranks", "core_hours", "cost", "slurm_job", "result"]
        if id != nil, output.format == .json { try emit(runs[0], format: .json, headers: [], rows: []) } else {
            try emit(runs, format: output.format, headers: headers, rows: rows)
        }
    }
}

// MARK: usage and accounts

struct CatalogUsage: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "usage", abstract: "Usage and remaining budget per account.")
    @Option var account: String?
    @OptionGroup var store: StoreOptions
    @OptionGroup var output: FormatOption
    func run() throws {
        let accounts = try catalogCall { try store.open().accounts(names: account.map { [$0] }) }
        if let account, accounts.isEmpty { throw InputError("no account '\(account)'") }
        let rows = accounts.map { a in
            [a.name, a.currency, a.budgetCents.map { Money.format(cents: $0) } ?? "", Money.format(cents: a.usedCents ?? 0),
             a.remainingCents.map { Money.format(cents: $0) } ?? "", String(a.runs ?? 0), a.coreHours ?? "0.0000",
             a.budgetCents.map { $0 > 0 ? "\((a.usedCents ?? 0) * 100 / $0)%" : "" } ?? ""]
        }
        try emit(accounts, format: output.format, headers: ["account", "currency", "budget", "used", "remaining", "runs", "core_hours", "used_pct"], rows: rows)
    }
}

struct CatalogAccounts: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "accounts", abstract: "Create accounts and set budgets.",
                                                    subcommands: [SetAccount.self])
    struct SetAccount: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Create or update an account.",
                                                        discussion: "Example: qforge catalog accounts set chem --budget 500.00 --currency EUR")
        @Argument var name: String
        @Option(help: "Allocation in the account's currency, e.g. 500.00; 'none' removes it.") var budget: String?
        @Option var currency: String = "EUR"
        @Option var description: String?
        @OptionGroup var store: StoreOptions
        func run() throws {
            let cents: Int64? = try budget.flatMap { $0 == "none" ? nil : try parseCents($0, "--budget") }
            let a = try catalogCall { try store.open().putAccount(Account(name: name, currency: currency, budgetCents: cents, description: description), actor: "cli:\(currentUserName())") }
            print("account \(a.name): budget \(a.budgetCents.map { Money.format(cents: $0) } ?? "none") \(a.currency)")
        }
    }
}

// MARK: rates

struct CatalogRates: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rates", abstract: "List rates; `rates add` adds one.",
                                                    subcommands: [List.self, Add.self], defaultSubcommand: List.self)
    struct List: ParsableCommand {
        @OptionGroup var store: StoreOptions
        @OptionGroup var output: FormatOption
        func run() throws {
            let rates = try catalogCall { try store.open().rates() }
            try emit(rates, format: output.format, headers: ["id", "partition", "currency", "core_hour", "node_hour", "valid_from", "valid_to"],
                     rows: rates.map { [String($0.id ?? 0), $0.partition, $0.currency, Money.formatMicros($0.coreHourMicros), Money.formatMicros($0.nodeHourMicros),
                                        Timestamp.format($0.validFrom), $0.validTo.map(Timestamp.format) ?? ""] })
        }
    }
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a rate for a partition ('*': every partition without its own).",
                                                        discussion: "Example: qforge catalog rates add --partition gpu --core-hour 0.015 --node-hour 1.20 --from 2026-11-01")
        @Option var partition: String = "*"
        @Option(name: .customLong("core-hour"), help: "Price per core-hour, e.g. 0.015 (up to 6 decimals).") var coreHour: String
        @Option(name: .customLong("node-hour"), help: "Price per node-hour.") var nodeHour: String = "0"
        @Option var currency: String = "EUR"
        @Option(help: "Valid from (YYYY-MM-DD or ISO-8601).") var from: String
        @Option(help: "Valid until (exclusive).") var to: String?
        @OptionGroup var store: StoreOptions
        func run() throws {
            guard let core = Money.parseMicros(coreHour) else { throw InputError("--core-hour must be a price like 0.015") }
            guard let node = Money.parseMicros(nodeHour) else { throw InputError("--node-hour must be a price like 1.20") }
            guard let validFrom = try parseTime(from, "--from") else { throw InputError("--from is required") }
            let rate = Rate(partition: partition, currency: currency, coreHourMicros: core, nodeHourMicros: node,
                            validFrom: validFrom, validTo: try parseTime(to, "--to"))
            let stored = try catalogCall { try store.open().addRate(rate, actor: "cli:\(currentUserName())") }
            print("rate \(stored.id ?? 0): \(stored.partition) \(Money.formatMicros(core))/core-hour \(Money.formatMicros(node))/node-hour \(currency)")
        }
    }
}

// MARK: invoices

struct CatalogInvoice: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invoice", abstract: "An account's invoice for a month, per app; --issue freezes it.",
        discussion: "Example: qforge catalog invoice --account chem --month 2026-11 --format csv")
    @Option var account: String
    @Option(help: "YYYY-MM (UTC).") var month: String
    @Flag(help: "Issue the invoice: its lines no longer change.") var issue = false
    @OptionGroup var store: StoreOptions
    @OptionGroup var output: FormatOption
    func run() throws {
        let db = try store.open()
        let invoice = try catalogCall {
            issue ? try db.issueInvoice(account: account, period: month, actor: "cli:\(currentUserName())") : try db.invoice(account: account, period: month)
        }
        switch output.format {
        case .csv: print(InvoiceFormat.csv(invoice), terminator: "")
        case .json: try emit(invoice, format: .json, headers: [], rows: [])
        case .table:
            print("invoice \(invoice.account) \(invoice.period) (\(invoice.status)\(invoice.issuedAt.map { " " + Timestamp.format($0) } ?? ""))")
            var rows = invoice.lines.map { [$0.app, String($0.runs), $0.coreHours, Money.format(cents: $0.amountCents), $0.currency] }
            rows.append(["TOTAL", String(invoice.lines.reduce(0) { $0 + $1.runs }), Cost.hours(ms: invoice.lines.reduce(0) { $0 + $1.coreMs }),
                         Money.format(cents: invoice.totalCents), invoice.currency])
            try emit(invoice, format: .table, headers: ["app", "runs", "core_hours", "amount", "currency"], rows: rows)
        }
    }
}

// MARK: keys and audit

struct CatalogKeys: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "API keys for the HTTP service.",
                                                    subcommands: [List.self, Create.self, Revoke.self], defaultSubcommand: List.self)
    struct List: ParsableCommand {
        @OptionGroup var store: StoreOptions
        @OptionGroup var output: FormatOption
        func run() throws {
            let keys = try catalogCall { try store.open().keys() }
            try emit(keys, format: output.format, headers: ["id", "name", "prefix", "role", "accounts", "created", "revoked"],
                     rows: keys.map { [String($0.id), $0.name, $0.prefix, $0.role.rawValue, $0.role == .admin ? "*" : $0.accounts.joined(separator: " "),
                                       Timestamp.format($0.createdAt), $0.revokedAt.map(Timestamp.format) ?? ""] })
        }
    }
    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; its token is printed once.",
                                                        discussion: "Example: qforge catalog keys create --name ci --role recorder --account chem")
        @Option var name: String = "key"
        @Option(help: "admin, recorder or reader.") var role: String
        @Option(help: "Account the key may use (repeatable; admin keys see all).") var account: [String] = []
        @OptionGroup var store: StoreOptions
        func run() throws {
            guard let r = Role(rawValue: role) else { throw InputError("--role must be admin, recorder or reader") }
            let (key, token) = try catalogCall { try store.open().createKey(name: name, role: r, accounts: account, actor: "cli:\(currentUserName())") }
            FileHandle.standardError.write("key \(key.id) (\(key.prefix), \(key.role.rawValue)); the token below is shown only now:\n".data(using: .utf8)!)
            print(token)
        }
    }
    struct Revoke: ParsableCommand {
        @Argument var id: Int64
        @OptionGroup var store: StoreOptions
        func run() throws {
            let key = try catalogCall { try store.open().revokeKey(id: id, actor: "cli:\(currentUserName())") }
            print("revoked key \(key.id) (\(key.prefix))")
        }
    }
}

struct CatalogAudit: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "The append-only audit log, oldest first.")
    @Option var after: Int64 = 0
    @Option var limit: Int = 100
    @OptionGroup var store: StoreOptions
    @OptionGroup var output: FormatOption
    func run() throws {
        let entries = try catalogCall { try store.open().audit(limit: limit, after: after) }
        try emit(entries, format: output.format, headers: ["id", "at", "actor", "action", "target", "detail"],
                 rows: entries.map { [String($0.id), Timestamp.format($0.at), $0.actor, $0.action, $0.target, $0.detail ?? ""] })
    }
}

// MARK: serve and sync

struct CatalogServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the catalog over HTTP/JSON (/api/v1, /healthz, /metrics, /openapi.yaml).",
        discussion: """
        Create a first admin key with `qforge catalog keys create --role admin`. Stops
        on SIGINT/SIGTERM.

        Example:
          qforge catalog serve --db results/catalog.sqlite --port 8080
        """)
    @OptionGroup var store: StoreOptions
    @Option var host: String = "127.0.0.1"
    @Option(help: "Port (0: any free port, printed on start).") var port: Int = 8080

    func run() throws {
        let db = try store.open(durable: true)
        CatalogService.runTasksOnEventLoops()
        let done = DispatchSemaphore(value: 0)
        final class Outcome: @unchecked Sendable { var error: Error? }
        let outcome = Outcome()
        let host = self.host, port = self.port, path = CatalogDisplay.redacted(store.path)
        Task {
            do {
                try await CatalogService.serve(store: db, host: host, port: port) { bound in
                    print("qforge catalog: serving \(path) on http://\(host):\(bound)")
                    fflush(stdout)
                }
            } catch { outcome.error = error }
            done.signal()
        }
        done.wait()
        if let error = outcome.error { throw RuntimeError("catalog server: \(error)") }
    }
}

struct CatalogSync: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Deliver spooled run records (written while the catalog was unreachable).",
        discussion: "Example: QFORGE_API_KEY=… qforge catalog sync --catalog http://catalog:8080")
    @Option(help: "Catalog: SQLite file, postgres:// or http(s):// URL. Default: $QFORGE_CATALOG, else results/catalog.sqlite.") var catalog: String?
    @Option(help: "Spool folder. Default: $QFORGE_SPOOL, else results/.catalog-spool.") var spool: String?

    func run() throws {
        let env = ProcessInfo.processInfo.environment
        let target = CatalogTarget.parse(catalog ?? env["QFORGE_CATALOG"] ?? CatalogTarget.defaultPath)
        guard target != .off else { throw InputError("no catalog to deliver to") }
        let recorder = RunRecorder(target: target, spoolDirectory: spool ?? env["QFORGE_SPOOL"] ?? "results/.catalog-spool",
                                   apiKey: env["QFORGE_API_KEY"], actor: "sync")
        let report = recorder.sync()
        print("delivered \(report.delivered), rejected \(report.rejected), still spooled \(report.remaining)")
        if let e = report.lastError { FileHandle.standardError.write("qforge: warning: \(e)\n".data(using: .utf8)!) }
        if report.remaining > 0 { throw RuntimeError("catalog unreachable; \(report.remaining) record(s) still spooled") }
    }
}
