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

    /// Stored metrics: the hand-written text reads back exactly, and what JSONSerialization
    /// wrote before (escaped slashes, spaces) still reads.
    func testMetricsText() throws {
        let metrics: [String: Double] = ["qubits": 20, "energy": -1.1372838344885, "tiny": 1.5e-7, "huge": 1e20, "half": 0.5,
                                         "zero": 0, "neg": -3, "big_int": 9_007_199_254_740_992, "third": 1.0 / 3.0, "a\"b/c": 1]
        let text = MetricsText.encode(metrics)
        XCTAssertEqual(MetricsText.decode(text), metrics)
        XCTAssertEqual(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Double], metrics)
        XCTAssertEqual(MetricsText.encode(["b": 2, "a": 1.5]), #"{"a":1.5,"b":2}"#)
        XCTAssertEqual(MetricsText.encode([:]), "{}")
        XCTAssertEqual(MetricsText.encode(["x": .nan]), "{}")
        XCTAssertEqual(MetricsText.decode("{}"), [:])
        XCTAssertEqual(MetricsText.decode(#"{"a\/b":1.5,"c":2}"#), ["a/b": 1.5, "c": 2])
        XCTAssertEqual(MetricsText.decode(#"{ "a" : 1e3 }"#), ["a": 1000])
        XCTAssertEqual(MetricsText.decode(#"{"a":nan}"#), [:])
        XCTAssertEqual(MetricsText.decode("garbage"), [:])
    }

    /// The hand parser for recorded runs gives what `JSONDecoder` gives, or declines (nil) and
    /// leaves the body to it.
    func testRunBodyParserMatchesFoundationDecoder() throws {
        func fast(_ text: String) -> RunRecord? { Array(text.utf8).withUnsafeBytes { RunJSON.decodeRun($0) } }
        func foundation(_ text: String) -> RunRecord? { try? CatalogJSON.decoder().decode(RunRecord.self, from: Data(text.utf8)) }
        let bench = #"{"id":"bench-1-2","app":"qforge-statevector","app_version":"0.1.0","kind":"statevector","account":"acct1","user":"bench","launcher":"slurm","nodes":1,"ranks":4,"threads":1,"started_at":"2026-11-20T10:00:00Z","ended_at":"2026-11-20T10:30:00Z","elapsed_ms":1800000,"state":"completed","exit_code":0,"metrics":{"qubits":20,"gates":300}}"#
        var full = makeRun("full-1.x_y", partition: "gpu")
        full.host = "node-01"; full.slurmArrayJobId = "77"; full.slurmArrayTaskId = "3"; full.resultPath = "/scratch/r.h5"
        full.resultSize = 1 << 40; full.resultSha256 = String(repeating: "ab", count: 32); full.command = "qforge sv c.qasm --shots 10"
        full.estimatedCostCents = -5
        full.metrics = ["energy": -1.1372838344885, "tiny": 1.5e-7, "huge": 1e20, "zero": 0, "big_int": 9_007_199_254_740_992, "third": 1.0 / 3.0]
        let encoded = try [makeRun("plain"), makeRun("running", state: .running), full].map { String(decoding: try CatalogJSON.encoder().encode($0), as: UTF8.self) }
        let accepted = [bench] + encoded + [
            " {\n \"id\" : \"a\" ,\t\"app\":\"x\",\"app_version\":\"1\",\"kind\":\"k\",\"account\":\"c\",\"user\":\"u\",\"launcher\":\"direct\",\"nodes\":1,\"ranks\":-0,\"threads\":2,\"started_at\":\"2026-11-20 10:00\",\"state\":\"running\",\"host\":null,\"ended_at\":null,\"exit_code\":null,\"metrics\":{ }}\r\n",
            bench.replacingOccurrences(of: #""gates":300"#, with: #""gates":3.5e2,"e":-1E-3,"f":0.25"#),
        ]
        for text in accepted {
            let got = fast(text)
            XCTAssertNotNil(got, text)
            XCTAssertEqual(got, foundation(text), text)
        }
        // Declined: the general decoder answers these (some are fine, some are 400s).
        let edits: [(String, String)] = [
            (#""nodes":1"#, #""nodes":1.0"#),
            (#""nodes":1"#, #""nodes":01"#),
            (#""nodes":1"#, #""nodes":1e0"#),
            (#""nodes":1"#, #""nodes":"1""#),
            (#""nodes":1"#, #""nodes":null"#),
            (#""nodes":1"#, #""nodes":99999999999999999999"#),
            (#""nodes":1"#, #""nodes":1,"nodes":2"#),
            (#""user":"bench""#, #""user":"b\u00e9nch""#),
            (#""user":"bench""#, #""user":"bénch""#),
            (#""user":"bench""#, #""user":"a\/b""#),
            (#""app_version""#, #""appVersion""#),
            (#""state":"completed""#, #""state":"exploded""#),
            (#""started_at":"2026-11-20T10:00:00Z""#, #""started_at":"soon""#),
            (#""gates":300"#, #""gates":1e400"#),
            (#""gates":300"#, #""gates":300,"gates":1"#),
            (#""gates":300"#, #""gates":.5"#),
            (#""gates":300"#, #""gates":"300""#),
            (#","metrics":{"qubits":20,"gates":300}"#, ""),
            (#""exit_code":0"#, #""core_hours":"1.0""#),
        ]
        let declined: [String] = ["", "{", "[]", "null", #"{"id":"x"}"#, bench + "x", bench + "}"]
            + edits.map { bench.replacingOccurrences(of: $0.0, with: $0.1) }
        for text in declined { XCTAssertNil(fast(text), text) }
    }
}
