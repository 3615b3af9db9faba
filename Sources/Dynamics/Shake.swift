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
        for (listed, c) in shakeList.enumerated() {
            let cluster = topo.clusters[c]
            if cluster.isAngleCluster {
                virial += shake3Angle(cluster, shakeLocal[listed], dtfsq: dtfsq)
                continue
            }
            let local = (0..<cluster.atoms.count).map { Int(shakeLocal[listed][$0]) }
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

    @inline(__always) func xs(_ i: Int) -> SIMD3<Double> {
        let p = xshake.pointer
        return SIMD3(p[3 * i], p[3 * i + 1], p[3 * i + 2])
    }

    /// LAMMPS shake3angle written out: a central atom, two bonded partners and the partner–partner
    /// distance of the angle (rigid water). Returns the virial trace share of this rank.
    func shake3Angle(_ cluster: ShakeCluster, _ l: SIMD4<Int32>, dtfsq: Double) -> Double {
        let i0 = Int(l[0]), i1 = Int(l[1]), i2 = Int(l[2])
        let bond1 = cluster.distances[0], bond2 = cluster.distances[1], bond12 = cluster.distances[2]
        let r01 = minimumImage(position(i0) - position(i1)), r02 = minimumImage(position(i0) - position(i2))
        let r12 = minimumImage(position(i1) - position(i2))
        let s01 = minimumImage(xs(i0) - xs(i1)), s02 = minimumImage(xs(i0) - xs(i2)), s12 = minimumImage(xs(i1) - xs(i2))
        let r01sq = (r01 * r01).sum(), r02sq = (r02 * r02).sum(), r12sq = (r12 * r12).sum()
        let s01sq = (s01 * s01).sum(), s02sq = (s02 * s02).sum(), s12sq = (s12 * s12).sum()
        let m0 = inverseMass[Int(type[i0])], m1 = inverseMass[Int(type[i1])], m2 = inverseMass[Int(type[i2])]
        let a11 = 2 * (m0 + m1) * (s01 * r01).sum(), a12 = 2 * m0 * (s01 * r02).sum(), a13 = -2 * m1 * (s01 * r12).sum()
        let a21 = 2 * m0 * (s02 * r01).sum(), a22 = 2 * (m0 + m2) * (s02 * r02).sum(), a23 = 2 * m2 * (s02 * r12).sum()
        let a31 = -2 * m1 * (s12 * r01).sum(), a32 = 2 * m2 * (s12 * r02).sum(), a33 = 2 * (m1 + m2) * (s12 * r12).sum()
        let inv = invert([[a11, a12, a13], [a21, a22, a23], [a31, a32, a33]])
        let r0102 = (r01 * r02).sum(), r0112 = (r01 * r12).sum(), r0212 = (r02 * r12).sum()
        // Quadratic terms |Σ λ coupling|² of each constraint, expanded (LAMMPS' quad coefficients).
        let q1 = ((m0 + m1) * (m0 + m1) * r01sq, m0 * m0 * r02sq, m1 * m1 * r12sq,
                  2 * (m0 + m1) * m0 * r0102, -2 * (m0 + m1) * m1 * r0112, -2 * m0 * m1 * r0212)
        let q2 = (m0 * m0 * r01sq, (m0 + m2) * (m0 + m2) * r02sq, m2 * m2 * r12sq,
                  2 * (m0 + m2) * m0 * r0102, 2 * m0 * m2 * r0112, 2 * (m0 + m2) * m2 * r0212)
        let q3 = (m1 * m1 * r01sq, m2 * m2 * r02sq, (m1 + m2) * (m1 + m2) * r12sq,
                  -2 * m1 * m2 * r0102, -2 * (m1 + m2) * m1 * r0112, 2 * (m1 + m2) * m2 * r0212)
        func quad(_ q: (Double, Double, Double, Double, Double, Double), _ a: Double, _ b: Double, _ c: Double) -> Double {
            q.0 * a * a + q.1 * b * b + q.2 * c * c + q.3 * a * b + q.4 * a * c + q.5 * b * c
        }
        var l01 = 0.0, l02 = 0.0, l12 = 0.0
        let tolerance = topologyTolerance
        for _ in 0..<topologyIterations {
            let b1 = bond1 * bond1 - s01sq - quad(q1, l01, l02, l12)
            let b2 = bond2 * bond2 - s02sq - quad(q2, l01, l02, l12)
            let b3 = bond12 * bond12 - s12sq - quad(q3, l01, l02, l12)
            let n01 = inv[0][0] * b1 + inv[0][1] * b2 + inv[0][2] * b3
            let n02 = inv[1][0] * b1 + inv[1][1] * b2 + inv[1][2] * b3
            let n12 = inv[2][0] * b1 + inv[2][1] * b2 + inv[2][2] * b3
            let done = abs(n01 - l01) <= tolerance && abs(n02 - l02) <= tolerance && abs(n12 - l12) <= tolerance
            (l01, l02, l12) = (n01, n02, n12)
            if done || abs(l01) > 1e150 || abs(l02) > 1e150 || abs(l12) > 1e150 { break }
        }
        l01 /= dtfsq; l02 /= dtfsq; l12 /= dtfsq
        var owned = 0
        if i0 < nlocal { addForce(i0, l01 * r01 + l02 * r02); owned += 1 }
        if i1 < nlocal { addForce(i1, -(l01 * r01 - l12 * r12)); owned += 1 }
        if i2 < nlocal { addForce(i2, -(l02 * r02 + l12 * r12)); owned += 1 }
        return (l01 * r01sq + l02 * r02sq + l12 * r12sq) * Double(owned) / 3
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
