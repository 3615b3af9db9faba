import Foundation

/// A value from a job file.
public enum JobValue: Equatable, Sendable {
    case string(String), integer(Int), float(Double), boolean(Bool), array([JobValue])

    var typeName: String {
        switch self {
        case .string: return "a string"
        case .integer: return "an integer"
        case .float: return "a number"
        case .boolean: return "true or false"
        case .array: return "an array"
        }
    }
}

/// A TOML job file (the subset job files use: tables, dotted keys, strings, numbers, booleans,
/// arrays, comments), keeping each key's line and column so every error points into the file.
public struct JobFile: Sendable {
    public struct Entry: Sendable {
        public var value: JobValue
        public var line: Int
        public var column: Int
    }

    public let path: String
    public let text: String
    /// Values by full dotted key ("thermostat.temperature").
    public private(set) var entries: [String: Entry] = [:]

    public init(contentsOf path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError("cannot read job file (no such file or not readable)", file: path)
        }
        guard let text = String(data: data, encoding: .utf8), !text.contains("\0") else {
            throw InputError("job file is not UTF-8 text", file: path)
        }
        try self.init(text: text, path: path)
    }

    public init(text: String, path: String) throws {
        self.path = path
        self.text = text
        var parser = TOMLParser(text: text, path: path)
        entries = try parser.parse()
    }

    public var keys: [String] { entries.keys.sorted() }

    public func error(_ message: String, at key: String) -> InputError {
        let e = entries[key]
        return InputError(message, file: path, line: e?.line, column: e?.column)
    }

    /// Rejects keys outside `allowed`, suggesting the nearest allowed key.
    public func checkKeys(allowed: Set<String>) throws {
        for key in keys where !allowed.contains(key) {
            var message = "unknown key '\(key)'"
            if let best = allowed.min(by: { editDistance($0, key) < editDistance($1, key) }),
               editDistance(best, key) <= max(2, key.count / 3) {
                message += " (did you mean '\(best)'?)"
            }
            throw error(message, at: key)
        }
    }

    public func has(_ key: String) -> Bool { entries[key] != nil }

    public func string(_ key: String) throws -> String? {
        guard let e = entries[key] else { return nil }
        guard case .string(let s) = e.value else { throw error("'\(key)' must be a string, got \(e.value.typeName)", at: key) }
        return s
    }

    public func integer(_ key: String) throws -> Int? {
        guard let e = entries[key] else { return nil }
        guard case .integer(let i) = e.value else { throw error("'\(key)' must be an integer, got \(e.value.typeName)", at: key) }
        return i
    }

    public func number(_ key: String) throws -> Double? {
        guard let e = entries[key] else { return nil }
        switch e.value {
        case .integer(let i): return Double(i)
        case .float(let d): return d
        default: throw error("'\(key)' must be a number, got \(e.value.typeName)", at: key)
        }
    }

    public func boolean(_ key: String) throws -> Bool? {
        guard let e = entries[key] else { return nil }
        guard case .boolean(let b) = e.value else { throw error("'\(key)' must be true or false, got \(e.value.typeName)", at: key) }
        return b
    }

    public func strings(_ key: String) throws -> [String]? {
        guard let e = entries[key] else { return nil }
        if case .string(let s) = e.value { return [s] }
        guard case .array(let items) = e.value else { throw error("'\(key)' must be an array of strings", at: key) }
        return try items.map {
            guard case .string(let s) = $0 else { throw error("'\(key)' must be an array of strings", at: key) }
            return s
        }
    }

    /// A path given relative to this job file's folder (absolute paths as they are): the one rule
    /// for every file a job names (circuits, data files, restarts, FCIDUMPs).
    public func resolve(_ relative: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        return relative.hasPrefix("/") || folder.isEmpty ? relative : folder + "/" + relative
    }

    /// The string at `key` as a path relative to the job file (see `resolve`).
    public func path(_ key: String) throws -> String? { try string(key).map(resolve) }

    /// Seconds of wall time between periodic checkpoints (`checkpoint_every`; 0: only on a signal).
    public func checkpointInterval() throws -> Double? {
        guard let seconds = try number("checkpoint_every") else { return nil }
        guard seconds >= 0, seconds.isFinite else { throw error("'checkpoint_every' (seconds) must be ≥ 0", at: "checkpoint_every") }
        return seconds
    }

    public func require<T>(_ key: String, _ get: (String) throws -> T?) throws -> T {
        guard let v = try get(key) else {
            throw InputError("missing required key '\(key)'", file: path)
        }
        return v
    }
}

/// Levenshtein distance, for did-you-mean suggestions.
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + [Int](repeating: 0, count: b.count)
        for j in 1...max(b.count, 1) where j <= b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}

private struct TOMLParser {
    let chars: [Character]
    let path: String
    var pos = 0
    var line = 1
    var lineStart = 0
    var table = ""
    var result: [String: JobFile.Entry] = [:]

    init(text: String, path: String) {
        chars = Array(text.replacingOccurrences(of: "\r\n", with: "\n"))
        self.path = path
    }

    var column: Int { pos - lineStart + 1 }

    func fail(_ message: String) -> InputError {
        InputError(message, file: path, line: line, column: column)
    }

    mutating func parse() throws -> [String: JobFile.Entry] {
        while true {
            skipBlank(newlines: true)
            guard pos < chars.count else { break }
            if chars[pos] == "[" {
                pos += 1
                if pos < chars.count && chars[pos] == "[" { throw fail("arrays of tables ([[…]]) are not supported in job files") }
                skipBlank(newlines: false)
                table = try parseKey()
                skipBlank(newlines: false)
                guard pos < chars.count, chars[pos] == "]" else { throw fail("expected ']' to close the table header") }
                pos += 1
            } else {
                let keyLine = line, keyColumn = column
                let key = try parseKey()
                skipBlank(newlines: false)
                guard pos < chars.count, chars[pos] == "=" else { throw fail("expected '=' after key '\(key)'") }
                pos += 1
                skipBlank(newlines: false)
                let value = try parseValue()
                let full = table.isEmpty ? key : table + "." + key
                guard result[full] == nil else {
                    throw InputError("key '\(full)' is defined twice", file: path, line: keyLine, column: keyColumn)
                }
                result[full] = JobFile.Entry(value: value, line: keyLine, column: keyColumn)
            }
            skipBlank(newlines: false)
            if pos < chars.count && chars[pos] != "\n" { throw fail("unexpected '\(chars[pos])' (one key = value per line)") }
        }
        return result
    }

    /// Spaces, tabs, comments and (optionally) newlines.
    mutating func skipBlank(newlines: Bool) {
        while pos < chars.count {
            let c = chars[pos]
            if c == " " || c == "\t" || c == "\r" { pos += 1 }
            else if c == "#" { while pos < chars.count && chars[pos] != "\n" { pos += 1 } }
            else if c == "\n" && newlines { pos += 1; line += 1; lineStart = pos }
            else { break }
        }
    }

    mutating func parseKey() throws -> String {
        var parts: [String] = []
        repeat {
            skipBlank(newlines: false)
            if pos < chars.count && chars[pos] == "." { pos += 1; skipBlank(newlines: false) }
            if pos < chars.count && (chars[pos] == "\"" || chars[pos] == "'") {
                parts.append(try parseString())
            } else {
                let start = pos
                while pos < chars.count, chars[pos].isLetter || chars[pos].isNumber || chars[pos] == "_" || chars[pos] == "-" { pos += 1 }
                guard pos > start else { throw fail(pos < chars.count ? "unexpected '\(chars[pos])', expected a key" : "expected a key") }
                parts.append(String(chars[start..<pos]))
            }
            skipBlank(newlines: false)
        } while pos < chars.count && chars[pos] == "."
        return parts.joined(separator: ".")
    }

    // A Set, not a String: in a String "\r\n" is one Character and would hide "\n".
    static let valueTerminators: Set<Character> = [" ", "\t", "\r", "\n", ",", "]", "#"]

    mutating func parseValue() throws -> JobValue {
        guard pos < chars.count, chars[pos] != "\n" else { throw fail("missing value") }
        let c = chars[pos]
        if c == "\"" || c == "'" { return .string(try parseString()) }
        if c == "[" {
            let openLine = line, openColumn = column
            pos += 1
            var items: [JobValue] = []
            while true {
                skipBlank(newlines: true)
                guard pos < chars.count else {
                    throw InputError("unterminated array (no closing ']')", file: path, line: openLine, column: openColumn)
                }
                if chars[pos] == "]" { pos += 1; return .array(items) }
                items.append(try parseValue())
                skipBlank(newlines: true)
                if pos >= chars.count {
                    throw InputError("unterminated array (no closing ']')", file: path, line: openLine, column: openColumn)
                }
                if chars[pos] == "," { pos += 1 }
                else if chars[pos] == "]" { continue }
                else { throw fail("expected ',' or ']' in array") }
            }
        }
        if c == "{" { throw fail("inline tables are not supported in job files; use a [table]") }
        let start = pos, startColumn = column
        while pos < chars.count, !Self.valueTerminators.contains(chars[pos]) { pos += 1 }
        let word = String(chars[start..<pos]).replacingOccurrences(of: "_", with: "")
        if word == "true" { return .boolean(true) }
        if word == "false" { return .boolean(false) }
        if let i = Int(word) { return .integer(i) }
        if let d = Double(word), d.isFinite, word.first != ".", word.last != "." { return .float(d) }
        throw InputError("invalid value '\(String(chars[start..<pos]))'", file: path, line: line, column: startColumn)
    }

    mutating func parseString() throws -> String {
        let quote = chars[pos]
        // Multi-line strings """…""" / '''…''' (a circuit can be written inline).
        if pos + 2 < chars.count && chars[pos + 1] == quote && chars[pos + 2] == quote {
            pos += 3
            if pos < chars.count && chars[pos] == "\n" { pos += 1; line += 1; lineStart = pos }
            var s = ""
            while pos + 2 < chars.count {
                if chars[pos] == quote && chars[pos + 1] == quote && chars[pos + 2] == quote { pos += 3; return s }
                if chars[pos] == "\n" { line += 1; lineStart = pos + 1 }
                s.append(chars[pos]); pos += 1
            }
            throw fail("unterminated multi-line string")
        }
        pos += 1
        var s = ""
        while pos < chars.count {
            let c = chars[pos]
            if c == "\n" { break }
            if c == quote { pos += 1; return s }
            if c == "\\" && quote == "\"" {
                pos += 1
                guard pos < chars.count else { break }
                switch chars[pos] {
                case "n": s.append("\n")
                case "t": s.append("\t")
                case "\\": s.append("\\")
                case "\"": s.append("\"")
                default: throw fail("unknown escape '\\\(chars[pos])'")
                }
                pos += 1
                continue
            }
            s.append(c); pos += 1
        }
        throw fail("unterminated string")
    }
}
