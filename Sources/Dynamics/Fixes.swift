// Fixes (LAMMPS fix nve, langevin, nvt): the velocity-Verlet halves, the thermostats, and
// velocity creation.
import ForgeCore
import Foundation

extension MDEngine {
    // MARK: velocities

    /// Uniform random velocities per atom from (seed, id) — the same on any rank count — with
    /// zero total momentum, scaled to `temperature` with dof = 3N − 3 (LAMMPS `velocity create`).
    func createVelocities(temperature: Double, seed: UInt64) {
        var momentum = [0.0, 0.0, 0.0, 0.0]
        for i in 0..<nlocal {
            var rng = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: id[i]) &* 0xD1B5_4A32_D192_ED03)
            let m = masses[Int(type[i])]
            for d in 0..<3 {
                let value = (rng.nextUnit() - 0.5) / m.squareRoot()
                v[3 * i + d] = value
                momentum[d] += m * value
            }
            momentum[3] += m
        }
        comm.allreduceSum(&momentum)
        for i in 0..<nlocal {
            for d in 0..<3 { v[3 * i + d] -= momentum[d] / momentum[3] }
        }
        let current = currentTemperature()
        if current > 0 {
            let factor = (temperature / current).squareRoot()
            for k in 0..<(3 * nlocal) { v[k] *= factor }
        }
    }

    /// Σ m v² (this rank, in mass·velocity² units).
    func localTwiceKinetic() -> Double {
        var sum = 0.0
        let v = v.pointer, type = type.pointer
        for i in 0..<nlocal {
            let m = masses[Int(type[i])]
            sum += m * (v[3 * i] * v[3 * i] + v[3 * i + 1] * v[3 * i + 1] + v[3 * i + 2] * v[3 * i + 2])
        }
        return sum
    }

    public func currentTemperature() -> Double {
        var s = [localTwiceKinetic()]
        comm.allreduceSum(&s)
        return s[0] * units.mvv2e / (degreesOfFreedom * units.boltz)
    }

    func initialIntegrate() {
        let dtf = 0.5 * timestep * units.ftm2v, dtv = timestep
        let x = x.pointer, v = v.pointer, f = f.pointer, type = type.pointer
        inverseMass.withUnsafeBufferPointer { invm in
            for i in 0..<nlocal {
                let dtfm = dtf * invm[Int(type[i])]
                for d in 0..<3 {
                    v[3 * i + d] += dtfm * f[3 * i + d]
                    x[3 * i + d] += dtv * v[3 * i + d]
                }
            }
        }
    }

    func finalIntegrate() {
        let dtf = 0.5 * timestep * units.ftm2v
        let v = v.pointer, f = f.pointer, type = type.pointer
        inverseMass.withUnsafeBufferPointer { invm in
            for i in 0..<nlocal {
                let dtfm = dtf * invm[Int(type[i])]
                for d in 0..<3 { v[3 * i + d] += dtfm * f[3 * i + d] }
            }
        }
    }

    // MARK: thermostats

    /// Langevin forces after the pair forces (LAMMPS fix langevin, uniform noise). The random
    /// numbers come from (seed, step, atom id), so they do not depend on ranks or restarts.
    func applyPostForce() {
        guard case .langevin(let temperature, let damp, let seed) = integrator else { return }
        let f = f.pointer, v = v.pointer
        let tsqrt = temperature.squareRoot()
        for i in 0..<nlocal {
            let m = masses[Int(type[i])]
            let gamma1 = -m / damp / units.ftm2v
            let gamma2 = m.squareRoot() * (24 * units.boltz / damp / timestep / units.mvv2e).squareRoot() / units.ftm2v * tsqrt
            var rng = SplitMix64(seed: (seed &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(step) &* 0xBF58_476D_1CE4_E5B9)
                                 ^ (UInt64(bitPattern: id[i]) &* 0x94D0_49BB_1331_11EB))
            for d in 0..<3 {
                f[3 * i + d] += gamma1 * v[3 * i + d] + gamma2 * (rng.nextUnit() - 0.5)
            }
        }
    }

    /// Half a timestep of the Nosé–Hoover thermostat: ξ quarter step, scale v, η, ξ quarter step.
    func noseHooverHalfStep() {
        guard case .noseHoover(let temperature, let damp) = integrator else { return }
        let target = degreesOfFreedom * units.boltz * temperature
        let q = target * damp * damp
        var ke2 = [localTwiceKinetic()]
        comm.allreduceSum(&ke2)
        var twoKE = ke2[0] * units.mvv2e
        let dt4 = 0.25 * timestep, dt2 = 0.5 * timestep
        thermostatXi += dt4 * (twoKE - target) / q
        let scale = Foundation.exp(-thermostatXi * dt2)
        for k in 0..<(3 * nlocal) { v[k] *= scale }
        twoKE *= scale * scale
        thermostatEta += thermostatXi * dt2
        thermostatXi += dt4 * (twoKE - target) / q
    }
}
