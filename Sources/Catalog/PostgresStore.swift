import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// The catalog in PostgreSQL, for a site deployment: the same schema (`Schema.migrations(.postgres)`)
/// and the same `SQLCatalogStore` logic as the SQLite store, through postgres-nio.
///
///     postgres://user[:password]@host[:port]/database[?sslmode=disable|prefer|require][&search_path=schema]
///
/// The password may also come from `$PGPASSWORD`. Calls block their thread (the HTTP service
/// makes them off its event loops); a small pool of connections serves concurrent callers.
public final class PostgresStore: SQLCatalogStore, @unchecked Sendable {
    public let url: String
    let connections: PostgresConnections

    public init(url: String, maxConnections: Int = 8, defaultCurrency: String = "EUR") throws {
        let configuration = try PostgresURL.configuration(url)
        connections = PostgresConnections(configuration: configuration, limit: maxConnections)
        self.url = url
        super.init(database: PostgresDatabaseDriver(connections), defaultCurrency: defaultCurrency)
        try migrate()
    }

    static func isURL(_ text: String) -> Bool { text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") }

    /// Applies missing migrations in one transaction, serialised across processes by an
    /// advisory lock; PostgreSQL's DDL is transactional, so a failed step leaves nothing behind.
    func migrate() throws {
        try database.write { s in
            try s.execute("SELECT pg_advisory_xact_lock(72051226)", [SQLValue]())
            try s.execute("CREATE TABLE IF NOT EXISTS qforge_migrations (identifier TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)", [SQLValue]())
            let applied = Set(try s.query("SELECT identifier FROM qforge_migrations", [SQLValue]()).map { $0.requiredText("identifier") })
            for (id, statements) in Schema.migrations(.postgres) where !applied.contains(id) {
                for sql in statements { try s.execute(sql, [SQLValue]()) }
                try s.execute("INSERT INTO qforge_migrations (identifier, applied_at) VALUES (?, ?)", id, Timestamp.ms(Date()))
            }
        }
    }

    /// Applied migration identifiers, oldest first.
    public func appliedMigrations() throws -> [String] {
        try database.read { try $0.query("SELECT identifier FROM qforge_migrations ORDER BY applied_at, identifier", [SQLValue]()).map { $0.requiredText("identifier") } }
    }
}

/// Catalog locations as safe to print: a URL's password replaced by `***`.
public enum CatalogDisplay {
    public static func redacted(_ location: String) -> String {
        guard PostgresStore.isURL(location), var parts = URLComponents(string: location), parts.password != nil else { return location }
        parts.password = "***"
        return parts.string ?? location
    }
}

enum PostgresURL {
    static func configuration(_ text: String) throws -> PostgresConnection.Configuration {
        func bad(_ why: String) -> CatalogError { .invalid("bad PostgreSQL URL (\(why)); expected postgres://user[:password]@host[:port]/database") }
        guard PostgresStore.isURL(text), let parts = URLComponents(string: text) else { throw bad("not a postgres:// URL") }
        guard let host = parts.host, !host.isEmpty else { throw bad("no host") }
        guard let user = parts.user, !user.isEmpty else { throw bad("no user") }
        let database = String(parts.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw bad("no database") }
        let query = Dictionary((parts.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        let tls: PostgresConnection.Configuration.TLS
        switch query["sslmode"] ?? "disable" {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case "require", "verify-full": tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case let mode: throw bad("sslmode '\(mode)' is not one of disable, prefer, require")
        }
        var config = PostgresConnection.Configuration(
            host: host, port: parts.port ?? 5432, username: user,
            password: parts.password ?? ProcessInfo.processInfo.environment["PGPASSWORD"], database: database, tls: tls)
        config.options.connectTimeout = .seconds(5)
        if let schema = query["search_path"] {
            guard !schema.isEmpty, schema.utf8.allSatisfy({ $0 == 95 || $0 == 44 || ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) }) else {
                throw bad("search_path must be lower-case schema names")
            }
            config.options.additionalStartupParameters = [("search_path", schema)]
        }
        return config
    }
}

/// A few PostgreSQL connections, each used by one caller at a time; broken ones are dropped
/// and replaced on the next call.
final class PostgresConnections: @unchecked Sendable {
    let configuration: PostgresConnection.Configuration
    let logger: Logger
    private let lock = NSLock()
    private var idle: [PostgresConnection] = []
    private let slots: DispatchSemaphore
    private var nextID = 0

    init(configuration: PostgresConnection.Configuration, limit: Int) {
        self.configuration = configuration
        var logger = Logger(label: "qforge.catalog.postgres")
        logger.logLevel = .critical
        self.logger = logger
        slots = DispatchSemaphore(value: max(1, limit))
    }

    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        slots.wait()
        defer { slots.signal() }
        lock.lock()
        var connection = idle.popLast()
        nextID += 1
        let id = nextID
        lock.unlock()
        if connection == nil {
            let configuration = self.configuration, logger = self.logger
            do {
                connection = try PostgresConnection.connect(on: PostgresConnection.defaultEventLoopGroup.any(), configuration: configuration,
                                                            id: id, logger: logger).wait()
            } catch {
                throw CatalogError.unavailable("cannot connect to PostgreSQL: \(PostgresErrorText.describe(error))")
            }
        }
        let conn = connection!
        defer {
            if !conn.isClosed { lock.lock(); idle.append(conn); lock.unlock() }
        }
        return try body(conn)
    }

    /// postgres-nio requires a connection closed before it is freed: each close's callback
    /// holds its connection until then.
    deinit { for c in idle { c.close().whenComplete { _ in _ = c } } }
}

enum PostgresErrorText {
    /// PSQLError hides the server's message from `description`; the catalog wants it (it never
    /// holds a secret: statements carry values as bind parameters).
    static func describe(_ error: Error) -> String {
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] { return message }
            return "\(e.code)"
        }
        return String(describing: error)
    }
}

/// `SQLDatabase` over the pool: a write is BEGIN … COMMIT on one connection; a read runs in a
/// REPEATABLE READ READ ONLY transaction so its statements see one snapshot, as SQLite's do.
final class PostgresDatabaseDriver: SQLDatabase, @unchecked Sendable {
    let connections: PostgresConnections
    init(_ connections: PostgresConnections) { self.connections = connections }

    func read<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    func write<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try transaction(begin: "BEGIN", body)
    }

    func query(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        try connections.withConnection { try Session(connection: $0, logger: connections.logger).query(sql, arguments) }
    }

    private func transaction<T>(begin: String, _ body: (any SQLSession) throws -> T) throws -> T {
        try connections.withConnection { conn in
            let session = Session(connection: conn, logger: connections.logger)
            try session.execute(begin, [])
            do {
                let result = try body(session)
                try session.execute("COMMIT", [])
                return result
            } catch {
                if !conn.isClosed { try? session.execute("ROLLBACK", []) }
                throw error
            }
        }
    }

    struct Session: SQLSession {
        let connection: PostgresConnection
        let logger: Logger

        func execute(_ sql: String, _ arguments: [SQLValue]) throws { _ = try query(sql, arguments) }

        func query(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
            var binds = PostgresBindings(capacity: arguments.count)
            for a in arguments {
                switch a {
                case .null: binds.appendNull()
                case .int(let v): binds.append(v)
                case .text(let s): binds.append(s)
                }
            }
            let query = PostgresQuery(unsafeSQL: Placeholders.numbered(sql), binds: binds)
            let result: PostgresQueryResult
            do {
                // A future and wait(), not a task: callers are plain threads (never an event
                // loop, where wait() traps), and this saves a hop through the task pool.
                result = try connection.query(query, logger: logger).wait()
            } catch let e as PSQLError {
                if e.code == .connectionError || e.code == .serverClosedConnection || e.code == .clientClosedConnection {
                    throw CatalogError.unavailable("PostgreSQL connection lost: \(PostgresErrorText.describe(e))")
                }
                let state = e.serverInfo?[.sqlState]
                // 22021: text with a NUL or invalid UTF-8 — what a client sent, not a server fault.
                if state == "22021" { throw CatalogError.invalid("text must not contain NUL characters") }
                throw PostgresStatementError(message: PostgresErrorText.describe(e), sqlState: state)
            }
            guard let first = result.rows.first else { return [] }
            let columns = SQLColumns(first.map(\.columnName))
            return try result.rows.map { SQLRow(columns: columns, values: try $0.map(Self.value)) }
        }

        static func value(_ cell: PostgresCell) throws -> SQLValue {
            guard cell.bytes != nil else { return .null }
            switch cell.dataType {
            case .int2, .int4, .int8: return .int(try cell.decode(Int64.self))
            case .bool: return .int(try cell.decode(Bool.self) ? 1 : 0)
            default: return .text(try cell.decode(String.self))
            }
        }
    }
}

/// A statement PostgreSQL refused (constraint, trigger, syntax), with its message and SQLSTATE.
struct PostgresStatementError: Error, CustomStringConvertible {
    var message: String
    var sqlState: String?
    var description: String { "PostgreSQL: \(message)" + (sqlState.map { " (SQLSTATE \($0))" } ?? "") }
}

/// `?` placeholders (outside quotes) to PostgreSQL's `$1, $2, …`.
enum Placeholders {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cache: [String: String] = [:]

    static func numbered(_ sql: String) -> String {
        lock.lock()
        if let hit = cache[sql] { lock.unlock(); return hit }
        lock.unlock()
        var out = ""
        var n = 0
        var quote: Character?
        for c in sql {
            if let q = quote {
                if c == q { quote = nil }
                out.append(c)
            } else if c == "'" || c == "\"" {
                quote = c
                out.append(c)
            } else if c == "?" {
                n += 1
                out += "$\(n)"
            } else {
                out.append(c)
            }
        }
        lock.lock()
        if cache.count < 1024 { cache[sql] = out }
        lock.unlock()
        return out
    }
}
