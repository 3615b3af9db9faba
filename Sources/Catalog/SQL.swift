import Foundation

/// A value bound to or read from a catalog statement. The schema needs only integers, text and
/// NULL (money is integer cents, times integer milliseconds, metrics JSON text).
public enum SQLValue: Sendable, Equatable {
    case null
    case int(Int64)
    case text(String)

    var int: Int64? { if case .int(let v) = self { return v }; return nil }
    var text: String? { if case .text(let v) = self { return v }; return nil }
}

/// What may be bound to a `?` placeholder.
public protocol SQLBindable { var sqlValue: SQLValue { get } }
extension SQLValue: SQLBindable { public var sqlValue: SQLValue { self } }
extension String: SQLBindable { public var sqlValue: SQLValue { .text(self) } }
extension Int64: SQLBindable { public var sqlValue: SQLValue { .int(self) } }
extension Int: SQLBindable { public var sqlValue: SQLValue { .int(Int64(self)) } }
extension Optional: SQLBindable where Wrapped: SQLBindable {
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

/// Column names of one result, shared by its rows: a row looks a column up by name in O(1).
final class SQLColumns: @unchecked Sendable {
    let index: [String: Int]
    init(_ names: [String]) {
        var index: [String: Int] = [:]
        for (i, n) in names.enumerated() where index[n] == nil { index[n] = i }
        self.index = index
    }
}

/// One result row. Reading a missing column or a NULL as a non-optional is a schema bug and traps.
struct SQLRow {
    let columns: SQLColumns
    let values: [SQLValue]

    func value(_ name: String) -> SQLValue {
        guard let i = columns.index[name] else { preconditionFailure("no column '\(name)' in result") }
        return values[i]
    }
    func int(_ name: String) -> Int64? { value(name).int }
    func text(_ name: String) -> String? { value(name).text }
    func int(_ name: String, default: Int64) -> Int64 { value(name).int ?? `default` }
    func requiredInt(_ name: String) -> Int64 { value(name).int! }
    func requiredText(_ name: String) -> String { value(name).text! }
}

/// One connection's view while a `read` or `write` runs. SQL uses `?` placeholders and the
/// subset both SQLite and PostgreSQL accept (`ON CONFLICT … DO UPDATE`, `RETURNING`).
protocol SQLSession {
    func execute(_ sql: String, _ arguments: [SQLValue]) throws
    func query(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow]
}

extension SQLSession {
    func execute(_ sql: String, _ arguments: any SQLBindable...) throws { try execute(sql, arguments.map(\.sqlValue)) }
    func query(_ sql: String, _ arguments: any SQLBindable...) throws -> [SQLRow] { try query(sql, arguments.map(\.sqlValue)) }
    func queryOne(_ sql: String, _ arguments: any SQLBindable...) throws -> SQLRow? { try query(sql, arguments.map(\.sqlValue)).first }
}

/// A catalog database: reads see a consistent snapshot; a write is one transaction, committed
/// when `body` returns and rolled back when it throws. Both block the calling thread, so the
/// HTTP service calls them off its event loops (`StoreExecutor`).
protocol SQLDatabase: Sendable {
    func read<T>(_ body: (any SQLSession) throws -> T) throws -> T
    func write<T>(_ body: (any SQLSession) throws -> T) throws -> T
    /// One statement outside an explicit transaction (it sees one snapshot anyway): the hot
    /// reads skip BEGIN and COMMIT.
    func query(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow]
}

extension SQLDatabase {
    func query(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] { try read { try $0.query(sql, arguments) } }
    func query(_ sql: String, _ arguments: any SQLBindable...) throws -> [SQLRow] { try query(sql, arguments.map(\.sqlValue)) }
}
