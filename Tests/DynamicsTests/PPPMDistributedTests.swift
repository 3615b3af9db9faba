@testable import Dynamics
import ForgeCore
import ForgeTesting
import XCTest

/// The distributed PPPM mesh (z-slabs, transposed 3-D FFT, brick ↔ slab grid communication) on
/// 1–4 in-process ranks against 1 rank: same energy, virial and forces to round-off, and the mesh
/// each rank holds shrinks with the rank count.
final class PPPMDistributedTests: XCTestCase {
    struct System {
        var box = SIMD3<Double>(10, 11, 12)
        var x: [Double] = []
        var q: [Double] = []
        var count: Int { q.count }
    }

    /// Random neutral charges in a non-cubic box, some slightly outside it (owned atoms drift out
    /// of the box between re-neighbourings).
    static func system(atoms: Int = 600) -> System {
        var s = System()
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        for _ in 0..<atoms {
            for d in 0..<3 { s.x.append(-0.2 + (s.box[d] + 0.4) * uniform()) }
            s.q.append(2 * uniform() - 1)
        }
        let mean = s.q.reduce(0, +) / Double(atoms)
        s.q = s.q.map { $0 - mean }
        return s
    }

    struct Result {
        var energy = 0.0
        var virial: [Double] = []
        var forces: [Int: SIMD3<Double>] = [:]
        var meshBytes: [Int] = []
        var ownedPoints: [Int] = []
        var ownedKPoints: [Int] = []
    }

    /// PPPM on `ranks` thread ranks; atoms dealt to ranks by x (`spatial`, as the engine's bricks)
    /// or round-robin (every rank's brick then spans the whole mesh).
    func run(_ s: System, mesh: SIMD3<Int>, ranks: Int, spatial: Bool = true) throws -> Result {
        let sums = ChargeSums(qsum: s.q.reduce(0, +), qsqsum: s.q.reduce(0) { $0 + $1 * $1 }, natoms: s.count)
        let out = Locked(Result())
        out.update {
            $0.meshBytes = .init(repeating: 0, count: ranks)
            $0.ownedPoints = $0.meshBytes
            $0.ownedKPoints = $0.meshBytes
        }
        InProcessWorld(size: ranks).run { comm in
            let pppm = try! PPPM(origin: .zero, box: s.box, charges: sums, units: .real, cutoff: 4,
                                 accuracy: 1e-5, gEwald: 0.8, mesh: mesh, order: 5)
            let mine = (0..<s.count).filter { i in
                spatial ? min(Int(max(s.x[3 * i], 0) / s.box.x * Double(ranks)), ranks - 1) == comm.rank : i % ranks == comm.rank
            }
            var x = mine.flatMap { i in (0..<3).map { s.x[3 * i + $0] } }
            var q = mine.map { s.q[$0] }
            var f = [Double](repeating: 0, count: 3 * mine.count)
            var tally = KSpaceTally()
            x.withUnsafeMutableBufferPointer { xp in
                q.withUnsafeMutableBufferPointer { qp in
                    f.withUnsafeMutableBufferPointer { fp in
                        let input = KSpaceInput(x: xp.baseAddress ?? UnsafeMutablePointer(bitPattern: 8)!,
                                                q: qp.baseAddress ?? UnsafeMutablePointer(bitPattern: 8)!,
                                                f: fp.baseAddress ?? UnsafeMutablePointer(bitPattern: 8)!, nlocal: mine.count)
                        tally = pppm.compute(input, comm: comm, energy: true)
                    }
                }
            }
            let bytes = pppm.localMeshBytes, owned = pppm.ownedMeshPoints, ownedK = pppm.ownedKPoints
            out.update { r in
                if comm.rank == 0 { r.energy = tally.energy; r.virial = tally.virial }
                for (k, i) in mine.enumerated() { r.forces[i] = SIMD3(f[3 * k], f[3 * k + 1], f[3 * k + 2]) }
                r.meshBytes[comm.rank] = bytes
                r.ownedPoints[comm.rank] = owned
                r.ownedKPoints[comm.rank] = ownedK
            }
        }
        return out.value
    }

    func assertAgree(_ a: Result, _ b: Result, _ what: String, tolerance: Double = 1e-12) {
        XCTAssertEqual(a.forces.count, b.forces.count, what)
        XCTAssertLessThanOrEqual(abs(a.energy - b.energy), tolerance * abs(a.energy), "energy, \(what)")
        let vscale = a.virial.map(abs).max()!
        for j in 0..<6 { XCTAssertLessThanOrEqual(abs(a.virial[j] - b.virial[j]), tolerance * vscale, "virial \(j), \(what)") }
        let fscale = a.forces.values.map { ($0 * $0).sum().squareRoot() }.max()!
        var worst = 0.0
        for (i, fa) in a.forces {
            guard let fb = b.forces[i] else { XCTFail("atom \(i) missing, \(what)"); return }
            let d = fa - fb
            worst = max(worst, (d * d).sum().squareRoot())
        }
        XCTAssertLessThanOrEqual(worst, tolerance * fscale, "forces, \(what)")
        print(String(format: "PPPM %@: energy %.2e, largest force difference %.2e (relative)",
                     what, abs(a.energy - b.energy) / abs(a.energy), worst / fscale))
    }

    func testRanksAgreeWithOneRank() throws {
        let s = Self.system()
        // [16, 15, 12]: uneven slabs on 3 and 4 ranks (z) and 2 and 4 (y); [10, 9, 3]: fewer
        // z-planes than ranks (a rank with none) and uneven y-slabs.
        for mesh in [SIMD3(16, 15, 12), SIMD3(10, 9, 3)] {
            let one = try run(s, mesh: mesh, ranks: 1)
            XCTAssertEqual(one.ownedPoints, [mesh.x * mesh.y * mesh.z])
            XCTAssertLessThan(one.energy, 0)
            for ranks in 2...4 {
                for spatial in [true, false] {
                    let many = try run(s, mesh: mesh, ranks: ranks, spatial: spatial)
                    assertAgree(one, many, "mesh \(mesh), \(ranks) ranks, \(spatial ? "spatial" : "round-robin")")
                    // Real- and k-space points are dealt out: every point once, ⌈n/P⌉ planes at most.
                    XCTAssertEqual(many.ownedPoints.reduce(0, +), mesh.x * mesh.y * mesh.z)
                    XCTAssertEqual(many.ownedKPoints.reduce(0, +), mesh.x * mesh.y * mesh.z)
                    XCTAssertLessThanOrEqual(many.ownedPoints.max()!, (mesh.z + ranks - 1) / ranks * mesh.x * mesh.y)
                    XCTAssertLessThanOrEqual(many.ownedKPoints.max()!, (mesh.y + ranks - 1) / ranks * mesh.x * mesh.z)
                }
            }
        }
    }

    func testSameRanksRepeatBitForBit() throws {
        let s = Self.system()
        let a = try run(s, mesh: SIMD3(16, 15, 12), ranks: 3)
        let b = try run(s, mesh: SIMD3(16, 15, 12), ranks: 3)
        XCTAssertEqual(a.energy, b.energy)
        XCTAssertEqual(a.virial, b.virial)
        XCTAssertEqual(a.forces, b.forces)
    }

    func testMeshMemoryPerRankFallsWithRanks() throws {
        let s = Self.system()
        let mesh = SIMD3(30, 30, 30)
        let one = try run(s, mesh: mesh, ranks: 1).meshBytes[0]
        var previous = one
        for ranks in 2...4 {
            let largest = try run(s, mesh: mesh, ranks: ranks).meshBytes.max()!
            print("PPPM mesh [30, 30, 30]: \(ranks) ranks, largest per-rank mesh \(largest) bytes (1 rank: \(one))")
            XCTAssertLessThan(largest, previous, "\(ranks) ranks")
            // The slabs fall as 1/P; the brick (mesh reach of the rank's atoms) adds a margin.
            XCTAssertLessThan(Double(largest), 1.5 * Double(one) / Double(ranks), "\(ranks) ranks")
            previous = largest
        }
    }
}
