import Foundation

/// Run records as JSON without `JSONEncoder`: the hot responses of the HTTP service (a run, a
/// page of runs) written straight into bytes, about ten times faster than the key-converting,
/// sorting encoder. The output is byte for byte `CatalogJSON.encoder()`'s — snake_case keys in
/// sorted order, nil fields left out — and `RunJSONTests` holds it to that.
enum RunJSON {
    static func encode(_ run: RunRecord) -> [UInt8] {
        var w = Writer()
        w.run(run)
        return w.bytes
    }

    static func encode(_ page: Page<RunRecord>) -> [UInt8] {
        var w = Writer()
        w.bytes.reserveCapacity(64 + page.items.count * 900)
        w.raw("{\"items\":[")
        for (i, run) in page.items.enumerated() {
            if i > 0 { w.byte(0x2C) }
            w.run(run)
        }
        w.byte(0x5D)
        if let next = page.nextCursor { w.raw(",\"next_cursor\":"); w.string(next) }
        w.byte(0x7D)
        return w.bytes
    }

    struct Writer {
        var bytes: [UInt8] = []
        private var first = true

        mutating func byte(_ b: UInt8) { bytes.append(b) }
        mutating func raw(_ s: StaticString) { s.withUTF8Buffer { bytes.append(contentsOf: $0) } }

        mutating func key(_ k: StaticString) {
            if !first { byte(0x2C) }
            first = false
            byte(0x22); raw(k); byte(0x22); byte(0x3A)
        }

        mutating func field(_ k: StaticString, _ v: String?) { if let v { key(k); string(v) } }
        mutating func field<I: BinaryInteger>(_ k: StaticString, _ v: I?) { if let v { key(k); bytes.append(contentsOf: String(v).utf8) } }
        mutating func field(_ k: StaticString, _ v: Date?) {
            guard let v else { return }
            key(k); byte(0x22); Timestamp.write(v, to: &bytes); byte(0x22)
        }

        /// JSON string as Foundation writes it with `.withoutEscapingSlashes`.
        mutating func string(_ s: String) {
            byte(0x22)
            for c in s.utf8 {
                switch c {
                case 0x22: byte(0x5C); byte(0x22)
                case 0x5C: byte(0x5C); byte(0x5C)
                case 0x08: byte(0x5C); byte(0x62)
                case 0x0C: byte(0x5C); byte(0x66)
                case 0x0A: byte(0x5C); byte(0x6E)
                case 0x0D: byte(0x5C); byte(0x72)
                case 0x09: byte(0x5C); byte(0x74)
                case 0..<0x20:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    raw("\\u00"); byte(hex[Int(c >> 4)]); byte(hex[Int(c & 15)])
                default: byte(c)
                }
            }
            byte(0x22)
        }

        /// A metric value: integral values without ".0", others in Swift's shortest form.
        mutating func number(_ d: Double) {
            var text = d.description
            if text.hasSuffix(".0") { text.removeLast(2) }
            bytes.append(contentsOf: text.utf8)
        }

        /// `{"name":value,…}` in sorted key order (values must be finite).
        mutating func metrics(_ metrics: [String: Double]) {
            byte(0x7B)
            for (i, (name, value)) in metrics.sorted(by: { $0.key < $1.key }).enumerated() {
                if i > 0 { byte(0x2C) }
                string(name); byte(0x3A); number(value)
            }
            byte(0x7D)
        }

        /// The fields of `RunRecord` in sorted snake_case order (as `.sortedKeys` puts them).
        mutating func run(_ r: RunRecord) {
            byte(0x7B)
            first = true
            field("account", r.account)
            field("app", r.app)
            field("app_version", r.appVersion)
            field("command", r.command)
            field("core_hours", r.coreHours)
            field("cost_cents", r.costCents)
            field("currency", r.currency)
            field("elapsed_ms", r.elapsedMs)
            field("ended_at", r.endedAt)
            field("estimated_cost_cents", r.estimatedCostCents)
            field("exit_code", r.exitCode)
            field("host", r.host)
            field("id", r.id)
            field("kind", r.kind)
            field("launcher", r.launcher)
            key("metrics")
            metrics(r.metrics)
            field("nodes", r.nodes)
            field("partition", r.partition)
            field("ranks", r.ranks)
            field("result_path", r.resultPath)
            field("result_sha256", r.resultSha256)
            field("result_size", r.resultSize)
            field("slurm_array_job_id", r.slurmArrayJobId)
            field("slurm_array_task_id", r.slurmArrayTaskId)
            field("slurm_job_id", r.slurmJobId)
            field("started_at", r.startedAt)
            field("state", r.state.rawValue)
            field("threads", r.threads)
            field("user", r.user)
            byte(0x7D)
            first = false
        }
    }
}

extension RunJSON {
    /// A recorded run's body in the plain shape clients send — one object of known snake_case
    /// keys with ASCII strings without escapes, integers, times, and a flat `metrics` object —
    /// parsed without `JSONDecoder` (which with its key conversion was the largest cost of a
    /// POST). nil for anything else (escapes, unknown or repeated keys, wrong types, bad JSON):
    /// the caller then decodes with `CatalogJSON.decoder()`, which yields the same record or
    /// the 400 message. `RunJSONTests` holds the two to the same result.
    static func decodeRun(_ bytes: UnsafeRawBufferPointer) -> RunRecord? {
        var r = Reader(s: bytes)
        return r.run()
    }

    struct Reader {
        let s: UnsafeRawBufferPointer
        var i = 0

        mutating func skipSpace() {
            while i < s.count, s[i] == 0x20 || s[i] == 0x0A || s[i] == 0x0D || s[i] == 0x09 { i += 1 }
        }

        mutating func take(_ c: UInt8) -> Bool {
            skipSpace()
            guard i < s.count, s[i] == c else { return false }
            i += 1
            return true
        }

        /// A string of printable ASCII without escapes.
        mutating func string() -> String? {
            guard take(0x22) else { return nil }
            let start = i
            while i < s.count, s[i] != 0x22 {
                guard s[i] >= 0x20, s[i] < 0x7F, s[i] != 0x5C else { return nil }
                i += 1
            }
            guard i < s.count else { return nil }
            i += 1
            return String(decoding: UnsafeRawBufferPointer(rebasing: s[start..<(i - 1)]), as: UTF8.self)
        }

        /// `null` (consumed) or not (nothing consumed).
        mutating func null() -> Bool {
            skipSpace()
            guard i + 4 <= s.count, s[i] == 0x6E, s[i + 1] == 0x75, s[i + 2] == 0x6C, s[i + 3] == 0x6C else { return false }
            i += 4
            return true
        }

        /// The text of a JSON number (checked against the JSON grammar); `integer`: no fraction or exponent.
        mutating func number(integer: Bool) -> String? {
            skipSpace()
            let start = i
            func digits() -> Int { let d = i; while i < s.count, s[i] >= 0x30, s[i] <= 0x39 { i += 1 }; return i - d }
            if i < s.count, s[i] == 0x2D { i += 1 }
            let intStart = i
            guard digits() > 0, s[intStart] != 0x30 || i - intStart == 1 else { return nil }
            if !integer {
                if i < s.count, s[i] == 0x2E { i += 1; guard digits() > 0 else { return nil } }
                if i < s.count, s[i] | 0x20 == 0x65 {
                    i += 1
                    if i < s.count, s[i] == 0x2B || s[i] == 0x2D { i += 1 }
                    guard digits() > 0 else { return nil }
                }
            }
            // The number must end here (a "." or "e" after an integer is a value JSONDecoder judges).
            guard i < s.count, s[i] == 0x2C || s[i] == 0x7D || s[i] == 0x20 || s[i] == 0x0A || s[i] == 0x0D || s[i] == 0x09 else { return nil }
            return String(decoding: UnsafeRawBufferPointer(rebasing: s[start..<i]), as: UTF8.self)
        }

        mutating func int() -> Int? { number(integer: true).flatMap { Int($0) } }
        mutating func optionalString() -> String?? { null() ? .some(nil) : string().map { .some($0) } }
        mutating func optionalInt() -> Int?? { null() ? .some(nil) : int().map { .some($0) } }
        mutating func optionalInt64() -> Int64?? { null() ? .some(nil) : int().map { .some(Int64($0)) } }

        mutating func metricsObject() -> [String: Double]? {
            guard take(0x7B) else { return nil }
            var out: [String: Double] = [:]
            if take(0x7D) { return out }
            repeat {
                guard let name = string(), take(0x3A), let text = number(integer: false), let value = Double(text), value.isFinite,
                      out.updateValue(value, forKey: name) == nil else { return nil }
            } while take(0x2C)
            return take(0x7D) ? out : nil
        }

        mutating func run() -> RunRecord? {
            var id, app, appVersion, kind, account, user, launcher: String?
            var host, slurmJobId, slurmArrayJobId, slurmArrayTaskId, partition, resultPath, resultSha256, command: String??
            var nodes, ranks, threads: Int?
            var exitCode: Int??
            var elapsedMs, resultSize, estimatedCostCents: Int64??
            var startedAt: Date?
            var endedAt: Date??
            var state: RunState?
            var metrics: [String: Double]?
            var seen = Set<String>()
            guard take(0x7B) else { return nil }
            if !take(0x7D) {
                repeat {
                    guard let key = string(), seen.insert(key).inserted, take(0x3A) else { return nil }
                    switch key {
                    case "id": guard let v = string() else { return nil }; id = v
                    case "app": guard let v = string() else { return nil }; app = v
                    case "app_version": guard let v = string() else { return nil }; appVersion = v
                    case "kind": guard let v = string() else { return nil }; kind = v
                    case "account": guard let v = string() else { return nil }; account = v
                    case "user": guard let v = string() else { return nil }; user = v
                    case "launcher": guard let v = string() else { return nil }; launcher = v
                    case "host": guard let v = optionalString() else { return nil }; host = v
                    case "slurm_job_id": guard let v = optionalString() else { return nil }; slurmJobId = v
                    case "slurm_array_job_id": guard let v = optionalString() else { return nil }; slurmArrayJobId = v
                    case "slurm_array_task_id": guard let v = optionalString() else { return nil }; slurmArrayTaskId = v
                    case "partition": guard let v = optionalString() else { return nil }; partition = v
                    case "result_path": guard let v = optionalString() else { return nil }; resultPath = v
                    case "result_sha256": guard let v = optionalString() else { return nil }; resultSha256 = v
                    case "command": guard let v = optionalString() else { return nil }; command = v
                    case "nodes": guard let v = int() else { return nil }; nodes = v
                    case "ranks": guard let v = int() else { return nil }; ranks = v
                    case "threads": guard let v = int() else { return nil }; threads = v
                    case "exit_code": guard let v = optionalInt() else { return nil }; exitCode = v
                    case "elapsed_ms": guard let v = optionalInt64() else { return nil }; elapsedMs = v
                    case "result_size": guard let v = optionalInt64() else { return nil }; resultSize = v
                    case "estimated_cost_cents": guard let v = optionalInt64() else { return nil }; estimatedCostCents = v
                    case "started_at": guard let v = string().flatMap(Timestamp.parse) else { return nil }; startedAt = v
                    case "ended_at":
                        if null() { endedAt = .some(nil) } else { guard let v = string().flatMap(Timestamp.parse) else { return nil }; endedAt = v }
                    case "state": guard let v = string().flatMap(RunState.init(rawValue:)) else { return nil }; state = v
                    case "metrics": guard let v = metricsObject() else { return nil }; metrics = v
                    default: return nil  // e.g. the store's own fields, or camelCase keys
                    }
                } while take(0x2C)
                guard take(0x7D) else { return nil }
            }
            skipSpace()
            guard i == s.count, let id, let app, let appVersion, let kind, let account, let user, let launcher, let nodes, let ranks,
                  let threads, let startedAt, let state, let metrics else { return nil }
            return RunRecord(id: id, app: app, appVersion: appVersion, kind: kind, account: account, user: user, host: host ?? nil,
                             launcher: launcher, slurmJobId: slurmJobId ?? nil, slurmArrayJobId: slurmArrayJobId ?? nil,
                             slurmArrayTaskId: slurmArrayTaskId ?? nil, partition: partition ?? nil, nodes: nodes, ranks: ranks,
                             threads: threads, startedAt: startedAt, endedAt: endedAt ?? nil, elapsedMs: elapsedMs ?? nil, state: state,
                             exitCode: exitCode ?? nil, resultPath: resultPath ?? nil, resultSize: resultSize ?? nil,
                             resultSha256: resultSha256 ?? nil, metrics: metrics, estimatedCostCents: estimatedCostCents ?? nil,
                             command: command ?? nil)
        }
    }
}
