import Foundation

/// Life cycle of a run: recorded `running` at start, then exactly one terminal state.
public enum RunState: String, Codable, Sendable, CaseIterable {
    case running, completed, failed, cancelled, timeout

    public var isTerminal: Bool { self != .running }
}

/// One run of the engine, as the engine (or a client of the HTTP API) reports it.
/// Field names map to snake_case in JSON (`started_at`, `result_sha256`, …).
public struct RunRecord: Codable, Sendable, Equatable {
    public var id: String
    public var app: String
    public var appVersion: String
    public var kind: String
    public var account: String
    public var user: String
    public var host: String?
    /// `slurm`, `mpirun` or `direct`.
    public var launcher: String
    public var slurmJobId: String?
    public var slurmArrayJobId: String?
    public var slurmArrayTaskId: String?
    public var partition: String?
    public var nodes: Int
    public var ranks: Int
    public var threads: Int
    public var startedAt: Date
    public var endedAt: Date?
    public var elapsedMs: Int64?
    public var state: RunState
    public var exitCode: Int?
    public var resultPath: String?
    public var resultSize: Int64?
    public var resultSha256: String?
    /// Job metrics: qubits, gates, shots, atoms, steps…
    public var metrics: [String: Double]
    public var estimatedCostCents: Int64?
    public var command: String?
    // Filled in by the store on read (ignored on write).
    public var coreHours: String?
    public var costCents: Int64?
    public var currency: String?

    public init(id: String, app: String, appVersion: String, kind: String, account: String, user: String,
                host: String? = nil, launcher: String = "direct", slurmJobId: String? = nil,
                slurmArrayJobId: String? = nil, slurmArrayTaskId: String? = nil, partition: String? = nil,
                nodes: Int = 1, ranks: Int = 1, threads: Int = 1, startedAt: Date, endedAt: Date? = nil,
                elapsedMs: Int64? = nil, state: RunState = .running, exitCode: Int? = nil,
                resultPath: String? = nil, resultSize: Int64? = nil, resultSha256: String? = nil,
                metrics: [String: Double] = [:], estimatedCostCents: Int64? = nil, command: String? = nil) {
        self.id = id; self.app = app; self.appVersion = appVersion; self.kind = kind
        self.account = account; self.user = user; self.host = host; self.launcher = launcher
        self.slurmJobId = slurmJobId; self.slurmArrayJobId = slurmArrayJobId; self.slurmArrayTaskId = slurmArrayTaskId
        self.partition = partition; self.nodes = nodes; self.ranks = ranks; self.threads = threads
        self.startedAt = startedAt; self.endedAt = endedAt; self.elapsedMs = elapsedMs; self.state = state
        self.exitCode = exitCode; self.resultPath = resultPath; self.resultSize = resultSize
        self.resultSha256 = resultSha256; self.metrics = metrics; self.estimatedCostCents = estimatedCostCents
        self.command = command
    }

    /// ranks × threads × elapsed, in core-milliseconds (exact integer).
    public var coreMs: Int64 { Int64(max(ranks, 0)) * Int64(max(threads, 0)) * max(elapsedMs ?? 0, 0) }
    /// nodes × elapsed, in node-milliseconds.
    public var nodeMs: Int64 { Int64(max(nodes, 0)) * max(elapsedMs ?? 0, 0) }

    /// Checks what a client sends; the message becomes a 400 / exit-2 error.
    public func validate() throws {
        func bad(_ m: String) -> CatalogError { .invalid(m) }
        guard RunRecord.isValidID(id) else { throw bad("run id must be 1–64 characters of [A-Za-z0-9._-]") }
        for (name, value) in [("app", app), ("app_version", appVersion), ("kind", kind), ("account", account), ("user", user)] {
            guard !value.isEmpty, value.utf8.count <= 200 else { throw bad("'\(name)' must be 1–200 bytes") }
        }
        // PostgreSQL text cannot hold NUL; refuse it on every backend alike.
        let texts = [app, appVersion, kind, account, user, launcher, host, slurmJobId, slurmArrayJobId, slurmArrayTaskId,
                     partition, resultPath, command].compactMap { $0 } + Array(metrics.keys)
        if texts.contains(where: { $0.utf8.contains(0) }) { throw bad("text fields must not contain NUL characters") }
        guard (1...1_000_000).contains(ranks), (1...100_000).contains(threads), (1...1_000_000).contains(nodes) else {
            throw bad("ranks, threads and nodes must be positive")
        }
        if let e = elapsedMs, e < 0 || e > 100 * 365 * 86_400_000 { throw bad("'elapsed_ms' out of range") }
        if let s = resultSize, s < 0 { throw bad("'result_size' must be ≥ 0") }
        if let h = resultSha256, h.count != 64 || !h.allSatisfy(\.isHexDigit) { throw bad("'result_sha256' must be 64 hex digits") }
        if state == .running, exitCode != nil { throw bad("a running run has no exit code") }
        guard metrics.count <= 64, metrics.values.allSatisfy(\.isFinite) else { throw bad("at most 64 finite metrics") }
        let ms = Timestamp.ms(startedAt)
        guard ms > 0, ms < 32_503_680_000_000 else { throw bad("'started_at' out of range") }
    }

    public static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64 && id.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 46 || c == 95
        }
    }
}

public struct AppRecord: Codable, Sendable, Equatable {
    public var name: String
    public var kind: String
    public var versions: [AppVersion]
    public init(name: String, kind: String, versions: [AppVersion] = []) { self.name = name; self.kind = kind; self.versions = versions }
}

public struct AppVersion: Codable, Sendable, Equatable {
    public var version: String
    public var sourceCommit: String?
    public var createdAt: Date
    public init(version: String, sourceCommit: String? = nil, createdAt: Date) {
        self.version = version; self.sourceCommit = sourceCommit; self.createdAt = createdAt
    }
}

/// A billing account; `budget_cents` nil means no allocation limit.
public struct Account: Codable, Sendable, Equatable {
    public var name: String
    public var currency: String
    public var budgetCents: Int64?
    public var description: String?
    // Filled in on read.
    public var usedCents: Int64?
    public var remainingCents: Int64?
    public var runs: Int?
    public var coreHours: String?

    public init(name: String, currency: String = "EUR", budgetCents: Int64? = nil, description: String? = nil) {
        self.name = name; self.currency = currency; self.budgetCents = budgetCents; self.description = description
    }

    public static func isValidName(_ s: String) -> Bool { RunRecord.isValidID(s) }
}

/// Price of a partition's resources over a validity window; prices in micro-units of the
/// currency (1 EUR = 1,000,000), so fractional-cent rates such as 0.015 EUR/core-hour are exact.
public struct Rate: Codable, Sendable, Equatable {
    public var id: Int64?
    /// Slurm partition, or `*` for any partition without its own rate.
    public var partition: String
    public var currency: String
    public var coreHourMicros: Int64
    public var nodeHourMicros: Int64
    public var validFrom: Date
    public var validTo: Date?

    public init(id: Int64? = nil, partition: String = "*", currency: String = "EUR", coreHourMicros: Int64,
                nodeHourMicros: Int64 = 0, validFrom: Date, validTo: Date? = nil) {
        self.id = id; self.partition = partition; self.currency = currency; self.coreHourMicros = coreHourMicros
        self.nodeHourMicros = nodeHourMicros; self.validFrom = validFrom; self.validTo = validTo
    }

    public func validate() throws {
        guard !partition.isEmpty, partition.utf8.count <= 100 else { throw CatalogError.invalid("'partition' must be 1–100 bytes") }
        guard Currency.isValid(currency) else { throw CatalogError.invalid("'currency' must be 3 capital letters") }
        guard coreHourMicros >= 0, nodeHourMicros >= 0, coreHourMicros <= 1_000_000_000_000, nodeHourMicros <= 1_000_000_000_000 else {
            throw CatalogError.invalid("prices must be between 0 and 1,000,000 per hour")
        }
        if let to = validTo, to <= validFrom { throw CatalogError.invalid("'valid_to' must be after 'valid_from'") }
    }
}

/// The charge of one terminal run: run × the rate valid when it started.
public struct Charge: Codable, Sendable, Equatable {
    public var runId: String
    public var rateId: Int64
    public var coreMs: Int64
    public var nodeMs: Int64
    public var amountCents: Int64
    public var currency: String
}

public struct InvoiceLine: Codable, Sendable, Equatable {
    public var app: String
    public var runs: Int
    public var coreHours: String
    public var coreMs: Int64
    public var amountCents: Int64
    public var currency: String
}

/// Per account and month (`period` = YYYY-MM, UTC). Drafts are computed on read; issuing
/// stores the lines, and later runs or rate changes never alter an issued invoice.
public struct Invoice: Codable, Sendable, Equatable {
    public var id: Int64?
    public var account: String
    public var period: String
    public var status: String  // draft | issued
    public var currency: String
    public var lines: [InvoiceLine]
    public var totalCents: Int64
    public var issuedAt: Date?
}

public enum Role: String, Codable, Sendable, CaseIterable {
    /// Everything, including keys, rates, accounts and invoices.
    case admin
    /// Records runs for its accounts and reads them.
    case recorder
    /// Reads its accounts' runs, usage and invoices.
    case reader
}

/// An API key as stored: only the SHA-256 of the secret is kept; the prefix identifies it.
public struct APIKey: Codable, Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var prefix: String
    public var role: Role
    /// Accounts the key may see (an admin key sees every account).
    public var accounts: [String]
    public var createdAt: Date
    public var revokedAt: Date?

    public var isAllAccounts: Bool { role == .admin }
    public func canAccess(account: String) -> Bool { isAllAccounts || accounts.contains(account) }
}

public struct AuditEntry: Codable, Sendable, Equatable {
    public var id: Int64
    public var at: Date
    public var actor: String
    public var action: String
    public var target: String
    public var detail: String?
}

/// A page of a list; pass `next_cursor` back as `cursor` for the following page.
public struct Page<T: Codable & Sendable>: Codable, Sendable {
    public var items: [T]
    public var nextCursor: String?
}

public struct RunFilter: Sendable, Equatable {
    public var accounts: [String]?   // nil: any account
    public var app: String?
    public var state: RunState?
    public var user: String?
    public var since: Date?
    public var until: Date?
    public var limit: Int = 50
    public var cursor: String?
    public init(accounts: [String]? = nil, app: String? = nil, state: RunState? = nil, user: String? = nil,
                since: Date? = nil, until: Date? = nil, limit: Int = 50, cursor: String? = nil) {
        self.accounts = accounts; self.app = app; self.state = state; self.user = user
        self.since = since; self.until = until; self.limit = limit; self.cursor = cursor
    }
}

public enum CatalogError: Error, CustomStringConvertible, Equatable, Sendable {
    case invalid(String)
    case notFound(String)
    case conflict(String)
    case unavailable(String)
    /// The caller may not touch this (e.g. a run of another account).
    case forbidden(String)

    public var description: String {
        switch self {
        case .invalid(let m), .notFound(let m), .conflict(let m), .unavailable(let m), .forbidden(let m): return m
        }
    }
}

public enum Currency {
    public static func isValid(_ s: String) -> Bool { s.utf8.count == 3 && s.utf8.allSatisfy { $0 >= 65 && $0 <= 90 } }
}
