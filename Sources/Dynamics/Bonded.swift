// Bonded terms (LAMMPS bond_style harmonic, angle_style harmonic) over the lists of local
// indices made at each neighbour-list build; forces on ghost images go home by reverse comm.
import Foundation

/// Local sums of the bonded terms (energies when asked; the trace of their virial).
public struct BondedTally: Sendable {
    public var bond = 0.0, angle = 0.0, virial = 0.0
}

extension MDEngine {
    /// The nearest periodic image of a separation vector.
    @inline(__always) func minimumImage(_ d: SIMD3<Double>) -> SIMD3<Double> {
        var d = d
        for k in 0..<3 { d[k] -= boxLength[k] * (d[k] / boxLength[k]).rounded() }
        return d
    }

    @inline(__always) func position(_ i: Int) -> SIMD3<Double> { SIMD3(x[3 * i], x[3 * i + 1], x[3 * i + 2]) }

    @inline(__always) func addForce(_ i: Int, _ g: SIMD3<Double>) {
        f[3 * i] += g.x
        f[3 * i + 1] += g.y
        f[3 * i + 2] += g.z
    }

    /// Local index of an atom id, owned image first (LAMMPS atom->map).
    func buildAtomMap() {
        atomMap.removeAll(keepingCapacity: true)
        for j in stride(from: nlocal + nghost - 1, through: nlocal, by: -1) { atomMap[id[j]] = Int32(j) }
        for i in 0..<nlocal { atomMap[id[i]] = Int32(i) }
    }

    /// Bond and angle lists of my owned atoms, in local indices (LAMMPS neighbor->build_topology).
    /// Throws when a partner is neither owned nor a ghost here.
    func buildTopologyLists() throws {
        guard let topo = topology else { return }
        buildAtomMap()
        bondList.removeAll(keepingCapacity: true)
        angleList.removeAll(keepingCapacity: true)
        shakeList.removeAll(keepingCapacity: true)
        shakeLocal.removeAll(keepingCapacity: true)
        func local(_ atom: Int64) throws -> Int32 {
            guard let j = atomMap[atom] else { throw DynamicsFailure.missingBondPartner(atom: atom, step: step) }
            return j
        }
        let t = topo.topology
        for i in 0..<nlocal {
            let me = id[i]
            for k in topo.bondsOf[me] ?? [] where !topo.constrainedBond(t.bonds[k].type) {
                bondList.append(SIMD3(Int32(i), try local(t.bonds[k].atoms.1), t.bonds[k].type))
            }
            for k in topo.anglesOf[me] ?? [] where !topo.constrainedAngle(t.angles[k].type) {
                let a = t.angles[k]
                angleList.append(SIMD4(try local(a.atoms.0), Int32(i), try local(a.atoms.2), a.type))
            }
            // A SHAKE cluster is listed by the lowest local index among its atoms that I own.
            for c in topo.clustersOf[me] ?? [] {
                let indices = try topo.clusters[c].atoms.map(local)
                if indices.allSatisfy({ Int($0) >= i }) {
                    shakeList.append(c)
                    var l = SIMD4<Int32>(repeating: -1)
                    for (k, j) in indices.enumerated() { l[k] = j }
                    shakeLocal.append(l)
                }
            }
        }
    }

    /// bond_style harmonic E = K (r − r0)² and angle_style harmonic E = K (θ − θ0)².
    func computeBonded(energy: Bool) -> BondedTally {
        var tally = BondedTally()
        guard let topo = topology else { return tally }
        let bondCoeffs = topo.topology.bondCoeffs, angleCoeffs = topo.topology.angleCoeffs
        for b in bondList {
            let i = Int(b.x), j = Int(b.y)
            let k = bondCoeffs[Int(b.z)][0], r0 = bondCoeffs[Int(b.z)][1]
            let d = minimumImage(position(i) - position(j))
            let rsq = (d * d).sum()
            let r = rsq.squareRoot()
            let dr = r - r0
            let rk = k * dr
            let fbond = r > 0 ? -2 * rk / r : 0
            addForce(i, d * fbond)
            addForce(j, -d * fbond)
            if energy {
                tally.bond += rk * dr
                tally.virial += fbond * rsq
            }
        }
        for a in angleList {
            let i1 = Int(a.x), i2 = Int(a.y), i3 = Int(a.z)
            let k = angleCoeffs[Int(a.w)][0], theta0 = angleCoeffs[Int(a.w)][1] * Double.pi / 180
            let d1 = minimumImage(position(i1) - position(i2)), d2 = minimumImage(position(i3) - position(i2))
            let rsq1 = (d1 * d1).sum(), rsq2 = (d2 * d2).sum()
            let r1 = rsq1.squareRoot(), r2 = rsq2.squareRoot()
            let c = max(-1, min(1, (d1 * d2).sum() / (r1 * r2)))
            let s = 1 / max((1 - c * c).squareRoot(), 0.001)
            let dtheta = Foundation.acos(c) - theta0
            let tk = k * dtheta
            let aa = -2 * tk * s
            let a11 = aa * c / rsq1, a12 = -aa / (r1 * r2), a22 = aa * c / rsq2
            let f1 = a11 * d1 + a12 * d2, f3 = a22 * d2 + a12 * d1
            addForce(i1, f1)
            addForce(i2, -(f1 + f3))
            addForce(i3, f3)
            if energy {
                tally.angle += tk * dtheta
                tally.virial += (d1 * f1).sum() + (d2 * f3).sum()
            }
        }
        return tally
    }
}
