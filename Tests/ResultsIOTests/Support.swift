import ForgeCore
import Foundation
import XCTest

/// A fresh directory under the system temp dir, removed by `remove()`.
struct TempDir {
    let path: String
    init() throws {
        path = FileManager.default.temporaryDirectory.path + "/qforge-resultsio-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { path + "/" + name }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs `python3 -c script args...`; returns exit status and combined output.
func runPython(_ script: String, _ args: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + args
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Skips the calling test (printing why) when h5py cannot be imported.
func requireH5py() throws {
    let result: (status: Int32, output: String)
    do {
        result = try runPython("import h5py, numpy", [])
    } catch {
        throw XCTSkip("h5py checks skipped: cannot run python3 (\(error))")
    }
    if result.status != 0 {
        throw XCTSkip("h5py checks skipped: python3 cannot import h5py: \(result.output)")
    }
}

/// Runs an h5py check script; fails the test with the script's output unless it exits 0.
func checkWithH5py(_ script: String, _ args: [String], file: StaticString = #filePath, line: UInt = #line) throws {
    try requireH5py()
    let result = try runPython(script, args)
    XCTAssertEqual(result.status, 0, "h5py check failed:\n\(result.output)", file: file, line: line)
}

/// Deterministic interleaved (re, im) test amplitudes.
func testAmplitudes(_ count: Int, seed: UInt64) -> [Double] {
    var rng = SplitMix64(seed: seed)
    return (0..<(2 * count)).map { _ in rng.nextUnit() - 0.5 }
}

/// Writes doubles as little-endian float64 for numpy.fromfile.
func writeBinary(_ values: [Double], to path: String) throws {
    let data = values.withUnsafeBytes { Data($0) }
    try data.write(to: URL(fileURLWithPath: path))
}

/// Collects what stderr (fd 2) receives while `body` runs.
func capturingStderr(_ body: () throws -> Void) rethrows -> String {
    fflush(nil)
    let path = FileManager.default.temporaryDirectory.path + "/qforge-stderr-" + UUID().uuidString
    let fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0o600)
    let saved = dup(2)
    dup2(fd, 2)
    defer {
        fflush(nil)
        dup2(saved, 2)
        close(saved)
        close(fd)
    }
    try body()
    fflush(nil)
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    unlink(path)
    return text
}

/// In-process ranks on threads: collectives meet at a condition variable. Enough to run
/// rank-ordered writing with real concurrency in a test.
final class ThreadRanks: @unchecked Sendable {
    let size: Int
    private let condition = NSCondition()
    private var contributions: [Any?]
    private var arrived = 0
    private var generation = 0
    private var result: Any = ()

    init(size: Int) {
        self.size = size
        contributions = Array(repeating: nil, count: size)
    }

    /// Every rank contributes; all get `combine(contributions in rank order)`.
    func collective(rank: Int, _ value: Any, combine: ([Any]) -> Any) -> Any {
        condition.lock()
        defer { condition.unlock() }
        let myGeneration = generation
        contributions[rank] = value
        arrived += 1
        if arrived == size {
            result = combine(contributions.map { $0! })
            contributions = Array(repeating: nil, count: size)
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == myGeneration { condition.wait() }
        }
        return result
    }

    /// Runs `body(comm)` on `size` threads and waits for all.
    func run(_ body: @escaping @Sendable (ThreadCommunicator) -> Void) {
        let done = DispatchGroup()
        for r in 0..<size {
            done.enter()
            let comm = ThreadCommunicator(rank: r, ranks: self)
            let thread = Thread {
                body(comm)
                done.leave()
            }
            thread.start()
        }
        done.wait()
    }
}

final class ThreadCommunicator: Communicator, @unchecked Sendable {
    let rank: Int
    let ranks: ThreadRanks
    init(rank: Int, ranks: ThreadRanks) {
        self.rank = rank
        self.ranks = ranks
    }
    var size: Int { ranks.size }
    var ranksOnNode: Int { ranks.size }
    func barrier() { _ = ranks.collective(rank: rank, ()) { _ in () } }
    func sendrecv(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer, partner: Int) {
        fatalError("not used by these tests")
    }
    func sendrecv(_ send: UnsafeRawBufferPointer, to destination: Int,
                  into receive: UnsafeMutableRawBufferPointer, from source: Int) {
        fatalError("not used by these tests")
    }
    func allreduceSum(_ values: inout [Double]) {
        values = ranks.collective(rank: rank, values) { all in
            (all as! [[Double]]).reduce(into: [Double](repeating: 0, count: (all[0] as! [Double]).count)) { acc, v in
                for i in acc.indices { acc[i] += v[i] }
            }
        } as! [Double]
    }
    func allreduceSum(_ values: inout [UInt64]) {
        values = ranks.collective(rank: rank, values) { all in
            (all as! [[UInt64]]).reduce(into: [UInt64](repeating: 0, count: (all[0] as! [UInt64]).count)) { acc, v in
                for i in acc.indices { acc[i] += v[i] }
            }
        } as! [UInt64]
    }
    func allgather(_ values: [Double]) -> [Double] {
        ranks.collective(rank: rank, values) { all in (all as! [[Double]]).flatMap { $0 } } as! [Double]
    }
    func gather(_ bytes: [UInt8], root: Int) -> [[UInt8]]? {
        let all = ranks.collective(rank: rank, bytes) { all in all as! [[UInt8]] } as! [[UInt8]]
        return rank == root ? all : nil
    }
    func broadcast(_ bytes: inout [UInt8], root: Int) {
        bytes = ranks.collective(rank: rank, bytes) { all in all[root] } as! [UInt8]
    }
    func abort(code: Int32) -> Never { fatalError("abort \(code)") }
}

/// A lock-protected value shared between test threads.
final class Shared<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func update(_ f: (inout Value) -> Void) { lock.lock(); f(&value); lock.unlock() }
    var current: Value { lock.lock(); defer { lock.unlock() }; return value }
}
