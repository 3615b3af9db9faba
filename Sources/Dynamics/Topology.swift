// Molecular topology (LAMMPS atom_style full): bonds, angles, the 1-2/1-3/1-4 special partners
// that scale or exclude pair terms, and SHAKE clusters. The topology is indexed by atom id on
// every rank (it is small next to the per-atom state); at each neighbour-list build a rank
// turns the entries of its owned atoms into lists of local indices (owned or ghost image).
import Foundation

/// Bonded styles and constraints as the job file sets them.
public struct Topology: Sendable {
    public var bonds: [Bond]
    public var angles: [Angle]
    /// Harmonic coefficients per type: bonds (K, r0), angles (K, θ0 in degrees), LAMMPS' units.
    public var bondCoeffs: [[Double]]
    public var angleCoeffs: [[Double]]
    /// SHAKE: constrained bond and angle types (0-based), tolerance, iteration limit.
    public var shakeBondTypes: Set<Int32> = []
    public var shakeAngleTypes: Set<Int32> = []
    public var shakeTolerance = 1e-4
    public var shakeIterations = 20

    public init(bonds: [Bond], angles: [Angle], bondCoeffs: [[Double]], angleCoeffs: [[Double]]) {
        (self.bonds, self.angles, self.bondCoeffs, self.angleCoeffs) = (bonds, angles, bondCoeffs, angleCoeffs)
    }
}

/// A SHAKE cluster: a central atom and its bonded partners, constrained bonds (and, for a
/// 3-atom cluster with a constrained angle, the partner–partner distance), LAMMPS FixShake.
struct ShakeCluster: Sendable {
    /// Atom ids: central atom first.
    var atoms: [Int64]
    /// Target distance of each constrained pair, and the pairs (indices into `atoms`).
    var pairs: [(Int, Int)]
    var distances: [Double]
    /// A water-like cluster (two bonds and the angle between them): LAMMPS shake3angle.
    var isAngleCluster: Bool { atoms.count == 3 && pairs.count == 3 }
}

/// The topology indexed for the engine.
struct TopologyIndex {
    var topology: Topology
    /// Bonds stored on their first atom, angles on their central atom (LAMMPS, newton_bond on).
    var bondsOf: [Int64: [Int]] = [:]
    var anglesOf: [Int64: [Int]] = [:]
    /// Special partners per atom: partner id and kind (1: 1-2, 2: 1-3, 3: 1-4).
    var specialsOf: [Int64: [(Int64, Int32)]] = [:]
    var clusters: [ShakeCluster] = []
    var clustersOf: [Int64: [Int]] = [:]
    var constraintCount: Int { clusters.reduce(0) { $0 + $1.pairs.count } }

    init(_ t: Topology) throws {
        topology = t
        var partners: [Int64: [Int64]] = [:]
        for (k, b) in t.bonds.enumerated() {
            bondsOf[b.atoms.0, default: []].append(k)
            partners[b.atoms.0, default: []].append(b.atoms.1)
            partners[b.atoms.1, default: []].append(b.atoms.0)
        }
        for (k, a) in t.angles.enumerated() { anglesOf[a.atoms.1, default: []].append(k) }
        // LAMMPS special.cpp: 1-2 partners are bonded atoms, 1-3 the 1-2 partners of those,
        // 1-4 the 1-2 partners of the 1-3 ones; each partner once, at its closest level.
        for (atom, ones) in partners {
            var kind: [Int64: Int32] = [:]
            for p in ones where p != atom { kind[p] = kind[p] ?? 1 }
            let twos = ones.flatMap { partners[$0] ?? [] }.filter { $0 != atom }
            for p in twos where kind[p] == nil { kind[p] = 2 }
            let threes = twos.flatMap { partners[$0] ?? [] }.filter { $0 != atom }
            for p in threes where kind[p] == nil { kind[p] = 3 }
            specialsOf[atom] = kind.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
        try findClusters()
    }

    /// SHAKE clusters (LAMMPS find_clusters): each constrained bond joins its atoms; a cluster
    /// is a central atom with 1–3 constrained partners, plus the angle between two of them.
    mutating func findClusters() throws {
        let t = topology
        guard !t.shakeBondTypes.isEmpty || !t.shakeAngleTypes.isEmpty else { return }
        var constrained: [Int64: [(Int64, Int32)]] = [:]
        for b in t.bonds where t.shakeBondTypes.contains(b.type) {
            constrained[b.atoms.0, default: []].append((b.atoms.1, b.type))
            constrained[b.atoms.1, default: []].append((b.atoms.0, b.type))
        }
        // The central atom is the one with more than one constrained partner (or the lower id
        // of an isolated pair).
        var seen = Set<Int64>()
        for (atom, ps) in constrained.sorted(by: { $0.key < $1.key }) where !seen.contains(atom) {
            if ps.count == 1, let other = constrained[ps[0].0], other.count > 1 { continue }
            if ps.count == 1, atom > ps[0].0 { continue }
            guard ps.count <= 3 else {
                throw TopologyError(message: "SHAKE cluster around atom \(atom) has \(ps.count) constrained bonds (at most 3)")
            }
            for (p, _) in ps where (constrained[p]?.count ?? 0) > 1 && ps.count > 1 {
                throw TopologyError(message: "SHAKE clusters around atoms \(atom) and \(p) share atoms (a chain of constrained bonds)")
            }
            var cluster = ShakeCluster(atoms: [atom] + ps.map { $0.0 }, pairs: [], distances: [])
            for (k, (_, type)) in ps.enumerated() {
                cluster.pairs.append((0, k + 1))
                cluster.distances.append(t.bondCoeffs[Int(type)][1])
            }
            if ps.count == 2 {
                let a = ps[0].0, b = ps[1].0
                if let angle = t.angles.first(where: { $0.atoms.1 == atom && Set([$0.atoms.0, $0.atoms.2]) == Set([a, b]) && t.shakeAngleTypes.contains($0.type) }) {
                    let theta = t.angleCoeffs[Int(angle.type)][1] * Double.pi / 180
                    let b1 = cluster.distances[0], b2 = cluster.distances[1]
                    cluster.pairs.append((1, 2))
                    cluster.distances.append((b1 * b1 + b2 * b2 - 2 * b1 * b2 * Foundation.cos(theta)).squareRoot())
                }
            }
            seen.insert(atom)
            for id in cluster.atoms { clustersOf[id, default: []].append(clusters.count); seen.insert(id) }
            clusters.append(cluster)
        }
    }

    /// Whether a bond or angle of this type is left to SHAKE (LAMMPS turns its energy off).
    func constrainedBond(_ type: Int32) -> Bool { topology.shakeBondTypes.contains(type) }
    func constrainedAngle(_ type: Int32) -> Bool { topology.shakeAngleTypes.contains(type) }
}

public struct TopologyError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
