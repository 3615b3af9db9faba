import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix

/// Per-request context: the authenticated API key, set by `AuthMiddleware`.
public struct CatalogContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var key: APIKey?
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        key = nil
    }
    /// Largest request body accepted (413 above): a run record is well under 8 KiB.
    public var maxUploadSize: Int { 64 * 1024 }
}

/// The catalog's HTTP/JSON API over any `CatalogStore`: `/api/v1/…`, `/healthz`, `/metrics`,
/// `/openapi.yaml`. Build the router with `CatalogService.router(store:)`; tests drive it
/// with `app.test(.router)`.
public enum CatalogService {
    public static func router(store: any CatalogStore, metrics: ServiceMetrics = ServiceMetrics()) -> Router<CatalogContext> {
        let router = Router(context: CatalogContext.self)
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: ErrorMiddleware())
        let io = StoreExecutor()
        let runCache = RunCache()
        let commits = GroupCommit(store: store, cache: runCache)
        let keyCache = KeyCache()
        router.add(middleware: AuthMiddleware(store: store, cache: keyCache, io: io))

        router.get("/healthz") { _, _ -> Response in
            do {
                try await io.run { try store.ping() }
                return text("{\"status\":\"ok\"}\n", type: "application/json")
            } catch {
                return text("{\"status\":\"unavailable\"}\n", type: "application/json", status: .serviceUnavailable)
            }
        }
        router.get("/metrics") { _, _ -> Response in
            text(metrics.prometheus(runCounts: (try? await io.run { try store.runCounts() }) ?? [:]), type: "text/plain; version=0.0.4")
        }
        router.get("/openapi.yaml") { _, _ -> Response in
            text(OpenAPISpec.yaml, type: "application/yaml")
        }

        let api = router.group("api/v1")
        api.get("me") { _, ctx -> Response in try json(ctx.requireKey()) }

        // Runs
        api.get("runs") { req, ctx -> Response in
            let key = try ctx.requireKey()
            let q = req.uri.queryParameters
            var filter = RunFilter()
            if let account = q.get("account") {
                guard key.canAccess(account: account) else { throw HTTPError(.forbidden, message: "this key cannot read account '\(account)'") }
                filter.accounts = [account]
            } else if !key.isAllAccounts {
                filter.accounts = key.accounts
            }
            filter.app = q.get("app")
            if let s = q.get("state") {
                guard let state = RunState(rawValue: s) else { throw HTTPError(.badRequest, message: "'state' must be one of \(RunState.allCases.map(\.rawValue).joined(separator: ", "))") }
                filter.state = state
            }
            filter.user = q.get("user")
            filter.since = try time(q.get("since"), "since")
            filter.until = try time(q.get("until"), "until")
            if let l = q.get("limit") {
                guard let limit = Int(l), (1...1000).contains(limit) else { throw HTTPError(.badRequest, message: "'limit' must be 1–1000") }
                filter.limit = limit
            }
            filter.cursor = q.get("cursor")
            let page = try await io.run { [filter] in try store.runs(filter) }
            return bytes(RunJSON.encode(page))
        }
        api.get("runs/:id") { _, ctx -> Response in
            let key = try ctx.requireKey()
            let id = try ctx.parameters.require("id")
            func notFound() -> HTTPError { HTTPError(.notFound, message: "no run '\(id.prefix(64))'") }
            if let hit = runCache.entry(for: id) {
                guard key.canAccess(account: hit.account) else { throw notFound() }
                return Response(status: .ok, headers: jsonHeaders, body: .init(byteBuffer: hit.body))
            }
            let generation = runCache.currentGeneration
            guard let run = try await io.run({ try store.run(id: id) }) else { throw notFound() }
            let body = ByteBuffer(bytes: RunJSON.encode(run))
            runCache.insert(run, body: body, readGeneration: generation)
            guard key.canAccess(account: run.account) else { throw notFound() }
            return Response(status: .ok, headers: jsonHeaders, body: .init(byteBuffer: body))
        }
        @Sendable func record(_ req: Request, _ ctx: CatalogContext, pathID: String?) async throws -> Response {
            let key = try ctx.requireKey()
            guard key.role != .reader else { throw HTTPError(.forbidden, message: "a reader key cannot record runs") }
            let buffer = try await req.body.collect(upTo: ctx.maxUploadSize)
            var run = try buffer.withUnsafeReadableBytes(RunJSON.decodeRun) ?? decode(RunRecord.self, buffer)
            if let pathID {
                guard run.id == pathID else { throw HTTPError(.badRequest, message: "run id in the body differs from the path") }
            }
            run.coreHours = nil; run.costCents = nil; run.currency = nil
            // The account checks run inside the commit, against the row as it is then.
            let stored = try await commits.record(RunUpsert(run: run, actor: "key:\(key.prefix)", accounts: key.isAllAccounts ? nil : key.accounts))
            return bytes(RunJSON.encode(stored))
        }
        api.post("runs") { req, ctx in try await record(req, ctx, pathID: nil) }
        api.put("runs/:id") { req, ctx in try await record(req, ctx, pathID: try ctx.parameters.require("id")) }

        // Apps
        api.get("apps") { _, ctx -> Response in
            _ = try ctx.requireKey()
            return try json(["items": await io.run { try store.apps() }])
        }
        api.post("apps") { req, ctx -> Response in
            let key = try ctx.requireRole(.admin)
            let body = try await decode(AppInput.self, req, ctx)
            let app = try await io.run {
                try store.addApp(name: body.name, kind: body.kind, version: body.version, sourceCommit: body.sourceCommit, actor: "key:\(key.prefix)")
                return try store.apps().first(where: { $0.name == body.name })
            }
            guard let app else { throw HTTPError(.notFound) }
            return try json(app, status: .created)
        }

        // Accounts, usage and invoices
        api.get("accounts") { _, ctx -> Response in
            let key = try ctx.requireKey()
            return try json(["items": await io.run { try store.accounts(names: key.isAllAccounts ? nil : key.accounts) }])
        }
        api.get("accounts/:name") { _, ctx -> Response in
            let key = try ctx.requireKey()
            let name = try ctx.parameters.require("name")
            guard key.canAccess(account: name), let account = try await io.run({ try store.account(name) }) else { throw HTTPError(.notFound, message: "no account '\(name.prefix(64))'") }
            return try json(account)
        }
        api.put("accounts/:name") { req, ctx -> Response in
            let key = try ctx.requireRole(.admin)
            let body = try await decode(AccountInput.self, req, ctx)
            let account = Account(name: try ctx.parameters.require("name"), currency: body.currency ?? "EUR",
                                  budgetCents: body.budgetCents, description: body.description)
            return try json(await io.run { try store.putAccount(account, actor: "key:\(key.prefix)") })
        }
        api.get("accounts/:name/invoices/:period") { req, ctx -> Response in
            let key = try ctx.requireKey()
            let name = try ctx.parameters.require("name")
            guard key.canAccess(account: name) else { throw HTTPError(.notFound, message: "no account '\(name.prefix(64))'") }
            let period = try ctx.parameters.require("period")
            let invoice = try await io.run { try store.invoice(account: name, period: period) }
            if req.uri.queryParameters.get("format") == "csv" { return text(InvoiceFormat.csv(invoice), type: "text/csv") }
            return try json(invoice)
        }
        api.post("accounts/:name/invoices/:period/issue") { _, ctx -> Response in
            let key = try ctx.requireRole(.admin)
            let name = try ctx.parameters.require("name"), period = try ctx.parameters.require("period")
            let invoice = try await io.run { try store.issueInvoice(account: name, period: period, actor: "key:\(key.prefix)") }
            return try json(invoice)
        }

        // Rates
        api.get("rates") { _, ctx -> Response in
            _ = try ctx.requireKey()
            return try json(["items": await io.run { try store.rates() }])
        }
        api.post("rates") { req, ctx -> Response in
            let key = try ctx.requireRole(.admin)
            var rate = try await decode(Rate.self, req, ctx)
            rate.id = nil
            return try json(await io.run { [rate] in try store.addRate(rate, actor: "key:\(key.prefix)") }, status: .created)
        }

        // Keys and audit
        api.get("keys") { _, ctx -> Response in
            _ = try ctx.requireRole(.admin)
            return try json(["items": await io.run { try store.keys() }])
        }
        api.post("keys") { req, ctx -> Response in
            let key = try ctx.requireRole(.admin)
            let body = try await decode(KeyInput.self, req, ctx)
            let (created, token) = try await io.run { try store.createKey(name: body.name, role: body.role, accounts: body.accounts ?? [], actor: "key:\(key.prefix)") }
            return try json(CreatedKey(key: created, token: token), status: .created)
        }
        api.delete("keys/:id") { _, ctx -> Response in
            let key = try ctx.requireRole(.admin)
            guard let id = Int64(try ctx.parameters.require("id")) else { throw HTTPError(.notFound, message: "no such key") }
            let revoked = try await io.run { try store.revokeKey(id: id, actor: "key:\(key.prefix)") }
            keyCache.removeAll()
            return try json(revoked)
        }
        api.get("audit") { req, ctx -> Response in
            _ = try ctx.requireRole(.admin)
            let q = req.uri.queryParameters
            guard let limit = Int(q.get("limit") ?? "100"), (1...1000).contains(limit) else { throw HTTPError(.badRequest, message: "'limit' must be 1–1000") }
            guard let after = Int64(q.get("after") ?? "0") else { throw HTTPError(.badRequest, message: "'after' must be an integer") }
            let items = try await io.run { try store.audit(limit: limit, after: after) }
            return try json(AuditPage(items: items, nextAfter: items.count == limit ? items.last?.id : nil))
        }
        return router
    }

    // MARK: Bodies

    struct AppInput: Decodable { var name: String; var kind: String; var version: String?; var sourceCommit: String? }
    struct AccountInput: Decodable { var currency: String?; var budgetCents: Int64?; var description: String? }
    struct KeyInput: Decodable { var name: String; var role: Role; var accounts: [String]? }
    struct CreatedKey: Encodable { var key: APIKey; var token: String }
    struct AuditPage: Encodable { var items: [AuditEntry]; var nextAfter: Int64? }

    static let encoder = CatalogJSON.encoder()
    static let decoder = CatalogJSON.decoder()

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Pre-encoded JSON (`RunJSON`).
    static func bytes(_ body: [UInt8]) -> Response {
        Response(status: .ok, headers: jsonHeaders, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
    static let jsonHeaders: HTTPFields = [.contentType: "application/json"]

    static func text(_ s: String, type: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: s)))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ req: Request, _ ctx: CatalogContext) async throws -> T {
        try decode(type, try await req.body.collect(upTo: ctx.maxUploadSize))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer) throws -> T {
        do {
            return try decoder.decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw HTTPError(.badRequest, message: CatalogJSON.describe(error))
        }
    }

    static func time(_ text: String?, _ name: String) throws -> Date? {
        guard let text else { return nil }
        guard let date = Timestamp.parse(text) else { throw HTTPError(.badRequest, message: "'\(name)' must be an ISO-8601 time") }
        return date
    }
}

extension CatalogContext {
    func requireKey() throws -> APIKey {
        guard let key else { throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "an API key is required") }
        return key
    }

    func requireRole(_ role: Role) throws -> APIKey {
        let key = try requireKey()
        guard key.role == role || key.role == .admin else { throw HTTPError(.forbidden, message: "this needs an \(role.rawValue) key") }
        return key
    }
}

/// Reads `Authorization: Bearer <token>` (or `X-API-Key`); the key's own routes decide what it
/// may do. Health, metrics and the spec are public.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = CatalogContext

    /// Spaces and tabs off both ends, on UTF-8 bytes: Foundation's trimmingCharacters bridges
    /// through NSString and was 3 % of a GET.
    static func trimmed(_ s: String) -> String {
        let u = s.utf8
        guard let first = u.firstIndex(where: { $0 != 32 && $0 != 9 }), let last = u.lastIndex(where: { $0 != 32 && $0 != 9 }) else { return "" }
        return String(Substring(u[first...last]))
    }

    static let publicPaths: Set<String> = ["/healthz", "/metrics", "/openapi.yaml"]

    let store: any CatalogStore
    let cache: KeyCache
    let io: StoreExecutor
    func handle(_ request: Request, context: CatalogContext, next: (Request, CatalogContext) async throws -> Response) async throws -> Response {
        // Probes and scrapers never depend on a key: a wrong one must not turn them into 401s.
        if Self.publicPaths.contains(request.uri.path) { return try await next(request, context) }
        var context = context
        let header = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
            ?? request.headers[HTTPField.Name("X-API-Key")!]
        if let token = header.map(Self.trimmed) {
            var key = cache.key(for: token)
            if key == nil, let found = try await io.run({ try store.authenticate(token: token) }) {
                cache.remember(found, for: token)
                key = found
            }
            guard let key else {
                throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "invalid or revoked API key")
            }
            context.key = key
        }
        return try await next(request, context)
    }
}

/// Maps store errors to statuses: invalid → 400, unknown → 404, conflict → 409. Anything else
/// is a server fault (500), logged without the request body.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = CatalogContext
    func handle(_ request: Request, context: CatalogContext, next: (Request, CatalogContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as CatalogError {
            switch e {
            case .invalid(let m): throw HTTPError(.badRequest, message: m)
            case .notFound(let m): throw HTTPError(.notFound, message: m)
            case .conflict(let m): throw HTTPError(.conflict, message: m)
            case .unavailable(let m): throw HTTPError(.serviceUnavailable, message: m)
            case .forbidden(let m): throw HTTPError(.forbidden, message: m)
            }
        } catch let e as HTTPResponseError {
            throw e
        } catch {
            context.logger.error("catalog request failed: \(error)")
            throw HTTPError(.internalServerError, message: "internal error")
        }
    }
}

/// Request counters and latency histogram for `/metrics` (Prometheus text format 0.0.4).
public final class ServiceMetrics: @unchecked Sendable {
    private let lock = NSLock()
    private struct Labels: Hashable { var method: String; var status: Int }
    private var requests: [Labels: Int] = [:]
    private var buckets = [Int](repeating: 0, count: ServiceMetrics.bounds.count)
    private var count = 0
    private var sum = 0.0
    static let bounds: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]

    public init() {}

    func observe(method: String, status: Int, seconds: Double) {
        lock.lock(); defer { lock.unlock() }
        requests[Labels(method: method, status: status), default: 0] += 1
        count += 1
        sum += seconds
        for (i, b) in Self.bounds.enumerated() where seconds <= b { buckets[i] += 1 }
    }

    public func prometheus(runCounts: [RunState: Int]) -> String {
        lock.lock(); defer { lock.unlock() }
        var out = "# HELP qforge_catalog_http_requests_total HTTP requests served, by method and status.\n# TYPE qforge_catalog_http_requests_total counter\n"
        for (labels, n) in requests.sorted(by: { ($0.key.method, $0.key.status) < ($1.key.method, $1.key.status) }) {
            out += "qforge_catalog_http_requests_total{method=\"\(labels.method)\",status=\"\(labels.status)\"} \(n)\n"
        }
        out += "# HELP qforge_catalog_http_request_duration_seconds Time to answer a request.\n# TYPE qforge_catalog_http_request_duration_seconds histogram\n"
        for (i, b) in Self.bounds.enumerated() { out += "qforge_catalog_http_request_duration_seconds_bucket{le=\"\(b)\"} \(buckets[i])\n" }
        out += "qforge_catalog_http_request_duration_seconds_bucket{le=\"+Inf\"} \(count)\n"
        out += "qforge_catalog_http_request_duration_seconds_sum \(sum)\nqforge_catalog_http_request_duration_seconds_count \(count)\n"
        out += "# HELP qforge_catalog_runs Runs in the catalog, by state.\n# TYPE qforge_catalog_runs gauge\n"
        for s in RunState.allCases { out += "qforge_catalog_runs{state=\"\(s.rawValue)\"} \(runCounts[s] ?? 0)\n" }
        return out
    }
}

struct MetricsMiddleware: RouterMiddleware {
    typealias Context = CatalogContext
    let metrics: ServiceMetrics
    func handle(_ request: Request, context: CatalogContext, next: (Request, CatalogContext) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        func seconds() -> Double { let d = ContinuousClock.now - start; return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
        do {
            let response = try await next(request, context)
            metrics.observe(method: request.method.rawValue, status: response.status.code, seconds: seconds())
            return response
        } catch let e as HTTPResponseError {
            metrics.observe(method: request.method.rawValue, status: e.status.code, seconds: seconds())
            throw e
        } catch {
            metrics.observe(method: request.method.rawValue, status: 500, seconds: seconds())
            throw error
        }
    }
}

public enum InvoiceFormat {
    /// One row per line plus a total row; amounts as decimal text ("12.34").
    public static func csv(_ invoice: Invoice) -> String {
        var out = CSV.line(["account", "period", "status", "app", "runs", "core_hours", "amount", "currency"])
        for l in invoice.lines {
            out += CSV.line([invoice.account, invoice.period, invoice.status, l.app, String(l.runs), l.coreHours, Money.format(cents: l.amountCents), l.currency])
        }
        out += CSV.line([invoice.account, invoice.period, invoice.status, "TOTAL", String(invoice.lines.reduce(0) { $0 + $1.runs }),
                         Cost.hours(ms: invoice.lines.reduce(0) { $0 + $1.coreMs }), Money.format(cents: invoice.totalCents), invoice.currency])
        return out
    }
}

extension CatalogService {
    /// Makes the HTTP event loops Swift Concurrency's executor, so a request's task runs on the
    /// loop that reads its socket instead of hopping to another thread pool and back (about
    /// twice the requests per second). Call once, from the main thread, before any task starts;
    /// store calls still leave the loops (`StoreExecutor`).
    public static func runTasksOnEventLoops() {
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
    }

    /// Serves the API until SIGINT/SIGTERM (graceful shutdown). `onStart` gets the bound port.
    public static func serve(store: any CatalogStore, host: String, port: Int, onStart: @escaping @Sendable (Int) -> Void) async throws {
        var logger = Logger(label: "qforge.catalog")
        logger.logLevel = .warning
        let app = Application(
            router: router(store: store),
            configuration: .init(address: .hostname(host, port: port), serverName: "qforge-catalog"),
            onServerRunning: { channel in onStart(channel.localAddress?.port ?? port) },
            logger: logger)
        try await app.runService()
    }
}

/// Remembers verified keys for one second, so a busy client costs one SHA-256 and one store
/// read per second rather than per request. A revocation through this server clears it at
/// once; one made elsewhere (CLI, another server) takes effect within the second.
final class KeyCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: (key: APIKey, until: UInt64)] = [:]
    static let ttlNanoseconds: UInt64 = 1_000_000_000

    /// The key verified for this token within the last second, if any.
    func key(for token: String) -> APIKey? {
        let now = DispatchTime.now().uptimeNanoseconds
        lock.lock(); defer { lock.unlock() }
        guard let hit = entries[token], hit.until > now else { return nil }
        return hit.key
    }

    func remember(_ key: APIKey, for token: String) {
        lock.lock(); defer { lock.unlock() }
        if entries.count > 1000 { entries.removeAll() }
        entries[token] = (key, DispatchTime.now().uptimeNanoseconds + Self.ttlNanoseconds)
    }

    func removeAll() { lock.lock(); entries.removeAll(); lock.unlock() }
}
