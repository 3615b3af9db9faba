import Foundation

/// What the engine, the CLI and the HTTP service need from a catalog. Implemented by
/// `SQLiteStore` (a file, or in memory for tests) and, for sites, a PostgreSQL store with the
/// same schema. Every mutating call takes the `actor` written to the append-only audit log.
public protocol CatalogStore: AnyObject, Sendable {
    /// Inserts or updates each run by id (idempotent) in one transaction — the HTTP service's
    /// group commit; each item succeeds or fails on its own. A late `running` record never
    /// overwrites a terminal one. Terminal runs are charged at the rate valid at their start.
    func upsertRuns(_ batch: [RunUpsert]) throws -> [Result<RunRecord, CatalogError>]
    func run(id: String) throws -> RunRecord?
    func runs(_ filter: RunFilter) throws -> Page<RunRecord>

    func apps() throws -> [AppRecord]
    func addApp(name: String, kind: String, version: String?, sourceCommit: String?, actor: String) throws

    func accounts(names: [String]?) throws -> [Account]
    func putAccount(_ account: Account, actor: String) throws -> Account

    func rates() throws -> [Rate]
    func addRate(_ rate: Rate, actor: String) throws -> Rate
    /// The rate charged for a run on `partition` starting at `at` (own partition first, then `*`).
    func rate(partition: String?, at: Date) throws -> Rate?

    /// The issued invoice, or a draft computed from the charges of that month.
    func invoice(account: String, period: String) throws -> Invoice
    /// Freezes the invoice's lines; issuing twice returns the first issue unchanged.
    func issueInvoice(account: String, period: String, actor: String) throws -> Invoice

    /// Returns the key and its secret token, which is not stored and cannot be shown again.
    func createKey(name: String, role: Role, accounts: [String], actor: String) throws -> (APIKey, String)
    func keys() throws -> [APIKey]
    func revokeKey(id: Int64, actor: String) throws -> APIKey
    /// The live (not revoked) key whose token this is.
    func authenticate(token: String) throws -> APIKey?

    func audit(limit: Int, after: Int64?) throws -> [AuditEntry]
    /// Number of runs per state, for /metrics.
    func runCounts() throws -> [RunState: Int]
    func ping() throws
}

/// One run to record, by whom, and (for an API key) the accounts whose runs it may overwrite.
public struct RunUpsert: Sendable {
    public var run: RunRecord
    public var actor: String
    /// nil: any account; else the run, and any run already stored under its id, must be in these.
    public var accounts: [String]?
    public init(run: RunRecord, actor: String, accounts: [String]? = nil) {
        self.run = run; self.actor = actor; self.accounts = accounts
    }
}

extension CatalogStore {
    /// Records one run (see `upsertRuns`) and returns it as stored, with its charge.
    @discardableResult public func upsertRun(_ run: RunRecord, actor: String) throws -> RunRecord {
        try upsertRuns([RunUpsert(run: run, actor: actor)])[0].get()
    }

    public func account(_ name: String) throws -> Account? { try accounts(names: [name]).first }

    /// Estimated cost in cents of `ranks × threads` cores and `nodes` nodes for `seconds` on `partition`.
    public func estimate(partition: String?, nodes: Int, cores: Int, seconds: Int64, at: Date = Date()) throws -> (cents: Int64, currency: String)? {
        guard let rate = try rate(partition: partition, at: at) else { return nil }
        let ms = seconds * 1000
        return (Cost.cents(coreMs: Int64(cores) * ms, nodeMs: Int64(nodes) * ms, rate: rate), rate.currency)
    }
}

/// API key tokens: `qfk_<prefix>_<secret>`; only SHA-256(token) is stored, the prefix is shown.
public enum KeyToken {
    public static func make() -> (prefix: String, token: String) {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")
        let prefix = String((0..<8).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
        let secret = (0..<4).map { _ in String(rng.next(), radix: 16) }.map { String(repeating: "0", count: 16 - $0.count) + $0 }.joined()
        return (prefix, "qfk_\(prefix)_\(secret)")
    }

    public static func prefix(of token: String) -> String? {
        let parts = token.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "qfk", parts[1].count == 8, parts[2].count == 64,
              token.utf8.allSatisfy({ $0 > 32 && $0 < 128 }) else { return nil }
        return String(parts[1])
    }

    public static func hash(_ token: String) -> String { SHA256Hex.of(Array(token.utf8)) }

    /// Compares two hex digests in time independent of where they differ.
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}
