// SHAKE constraints (LAMMPS fix shake): after the forces, each cluster's positions one step
// ahead under the unconstrained update are corrected by constraint forces along the current
// bond vectors, with Lagrange multipliers iterated to the tolerance. Every rank that owns an
// atom of a cluster solves it and adds the forces on the atoms it owns, as LAMMPS does.
import Foundation

extension MDEngine {
    /// LAMMPS FixShake::post_force with `dtfsq` (dt² ftm2v on steps, half that at set-up).
    /// Returns the trace of the constraint virial (this rank's share).
    func applyShake(dtfsq: Double) -> Double {
        guard let topo = topology, !topo.clusters.isEmpty else { return 0 }
        let n = nlocal
        xshake.reserve(3 * (nlocal + nghost), keep: 0)
        let xs = xshake.pointer
        for i in 0..<n {
            let m = dtfsq * inverseMass[Int(type[i])]
            for d in 0..<3 { xs[3 * i + d] = x[3 * i + d] + timestep * v[3 * i + d] + m * f[3 * i + d] }
        }
        forwardCommunicate(xshake)
        var virial = 0.0
        for c in shakeList {
            let cluster = topo.clusters[c]
            let local = cluster.atoms.map { Int(atomMap[$0]!) }
            let invm = local.map { inverseMass[Int(type[$0])] }
            func r(_ p: (Int, Int)) -> SIMD3<Double> { minimumImage(position(local[p.0]) - position(local[p.1])) }
            func s(_ p: (Int, Int)) -> SIMD3<Double> {
                let a = local[p.0], b = local[p.1]
                return minimumImage(SIMD3(xs[3 * a], xs[3 * a + 1], xs[3 * a + 2]) - SIMD3(xs[3 * b], xs[3 * b + 1], xs[3 * b + 2]))
            }
            let rv = cluster.pairs.map(r), sv = cluster.pairs.map(s)
            let lambda = solve(cluster, rv: rv, sv: sv, invm: invm).map { $0 / dtfsq }
            var owned = 0
            for (a, atom) in local.enumerated() where atom < n {
                owned += 1
                var g = SIMD3<Double>()
                for (p, pair) in cluster.pairs.enumerated() {
                    if pair.0 == a { g += lambda[p] * rv[p] }
                    if pair.1 == a { g -= lambda[p] * rv[p] }
                }
                addForce(atom, g)
            }
            var w = 0.0
            for p in cluster.pairs.indices { w += lambda[p] * (rv[p] * rv[p]).sum() }
            virial += w * Double(owned) / Double(local.count)
        }
        return virial
    }

    /// Lagrange multipliers of one cluster (LAMMPS shake, shake3, shake4, shake3angle): the
    /// linearised equations solved exactly, the quadratic terms iterated.
    func solve(_ cluster: ShakeCluster, rv: [SIMD3<Double>], sv: [SIMD3<Double>], invm: [Double]) -> [Double] {
        let np = cluster.pairs.count
        // Constraint p moves atom a by ±invm[a]·λ_q·r_q for every constraint q touching a:
        // s_p + Σ_q c(p, q) λ_q r_q, with c from the shared atoms' masses and signs.
        func coupling(_ p: Int, _ q: Int) -> SIMD3<Double> {
            let (a, b) = cluster.pairs[p], (c, d) = cluster.pairs[q]
            var w = 0.0
            if a == c { w += invm[a] }
            if a == d { w -= invm[a] }
            if b == c { w -= invm[b] }
            if b == d { w += invm[b] }
            return w * rv[q]
        }
        // a[p][q] = 2 s_p · coupling(p, q); quadratic: |Σ_q λ_q coupling(p, q)|².
        var a = [[Double]](repeating: [Double](repeating: 0, count: np), count: np)
        for p in 0..<np { for q in 0..<np { a[p][q] = 2 * (sv[p] * coupling(p, q)).sum() } }
        let inverse = invert(a)
        var lambda = [Double](repeating: 0, count: np)
        for _ in 0..<topologyIterations {
            var b = [Double](repeating: 0, count: np)
            for p in 0..<np {
                var move = SIMD3<Double>()
                for q in 0..<np { move += lambda[q] * coupling(p, q) }
                b[p] = cluster.distances[p] * cluster.distances[p] - (sv[p] * sv[p]).sum() - (move * move).sum()
            }
            var next = [Double](repeating: 0, count: np)
            for p in 0..<np { for q in 0..<np { next[p] += inverse[p][q] * b[q] } }
            let done = zip(next, lambda).allSatisfy { abs($0 - $1) <= topologyTolerance }
            lambda = next
            if done || lambda.contains(where: { abs($0) > 1e150 }) { break }
        }
        return lambda
    }

    var topologyIterations: Int { topology?.topology.shakeIterations ?? 20 }
    var topologyTolerance: Double { topology?.topology.shakeTolerance ?? 1e-4 }

    /// Inverse of a small matrix (1×1 … 3×3) by cofactors, as LAMMPS writes them out.
    func invert(_ m: [[Double]]) -> [[Double]] {
        switch m.count {
        case 1: return [[1 / m[0][0]]]
        case 2:
            let det = m[0][0] * m[1][1] - m[0][1] * m[1][0]
            return [[m[1][1] / det, -m[0][1] / det], [-m[1][0] / det, m[0][0] / det]]
        default:
            let (a11, a12, a13) = (m[0][0], m[0][1], m[0][2])
            let (a21, a22, a23) = (m[1][0], m[1][1], m[1][2])
            let (a31, a32, a33) = (m[2][0], m[2][1], m[2][2])
            let det = a11 * a22 * a33 + a12 * a23 * a31 + a13 * a21 * a32 - a11 * a23 * a32 - a12 * a21 * a33 - a13 * a22 * a31
            let d = 1 / det
            return [[d * (a22 * a33 - a23 * a32), -d * (a12 * a33 - a13 * a32), d * (a12 * a23 - a13 * a22)],
                    [-d * (a21 * a33 - a23 * a31), d * (a11 * a33 - a13 * a31), -d * (a11 * a23 - a13 * a21)],
                    [d * (a21 * a32 - a22 * a31), -d * (a11 * a32 - a12 * a31), d * (a11 * a22 - a12 * a21)]]
        }
    }
}
