@testable import Catalog
import XCTest

/// Every test but the first runs against each backend (`forEachBackend`): SQLite, PostgreSQL.
final class StoreTests: XCTestCase {
    func testPostgresMigrations() throws {
        guard let catalog = try Backends.postgres() else { return }
        let store = try XCTUnwrap(catalog.store as? PostgresStore)
        XCTAssertEqual(try store.appliedMigrations(), ["v1-initial", "v2-runs-by-user-and-slurm-job"])
        XCTAssertEqual(try (catalog.open() as? PostgresStore)?.appliedMigrations().count, 2)  // nothing applied twice
        XCTAssertThrowsError(try PostgresStore(url: "postgres://nobody@127.0.0.1:1/none")) {
            guard case .unavailable = $0 as? CatalogError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try PostgresStore(url: "postgres://127.0.0.1/db")) { XCTAssertEqual($0 as? CatalogError, .invalid("bad PostgreSQL URL (no user); expected postgres://user[:password]@host[:port]/database")) }
        XCTAssertEqual(CatalogDisplay.redacted("postgres://u:secret@h:5/db"), "postgres://u:***@h:5/db")
        XCTAssertEqual(Placeholders.numbered("SELECT '?', \"a?\" FROM t WHERE x = ? AND y IN (?, ?)"), "SELECT '?', \"a?\" FROM t WHERE x = $1 AND y IN ($2, $3)")
    }

    func testMigrationsAndWAL() throws {
        let path = tempDir() + "/catalog.sqlite"
        let store = try SQLiteStore(path: path)
        XCTAssertEqual(try store.appliedMigrations(), ["v1-initial", "v2-runs-by-user-and-slurm-job"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: path + "-wal"))
        // Reopening applies nothing twice.
        XCTAssertEqual(try SQLiteStore(path: path).appliedMigrations().count, 2)
    }

    func testUpsertIsIdempotentAndTerminalWins() throws { try forEachBackend { c in
        let store = c.store
        var start = makeRun("run-1", state: .running)
        try store.upsertRun(start, actor: "t")
        let end = makeRun("run-1")
        try store.upsertRun(end, actor: "t")
        try store.upsertRun(end, actor: "t")  // retry
        start.host = "late"
        try store.upsertRun(start, actor: "t")  // stale start after the end: ignored
        let page = try store.runs(RunFilter())
        XCTAssertEqual(page.items.count, 1)
        let got = page.items[0]
        XCTAssertEqual(got.state, .completed)
        XCTAssertEqual(got.exitCode, 0)
        XCTAssertNil(got.host)
        XCTAssertEqual(got.coreHours, "4.0000")  // 4 ranks × 2 threads × 0.5 h
        XCTAssertEqual(got.metrics["qubits"], 20)
        XCTAssertEqual(try store.apps().map(\.name), ["qforge-statevector"])
        XCTAssertEqual(try store.account("chem")?.currency, "EUR")
    } }

    func testChargedAtRateValidAtStart() throws { try forEachBackend { c in
        let store = c.store
        _ = try store.addRate(Rate(coreHourMicros: 10_000, validFrom: date("2026-01-01"), validTo: date("2026-11-15")), actor: "t")
        _ = try store.addRate(Rate(coreHourMicros: 30_000, validFrom: date("2026-11-15")), actor: "t")
        _ = try store.addRate(Rate(partition: "gpu", coreHourMicros: 100_000, nodeHourMicros: 2_000_000, validFrom: date("2026-01-01")), actor: "t")
        // Started before the change, ended after: old rate. 4 core-hours.
        try store.upsertRun(makeRun("a", start: "2026-11-14T23:30:00Z"), actor: "t")
        try store.upsertRun(makeRun("b", start: "2026-11-15T00:00:00Z"), actor: "t")
        try store.upsertRun(makeRun("c", start: "2026-11-15T00:00:00Z", partition: "gpu"), actor: "t")
        XCTAssertEqual(try store.run(id: "a")?.costCents, 4)
        XCTAssertEqual(try store.run(id: "b")?.costCents, 12)
        XCTAssertEqual(try store.run(id: "c")?.costCents, 40 + 100)  // 4 core-h × 0.10 + 0.5 node-h × 2.00
        XCTAssertNil(try store.run(id: "c")?.estimatedCostCents)
        try store.upsertRun(makeRun("d", start: "2025-06-01T00:00:00Z"), actor: "t")  // no rate then
        XCTAssertNil(try store.run(id: "d")?.costCents)
        // A batch charges each run at the rate the store's own lookup gives, to the millisecond.
        let change = date("2026-11-15")
        let starts = [-1.0, -0.0006, -0.0004, 0, 0.0004, 1].map { change.addingTimeInterval($0) }
        let batch = starts.enumerated().map { i, start -> RunUpsert in
            var run = makeRun("edge-\(i)", partition: i % 2 == 0 ? "gpu" : "cpu")
            run.startedAt = start
            return RunUpsert(run: run, actor: "t")
        }
        let stored = try store.upsertRuns(batch).map { try $0.get() }
        for (upsert, run) in zip(batch, stored) {
            let rate = try XCTUnwrap(store.rate(partition: upsert.run.partition, at: upsert.run.startedAt))
            XCTAssertEqual(run.costCents, Cost.cents(coreMs: upsert.run.coreMs, nodeMs: upsert.run.nodeMs, rate: rate), run.id)
            XCTAssertEqual(try store.run(id: run.id)?.costCents, run.costCents, run.id)
        }
    } }

    func testUsageBudgetAndInvoiceFreeze() throws { try forEachBackend { c in
        let store = c.store
        _ = try store.putAccount(Account(name: "chem", currency: "EUR", budgetCents: 100), actor: "admin")
        _ = try store.addRate(Rate(coreHourMicros: 15_000, validFrom: date("2026-01-01")), actor: "admin")
        // 3 runs of 1 core-hour each at 0.015: each rounds to 2 cents.
        for i in 0..<3 {
            try store.upsertRun(makeRun("s\(i)", start: "2026-11-0\(i + 1)T10:00:00Z", ranks: 1, threads: 1, elapsedMs: 3_600_000), actor: "t")
        }
        try store.upsertRun(makeRun("m0", app: "qforge-md", start: "2026-11-05T10:00:00Z", ranks: 10, threads: 1, elapsedMs: 3_600_000), actor: "t")
        try store.upsertRun(makeRun("oct", start: "2026-10-31T23:59:59Z", ranks: 1, threads: 1, elapsedMs: 3_600_000), actor: "t")
        try store.upsertRun(makeRun("run", start: "2026-11-06T10:00:00Z", state: .running), actor: "t")
        let acct = try XCTUnwrap(store.account("chem"))
        XCTAssertEqual(acct.usedCents, 2 * 3 + 15 + 2)
        XCTAssertEqual(acct.remainingCents, 100 - 23)
        XCTAssertEqual(acct.runs, 6)

        let draft = try store.invoice(account: "chem", period: "2026-11")
        XCTAssertEqual(draft.status, "draft")
        XCTAssertEqual(draft.lines.map(\.app), ["qforge-md", "qforge-statevector"])
        XCTAssertEqual(draft.lines.map(\.runs), [1, 3])
        XCTAssertEqual(draft.lines.map(\.amountCents), [15, 6])
        XCTAssertEqual(draft.lines.map(\.coreHours), ["10.0000", "3.0000"])
        XCTAssertEqual(draft.totalCents, 21)

        let issued = try store.issueInvoice(account: "chem", period: "2026-11", actor: "admin")
        XCTAssertEqual(issued.status, "issued")
        XCTAssertEqual(issued.lines, draft.lines)
        // A run recorded later, and a new rate, change nothing on the issued invoice.
        try store.upsertRun(makeRun("late", start: "2026-11-20T10:00:00Z", ranks: 1, threads: 1, elapsedMs: 3_600_000), actor: "t")
        XCTAssertEqual(try store.invoice(account: "chem", period: "2026-11").totalCents, 21)
        XCTAssertEqual(try store.issueInvoice(account: "chem", period: "2026-11", actor: "admin").issuedAt, issued.issuedAt)
        XCTAssertThrowsError(try store.unsafeExecute("UPDATE invoice_lines SET amount_cents = 0"))
        XCTAssertThrowsError(try store.unsafeExecute("DELETE FROM invoices"))

        let csv = InvoiceFormat.csv(issued)
        XCTAssertEqual(csv, """
            account,period,status,app,runs,core_hours,amount,currency\r
            chem,2026-11,issued,qforge-md,1,10.0000,0.15,EUR\r
            chem,2026-11,issued,qforge-statevector,3,3.0000,0.06,EUR\r
            chem,2026-11,issued,TOTAL,4,13.0000,0.21,EUR\r\n
            """)
        XCTAssertThrowsError(try store.invoice(account: "chem", period: "2026-13"))
        XCTAssertThrowsError(try store.invoice(account: "nobody", period: "2026-11")) { XCTAssertEqual($0 as? CatalogError, .notFound("no account 'nobody'")) }
    } }

    func testAuditIsAppendOnly() throws { try forEachBackend { c in
        let store = c.store
        _ = try store.putAccount(Account(name: "chem"), actor: "admin")
        let (key, _) = try store.createKey(name: "ci", role: .recorder, accounts: ["chem"], actor: "admin")
        _ = try store.revokeKey(id: key.id, actor: "admin")
        let actions = try store.audit(limit: 100, after: nil).map(\.action)
        XCTAssertEqual(actions, ["account.put", "key.create", "key.revoke"])
        XCTAssertThrowsError(try store.unsafeExecute("UPDATE audit SET actor = 'x'"))
        XCTAssertThrowsError(try store.unsafeExecute("DELETE FROM audit"))
        XCTAssertEqual(try store.audit(limit: 100, after: nil).count, 3)
    } }

    func testKeysHashedAndRevocable() throws { try forEachBackend { c in
        let store = c.store
        let (key, token) = try store.createKey(name: "ci", role: .reader, accounts: ["chem"], actor: "admin")
        XCTAssertTrue(token.hasPrefix("qfk_\(key.prefix)_"))
        XCTAssertEqual(try store.authenticate(token: token)?.id, key.id)
        XCTAssertNil(try store.authenticate(token: token + "x"))
        XCTAssertNil(try store.authenticate(token: String(token.dropLast()) + (token.last == "0" ? "1" : "0")))
        // Only the hash is stored.
        if let path = (store as? SQLiteStore)?.path { XCTAssertFalse(try String(contentsOfFile: path, encoding: .isoLatin1).contains(token)) }
        XCTAssertFalse(try store.keys().contains { "\($0)".contains(token) })
        _ = try store.revokeKey(id: key.id, actor: "admin")
        XCTAssertNil(try store.authenticate(token: token))
        XCTAssertThrowsError(try store.createKey(name: "r", role: .recorder, accounts: [], actor: "admin"))
    } }

    func testFiltersPaginationAndInjection() throws { try forEachBackend { c in
        let store = c.store
        for i in 0..<25 {
            try store.upsertRun(makeRun(String(format: "r%02d", i), account: i % 2 == 0 ? "chem" : "phys",
                                        start: String(format: "2026-11-%02dT10:00:00Z", i + 1), state: i % 5 == 0 ? .failed : .completed), actor: "t")
        }
        var seen: [String] = []
        var filter = RunFilter(accounts: ["chem"], limit: 4)
        repeat {
            let page = try store.runs(filter)
            seen += page.items.map(\.id)
            filter.cursor = page.nextCursor
        } while filter.cursor != nil
        XCTAssertEqual(seen.count, 13)
        XCTAssertEqual(Set(seen).count, 13)
        XCTAssertEqual(seen.first, "r24")
        XCTAssertEqual(try store.runs(RunFilter(state: .failed)).items.count, 5)
        XCTAssertEqual(try store.runs(RunFilter(since: date("2026-11-10"), until: date("2026-11-12"))).items.map(\.id), ["r10", "r09"])
        for s in injectionStrings {
            XCTAssertEqual(try store.runs(RunFilter(accounts: [s], app: s, user: s)).items.count, 0)
            XCTAssertEqual(try store.accounts(names: [s]).count, 0)
            XCTAssertNil(try store.run(id: s))
            XCTAssertThrowsError(try store.runs(RunFilter(cursor: s)))
        }
        XCTAssertEqual(try store.runs(RunFilter(limit: 1000)).items.count, 25)
        XCTAssertThrowsError(try store.runs(RunFilter(limit: 0)))
        // The tables are all still there.
        XCTAssertEqual(try store.runs(RunFilter(limit: 1000)).items.count, 25)
    } }

    func testValidation() throws { try forEachBackend { c in
        let store = c.store
        var r = makeRun("ok")
        r.id = "../etc/passwd"
        XCTAssertThrowsError(try store.upsertRun(r, actor: "t"))
        r = makeRun("ok"); r.ranks = 0
        XCTAssertThrowsError(try store.upsertRun(r, actor: "t"))
        r = makeRun("ok"); r.resultSha256 = "xyz"
        XCTAssertThrowsError(try store.upsertRun(r, actor: "t"))
        XCTAssertThrowsError(try store.addRate(Rate(currency: "eur", coreHourMicros: 1, validFrom: date("2026-01-01")), actor: "t"))
        XCTAssertThrowsError(try store.putAccount(Account(name: "a b"), actor: "t"))
    } }

    /// What a write returns is what a read then gives, whether or not it was read back.
    func testUpsertReturnsTheStoredRecord() throws { try forEachBackend { c in
        let store = c.store
        _ = try store.addRate(Rate(coreHourMicros: 15_000, validFrom: date("2026-01-01")), actor: "t")
        var start = makeRun("r", state: .running)
        start.startedAt = start.startedAt.addingTimeInterval(0.0004567)  // sub-millisecond: stored as ms
        start.metrics = ["qubits": 3, "energy": -1.137283834488]
        XCTAssertEqual(try store.upsertRun(start, actor: "t"), try store.run(id: "r"))
        var end = makeRun("r")
        end.endedAt = end.endedAt?.addingTimeInterval(0.0009)
        XCTAssertEqual(try store.upsertRun(end, actor: "t"), try store.run(id: "r"))
        XCTAssertEqual(try store.run(id: "r")?.costCents, 6)  // 4 core-hours at 0.015
        var noElapsed = makeRun("r"); noElapsed.elapsedMs = nil  // keeps the earlier charge: read back
        XCTAssertEqual(try store.upsertRun(noElapsed, actor: "t"), try store.run(id: "r"))
        XCTAssertEqual(try store.upsertRun(start, actor: "t"), try store.run(id: "r"))  // stale start: the ended run
        var free = makeRun("f", start: "2025-01-01T00:00:00Z")  // no rate then
        free.metrics = [:]
        XCTAssertEqual(try store.upsertRun(free, actor: "t"), try store.run(id: "f"))
    } }

    /// A key's account scope is checked inside the write, against the stored run's account.
    func testScopedUpsertBatch() throws { try forEachBackend { c in
        let store = c.store
        try store.upsertRun(makeRun("phys-1", account: "phys"), actor: "t")
        var bad = makeRun("x"); bad.ranks = 0
        let results = try store.upsertRuns([
            RunUpsert(run: makeRun("chem-1"), actor: "k", accounts: ["chem"]),
            RunUpsert(run: makeRun("phys-1", account: "chem"), actor: "k", accounts: ["chem"]),  // another account's run
            RunUpsert(run: makeRun("phys-2", account: "phys"), actor: "k", accounts: ["chem"]),
            RunUpsert(run: bad, actor: "k", accounts: nil),
            RunUpsert(run: makeRun("any-1", account: "bio"), actor: "admin", accounts: nil),
        ])
        XCTAssertEqual(try results[0].get().id, "chem-1")
        XCTAssertEqual(results[1].failure, .forbidden("run 'phys-1' belongs to another account"))
        XCTAssertEqual(results[2].failure, .forbidden("this key cannot record for account 'phys'"))
        XCTAssertEqual(results[3].failure, .invalid("ranks, threads and nodes must be positive"))
        XCTAssertEqual(try results[4].get().account, "bio")
        XCTAssertEqual(try store.run(id: "phys-1")?.account, "phys")
        XCTAssertNil(try store.run(id: "phys-2"))
        XCTAssertEqual(try store.runs(RunFilter()).items.map(\.id).sorted(), ["any-1", "chem-1", "phys-1"])
    } }

    /// 16 recorders on 16 threads at once (own connections, as separate processes would have)
    /// × 200 runs each, recorded at start and end, against one catalog: nothing lost, nothing doubled.
    func testConcurrentRecorders() throws { try forEachBackend { c in
        let failures = Failures()
        let group = DispatchGroup()
        for w in 0..<16 {
            group.enter()
            Thread {
            defer { group.leave() }
            do {
                let store = try c.open()
                for i in 0..<200 {
                    let id = "w\(w)-\(i)"
                    try store.upsertRun(makeRun(id, account: "acct\(w % 4)", state: .running), actor: "w\(w)")
                    try store.upsertRun(makeRun(id, account: "acct\(w % 4)"), actor: "w\(w)")
                    if i % 50 == 0 { try store.upsertRun(makeRun(id, account: "acct\(w % 4)"), actor: "w\(w)") }  // retry
                }
            } catch { failures.add("\(w): \(error)") }
            }.start()
        }
        group.wait()
        XCTAssertEqual(failures.all, [])
        let store = c.store
        let all = try store.runs(RunFilter(limit: 1000))
        var ids = all.items.map(\.id)
        var cursor = all.nextCursor
        while let c = cursor {
            let page = try store.runs(RunFilter(limit: 1000, cursor: c))
            ids += page.items.map(\.id)
            cursor = page.nextCursor
        }
        XCTAssertEqual(ids.count, 3200)
        XCTAssertEqual(Set(ids).count, 3200)
        XCTAssertEqual(try store.runCounts(), [.completed: 3200])
        XCTAssertEqual(try store.audit(limit: 1000, after: nil).count, 1000)
    } }
}

extension Result {
    var failure: Failure? { if case .failure(let e) = self { return e }; return nil }
}

final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
}
