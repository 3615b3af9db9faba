import Foundation
import GRDB

/// The embedded catalog: one SQLite file in WAL mode (or in memory for tests), through GRDB.
/// Many processes may record at once: writers wait up to `busyTimeout` for the write lock;
/// readers never wait for writers (WAL), and a pool of reader connections reads concurrently.
public final class SQLiteStore: SQLCatalogStore, @unchecked Sendable {
    let db: any DatabaseWriter
    public let path: String?

    /// `durable`: fsync every commit (`synchronous = FULL`) — what the HTTP service uses, where
    /// group commit shares one fsync among many runs. Otherwise `NORMAL`: a commit survives a
    /// crash of the process but not of the machine, and costs no fsync.
    public init(path: String, busyTimeout: TimeInterval = 10, defaultCurrency: String = "EUR", durable: Bool = false) throws {
        var config = Configuration()
        // SQLite's own busy handler sleeps up to 100 ms between tries, which starves many small
        // writers (16 processes recording at once); short random sleeps keep the lock moving.
        // Each try sleeps 0.5 ms on average, so `tries` bounds the wait near `busyTimeout`.
        let maxTries = Int(busyTimeout / 0.0005)
        config.busyMode = .callback { tries in
            guard tries < maxTries else { return false }
            usleep(UInt32.random(in: 100...900))
            return true
        }
        config.prepareDatabase { db in
            try db.execute(sql: durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
            // The commit that fills the WAL past this many pages also checkpoints it, and every
            // run in that batch waits for the copy and its fsync: under a steady stream of POSTs
            // those commits were the slowest 1 %. A quarter of SQLite's default 1,000 pages (1 MiB)
            // makes each such wait short: POST p99 8–9 → 5–7 ms, throughput unchanged.
            if durable { try db.execute(sql: "PRAGMA wal_autocheckpoint = 250") }
        }
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        let pool = try DatabasePool(path: path, configuration: config)
        db = pool
        self.path = path
        try Self.migrator.migrate(pool)
        super.init(database: GRDBDatabase(pool), defaultCurrency: defaultCurrency)
    }

    /// An in-memory catalog (tests, benchmarks of the HTTP layer).
    public init(inMemory: Void = (), defaultCurrency: String = "EUR") throws {
        let queue = try DatabaseQueue()
        db = queue
        path = nil
        try Self.migrator.migrate(queue)
        super.init(database: GRDBDatabase(queue), defaultCurrency: defaultCurrency)
    }

    static let migrator: DatabaseMigrator = {
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
}

/// `SQLDatabase` over a GRDB pool (or queue). Writes are IMMEDIATE transactions: they take the
/// write lock (waiting out other processes) before reading, so a read-then-write never fails
/// on a snapshot another process made stale.
final class GRDBDatabase: SQLDatabase, @unchecked Sendable {
    let writer: any DatabaseWriter
    private let lock = NSLock()
    private var columns: [String: SQLColumns] = [:]

    init(_ writer: any DatabaseWriter) { self.writer = writer }

    func read<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try writer.read { try body(Session(db: $0, owner: self)) }
    }

    func query(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        try writer.unsafeRead { try Session(db: $0, owner: self).query(sql, arguments) }
    }

    func write<T>(_ body: (any SQLSession) throws -> T) throws -> T {
        try writer.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(Session(db: db, owner: self))
                return .commit
            }
            return result!
        }
    }

    /// Column names per statement text, so rows of a repeated query share one lookup table.
    func columns(for statement: Statement, sql: String) -> SQLColumns {
        lock.lock(); defer { lock.unlock() }
        if let known = columns[sql] { return known }
        let made = SQLColumns(statement.columnNames)
        if columns.count < 512 { columns[sql] = made }
        return made
    }

    struct Session: SQLSession {
        let db: Database
        let owner: GRDBDatabase

        func statement(_ sql: String, _ arguments: [SQLValue]) throws -> Statement {
            let statement = try db.cachedStatement(sql: sql)
            // Existentials, not `[DatabaseValue]`: that overload maps through a key path in an
            // unspecialised generic, which cost more than the binding itself.
            try statement.setArguments(StatementArguments(arguments.map { v -> (any DatabaseValueConvertible)? in
                switch v {
                case .null: return nil
                case .int(let i): return i
                case .text(let t): return t
                }
            }))
            return statement
        }

        func execute(_ sql: String, _ arguments: [SQLValue]) throws {
            if arguments.isEmpty, !sql.contains("?") {
                try db.execute(sql: sql)  // may hold several statements (tests, migrations)
            } else {
                try statement(sql, arguments).execute()
            }
        }

        func query(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
            let statement = try statement(sql, arguments)
            let columns = owner.columns(for: statement, sql: sql)
            let n = statement.columnCount
            var rows: [SQLRow] = []
            let cursor = try Row.fetchCursor(statement)
            // Values straight from the stepped statement: a `Row` also looks up column names.
            let sqlite = statement.sqliteStatement
            while try cursor.next() != nil {
                var values: [SQLValue] = []
                values.reserveCapacity(n)
                for i in 0..<CInt(n) {
                    switch DatabaseValue(sqliteStatement: sqlite, index: i).storage {
                    case .null: values.append(.null)
                    case .int64(let v): values.append(.int(v))
                    case .string(let s): values.append(.text(s))
                    case .double(let d): values.append(.int(Int64(d)))
                    case .blob(let b): values.append(.text(String(decoding: b, as: UTF8.self)))
                    }
                }
                rows.append(SQLRow(columns: columns, values: values))
            }
            return rows
        }
    }
}
