import ForgeCore
import Foundation
@testable import ResultsIO
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

/// The byte offset and length of /state/amplitudes in a file `StatevectorFile.create` made.
func amplitudeLayout(_ path: String) throws -> (offset: UInt64, total: UInt64) {
    let file = try H5File.open(path)
    let dataset = try file.openDataset(StatevectorFile.amplitudesPath)
    return (try dataset.fileOffset(), try dataset.shape()[0])
}

/// One writer's slice of amplitudes through its own `SharedFile`, as a rank writes it.
func writeSlice<T>(path: String, first: Int, _ values: ArraySlice<T>) throws {
    let (offset, total) = try amplitudeLayout(path)
    let file = try SharedFile(path: path)
    try values.withUnsafeBufferPointer { buffer in
        switch buffer {
        case let d as UnsafeBufferPointer<Double>:
            try StatevectorFile.writeAmplitudes(file, dataOffset: offset, total: total, first: UInt64(first), interleaved: d)
        case let f as UnsafeBufferPointer<Float>:
            try StatevectorFile.writeAmplitudes(file, dataOffset: offset, total: total, first: UInt64(first), interleaved: f)
        default:
            fatalError("amplitudes are Double or Float")
        }
    }
    try file.close()
}
