@testable import Catalog
import XCTest

final class SpoolTests: XCTestCase {
    func testSpoolWhenUnreachableThenSync() throws {
        let dir = tempDir("spool")
        let spool = dir + "/spool"
        // Nothing listens on port 9 of loopback: delivery fails at once and the run is spooled.
        let down = RunRecorder(target: .http(url: URL(string: "http://127.0.0.1:9")!), spoolDirectory: spool, timeout: 2)
        XCTAssertNotNil(down.record(makeRun("s1", state: .running)))
        XCTAssertNotNil(down.record(makeRun("s1")))  // the end replaces the start in the spool
        XCTAssertNotNil(down.record(makeRun("s2")))
        XCTAssertEqual(down.spooled(), ["s1", "s2"])
        XCTAssertEqual(down.sync().remaining, 2)

        // The catalog is back (here: the SQLite file): sync delivers, and again changes nothing.
        let up = RunRecorder(target: .sqlite(path: dir + "/catalog.sqlite"), spoolDirectory: spool)
        XCTAssertEqual(up.sync(), RunRecorder.SyncReport(delivered: 2, rejected: 0, remaining: 0, lastError: nil))
        XCTAssertEqual(up.spooled(), [])
        XCTAssertNil(up.record(makeRun("s1")))
        let store = try SQLiteStore(path: dir + "/catalog.sqlite")
        XCTAssertEqual(try store.runs(RunFilter()).items.map(\.id).sorted(), ["s1", "s2"])
        XCTAssertEqual(try store.run(id: "s1")?.state, .completed)
    }

    /// While the catalog is down, budget checks use the last usage seen plus the spooled runs.
    func testBudgetWhileUnreachable() throws {
        let dir = tempDir("budget")
        let spool = dir + "/spool"
        let store = try SQLiteStore(path: dir + "/catalog.sqlite")
        _ = try store.putAccount(Account(name: "chem", budgetCents: 1000), actor: "t")
        _ = try store.addRate(Rate(coreHourMicros: 1_000_000, validFrom: date("2020-01-01")), actor: "t")  // 1.00 per core-hour
        try store.upsertRun(makeRun("before", start: "2026-11-10T12:00:00Z", ranks: 1, threads: 1, elapsedMs: 3_600_000), actor: "t")
        let up = RunRecorder(target: .sqlite(path: dir + "/catalog.sqlite"), spoolDirectory: spool)
        let seen = try up.budget(account: "chem", partition: nil)
        XCTAssertNil(seen.lastSeen)
        XCTAssertEqual(seen.account?.usedCents, 100)

        let down = RunRecorder(target: .http(url: URL(string: "http://127.0.0.1:9")!), spoolDirectory: spool, timeout: 2)
        var late = makeRun("while-down", ranks: 2, threads: 1, elapsedMs: 3 * 3_600_000)  // 6 core-hours
        late.startedAt = Date()
        XCTAssertNotNil(down.record(late))
        XCTAssertNotNil(down.record(makeRun("other", account: "phys")))
        let view = try down.budget(account: "chem", partition: nil)
        XCTAssertNotNil(view.lastSeen)
        XCTAssertEqual(view.account?.usedCents, 100 + 600)
        XCTAssertEqual(view.account?.remainingCents, 300)
        XCTAssertEqual(view.rate?.coreHourMicros, 1_000_000)
        // Never seen: nothing to go on.
        XCTAssertThrowsError(try down.budget(account: "bio", partition: nil))
    }

    func testRejectedRecordsMoveAside() throws {
        let dir = tempDir("spool")
        let spool = dir + "/spool"
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
        try Data("{\"not\":\"a run\"}".utf8).write(to: URL(fileURLWithPath: spool + "/junk.json"))
        let up = RunRecorder(target: .sqlite(path: dir + "/catalog.sqlite"), spoolDirectory: spool)
        XCTAssertEqual(up.sync().rejected, 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: spool + "/rejected/junk.json"))
    }

    func testRatePickMatchesStore() throws {
        let store = try SQLiteStore()
        let rates = [
            Rate(coreHourMicros: 1, validFrom: date("2026-01-01")),
            Rate(coreHourMicros: 2, validFrom: date("2026-06-01")),
            Rate(partition: "gpu", coreHourMicros: 3, validFrom: date("2026-01-01"), validTo: date("2026-07-01")),
        ].map { try! store.addRate($0, actor: "t") }
        for (p, at) in [(nil, "2026-03-01"), (nil, "2026-08-01"), ("gpu", "2026-03-01"), ("gpu", "2026-08-01"), ("cpu", "2026-08-01"), (nil, "2025-01-01")] as [(String?, String)] {
            XCTAssertEqual(Rate.pick(from: rates, partition: p, at: date(at))?.id, try store.rate(partition: p, at: date(at))?.id, "\(p ?? "-") \(at)")
        }
    }
}
