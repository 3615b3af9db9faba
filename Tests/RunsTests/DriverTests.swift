// The job drivers in-process on 1, 2 and 4 ranks (no mpirun): a periodic checkpoint, or a
// signal's checkpoint and the continuation, end in the uninterrupted run's result bit for bit.
import Catalog
import ForgeCore
import ForgeTesting
import Foundation
import ResultsIO
@testable import Runs
import XCTest

#if canImport(Glibc)
import Glibc
#endif

final class DriverTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.path + "/qforge-runs-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        Interrupt.simulate(0)
    }

    override func tearDown() {
        Interrupt.simulate(0)
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Runs `job` on `ranks` in-process ranks; returns rank 0's context and error.
    func run(_ job: Job, ranks: Int, checkpointEvery: Double = 0) -> (context: RunContext?, error: Error?) {
        let box = ResultBox()
        nonisolated(unsafe) let job = job  // read-only on every rank
        InProcessWorld(size: ranks).run { comm in
            let context = RunContext(comm: comm, config: job.config, quiet: true, checkpointEvery: checkpointEvery, print: { _ in })
            var failure: Error? = nil
            do { try job.run(context) } catch { failure = error }
            if comm.isRoot { box.set(context, failure) }
        }
        return (box.context, box.error)
    }

    func job(_ text: String, name: String) throws -> Job {
        let path = dir + "/" + name + ".toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return try Job(file: try JobFile(contentsOf: path), output: dir + "/" + name + (text.contains("\"md\"") ? ".h5md" : ".h5"))
    }

    func output(_ job: Job) -> String {
        switch job.spec {
        case .statevector(let j): return j.output
        case .md(let j): return j.output
        case .bomd(let j): return j.output
        case .vqe(let j): return j.output
        default: return ""
        }
    }

    /// 10 qubits, 2,400 gates in u3/cx/h/cz/cp: several checkpoint boundaries (every 256
    /// instructions, single-qubit gates not counted).
    func circuit() throws -> String {
        var rng = SplitMix64(seed: 11)
        var lines = ["OPENQASM 2.0;", "include \"qelib1.inc\";", "qreg q[10];"]
        for _ in 0..<2400 {
            let a = Int(rng.next() % 10), b = (a + 1 + Int(rng.next() % 9)) % 10
            let t = Double(rng.next() % 1000) / 159.0
            switch rng.next() % 5 {
            case 0: lines.append("u3(\(t),\(t / 2),\(t / 3)) q[\(a)];")
            case 1: lines.append("cx q[\(a)],q[\(b)];")
            case 2: lines.append("h q[\(a)];")
            case 3: lines.append("cz q[\(a)],q[\(b)];")
            default: lines.append("cp(\(t)) q[\(a)],q[\(b)];")
            }
        }
        let path = dir + "/random10.qasm"
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return "random10.qasm"
    }

    func amplitudes(_ path: String) throws -> [Double] {
        try StatevectorFile.readAmplitudes(path: path, offset: 0, count: 1 << 10)
    }

    func leftovers(_ output: String) -> [String] {
        [partialPath(for: output), checkpointPath(for: output), partialPath(for: checkpointPath(for: output))]
            .filter { FileManager.default.fileExists(atPath: $0) }
    }

    // MARK: statevector

    func testStatevectorCheckpointsAndSignalContinueBitForBit() throws {
        let name = try circuit()
        for ranks in [1, 2, 4] {
            let reference = try job("kind = \"statevector\"\ncircuit = \"\(name)\"\nshots = 100\nseed = 3\n", name: "sv-ref\(ranks)")
            XCTAssertNil(run(reference, ranks: ranks).error)
            let expected = try amplitudes(output(reference))

            // Periodic: a checkpoint at every boundary, then on to the end.
            let periodic = try job(reference.config, name: "sv-periodic\(ranks)")
            let (context, error) = run(periodic, ranks: ranks, checkpointEvery: 1e-9)
            XCTAssertNil(error)
            XCTAssertGreaterThanOrEqual(context?.schedule.written ?? 0, 4, "ranks \(ranks)")
            XCTAssertEqual(try amplitudes(output(periodic)), expected, "periodic checkpoints changed the state (ranks \(ranks))")
            XCTAssertEqual(try StatevectorFile.readCounts(path: output(periodic))?.map(\.count), try StatevectorFile.readCounts(path: output(reference))?.map(\.count))
            XCTAssertEqual(leftovers(output(periodic)), [])

            // A signal: checkpoint, Interrupted, no result; the same job again finishes the run.
            let stopped = try job(reference.config, name: "sv-signal\(ranks)")
            Interrupt.simulate(SIGTERM)
            let first = run(stopped, ranks: ranks)
            Interrupt.simulate(0)
            let interrupted = try XCTUnwrap(first.error as? Interrupted, "ranks \(ranks): \(String(describing: first.error))")
            XCTAssertEqual(interrupted.signal, SIGTERM)
            XCTAssertEqual(leftovers(output(stopped)), [checkpointPath(for: output(stopped))])
            XCTAssertNil(run(stopped, ranks: ranks).error)
            XCTAssertEqual(try amplitudes(output(stopped)), expected, "continuation differs (ranks \(ranks))")
            XCTAssertEqual(leftovers(output(stopped)), [])
        }
    }

    // MARK: md

    static let liquid = """
        kind = "md"
        [system]
        lattice = "fcc"
        density = 0.8442
        cells = 4
        [pair]
        cutoff = 2.5
        [velocity]
        temperature = 1.2
        seed = 31
        [run]
        timestep = 0.005
        steps = 120
        integrator = "langevin"
        [thermostat]
        temperature = 1.0
        damp = 0.5
        seed = 5
        [output]
        thermo = 40
        trajectory = 40
        """

    func lastFrame(_ path: String) throws -> [Double] {
        let file = try H5File.open(path)
        return try file.openDataset("particles/trajectory/position/value").readAll(Double.self)
            + file.openDataset("particles/trajectory/velocity/value").readAll(Double.self)
            + file.openDataset("observables/total_energy/value").readAll(Double.self)
    }

    func testMDCheckpointsAndSignalContinueBitForBit() throws {
        for ranks in [1, 2, 4] {
            let reference = try job(Self.liquid, name: "md-ref\(ranks)")
            XCTAssertNil(run(reference, ranks: ranks).error)
            let expected = try lastFrame(output(reference))

            let periodic = try job(Self.liquid, name: "md-periodic\(ranks)")
            let (context, error) = run(periodic, ranks: ranks, checkpointEvery: 1e-9)
            XCTAssertNil(error)
            XCTAssertGreaterThanOrEqual(context?.schedule.written ?? 0, 2, "ranks \(ranks)")
            XCTAssertEqual(try lastFrame(output(periodic)), expected, "periodic checkpoints changed the trajectory (ranks \(ranks))")
            XCTAssertEqual(leftovers(output(periodic)), [])

            let stopped = try job(Self.liquid, name: "md-signal\(ranks)")
            Interrupt.simulate(SIGUSR1)
            let first = run(stopped, ranks: ranks)
            Interrupt.simulate(0)
            XCTAssertNotNil(first.error as? Interrupted, "ranks \(ranks): \(String(describing: first.error))")
            XCTAssertEqual(leftovers(output(stopped)), [checkpointPath(for: output(stopped))])
            XCTAssertNil(run(stopped, ranks: ranks).error)
            XCTAssertEqual(try lastFrame(output(stopped)), expected, "continuation differs (ranks \(ranks))")
            XCTAssertEqual(leftovers(output(stopped)), [])
        }
    }

    // MARK: bomd

    static let h2 = """
        kind = "bomd"
        [molecule]
        elements = ["H", "H"]
        positions = [[0, 0, 0], [0, 0, 0.80]]
        [vqe]
        exact = false
        [run]
        steps = 4
        timestep = 0.5
        """

    func testBOMDCheckpointsAndSignalContinueBitForBit() throws {
        for ranks in [1, 2] {
            let reference = try job(Self.h2, name: "bomd-ref\(ranks)")
            XCTAssertNil(run(reference, ranks: ranks).error)
            let expected = try lastFrame(output(reference))

            let periodic = try job(Self.h2, name: "bomd-periodic\(ranks)")
            let (context, error) = run(periodic, ranks: ranks, checkpointEvery: 1e-9)
            XCTAssertNil(error)
            XCTAssertEqual(context?.schedule.written, 3, "a checkpoint between every two steps")
            XCTAssertEqual(try lastFrame(output(periodic)), expected)
            XCTAssertEqual(leftovers(output(periodic)), [])

            let stopped = try job(Self.h2, name: "bomd-signal\(ranks)")
            Interrupt.simulate(SIGTERM)
            XCTAssertNotNil(run(stopped, ranks: ranks).error as? Interrupted)
            Interrupt.simulate(0)
            XCTAssertEqual(leftovers(output(stopped)), [checkpointPath(for: output(stopped))])
            XCTAssertNil(run(stopped, ranks: ranks).error)
            XCTAssertEqual(try lastFrame(output(stopped)), expected)
        }
    }

    // MARK: vqe

    static let h4 = """
        kind = "vqe"
        [molecule]
        elements = ["H", "H", "H", "H"]
        positions = [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 2.0], [0.0, 0.0, 3.0]]
        units = "angstrom"
        [vqe]
        exact = false
        """

    func vqeResult(_ path: String) throws -> [Double] {
        let file = try H5File.open(path)
        return try file.openDataset("vqe/parameters").readAll(Double.self) + file.openDataset("vqe/energy_history").readAll(Double.self)
    }

    /// The optimiser's state is the checkpoint: a continued UCCSD-VQE takes the very steps of
    /// an uninterrupted one.
    func testVQECheckpointsAndSignalContinueBitForBit() throws {
        for ranks in [1, 2] {
            let reference = try job(Self.h4, name: "vqe-ref\(ranks)")
            XCTAssertNil(run(reference, ranks: ranks).error)
            let expected = try vqeResult(output(reference))
            XCTAssertGreaterThan(expected.count, 20, "several iterations")

            let periodic = try job(Self.h4, name: "vqe-periodic\(ranks)")
            let (context, error) = run(periodic, ranks: ranks, checkpointEvery: 1e-9)
            XCTAssertNil(error)
            XCTAssertGreaterThanOrEqual(context?.schedule.written ?? 0, 3)
            XCTAssertEqual(try vqeResult(output(periodic)), expected)
            XCTAssertEqual(leftovers(output(periodic)), [])

            let stopped = try job(Self.h4, name: "vqe-signal\(ranks)")
            Interrupt.simulate(SIGINT)
            XCTAssertNotNil(run(stopped, ranks: ranks).error as? Interrupted)
            Interrupt.simulate(0)
            XCTAssertEqual(leftovers(output(stopped)), [checkpointPath(for: output(stopped))])
            XCTAssertNil(run(stopped, ranks: ranks).error)
            XCTAssertEqual(try vqeResult(output(stopped)), expected)
            XCTAssertEqual(leftovers(output(stopped)), [])
        }
    }

    // MARK: catalog

    /// With the catalog on, a signal ends as a `cancelled` row with exit 75 (and a checkpoint).
    func testInterruptedRunIsRecordedCancelled() throws {
        let reference = try job(Self.h2, name: "bomd-catalog")
        let catalog = dir + "/catalog.sqlite"
        let settings = CatalogSettings(catalog: catalog, environment: ["QFORGE_SPOOL": dir + "/spool", "USER": "tester"])
        Interrupt.simulate(SIGTERM)
        XCTAssertThrowsError(try reference.run(comm: SerialCommunicator(), catalog: settings, quiet: true)) {
            XCTAssertTrue($0 is Interrupted, "\($0)")
        }
        Interrupt.simulate(0)
        try reference.run(comm: SerialCommunicator(), catalog: settings, quiet: true)
        let store = try XCTUnwrap(try RunRecorder(target: .sqlite(path: catalog), spoolDirectory: dir + "/spool").directStore())
        let runs = try store.runs(RunFilter()).items.sorted { $0.startedAt < $1.startedAt }
        XCTAssertEqual(runs.map(\.state), [.cancelled, .completed])
        XCTAssertEqual(runs.map(\.exitCode), [75, 0])
        XCTAssertNil(runs[0].resultSha256)
        XCTAssertNotNil(runs[1].resultSha256)
    }
}

final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var context: RunContext?
    private(set) var error: Error?
    func set(_ c: RunContext, _ e: Error?) { lock.lock(); (context, error) = (c, e); lock.unlock() }
}
