// Fixes (LAMMPS fix nve, nvt, langevin, shake, external): what the Verlet integrator calls at its
// fixed points of each step, and velocity creation.
import ForgeCore
import Foundation

/// A LAMMPS fix: hooks the Verlet step calls in order (initial integrate, post force after all
/// forces are in, final integrate), each fix in the order the engine lists them.
public protocol Fix: AnyObject {
    var name: String { get }
    /// Verlet::setup's post_force (the first forces, before step 1).
    func setup(_ engine: MDEngine) throws
    func initialIntegrate(_ engine: MDEngine)
    func postForce(_ engine: MDEngine, energy: Bool) throws
    func finalIntegrate(_ engine: MDEngine)
}

extension Fix {
    public func setup(_ engine: MDEngine) throws { try postForce(engine, energy: true) }
    public func initialIntegrate(_ engine: MDEngine) {}
    public func postForce(_ engine: MDEngine, energy: Bool) throws {}
    public func finalIntegrate(_ engine: MDEngine) {}
}

/// fix nve: the velocity-Verlet halves.
final class FixNVE: Fix {
    var name: String { "nve" }
    func initialIntegrate(_ engine: MDEngine) { engine.initialIntegrate() }
    func finalIntegrate(_ engine: MDEngine) { engine.finalIntegrate() }
}

/// fix nvt (one Nosé–Hoover thermostat): half a thermostat step around each velocity-Verlet half.
final class FixNoseHoover: Fix {
    var name: String { "nvt" }
    func initialIntegrate(_ engine: MDEngine) {
        engine.noseHooverHalfStep()
        engine.initialIntegrate()
    }
    func finalIntegrate(_ engine: MDEngine) {
        engine.finalIntegrate()
        engine.noseHooverHalfStep()
    }
}

/// fix langevin: drag and random forces (with fix nve).
final class FixLangevin: Fix {
    var name: String { "langevin" }
    func postForce(_ engine: MDEngine, energy: Bool) { engine.applyPostForce() }
}

/// fix external: forces from outside the engine (QM/MM's quantum region).
final class FixExternal: Fix {
    var name: String { "external" }
    func setup(_ engine: MDEngine) throws { try engine.applyExternal(energy: true) }
    func postForce(_ engine: MDEngine, energy: Bool) throws {
        let start = now()
        try engine.applyExternal(energy: energy)
        engine.times.external += now() - start
    }
}

/// fix shake: constraint forces after every other force (LAMMPS requires it last).
final class FixShake: Fix {
    var name: String { "shake" }
    /// LAMMPS FixShake::setup: the first constraint forces use half the step's dt².
    func setup(_ engine: MDEngine) {
        engine.lastShakeVirial = engine.applyShake(dtfsq: 0.5 * engine.timestep * engine.timestep * engine.units.ftm2v)
    }
    func postForce(_ engine: MDEngine, energy: Bool) {
        let virial = engine.applyShake(dtfsq: engine.timestep * engine.timestep * engine.units.ftm2v)
        if energy { engine.lastShakeVirial = virial }
    }
}

extension MDEngine {
    /// The fixes of an integrator, an external force and constraints, in LAMMPS' order.
    static func fixes(integrator: Integrator, external: (any ExternalForce)?, constraints: Bool) -> [any Fix] {
        var fixes: [any Fix] = []
        switch integrator {
        case .nve: fixes.append(FixNVE())
        case .langevin: fixes += [FixNVE(), FixLangevin()]
        case .noseHoover: fixes.append(FixNoseHoover())
        }
        if external != nil { fixes.append(FixExternal()) }
        if constraints { fixes.append(FixShake()) }
        return fixes
    }
}

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
