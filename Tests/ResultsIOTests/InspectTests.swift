import ForgeCore
import Foundation
@testable import ResultsIO
import XCTest

final class InspectTests: XCTestCase {
    var dir: TempDir!
    override func setUpWithError() throws { dir = try TempDir() }
    override func tearDown() { dir.remove() }

    func testStatevectorSummary() throws {
        let path = dir.file("ghz.h5")
        let n = 14
        let count = 1 << n
        try StatevectorFile.create(path: path, qasm: "OPENQASM 2.0;\n", qubits: n, gates: 14,
                                   amplitudeCount: UInt64(count), precision: "single")
        // A known distribution: p(i) = weight(i)/total with a few large entries.
        var weights = [Double](repeating: 1, count: count)
        let big: [Int: Double] = [5: 4000, 9000: 3000, 16383: 2000, 77: 1000]
        for (i, w) in big { weights[i] = w }
        let total = weights.reduce(0, +)
        var amps = [Float](repeating: 0, count: 2 * count)
        for i in 0..<count { amps[2 * i + 1] = Float((weights[i] / total).squareRoot()) }  // imaginary parts
        for r in 0..<4 {
            let slab = count / 4
            try writeSlice(path: path, first: slab * r, amps[(2 * slab * r)..<(2 * slab * (r + 1))])
        }
        let counts: [(outcome: UInt64, count: UInt64)] = (0..<12).map { (UInt64($0), UInt64(100 + $0)) }
        try StatevectorFile.finish(
            path: path,
            metadata: RunMetadata(jobKind: "statevector", config: "x", ranks: 4, wallSeconds: 2.25,
                                  runID: "abc", created: "2025-02-01T00:00:00Z", slurmJobID: nil),
            counts: counts, shots: 1266, seed: 11, expectations: [("Z0", 0.25)])

        let text = try inspectSummary(path: path)
        XCTAssertTrue(text.contains("job_kind:       statevector"), text)
        XCTAssertTrue(text.contains("run_id:         abc"), text)
        XCTAssertTrue(text.contains("ranks:          4"), text)
        XCTAssertTrue(text.contains("wall_seconds:   2.250"), text)
        XCTAssertTrue(text.contains("qforge_version: \(qforgeVersion)"), text)
        XCTAssertTrue(text.contains("14 qubits, 14 gates"), text)
        XCTAssertTrue(text.contains("16384 amplitudes, precision single, norm 0.9999999")
                      || text.contains("16384 amplitudes, precision single, norm 1.0000000"), text)
        // The four big ones, largest first, with qubit 13 leftmost.
        let lines = text.split(separator: "\n").map(String.init)
        let start = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("most probable") })
        XCTAssertTrue(lines[start + 1].contains(basisLabel(5, qubits: n)) && lines[start + 1].contains("index 5 "), lines[start + 1])
        XCTAssertTrue(lines[start + 2].contains("index 9000 "), lines[start + 2])
        XCTAssertTrue(lines[start + 3].contains("index 16383 "), lines[start + 3])
        XCTAssertTrue(lines[start + 4].contains("index 77 "), lines[start + 4])
        XCTAssertTrue(lines[start + 3].contains("|11111111111111>"), lines[start + 3])
        XCTAssertEqual(lines[(start + 1)...].prefix { $0.hasPrefix("  |") }.count, 8)
        XCTAssertTrue(text.contains("1266 shots, seed 11, 12 distinct outcomes (top 10)"), text)
        XCTAssertTrue(text.contains("  |00000000001011>  111    8.77 %"), text)
        XCTAssertFalse(text.contains("  |00000000000001>  101"), "only the top 10 counts are listed")
        XCTAssertTrue(text.contains("<Z0>  =  0.250000000000"), text)
        XCTAssertTrue(text.contains("  /state/amplitudes  dataset  [16384]  {r: float64, i: float64}"), text)
        XCTAssertTrue(text.contains("      @precision = single"), text)
        XCTAssertTrue(text.contains("  /measurements/counts  dataset  [12]  {outcome: uint64, count: uint64}"), text)
        XCTAssertTrue(text.contains("  /observables/expectations  dataset  [1]  {label: string, value: float64}"), text)
        XCTAssertTrue(text.contains("  /circuit/qasm  dataset  scalar  string"), text)
    }

    func testGenericTreeForH5MDLikeFileAndPartialFile() throws {
        let path = dir.file("md.h5.partial")
        let file = try H5File.create(path)
        let h5md = try file.createGroup("/h5md")
        try h5md.setAttribute("version", [Int32(1), 1])
        let value = try file.createDataset("/particles/trajectory/position/value", type: .file(Double.self),
                                           shape: [0, 4, 3], maxShape: [nil, 4, 3], chunk: [1, 4, 3])
        try value.setAttribute("unit", "nm")
        try value.append([Double](repeating: 1, count: 24))
        try file.close()

        let text = try inspectSummary(path: path)
        XCTAssertTrue(text.contains("run metadata: missing"), text)
        XCTAssertFalse(text.contains("state:"), text)
        XCTAssertTrue(text.contains("  /h5md  group\n      @version = [1, 1]"), text)
        XCTAssertTrue(text.contains("  /particles/trajectory/position/value  dataset  [2, 4, 3] max [inf, 4, 3]  float64  chunks [1, 4, 3]"), text)
        XCTAssertTrue(text.contains("@unit = nm"), text)
    }

    func testNotHDF5AndMissingFilesAreInputErrors() throws {
        let text = dir.file("notes.txt")
        _ = FileManager.default.createFile(atPath: text, contents: Data("hello".utf8))
        for path in [text, dir.file("missing.h5"), dir.path] {
            XCTAssertThrowsError(try inspectSummary(path: path)) { error in
                guard let e = error as? InputError else { return XCTFail("\(error)") }
                XCTAssertTrue(e.message.contains("not an HDF5 file"), e.message)
                XCTAssertEqual(e.file, path)
            }
        }
    }
}
