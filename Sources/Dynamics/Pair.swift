// Pair styles (LAMMPS Pair): lj/cut, lj/cut/coul/cut and lj/cut/coul/long over the half
// neighbour list. Each style is one kernel; the engine calls it through `PairStyle`.
import Foundation

/// What a pair kernel reads and writes: owned atoms [0, nlocal) and ghosts after them, the half
/// list in CSR form (a neighbour's top two bits say 1-2, 1-3 or 1-4 partner, as in LAMMPS).
public struct PairInput {
    let x: UnsafeMutablePointer<Double>
    let f: UnsafeMutablePointer<Double>
    let type: UnsafeMutablePointer<Int32>
    let q: UnsafeMutablePointer<Double>
    let nlocal: Int
    let start: UnsafeMutablePointer<Int32>
    let list: UnsafeMutablePointer<Int32>
}

/// Local sums of one force computation (this rank; energies only when asked).
public struct PairTally: Sendable {
    public var vdwl = 0.0, coul = 0.0
    /// Σ r·f over pairs (the trace of the pair virial).
    public var virial = 0.0
}

/// Neighbour index bits: the low 30 are the atom, the top two the special kind (0: none,
/// 1: 1-2, 2: 1-3, 3: 1-4), LAMMPS' SBBITS.
let neighborMask: Int32 = (1 << 30) - 1

/// LAMMPS special_bonds factors, indexed by the special kind (index 0 is 1: an ordinary pair).
public struct SpecialFactors: Sendable, Equatable {
    public var lj: [Double]
    public var coul: [Double]
    public init(lj: [Double] = [0, 0, 0], coul: [Double] = [0, 0, 0]) {
        self.lj = [1] + lj
        self.coul = [1] + coul
    }

    /// How the neighbour list treats a special pair of kind k (LAMMPS special_flag): left out
    /// (both factors 0 and no k-space to correct), kept as an ordinary pair (both 1), or kept
    /// with its kind in the index bits.
    public enum Treatment { case excluded, ordinary, scaled }
    public func treatment(_ kind: Int, kspace: Bool) -> Treatment {
        if lj[kind] == 1 && coul[kind] == 1 { return .ordinary }
        if lj[kind] == 0 && coul[kind] == 0 && !kspace { return .excluded }
        return .scaled
    }
}

public protocol PairStyle: Sendable {
    /// LAMMPS style name, as in the job file.
    var name: String { get }
    /// The largest interaction distance (the neighbour list's cutoff without skin).
    var cutoff: Double { get }
    var lj: LJParameters { get }
    /// Coulomb cutoff (nil: no Coulomb term).
    var coulombCutoff: Double? { get }
    /// The Ewald splitting parameter the real-space part uses (coul/long only).
    var gEwald: Double? { get set }
    func compute(_ a: PairInput, special: SpecialFactors, energy: Bool) -> PairTally
}

/// lj/cut: 4ε[(σ/r)¹² − (σ/r)⁶], optionally shifted to zero at the cutoff.
public struct LJCut: PairStyle {
    public let lj: LJParameters
    let table: LJTable
    public init(_ parameters: LJParameters) {
        lj = parameters
        table = LJTable(parameters)
    }
    public var name: String { "lj/cut" }
    public var cutoff: Double { lj.maxCutoff }
    public var coulombCutoff: Double? { nil }
    public var gEwald: Double? { get { nil } set {} }

    public func compute(_ a: PairInput, special: SpecialFactors, energy: Bool) -> PairTally {
        if table.n == 1 && (1...3).allSatisfy({ special.treatment($0, kspace: false) != .scaled }) {
            // One type, no scaled pairs: constants in registers, no per-pair type lookup.
            return energy ? singleType(a, energy: true) : singleType(a, energy: false)
        }
        return energy ? kernel(a, special, energy: true) : kernel(a, special, energy: false)
    }

    @inline(__always) private func singleType(_ a: PairInput, energy: Bool) -> PairTally {
        let x = a.x, f = a.f, start = a.start, list = a.list
        let cutsq = table.cutsq[0], lj1 = table.lj1[0], lj2 = table.lj2[0]
        let lj3 = table.lj3[0], lj4 = table.lj4[0], offset = table.offset[0]
        var e = 0.0, w = 0.0
        for i in 0..<a.nlocal {
            let xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2]
            var fx = 0.0, fy = 0.0, fz = 0.0
            for k in Int(start[i])..<Int(start[i + 1]) {
                let j3 = 3 &* Int(list[k])
                let dx = xi - x[j3], dy = yi - x[j3 &+ 1], dz = zi - x[j3 &+ 2]
                let r2 = dx * dx + dy * dy + dz * dz
                if r2 < cutsq {
                    let r2inv = 1 / r2
                    let r6inv = r2inv * r2inv * r2inv
                    let fpair = r6inv * (lj1 * r6inv - lj2) * r2inv
                    fx += dx * fpair
                    fy += dy * fpair
                    fz += dz * fpair
                    f[j3] -= dx * fpair
                    f[j3 &+ 1] -= dy * fpair
                    f[j3 &+ 2] -= dz * fpair
                    if energy {
                        e += r6inv * (lj3 * r6inv - lj4) - offset
                        w += r2 * fpair
                    }
                }
            }
            f[3 * i] += fx
            f[3 * i + 1] += fy
            f[3 * i + 2] += fz
        }
        return PairTally(vdwl: e, coul: 0, virial: w)
    }

    @inline(__always) private func kernel(_ a: PairInput, _ special: SpecialFactors, energy: Bool) -> PairTally {
        let x = a.x, f = a.f, type = a.type, start = a.start, list = a.list
        let n = table.n
        var e = 0.0, w = 0.0
        table.cutsq.withUnsafeBufferPointer { cutsq in
        table.lj1.withUnsafeBufferPointer { lj1 in
        table.lj2.withUnsafeBufferPointer { lj2 in
        table.lj3.withUnsafeBufferPointer { lj3 in
        table.lj4.withUnsafeBufferPointer { lj4 in
        table.offset.withUnsafeBufferPointer { offset in
        special.lj.withUnsafeBufferPointer { factorLJ in
            for i in 0..<a.nlocal {
                let xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2]
                let ti = Int(type[i]) &* n
                var fx = 0.0, fy = 0.0, fz = 0.0
                for k in Int(start[i])..<Int(start[i + 1]) {
                    let entry = list[k]
                    let j = Int(entry & neighborMask)
                    let dx = xi - x[3 &* j], dy = yi - x[3 &* j &+ 1], dz = zi - x[3 &* j &+ 2]
                    let r2 = dx * dx + dy * dy + dz * dz
                    let t = ti &+ Int(type[j])
                    if r2 < cutsq[t] {
                        let factor = factorLJ[Int(entry >> 30)]
                        let r2inv = 1 / r2
                        let r6inv = r2inv * r2inv * r2inv
                        let fpair = factor * r6inv * (lj1[t] * r6inv - lj2[t]) * r2inv
                        fx += dx * fpair
                        fy += dy * fpair
                        fz += dz * fpair
                        f[3 &* j] -= dx * fpair
                        f[3 &* j &+ 1] -= dy * fpair
                        f[3 &* j &+ 2] -= dz * fpair
                        if energy {
                            e += factor * (r6inv * (lj3[t] * r6inv - lj4[t]) - offset[t])
                            w += r2 * fpair
                        }
                    }
                }
                f[3 * i] += fx
                f[3 * i + 1] += fy
                f[3 * i + 2] += fz
            }
        }}}}}}}
        return PairTally(vdwl: e, coul: 0, virial: w)
    }
}

/// lj/cut/coul/cut (plain Coulomb to a cutoff) and lj/cut/coul/long (the real-space Ewald
/// part, erfc(g r)/r, for a KSpace style to complete).
public struct LJCutCoul: PairStyle {
    public enum Coulomb: Sendable { case cut, long }
    public let lj: LJParameters
    let table: LJTable
    public let coulomb: Coulomb
    public let coulCutoff: Double
    /// Coulomb constant in the unit style (LAMMPS force->qqrd2e).
    public let qqrd2e: Double
    public var gEwald: Double?

    public init(_ parameters: LJParameters, coulomb: Coulomb, coulCutoff: Double, qqrd2e: Double) {
        lj = parameters
        table = LJTable(parameters)
        self.coulomb = coulomb
        self.coulCutoff = coulCutoff
        self.qqrd2e = qqrd2e
    }
    public var name: String { coulomb == .cut ? "lj/cut/coul/cut" : "lj/cut/coul/long" }
    public var cutoff: Double { max(lj.maxCutoff, coulCutoff) }
    public var coulombCutoff: Double? { coulCutoff }

    public func compute(_ a: PairInput, special: SpecialFactors, energy: Bool) -> PairTally {
        switch (coulomb, energy) {
        case (.cut, true): return kernel(a, special, long: false, energy: true)
        case (.cut, false): return kernel(a, special, long: false, energy: false)
        case (.long, true): return kernel(a, special, long: true, energy: true)
        case (.long, false): return kernel(a, special, long: true, energy: false)
        }
    }

    // erfc(x) as LAMMPS computes it without tables (Abramowitz & Stegun 7.1.26), so the
    // real-space sum is LAMMPS' own to round-off.
    static let ewaldF = 1.12837917, ewaldP = 0.3275911
    static let a1 = 0.254829592, a2 = -0.284496736, a3 = 1.421413741, a4 = -1.453152027, a5 = 1.061405429

    @inline(__always) private func kernel(_ a: PairInput, _ special: SpecialFactors, long: Bool, energy: Bool) -> PairTally {
        let x = a.x, f = a.f, type = a.type, q = a.q, start = a.start, list = a.list
        let n = table.n
        let cutCoulSq = coulCutoff * coulCutoff
        let g = gEwald ?? 0
        let qqrd2e = qqrd2e
        let ljCutsq = table.cutsq
        // The pair cutoff is the larger of the two (LAMMPS' cutsq[i][j]).
        let pairCutsq = ljCutsq.map { max($0, cutCoulSq) }
        var evdwl = 0.0, ecoul = 0.0, w = 0.0
        pairCutsq.withUnsafeBufferPointer { cutsq in
        ljCutsq.withUnsafeBufferPointer { cutLJsq in
        table.lj1.withUnsafeBufferPointer { lj1 in
        table.lj2.withUnsafeBufferPointer { lj2 in
        table.lj3.withUnsafeBufferPointer { lj3 in
        table.lj4.withUnsafeBufferPointer { lj4 in
        table.offset.withUnsafeBufferPointer { offset in
        special.lj.withUnsafeBufferPointer { factorLJ in
        special.coul.withUnsafeBufferPointer { factorCoul in
            for i in 0..<a.nlocal {
                let xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2]
                let qi = q[i]
                let ti = Int(type[i]) &* n
                var fx = 0.0, fy = 0.0, fz = 0.0
                for k in Int(start[i])..<Int(start[i + 1]) {
                    let entry = list[k]
                    let j = Int(entry & neighborMask)
                    let kind = Int(entry >> 30)
                    let dx = xi - x[3 &* j], dy = yi - x[3 &* j &+ 1], dz = zi - x[3 &* j &+ 2]
                    let r2 = dx * dx + dy * dy + dz * dz
                    let t = ti &+ Int(type[j])
                    guard r2 < cutsq[t] else { continue }
                    let r2inv = 1 / r2
                    var forceCoul = 0.0, eCoul = 0.0
                    if r2 < cutCoulSq {
                        let fc = factorCoul[kind]
                        if long {
                            let r = r2.squareRoot()
                            let grij = g * r
                            let expm2 = Foundation.exp(-grij * grij)
                            let tt = 1 / (1 + Self.ewaldP * grij)
                            let erfc = tt * (Self.a1 + tt * (Self.a2 + tt * (Self.a3 + tt * (Self.a4 + tt * Self.a5)))) * expm2
                            let prefactor = qqrd2e * qi * q[j] / r
                            forceCoul = prefactor * (erfc + Self.ewaldF * grij * expm2)
                            eCoul = prefactor * erfc
                            if fc < 1 {
                                // Excluded or scaled partners: take back the part of the full
                                // Coulomb term the k-space sum put in.
                                forceCoul -= (1 - fc) * prefactor
                                eCoul -= (1 - fc) * prefactor
                            }
                        } else {
                            let c = fc * qqrd2e * qi * q[j] * r2inv.squareRoot()
                            forceCoul = c
                            eCoul = c
                        }
                    }
                    var forceLJ = 0.0, eLJ = 0.0
                    if r2 < cutLJsq[t] {
                        let fl = factorLJ[kind]
                        let r6inv = r2inv * r2inv * r2inv
                        forceLJ = fl * r6inv * (lj1[t] * r6inv - lj2[t])
                        if energy { eLJ = fl * (r6inv * (lj3[t] * r6inv - lj4[t]) - offset[t]) }
                    }
                    let fpair = (forceCoul + forceLJ) * r2inv
                    fx += dx * fpair
                    fy += dy * fpair
                    fz += dz * fpair
                    f[3 &* j] -= dx * fpair
                    f[3 &* j &+ 1] -= dy * fpair
                    f[3 &* j &+ 2] -= dz * fpair
                    if energy {
                        evdwl += eLJ
                        ecoul += eCoul
                        w += r2 * fpair
                    }
                }
                f[3 * i] += fx
                f[3 * i + 1] += fy
                f[3 * i + 2] += fz
            }
        }}}}}}}}}
        return PairTally(vdwl: evdwl, coul: ecoul, virial: w)
    }
}
