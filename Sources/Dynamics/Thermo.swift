// Thermodynamic output and per-atom data of the engine.
import ForgeCore
import Foundation

/// Global thermodynamic state (identical on every rank).
public struct Thermo: Sendable, Equatable {
    public var step: Int
    public var time: Double
    public var atoms: Int
    public var temperature: Double
    /// Totals in energy units: van der Waals (LJ), short-range Coulomb, long-range (k-space).
    public var vdwl: Double
    public var coul: Double
    public var long: Double
    /// Bonded energies (bond_style, angle_style).
    public var bond: Double
    public var angle: Double
    /// From the external force (QM/MM: the quantum region's energy with its coupling).
    public var external: Double
    /// Pair + k-space (LAMMPS E_pair).
    public var pairEnergy: Double { vdwl + coul + long }
    public var potentialEnergy: Double { vdwl + coul + long + bond + angle + external }
    public var kineticEnergy: Double
    public var pressure: Double
    /// Nosé–Hoover thermostat energy (0 otherwise): total + this is conserved.
    public var thermostatEnergy: Double
    public var totalEnergy: Double { potentialEnergy + kineticEnergy }
}

extension MDEngine {
    // MARK: thermo and data

    /// Thermo of the last force computation (which must have computed energy). Collective.
    public func thermo() -> Thermo {
        var sums = [lastPair.vdwl + lastPair.coul, lastPair.virial + lastBonded.virial + lastShakeVirial, localTwiceKinetic(),
                    lastPair.coul, lastBonded.bond, lastBonded.angle]
        comm.allreduceSum(&sums)
        // k-space sums are global already.
        sums[1] += lastKSpace.virial[0] + lastKSpace.virial[1] + lastKSpace.virial[2]
        let kinetic = 0.5 * sums[2] * units.mvv2e
        let temperature = sums[2] * units.mvv2e / (degreesOfFreedom * units.boltz)
        let volume = boxLength.x * boxLength.y * boxLength.z
        let pressure = (degreesOfFreedom * units.boltz * temperature + sums[1]) / (3 * volume) * units.nktv2p
        var thermostatEnergy = 0.0
        if case .noseHoover(let t, let damp) = integrator {
            let target = degreesOfFreedom * units.boltz * t
            thermostatEnergy = 0.5 * target * damp * damp * thermostatXi * thermostatXi + target * thermostatEta
        }
        return Thermo(step: step, time: time, atoms: totalAtoms, temperature: temperature,
                      vdwl: sums[0] - sums[3], coul: sums[3], long: lastKSpace.energy, bond: sums[4], angle: sums[5], external: lastExternal, kineticEnergy: kinetic, pressure: pressure,
                      thermostatEnergy: thermostatEnergy)
    }

    /// Values per record of `localRecords()`.
    public static let recordSize = 13

    /// Owned atoms as (id, type, x, y, z, vx, vy, vz, fx, fy, fz, q, molecule) records, positions
    /// wrapped into the box.
    public func localRecords() -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(Self.recordSize * nlocal)
        for i in 0..<nlocal {
            out.append(Double(id[i]))
            out.append(Double(type[i]))
            for d in 0..<3 { out.append(wrapped(x[3 * i + d], d)) }
            for d in 0..<3 { out.append(v[3 * i + d]) }
            for d in 0..<3 { out.append(f[3 * i + d]) }
            out.append(q[i])
            out.append(Double(mol[i]))
        }
        return out
    }

    /// Total momentum Σ m v (collective).
    public func totalMomentum() -> SIMD3<Double> {
        var p = [0.0, 0.0, 0.0]
        for i in 0..<nlocal {
            let m = masses[Int(type[i])]
            for d in 0..<3 { p[d] += m * v[3 * i + d] }
        }
        comm.allreduceSum(&p)
        return SIMD3(p[0], p[1], p[2])
    }

    /// Neighbour pairs stored (this rank).
    public var neighborPairCount: Int { Int(neighborStart[nlocal]) }
}

extension MDEngine {
    /// Forces on owned atoms by id (for tests against a brute-force reference).
    public func localForces() -> [Int64: SIMD3<Double>] {
        var out: [Int64: SIMD3<Double>] = [:]
        for i in 0..<nlocal { out[id[i]] = SIMD3(f[3 * i], f[3 * i + 1], f[3 * i + 2]) }
        return out
    }
}
