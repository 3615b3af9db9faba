@testable import Catalog
import XCTest

/// The hand-written run encoder must produce exactly what `CatalogJSON.encoder()` does.
final class RunJSONTests: XCTestCase {
    func testMatchesFoundationEncoder() throws {
        var runs = [makeRun("plain"), makeRun("running", state: .running)]
        var full = makeRun("full-1.x_y", partition: "gpu")
        full.host = "node-01"; full.slurmArrayJobId = "77"; full.slurmArrayTaskId = "3"
        full.resultPath = "/scratch/a b/ü/\"quoted\"\\back\\slash/π.h5"
        full.resultSize = 1 << 40; full.resultSha256 = String(repeating: "ab", count: 32)
        full.command = "qforge sv c.qasm\n\t--shots 10\r\u{0}\u{1}\u{1f}\u{7f}\u{8}\u{c} <script>&'é中文🙂"
        full.estimatedCostCents = -5; full.coreHours = "12.3456"; full.costCents = 1234; full.currency = "EUR"
        full.metrics = ["qubits": 20, "energy": -1.1372838344885, "tiny": 1.5e-7, "huge": 1e20, "half": 0.5, "zero": 0,
                        "neg": -3, "big_int": 9_007_199_254_740_992, "third": 1.0 / 3.0, "a\"b": 1]
        full.startedAt = Date(timeIntervalSince1970: 1_763_800_000.123)
        full.endedAt = Date(timeIntervalSince1970: 1_763_803_600.9994)
        runs.append(full)
        for s in injectionStrings {
            var r = makeRun("inj")
            r.user = s; r.command = s; r.app = s
            runs.append(r)
        }
        let encoder = CatalogJSON.encoder()
        for run in runs {
            XCTAssertEqual(String(decoding: RunJSON.encode(run), as: UTF8.self), String(decoding: try encoder.encode(run), as: UTF8.self))
        }
        for page in [Page(items: runs, nextCursor: "123.abc"), Page(items: [], nextCursor: nil), Page(items: [runs[0]], nextCursor: nil)] {
            XCTAssertEqual(String(decoding: RunJSON.encode(page), as: UTF8.self), String(decoding: try encoder.encode(page), as: UTF8.self))
        }
        // And it reads back as the same record.
        let back = try CatalogJSON.decoder().decode(RunRecord.self, from: Data(RunJSON.encode(full)))
        XCTAssertEqual(back.metrics, full.metrics)
        XCTAssertEqual(back.command, full.command)
    }
}
