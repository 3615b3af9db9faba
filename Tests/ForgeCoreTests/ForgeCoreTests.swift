import ForgeCore
import XCTest

final class SHA256Tests: XCTestCase {
    /// FIPS 180-4 / NIST example vectors.
    func testKnownVectors() {
        XCTAssertEqual(SHA256.hex([UInt8]()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Feeding the same bytes in pieces of any size gives the same digest.
    func testChunkingDoesNotMatter() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let whole = SHA256.hex(data)
        for piece in [1, 3, 63, 64, 65, 200] {
            var hasher = SHA256()
            for start in stride(from: 0, to: data.count, by: piece) {
                data[start..<min(start + piece, data.count)].withUnsafeBytes { hasher.update($0) }
            }
            XCTAssertEqual(SHA256.hexString(hasher.finalize()), whole, "pieces of \(piece)")
        }
    }
}

final class JobFileTests: XCTestCase {
    func testValuesTablesAndLocations() throws {
        let text = "kind = \"md\"\r\nsteps = 1_000 # comment\n[thermostat]\ntemperature = 1.5\nlist = [1, 2,\n 3]\n"
        let job = try JobFile(text: text, path: "job.toml")
        XCTAssertEqual(try job.string("kind"), "md")
        XCTAssertEqual(try job.integer("steps"), 1000)
        XCTAssertEqual(try job.number("thermostat.temperature"), 1.5)
        XCTAssertEqual(job.entries["thermostat.temperature"]?.line, 4)
        XCTAssertEqual(job.entries["thermostat.list"]?.value, .array([.integer(1), .integer(2), .integer(3)]))
    }

    func testUnknownKeySuggestsTheNearestOne() throws {
        let job = try JobFile(text: "kind = \"statevector\"\nshot = 5\n", path: "j.toml")
        XCTAssertThrowsError(try job.checkKeys(allowed: ["kind", "shots", "seed"])) { error in
            XCTAssertEqual((error as? InputError)?.description, "j.toml:2:1: unknown key 'shot' (did you mean 'shots'?)")
        }
    }

    func testSyntaxErrorsPointAtTheirLine() {
        for (text, line) in [("a = \n", 1), ("a = 1\nb = \"open\n", 2), ("a = 1\na = 2\n", 2), ("x = [1, 2\n", 1), ("k = 1 2\n", 1)] {
            XCTAssertThrowsError(try JobFile(text: text, path: "j.toml"), text) { error in
                XCTAssertEqual((error as? InputError)?.line, line, text)
            }
        }
    }
}
