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
        mutating func field(_ k: StaticString, _ v: Date?) { if let v { key(k); string(Timestamp.format(v)) } }

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
            byte(0x7B)
            for (i, (name, value)) in r.metrics.sorted(by: { $0.key < $1.key }).enumerated() {
                if i > 0 { byte(0x2C) }
                string(name); byte(0x3A); number(value)
            }
            byte(0x7D)
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
