import ForgeCore
import Foundation
@testable import ResultsIO
import ForgeTesting
import XCTest

final class StatevectorFileTests: XCTestCase {
    var dir: TempDir!
    override func setUpWithError() throws { dir = try TempDir() }
    override func tearDown() { dir.remove() }

    let qasm = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[3];\nh q[0];\ncx q[0],q[1];\n"

    func metadata(slurm: String? = "4242") -> RunMetadata {
        RunMetadata(jobKind: "statevector", config: "[statevector]\ncircuit = \"bell.qasm\"\nshots = 100\n",
                    ranks: 4, wallSeconds: 1.5, runID: "0b5c3f0e-52a4-4c1b-9f43-2f3b1e0c9a11",
                    created: "2025-01-31T12:00:00Z", slurmJobID: slurm)
    }

    /// Four "ranks" write their slabs, each through its own handle; returns the expected interleaved values.
    private func writeFourSlabs(path: String, count: Int, single: Bool, bounds: [Int]? = nil) throws -> [Double] {
        var values = testAmplitudes(count, seed: 99)
        if single { values = values.map { Double(Float($0)) } }
        let cuts = bounds ?? [0, count / 4, count / 2, 3 * count / 4, count]
        for r in 0..<4 {
            let lo = cuts[r], hi = cuts[r + 1]
            if single {
                try writeSlice(path: path, first: lo, ArraySlice(values[(2 * lo)..<(2 * hi)].map { Float($0) }))
            } else {
                try writeSlice(path: path, first: lo, values[(2 * lo)..<(2 * hi)])
            }
        }
        return values
    }

    func testDoubleAmplitudesFromFourRanksReadBackExactly() throws {
        let path = dir.file("sv.h5.partial")
        let count = 1 << 10
        try StatevectorFile.create(path: path, qasm: qasm, qubits: 10, gates: 2, amplitudeCount: UInt64(count),
                                   precision: "double")
        let expected = try writeFourSlabs(path: path, count: count, single: false)
        XCTAssertEqual(try StatevectorFile.readAmplitudes(path: path, offset: 0, count: UInt64(count)), expected)
        XCTAssertEqual(try StatevectorFile.readAmplitudes(path: path, offset: 300, count: 2),
                       Array(expected[600..<604]))
        let binary = dir.file("expected.bin")
        try writeBinary(expected, to: binary)
        try checkWithH5py("""
        import sys, h5py, numpy as np
        f = h5py.File(sys.argv[1], 'r')
        a = f['state/amplitudes']
        assert a.dtype == np.complex128, a.dtype
        assert a.dtype.kind == 'c'
        expected = np.fromfile(sys.argv[2], dtype='<f8').view(np.complex128)
        got = a[()]
        assert got.shape == (1024,), got.shape
        assert np.array_equal(got, expected)
        assert a.attrs['precision'] == 'double' and isinstance(a.attrs['precision'], str)
        assert a.chunks is None  # contiguous: every rank writes its slice at one offset
        """, [path, binary])
    }

    func testSingleAmplitudesConvertExactlyAcrossBlockBoundaries() throws {
        let path = dir.file("sv32.h5.partial")
        let count = (1 << 17) + 0  // two 1 MiB conversion blocks
        try StatevectorFile.create(path: path, qasm: qasm, qubits: 17, gates: 2, amplitudeCount: UInt64(count),
                                   precision: "single")
        // Uneven slabs that start and end inside conversion blocks.
        let expected = try writeFourSlabs(path: path, count: count, single: true,
                                          bounds: [0, 1000, 70_001, 100_000, count])
        let back = try StatevectorFile.readAmplitudes(path: path, offset: 0, count: UInt64(count))
        XCTAssertTrue(back == expected, "single-precision amplitudes changed on the way through HDF5")
        let binary = dir.file("expected32.bin")
        try writeBinary(expected, to: binary)
        try checkWithH5py("""
        import sys, h5py, numpy as np
        a = h5py.File(sys.argv[1], 'r')['state/amplitudes']
        assert a.dtype == np.complex128, a.dtype
        expected = np.fromfile(sys.argv[2], dtype='<f8').view(np.complex128)
        assert np.array_equal(a[()], expected)
        assert np.array_equal(a[()].astype(np.complex64).astype(np.complex128), expected)
        assert a.attrs['precision'] == 'single'
        assert a.chunks is None, a.chunks
        """, [path, binary])
    }

    func testFinishWritesContractLayoutAndTypes() throws {
        let partial = dir.file("bell.h5.partial")
        let final = dir.file("bell.h5")
        try StatevectorFile.create(path: partial, qasm: qasm, qubits: 3, gates: 2, amplitudeCount: 8, precision: "double")
        var amps = [Double](repeating: 0, count: 16)
        amps[0] = 0.5.squareRoot(); amps[6] = 0.5.squareRoot()  // |000> and |011>
        try writeSlice(path: partial, first: 0, amps[...])
        let counts: [(outcome: UInt64, count: UInt64)] = [(3, 48), (0, 52)]  // unsorted on purpose
        try StatevectorFile.finish(path: partial, metadata: metadata(), counts: counts, shots: 100, seed: 7,
                                   expectations: [("Z0 Z1", 1.0), ("X0", -0.125), ("Zé", 0.5)])
        XCTAssertFalse(FileManager.default.fileExists(atPath: final))
        try publish(partial: partial, final: final)
        XCTAssertTrue(FileManager.default.fileExists(atPath: final))
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial))

        // Our reader.
        let file = try H5File.open(final)
        XCTAssertEqual(try RunMetadata.read(from: file), metadata())
        let read = try XCTUnwrap(try StatevectorFile.readCounts(in: file))
        XCTAssertEqual(read.map { $0.outcome }, [0, 3])
        XCTAssertEqual(read.map { $0.count }, [52, 48])
        let ex = try XCTUnwrap(try StatevectorFile.readExpectations(in: file))
        XCTAssertEqual(ex.map { $0.label }, ["Z0 Z1", "X0", "Zé"])
        XCTAssertEqual(ex.map { $0.value }, [1.0, -0.125, 0.5])
        let circuit = try file.openDataset(StatevectorFile.qasmPath)
        XCTAssertEqual(try circuit.value(), .string(qasm))
        XCTAssertEqual(try circuit.attribute("n_qubits"), .int(3))
        XCTAssertEqual(try circuit.attribute("sha256"), .string(SHA256.hex(qasm.utf8)))

        try checkWithH5py("""
        import sys, h5py, numpy as np, hashlib
        f = h5py.File(sys.argv[1], 'r')
        qasm = sys.argv[2]
        r = f.attrs
        for k in ['qforge_version', 'job_kind', 'run_id', 'created', 'config', 'slurm_job_id']:
            assert isinstance(r[k], str), (k, type(r[k]))
        assert r['job_kind'] == 'statevector'
        assert r['run_id'] == '0b5c3f0e-52a4-4c1b-9f43-2f3b1e0c9a11'
        assert r['created'] == '2025-01-31T12:00:00Z'
        assert r['slurm_job_id'] == '4242'
        assert r['config'].startswith('[statevector]')
        assert r['ranks'].dtype == np.int64 and r['ranks'] == 4
        assert r['wall_seconds'].dtype == np.float64 and r['wall_seconds'] == 1.5

        c = f['circuit/qasm']
        assert c.asstr()[()] == qasm
        assert c.attrs['n_qubits'].dtype == np.int64 and c.attrs['n_qubits'] == 3
        assert c.attrs['n_gates'].dtype == np.int64 and c.attrs['n_gates'] == 2
        assert c.attrs['sha256'] == hashlib.sha256(qasm.encode()).hexdigest()

        a = f['state/amplitudes'][()]
        assert a.dtype == np.complex128 and a.shape == (8,)
        assert abs(a[0] - 0.5 ** 0.5) == 0 and abs(a[3] - 0.5 ** 0.5) == 0

        m = f['measurements/counts']
        assert m.dtype.names == ('outcome', 'count'), m.dtype
        assert m.dtype['outcome'] == np.uint64 and m.dtype['count'] == np.uint64
        assert list(m['outcome']) == [0, 3] and list(m['count']) == [52, 48]
        assert m.attrs['shots'].dtype == np.int64 and m.attrs['shots'] == 100
        assert m.attrs['seed'].dtype == np.uint64 and m.attrs['seed'] == 7

        e = f['observables/expectations']
        assert e.dtype.names == ('label', 'value'), e.dtype
        info = h5py.check_string_dtype(e.dtype['label'])
        assert info is not None and info.encoding == 'utf-8' and info.length is None, info
        assert e.dtype['value'] == np.float64
        # h5py returns variable-length strings inside compounds as bytes (it has no asstr()
        # for fields); the type says UTF-8, so they decode to str.
        labels = [x.decode(info.encoding) if isinstance(x, bytes) else x for x in e['label']]
        assert labels == ['Z0 Z1', 'X0', 'Zé'], labels
        assert list(e['value']) == [1.0, -0.125, 0.5]
        print('ok')
        """, [final, qasm])
    }

    func testNoStateNoCountsAndEmptyExpectations() throws {
        let path = dir.file("nostate.h5")
        try StatevectorFile.create(path: path, qasm: qasm, qubits: 40, gates: 2, amplitudeCount: nil, precision: "double")
        try StatevectorFile.finish(path: path, metadata: metadata(slurm: nil), counts: nil, shots: 0, seed: 1,
                                   expectations: [])
        let file = try H5File.open(path)
        XCTAssertFalse(file.exists("/state"))
        XCTAssertFalse(file.exists("/measurements"))
        XCTAssertNil(try file.attributeIfPresent("slurm_job_id"))
        XCTAssertEqual(try StatevectorFile.readExpectations(in: file)?.count, 0)
        XCTAssertNil(try StatevectorFile.readCounts(in: file))
        try checkWithH5py("""
        import sys, h5py
        f = h5py.File(sys.argv[1], 'r')
        assert 'state' not in f and 'measurements' not in f and 'slurm_job_id' not in f.attrs
        assert f['observables/expectations'].shape == (0,)
        """, [path])
        XCTAssertThrowsError(try StatevectorFile.create(path: dir.file("bad.h5"), qasm: qasm, qubits: 1, gates: 0,
                                                        amplitudeCount: 2, precision: "quad")) {
            XCTAssertTrue($0 is InputError)
        }
    }

    func testOddInterleavedBufferAndOutOfRangeWriteAreRejected() throws {
        let path = dir.file("range.h5")
        try StatevectorFile.create(path: path, qasm: qasm, qubits: 2, gates: 0, amplitudeCount: 4, precision: "double")
        let odd: [Double] = [1, 2, 3]
        XCTAssertThrowsError(try writeSlice(path: path, first: 0, odd[...]))
        let four = [Double](repeating: 1, count: 4)
        XCTAssertThrowsError(try writeSlice(path: path, first: 3, four[...])) { XCTAssertTrue($0 is RuntimeError, "\($0)") }
        XCTAssertThrowsError(try writeSlice(path: path, first: 3, ArraySlice(four.map { Float($0) }))) { XCTAssertTrue($0 is RuntimeError, "\($0)") }
    }

    // MARK: Distributed writing

    func testRanksWriteTheirSlicesAtOnceOnRealThreads() throws {
        let path = dir.file("threads.h5.partial")
        let count = 1 << 12
        let expected = testAmplitudes(count, seed: 5)
        let errors = Locked<[String]>([])
        let offsets = Locked<[UInt64]>([])
        let bytes = Locked<[UInt64]>([])
        let ranks = InProcessWorld(size: 4)
        ranks.run { comm in
            do {
                let offset = try prepareOnRoot(comm: comm) {
                    [try StatevectorFile.create(path: path, qasm: "x", qubits: 12, gates: 0,
                                                amplitudeCount: UInt64(count), precision: "double") ?? 0]
                }[0]
                offsets.update { $0.append(offset) }
                let slab = count / comm.size
                let written = try writeConcurrently(comm: comm, path: path) { file in
                    try expected[(2 * slab * comm.rank)..<(2 * slab * (comm.rank + 1))].withUnsafeBufferPointer {
                        try StatevectorFile.writeAmplitudes(file, dataOffset: offset, total: UInt64(count),
                                                            first: UInt64(slab * comm.rank), interleaved: $0)
                    }
                }
                bytes.update { $0.append(written) }
            } catch {
                errors.update { $0.append("rank \(comm.rank): \(error)") }
            }
        }
        XCTAssertEqual(errors.value, [])
        XCTAssertEqual(Set(offsets.value).count, 1, "every rank got rank 0's offset")
        XCTAssertEqual(try amplitudeLayout(path).offset, offsets.value[0])
        XCTAssertEqual(bytes.value, Array(repeating: UInt64(16 * count), count: 4), "every rank learns the total")
        XCTAssertEqual(try StatevectorFile.readAmplitudes(path: path, offset: 0, count: UInt64(count)), expected)
    }

    func testConcurrentWriteFailureReachesEveryRank() throws {
        let path = dir.file("fail.h5.partial")
        try StatevectorFile.create(path: path, qasm: "x", qubits: 2, gates: 0, amplitudeCount: 4, precision: "double")
        let errors = Locked<[Int: String]>([:])
        let ranks = InProcessWorld(size: 4)
        ranks.run { comm in
            do {
                try writeConcurrently(comm: comm, path: path) { _ in
                    if comm.rank == 2 { throw RuntimeError("disk full") }
                }
            } catch {
                errors.update { $0[comm.rank] = "\(error)" }
            }
        }
        let e = errors.value
        XCTAssertEqual(e.count, 4, "every rank throws")
        for r in 0..<4 { XCTAssertTrue(e[r]?.contains("disk full") == true, e[r] ?? "nil") }
    }

    func testConcurrentWriteWithSerialCommunicator() throws {
        let path = dir.file("serial.h5")
        try StatevectorFile.create(path: path, qasm: "x", qubits: 1, gates: 0, amplitudeCount: 2, precision: "double")
        var calls = 0
        XCTAssertEqual(try writeConcurrently(comm: SerialCommunicator(), path: path) { file in
            calls += 1
            try [1.0, 2.0].withUnsafeBytes { try file.write($0, at: try amplitudeLayout(path).offset) }
        }, 16)
        XCTAssertEqual(calls, 1)
        XCTAssertEqual(try StatevectorFile.readAmplitudes(path: path, offset: 0, count: 1), [1, 2])
        XCTAssertThrowsError(try writeOnRoot(comm: SerialCommunicator()) { throw InputError("bad") }) {
            XCTAssertTrue($0 is InputError)
        }
        XCTAssertThrowsError(try SharedFile(path: dir.file("missing.h5"))) { XCTAssertTrue($0 is RuntimeError) }
    }

    // MARK: Publication and early checks

    func testEnsureWritable() throws {
        try ensureWritable(path: dir.file("ok.h5"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [], "probe file left behind")

        let missing = dir.file("no/such/dir/out.h5")
        XCTAssertThrowsError(try ensureWritable(path: missing)) { error in
            let e = error as? InputError
            XCTAssertNotNil(e, "\(error)")
            XCTAssertTrue("\(error)".contains(missing), "\(error)")
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }

        let regular = dir.file("plain.txt")
        _ = FileManager.default.createFile(atPath: regular, contents: Data("x".utf8))
        XCTAssertThrowsError(try ensureWritable(path: regular + "/out.h5")) { error in
            XCTAssertTrue(error is InputError, "\(error)")
            XCTAssertTrue("\(error)".contains("not a directory"), "\(error)")
        }

        XCTAssertThrowsError(try ensureWritable(path: dir.path)) { XCTAssertTrue($0 is InputError) }

        // Permission bits only bite when not root.
        if geteuid() != 0 {
            let locked = dir.file("locked")
            try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o555])
            defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: locked) }
            XCTAssertThrowsError(try ensureWritable(path: locked + "/out.h5")) { XCTAssertTrue($0 is InputError) }
        }
    }

    func testPublishReplacesAndReportsMissingPartial() throws {
        let final = dir.file("r.h5")
        _ = FileManager.default.createFile(atPath: final, contents: Data("old".utf8))
        let partial = partialPath(for: final)
        XCTAssertEqual(partial, final + ".partial")
        _ = FileManager.default.createFile(atPath: partial, contents: Data("new".utf8))
        try publish(partial: partial, final: final)
        XCTAssertEqual(try String(contentsOfFile: final, encoding: .utf8), "new")
        XCTAssertThrowsError(try publish(partial: partial, final: final)) { XCTAssertTrue($0 is RuntimeError) }
    }
}

final class RunMetadataTests: XCTestCase {
    func testInitialisersAndTimestamp() {
        let a = RunMetadata(qforgeVersion: "9.9", jobKind: "md", runID: "id", created: "2025-01-01T00:00:00Z",
                            ranks: 2, wallSeconds: 3, config: "c", slurmJobID: nil)
        let b = RunMetadata(jobKind: "md", config: "c", ranks: 2, wallSeconds: 3, runID: "id",
                            created: "2025-01-01T00:00:00Z", slurmJobID: nil, qforgeVersion: "9.9")
        XCTAssertEqual(a, b)
        XCTAssertEqual(RunMetadata.timestamp(Date(timeIntervalSince1970: 0)), "1970-01-01T00:00:00Z")
        let fresh = RunMetadata(jobKind: "statevector", config: "", ranks: 1, wallSeconds: 0)
        XCTAssertNotNil(UUID(uuidString: fresh.runID))
        XCTAssertEqual(fresh.qforgeVersion, qforgeVersion)
    }
}
