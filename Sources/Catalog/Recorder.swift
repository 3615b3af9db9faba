import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where runs are recorded: `off`, a SQLite file, a PostgreSQL database, or a catalog server.
public enum CatalogTarget: Sendable, Equatable {
    case off
    case sqlite(path: String)
    case postgres(url: String)
    case http(url: URL)

    public static let defaultPath = "results/catalog.sqlite"

    /// `off`/`none`, an `http(s)://` URL, a `postgres(ql)://` URL, or a file path (`sqlite:` prefix optional).
    public static func parse(_ text: String) -> CatalogTarget {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.isEmpty || t == "off" || t == "none" { return .off }
        if t.hasPrefix("http://") || t.hasPrefix("https://"), let url = URL(string: t) { return .http(url: url) }
        if PostgresStore.isURL(t) { return .postgres(url: t) }
        if t.hasPrefix("sqlite:") { return .sqlite(path: String(t.dropFirst(7))) }
        return .sqlite(path: t)
    }
}

/// Delivers run records to the catalog; when it cannot, writes them to the spool folder
/// (one JSON file per run id, the latest record winning) for `qforge catalog sync` or the
/// next run. Delivery is an upsert by run id, so retries never duplicate a run.
public final class RunRecorder: @unchecked Sendable {
    public let target: CatalogTarget
    public let spoolDirectory: String
    let apiKey: String?
    let timeout: TimeInterval
    private var opened: SQLCatalogStore?
    public let actor: String

    public init(target: CatalogTarget, spoolDirectory: String, apiKey: String? = nil, timeout: TimeInterval = 3, actor: String = "engine") {
        self.target = target
        self.spoolDirectory = spoolDirectory
        self.apiKey = apiKey
        self.timeout = timeout
        self.actor = actor
    }

    /// The SQLite or PostgreSQL store (opened once), or nil for other targets.
    public func directStore() throws -> SQLCatalogStore? {
        if let opened { return opened }
        switch target {
        case .sqlite(let path): opened = try SQLiteStore(path: path, busyTimeout: 10)
        case .postgres(let url): opened = try PostgresStore(url: url)
        case .off, .http: return nil
        }
        return opened
    }

    /// Records `run`; returns nil when delivered, or why it was spooled.
    @discardableResult public func record(_ run: RunRecord) -> String? {
        do {
            try deliver(run)
            try? FileManager.default.removeItem(atPath: spoolPath(run.id))
            return nil
        } catch {
            do {
                try spool(run)
                return "catalog unreachable (\(error)); spooled to \(spoolPath(run.id))"
            } catch let spoolError {
                return "catalog unreachable (\(error)) and spool failed (\(spoolError)); run \(run.id) not recorded"
            }
        }
    }

    func deliver(_ run: RunRecord) throws {
        switch target {
        case .off: return
        case .sqlite, .postgres:
            guard let store = try directStore() else { return }
            try store.upsertRun(run, actor: actor)
        case .http(let url):
            let body = try CatalogJSON.encoder().encode(run)
            let (status, data) = try HTTPClient.send(method: "PUT", url: url.appendingPathComponent("api/v1/runs/\(run.id)"),
                                                     body: body, apiKey: apiKey, timeout: timeout)
            guard (200..<300).contains(status) else {
                throw DeliveryError(status: status, message: String(decoding: data.prefix(300), as: UTF8.self))
            }
        }
    }

    public struct DeliveryError: Error, CustomStringConvertible {
        public var status: Int
        public var message: String
        public var description: String { "HTTP \(status): \(message)" }
        /// 4xx other than 408/429: the catalog refuses the record; retrying will not help.
        public var isPermanent: Bool { (400..<500).contains(status) && status != 408 && status != 429 && status != 401 }
    }

    // MARK: Spool

    func spoolPath(_ id: String) -> String { (spoolDirectory as NSString).appendingPathComponent("\(id).json") }

    func spool(_ run: RunRecord) throws {
        try FileManager.default.createDirectory(atPath: spoolDirectory, withIntermediateDirectories: true)
        let data = try CatalogJSON.encoder(pretty: true).encode(run)
        let tmp = (spoolDirectory as NSString).appendingPathComponent(".\(run.id).\(UUID().uuidString).tmp")
        try data.write(to: URL(fileURLWithPath: tmp))
        if rename(tmp, spoolPath(run.id)) != 0 {
            try? FileManager.default.removeItem(atPath: tmp)
            throw CatalogError.unavailable("cannot write \(spoolPath(run.id))")
        }
    }

    /// Spooled run ids, oldest file first.
    public func spooled() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: spoolDirectory)) ?? []
        return names.filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.map { String($0.dropLast(5)) }.sorted()
    }

    public struct SyncReport: Sendable, Equatable {
        public var delivered = 0
        public var rejected = 0
        public var remaining = 0
        public var lastError: String?
    }

    /// Delivers up to `limit` spooled records; stops at the first connection failure (the
    /// catalog is still down). Records the catalog refuses move to `rejected/`.
    public func sync(limit: Int = .max) -> SyncReport {
        var report = SyncReport()
        let ids = spooled()
        for (i, id) in ids.enumerated() {
            if i >= limit { report.remaining = ids.count - i; break }
            let path = spoolPath(id)
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            do {
                let run = try CatalogJSON.decoder().decode(RunRecord.self, from: data)
                try deliver(run)
                try? FileManager.default.removeItem(atPath: path)
                report.delivered += 1
            } catch let e as DeliveryError where e.isPermanent {
                reject(path, id: id)
                report.rejected += 1
                report.lastError = e.description
            } catch is DecodingError {
                reject(path, id: id)
                report.rejected += 1
                report.lastError = "\(id): not a run record"
            } catch let e as CatalogError {
                if case .invalid = e { reject(path, id: id); report.rejected += 1; report.lastError = e.description; continue }
                report.lastError = e.description
                report.remaining = ids.count - i
                break
            } catch {
                report.lastError = String(describing: error)
                report.remaining = ids.count - i
                break
            }
        }
        return report
    }

    private func reject(_ path: String, id: String) {
        let dir = (spoolDirectory as NSString).appendingPathComponent("rejected")
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = rename(path, (dir as NSString).appendingPathComponent("\(id).json"))
    }

    // MARK: Budgets

    /// What a budget check knows: the account with its usage, the rate now, and — when the
    /// catalog could not be reached — when that was last seen.
    public struct BudgetView: Sendable {
        public var account: Account?
        public var rate: Rate?
        public var lastSeen: Date?
    }

    struct BudgetSnapshot: Codable { var account: Account?; var rate: Rate?; var at: Date }

    func budgetPath(_ account: String) -> String {
        (spoolDirectory as NSString).appendingPathComponent("budget/\(account).json")
    }

    /// The budget from the catalog, remembered under the spool; when the catalog cannot be
    /// reached, the last one seen, with the cost of runs still waiting in the spool added to its
    /// usage (at the remembered rate) so that runs made while it is down still count.
    public func budget(account: String, partition: String?) throws -> BudgetView {
        do {
            let (acct, rate) = try budgetInfo(account: account, partition: partition)
            if let data = try? CatalogJSON.encoder().encode(BudgetSnapshot(account: acct, rate: rate, at: Date())) {
                try? FileManager.default.createDirectory(atPath: (budgetPath(account) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try? data.write(to: URL(fileURLWithPath: budgetPath(account)), options: .atomic)
            }
            return BudgetView(account: acct, rate: rate, lastSeen: nil)
        } catch {
            guard let data = FileManager.default.contents(atPath: budgetPath(account)),
                  let snapshot = try? CatalogJSON.decoder().decode(BudgetSnapshot.self, from: data) else { throw error }
            var acct = snapshot.account
            if var a = acct, let rate = snapshot.rate {
                let decoder = CatalogJSON.decoder()
                let pending = spooled().compactMap { id -> RunRecord? in
                    guard let d = FileManager.default.contents(atPath: spoolPath(id)) else { return nil }
                    return try? decoder.decode(RunRecord.self, from: d)
                }.filter { $0.account == account && $0.startedAt >= snapshot.at && $0.elapsedMs != nil }
                a.usedCents = (a.usedCents ?? 0) + pending.reduce(0) { $0 + Cost.cents(coreMs: $1.coreMs, nodeMs: $1.nodeMs, rate: rate) }
                a.remainingCents = a.budgetCents.map { $0 - a.usedCents! }
                acct = a
            }
            return BudgetView(account: acct, rate: snapshot.rate, lastSeen: snapshot.at)
        }
    }

    /// The account (with usage) and the rate for `partition` now, from whichever catalog this is.
    public func budgetInfo(account: String, partition: String?) throws -> (Account?, Rate?) {
        switch target {
        case .off: return (nil, nil)
        case .sqlite, .postgres:
            let store = try directStore()!
            return (try store.account(account), try store.rate(partition: partition, at: Date()))
        case .http(let url):
            let decoder = CatalogJSON.decoder()
            let (s1, d1) = try HTTPClient.send(method: "GET", url: url.appendingPathComponent("api/v1/accounts/\(account)"), body: nil, apiKey: apiKey, timeout: timeout)
            let acct = s1 == 200 ? try decoder.decode(Account.self, from: d1) : nil
            let (s2, d2) = try HTTPClient.send(method: "GET", url: url.appendingPathComponent("api/v1/rates"), body: nil, apiKey: apiKey, timeout: timeout)
            struct Items: Decodable { var items: [Rate] }
            let rates = s2 == 200 ? try decoder.decode(Items.self, from: d2).items : []
            return (acct, Rate.pick(from: rates, partition: partition, at: Date()))
        }
    }
}

extension Rate {
    /// The same choice as the stores make: the partition's own rate valid at `at`, else `*`;
    /// the latest `valid_from` wins.
    public static func pick(from rates: [Rate], partition: String?, at: Date) -> Rate? {
        let valid = rates.filter { $0.validFrom <= at && ($0.validTo.map { at < $0 } ?? true) }
        let own = valid.filter { $0.partition == (partition ?? "*") }
        let pool = own.isEmpty ? valid.filter { $0.partition == "*" } : own
        return pool.max { ($0.validFrom, $0.id ?? 0) < ($1.validFrom, $1.id ?? 0) }
    }
}

/// A minimal blocking HTTP client for the engine's few calls (URLSession underneath).
enum HTTPClient {
    final class Box: @unchecked Sendable {
        var status = 0
        var data = Data()
        var error: Error?
    }

    static func send(method: String, url: URL, body: Data?, apiKey: String?, timeout: TimeInterval) throws -> (Int, Data) {
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = method
        request.httpBody = body
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        if let apiKey { request.setValue("Bearer \(apiKey)", forHTTPHeaderField: "Authorization") }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = timeout
        config.timeoutIntervalForResource = timeout
        let session = URLSession(configuration: config)
        let task = session.dataTask(with: request) { data, response, error in
            box.error = error
            box.data = data ?? Data()
            box.status = (response as? HTTPURLResponse)?.statusCode ?? 0
            done.signal()
        }
        task.resume()
        if done.wait(timeout: .now() + timeout + 1) == .timedOut {
            task.cancel()
            session.invalidateAndCancel()
            throw CatalogError.unavailable("no answer from \(url.host ?? "catalog") within \(Int(timeout)) s")
        }
        session.finishTasksAndInvalidate()
        if let error = box.error { throw CatalogError.unavailable(error.localizedDescription) }
        return (box.status, box.data)
    }
}
