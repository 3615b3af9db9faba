import ForgeCore
import ForgeTesting
import Foundation
@testable import ResultsIO
import XCTest

/// Per-atom rows written by every rank at once: H5MD frames and restarts, checked against
/// rows sorted independently (numpy's argsort of the ids, Swift's sort for the reader).
final class H5MDParallelTests: XCTestCase {
    var dir: TempDir!
    override func setUpWithError() throws { dir = try TempDir() }
    override func tearDown() { dir.remove() }

    func testRowIndexIsThePositionAmongSortedIDs() {
        let dense: [Int64] = [5, 3, 4, 6, 7]
        let sparse: [Int64] = [40, 7, 1000, 12, 3]
        let repeated: [Int64] = [2, 1, 2]  // spans 1…3 but repeats an id: not dense
        for ids in [dense, sparse, repeated] {
            let index = AtomRowIndex(ids: ids)
            let sorted = ids.sorted()
            for id in ids { XCTAssertEqual(index.row(of: id), sorted.firstIndex(of: id)!) }
        }
        let owned = OwnedRows(ids: [1000, 3, 40], index: AtomRowIndex(ids: sparse))
        XCTAssertEqual(owned.rows, [0, 3, 4])  // 3, 40, 1000 among 3, 7, 12, 40, 1000
        XCTAssertEqual(owned.local, [1, 2, 0])
    }

    /// `n` atoms with scattered ids, dealt to 4 ranks in a shuffled order (runs of consecutive
    /// rows and lone rows alike); each rank writes two frames and a restart of its own atoms.
    func testFourRanksWriteFramesAndRestartMatchingIDOrder() throws {
        let n = 1000
        var rng = SplitMix64(seed: 17)
        let ids: [Int64] = (0..<n).map { Int64(3 * $0 + 1 + ($0 > 500 ? 7 : 0)) }.shuffled(using: &rng)
        let positions = (0..<(3 * n)).map { _ in rng.nextUnit() * 10 }
        let velocities = (0..<(3 * n)).map { _ in rng.nextUnit() - 0.5 }
        let types: [Int32] = (0..<n).map { Int32($0 % 3) }
        // Rank r holds atoms r, r+4, ... for the first half, then a contiguous block.
        let atomsOf: [[Int]] = (0..<4).map { rank in
            (0..<(n / 2)).filter { $0 % 4 == rank } + Array((n / 2 + rank * n / 8)..<(n / 2 + (rank + 1) * n / 8))
        }
        let path = dir.file("traj.h5md.partial")
        let restart = dir.file("state.restart")
        let index = AtomRowIndex(ids: ids)
        let units = H5MDUnits(system: "lj", length: nil, time: nil, velocity: nil, energy: "epsilon", temperature: "epsilon/kB",
                              pressure: "epsilon/sigma^3")
        let errors = Locked<[String]>([])
        let writer = Locked<H5MDWriter?>(nil)
        InProcessWorld(size: 4).run { comm in
            do {
                let local = atomsOf[comm.rank]
                let owned = OwnedRows(ids: local.map { ids[$0] }, index: index)
                func gather(_ values: [Double], _ width: Int) -> [Double] { local.flatMap { values[(width * $0)..<(width * $0 + width)] } }
                let columns: [AtomColumn] = [.values("position", gather(positions, 3), width: 3),
                                             .values("velocity", gather(velocities, 3), width: 3),
                                             .values("species", local.map { types[$0] + 1 }), .values("id", local.map { ids[$0] })]
                try writeOnRoot(comm: comm) {
                    writer.update { $0 = try? H5MDWriter(path: path, particleCount: n, units: units, creatorVersion: "t", author: "t") }
                }
                let file = try comm.agree { try SharedFile(path: path) }
                for frame in 0..<2 {
                    let offsets = try prepareOnRoot(comm: comm) {
                        try writer.value!.beginFrame(step: 10 * frame, time: Double(frame), boxEdges: SIMD3(10, 10, 10))
                    }
                    try comm.agree { for (c, o) in zip(columns, offsets) { try file.writeRows(c, owned: owned, at: o) } }
                }
                try comm.agree { try file.close() }
                try writeOnRoot(comm: comm) {
                    try writer.value!.finish(metadata: RunMetadata(jobKind: "md", config: "", ranks: 4, wallSeconds: 0))
                    writer.update { $0 = nil }  // its datasets keep the file open until released
                }
                let header = MDRestartFile.Contents(units: "lj", step: 10, time: 1, boxLo: [0, 0, 0], boxHi: [10, 10, 10],
                                                    masses: [1, 2, 3], ids: [], types: [], positions: [], velocities: [],
                                                    forces: [], thermostat: [])
                let state = DistributedRestart(header: header, atomCount: n, owned: owned, columns: [
                    .values("id", local.map { ids[$0] }), .values("type", local.map { types[$0] }),
                    .values("position", gather(positions, 3), width: 3), .values("velocity", gather(velocities, 3), width: 3),
                    .values("force", gather(positions, 3).map { -$0 }, width: 3)])
                try MDRestartFile.write(state, comm: comm, to: restart)
            } catch {
                errors.update { $0.append("rank \(comm.rank): \(error)") }
            }
        }
        XCTAssertEqual(errors.value, [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: partialPath(for: restart)))

        // Our reader, against Swift's sort.
        let back = try MDRestartFile.read(restart)
        let order = ids.indices.sorted { ids[$0] < ids[$1] }
        XCTAssertEqual(back.ids, order.map { ids[$0] })
        XCTAssertEqual(back.types, order.map { types[$0] })
        XCTAssertEqual(back.positions, order.flatMap { positions[(3 * $0)..<(3 * $0 + 3)] })
        XCTAssertEqual(back.forces, order.flatMap { positions[(3 * $0)..<(3 * $0 + 3)].map { -$0 } })
        XCTAssertEqual(back.step, 10)

        // h5py against numpy's argsort of the atoms as they were dealt.
        try writeBinary(ids.map(Double.init) + positions + velocities + types.map(Double.init), to: dir.file("atoms.bin"))
        try checkWithH5py("""
        import sys, h5py, numpy as np
        n = 1000
        a = np.fromfile(sys.argv[2], dtype='<f8')
        ids, x, v, t = a[:n].astype(np.int64), a[n:4*n].reshape(n, 3), a[4*n:7*n].reshape(n, 3), a[7*n:].astype(np.int32)
        o = np.argsort(ids)
        f = h5py.File(sys.argv[1], 'r')
        tr = f['particles/trajectory']
        assert tr['position/value'].shape == (2, n, 3) and tr['position/value'].chunks == (1, n, 3)
        for k in range(2):
            assert np.array_equal(tr['position/value'][k], x[o])
            assert np.array_equal(tr['velocity/value'][k], v[o])
            assert np.array_equal(tr['species/value'][k], t[o] + 1)
            assert np.array_equal(tr['id/value'][k], ids[o])
        assert list(tr['position/step'][()]) == [0, 10] and list(tr['id/time'][()]) == [0.0, 1.0]
        assert np.array_equal(tr['box/edges/value'][()], [[10, 10, 10]] * 2)
        r = h5py.File(sys.argv[3], 'r')['restart']
        assert np.array_equal(r['id'][()], ids[o]) and np.array_equal(r['velocity'][()], v[o])
        assert r['position'].chunks is None
        """, [path, dir.file("atoms.bin"), restart])
    }
}
