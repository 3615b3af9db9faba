@testable import Catalog
import XCTest

final class CostTests: XCTestCase {
    func testCoreHoursAndRounding() {
        let rate = Rate(coreHourMicros: 15_000, validFrom: date("2026-01-01"))  // 0.015 / core-hour
        // 4 ranks × 2 threads × 30 min = 4 core-hours → 0.06
        XCTAssertEqual(Cost.cents(coreMs: 8 * 1_800_000, nodeMs: 0, rate: rate), 6)
        // 1 core-hour at 0.015 = 1.5 cents → rounds half up to 2
        XCTAssertEqual(Cost.cents(coreMs: 3_600_000, nodeMs: 0, rate: rate), 2)
        // just under half a cent → 0
        XCTAssertEqual(Cost.cents(coreMs: 1_199_999, nodeMs: 0, rate: rate), 0)
        XCTAssertEqual(Cost.cents(coreMs: 1_200_000, nodeMs: 0, rate: rate), 1)  // exactly 0.5 cent
        // node-hours add before the single rounding
        let both = Rate(coreHourMicros: 20_000, nodeHourMicros: 1_200_000, validFrom: date("2026-01-01"))
        XCTAssertEqual(Cost.cents(coreMs: 64 * 3_600_000, nodeMs: 2 * 3_600_000, rate: both), 128 + 240)
        // huge runs do not overflow: 100k cores for a year at 1000.000000 / core-hour
        let big = Rate(coreHourMicros: 1_000_000_000, validFrom: date("2026-01-01"))
        XCTAssertEqual(Cost.cents(coreMs: 100_000 * 365 * 86_400_000, nodeMs: 0, rate: big), 100_000 * 365 * 24 * 100_000)
    }

    func testSumOfLinesIsExact() {
        // 0.1 + 0.2 style sums stay exact in integer cents
        var total: Int64 = 0
        for _ in 0..<1000 { total += Money.parseCents("0.10")! }
        XCTAssertEqual(Money.format(cents: total), "100.00")
    }

    func testMoneyText() {
        XCTAssertEqual(Money.parseCents("12.34"), 1234)
        XCTAssertEqual(Money.parseCents("12.3"), 1230)
        XCTAssertEqual(Money.parseCents("12"), 1200)
        XCTAssertNil(Money.parseCents("12.345"))
        XCTAssertNil(Money.parseCents("-1"))
        XCTAssertNil(Money.parseCents("1e3"))
        XCTAssertNil(Money.parseCents("12."))
        XCTAssertEqual(Money.parseMicros("0.015"), 15_000)
        XCTAssertEqual(Money.formatMicros(15_000), "0.015")
        XCTAssertEqual(Money.formatMicros(1_200_000), "1.20")
        XCTAssertEqual(Money.format(cents: 5), "0.05")
        XCTAssertEqual(Money.format(cents: -1205), "-12.05")
        XCTAssertEqual(Cost.hours(ms: 5_400_000), "1.5000")
        XCTAssertEqual(Cost.hours(ms: 1), "0.0000")
        XCTAssertEqual(Cost.hours(ms: 180), "0.0001")  // 0.00005 rounds up
    }

    func testTimestamps() {
        let d = date("2026-11-22T04:05:06.789Z")
        XCTAssertEqual(Timestamp.format(d), "2026-11-22T04:05:06.789Z")
        XCTAssertEqual(Timestamp.parse("2026-11-22T05:05:06.789+01:00"), d)
        XCTAssertEqual(Timestamp.format(date("2026-11-01")), "2026-11-01T00:00:00.000Z")
        XCTAssertNil(Timestamp.parse("2026-13-01"))
        XCTAssertNil(Timestamp.parse("yesterday"))
        XCTAssertNil(Timestamp.parse("2026-11-01T10:00Zjunk"))
        let m = Timestamp.month("2026-12")!
        XCTAssertEqual(Timestamp.format(m.start), "2026-12-01T00:00:00.000Z")
        XCTAssertEqual(Timestamp.format(m.end), "2027-01-01T00:00:00.000Z")
        XCTAssertNil(Timestamp.month("2026-1"))
        // The byte writer agrees with the general formatter, before 1970 and near year edges too.
        for ms: Int64 in [0, -1, -999, -1000, 1, 999, 1_763_800_000_123, -62_135_596_800_000, 253_402_300_799_999, 253_402_300_800_000,
                          951_782_400_000, 4_102_444_799_999] {
            let d = Timestamp.date(ms: ms)
            XCTAssertEqual(Timestamp.format(d), Timestamp.formatSlowly(d), "\(ms)")
        }
        for i in 0..<2000 {
            let d = Timestamp.date(ms: Int64(i) * 987_654_321_987 % 4_000_000_000_000 - 100_000_000_000)
            XCTAssertEqual(Timestamp.format(d), Timestamp.formatSlowly(d))
        }
    }

    func testCSVEscaping() {
        XCTAssertEqual(CSV.line(["a,b", "say \"hi\"", "=SUM(A1)", "-1.50"]), "\"a,b\",\"say \"\"hi\"\"\",'=SUM(A1),-1.50\r\n")
    }
}

final class DigestTests: XCTestCase {
    /// The block hasher agrees with ForgeCore's reference on sizes around block and chunk edges.
    func testFileDigestMatchesReference() throws {
        let dir = tempDir("digest")
        for n in [0, 1, 55, 56, 63, 64, 65, 1000, (4 << 20) + 7] {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let path = dir + "/f\(n)"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let (size, hex) = try SHA256Hex.file(path)
            XCTAssertEqual(size, Int64(n))
            XCTAssertEqual(hex, SHA256Hex.of(bytes), "\(n) bytes")
        }
        try Data("abc".utf8).write(to: URL(fileURLWithPath: dir + "/abc"))
        XCTAssertEqual(try SHA256Hex.file(dir + "/abc").sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
