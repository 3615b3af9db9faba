// The variational quantum eigensolver on the distributed statevector: a UCC ansatz as products of
// excitations (Givens rotations on determinant pairs) applied to the Hartree–Fock determinant,
// energies from one grouped H|ψ⟩, gradients by the adjoint method (one backward sweep, exact), BFGS on top, and
// ADAPT-VQE (Grimsley et al. 2019) growing the ansatz from the excitation pool.
import ForgeCore
import Foundation
import Statevector

public final class VariationalEnergy {
    public let hamiltonian: QubitHamiltonian
    public let reference: UInt64
    /// The ansatz: excitation k is exp(θ_k (T_k − T_k†)), applied in order to the reference.
    public var excitations: [Excitation]
    private let psi: AnsatzState, lambda: AnsatzState
    /// Energy and gradient evaluations so far.
    public private(set) var evaluations = 0

    /// `threads` per rank (results identical for any count). The amplitudes live in the reference's
    /// sector of α and β electron numbers (block spin order), which H and every excitation keep.
    public init(hamiltonian: QubitHamiltonian, reference: UInt64, excitations: [Excitation], comm: Communicator, threads: Int = 1) throws {
        (self.hamiltonian, self.reference, self.excitations) = (hamiltonian, reference, excitations)
        let n = hamiltonian.qubitCount, alpha = (UInt64(1) << UInt64(n / 2)) - 1, beta = ((UInt64(1) << UInt64(n)) - 1) ^ alpha
        let sector = BitCountSector(masks: [alpha, beta], counts: [(reference & alpha).nonzeroBitCount, (reference & beta).nonzeroBitCount])
        psi = try AnsatzState(qubits: n, sector: sector, comm: comm)
        lambda = try AnsatzState(qubits: n, sector: sector, comm: comm)
        (psi.threads, lambda.threads) = (threads, threads)
    }

    /// ψ(θ) in `psi`, H|ψ⟩ in `lambda`; returns E = ⟨ψ|H|ψ⟩.
    private func prepare(_ theta: [Double]) -> Double {
        evaluations += 1
        prepareState(theta)
        psi.apply(hamiltonian.groups, into: lambda)
        return psi.realInnerProduct(lambda)
    }

    private func prepareState(_ theta: [Double]) {
        precondition(theta.count == excitations.count)
        psi.setBasisState(reference)
        for (e, t) in zip(excitations, theta) { psi.rotate(e.rotation, angle: t) }
    }

    /// The spin-summed one-particle density matrix γ_pq = Σ_σ ⟨ψ(θ)|a†_pσ a_qσ|ψ(θ)⟩ over the
    /// `orbitals` spatial orbitals (row-major, symmetric): one sector-only E_pq + E_qp expectation
    /// per pair (the active spaces VQE handles are small).
    public func oneParticleDensity(_ theta: [Double], orbitals a: Int) -> [Double] {
        prepareState(theta)
        var gamma = [Double](repeating: 0, count: a * a)
        let noTwoBody = [Double](repeating: 0, count: a * a * a * a)
        for p in 0..<a {
            for q in p..<a {
                var h = [Double](repeating: 0, count: a * a)
                h[p * a + q] = 1
                h[q * a + p] = 1
                let o = QubitHamiltonian(jordanWigner: ElectronicHamiltonian(orbitalCount: a, alphaElectrons: 0, betaElectrons: 0,
                                                                             coreEnergy: 0, oneBody: h, twoBody: noTwoBody))
                psi.apply(o.groups, into: lambda)
                let value = psi.realInnerProduct(lambda)
                gamma[p * a + q] = p == q ? value : 0.5 * value
                gamma[q * a + p] = gamma[p * a + q]
            }
        }
        return gamma
    }

    public func energy(_ theta: [Double]) -> Double { prepare(theta) }

    /// E(θ) and ∂E/∂θ by the adjoint method: ∂E/∂θ_k = 2 Re⟨λ_k|G_k|ψ_k⟩ with ψ_k the state after
    /// excitation k and λ_k = U_{k+1}†…U_N† H|ψ⟩; both walk back one excitation at a time.
    public func energyAndGradient(_ theta: [Double]) -> (energy: Double, gradient: [Double]) {
        let energy = prepare(theta)
        var gradient = [Double](repeating: 0, count: theta.count)
        for k in stride(from: excitations.count - 1, through: 0, by: -1) {
            let r = excitations[k].rotation
            gradient[k] = 2 * psi.localGeneratorOverlap(r, bra: lambda)
            psi.rotate(r, angle: -theta[k])
            lambda.rotate(r, angle: -theta[k])
        }
        psi.comm.allreduceSum(&gradient)
        return (energy, gradient)
    }

    /// ∂E/∂θ at θ = 0 for each candidate appended after the current ansatz: 2 Re⟨Hψ|G|ψ⟩.
    public func appendGradients(_ theta: [Double], candidates: [Excitation]) -> [Double] {
        _ = prepare(theta)
        var gradients = candidates.map { 2 * psi.localGeneratorOverlap($0.rotation, bra: lambda) }
        psi.comm.allreduceSum(&gradients)
        return gradients
    }
}

public struct VQEResult: Sendable {
    public var energy: Double
    public var parameters: [Double]
    /// Energy after each optimiser iteration (ADAPT: across all its macro-iterations).
    public var energyHistory: [Double]
    public var iterations: Int
    public var evaluations: Int
    public var converged: Bool
    /// ADAPT: the chosen excitations in ansatz order.
    public var excitations: [Excitation]
}

public struct OptimizerSettings: Sendable {
    /// Stop when max |∂E/∂θ| falls below this (the energy error is then ~gradient², far below 1e-8 Ha).
    public var gradientTolerance: Double = 1e-6
    public var maxIterations: Int = 500
    public init(gradientTolerance: Double = 1e-6, maxIterations: Int = 500) {
        (self.gradientTolerance, self.maxIterations) = (gradientTolerance, maxIterations)
    }
}

/// Everything BFGS carries from one iteration to the next: a run continued from it (a
/// checkpoint) takes exactly the steps an uninterrupted one would.
public struct BFGSState: Sendable, Equatable {
    public var x: [Double]
    public var value: Double
    public var gradient: [Double]
    /// Row-major n × n.
    public var inverseHessian: [Double]
    /// Iterations completed.
    public var iteration: Int
    public var history: [Double]

    public init(x: [Double], value: Double, gradient: [Double], inverseHessian: [Double], iteration: Int, history: [Double]) {
        (self.x, self.value, self.gradient, self.inverseHessian, self.iteration, self.history) = (x, value, gradient, inverseHessian, iteration, history)
    }
}

/// BFGS with a backtracking (Armijo) line search from `start`, or from `resume` (a state an
/// earlier run handed to `checkpoint`, which is called after every iteration and may throw to
/// stop the run).
public func minimizeBFGS(start: [Double], settings: OptimizerSettings, resume: BFGSState?,
                         _ f: ([Double]) -> (energy: Double, gradient: [Double]),
                         onIteration: (Int, Double) -> Void = { _, _ in },
                         checkpoint: (BFGSState) throws -> Void) rethrows -> (x: [Double], value: Double, iterations: Int, converged: Bool, history: [Double]) {
    let n = resume?.x.count ?? start.count
    var x: [Double], fx: Double, g: [Double], history: [Double], hInv: [Double]
    if let resume {
        (x, fx, g, hInv, history) = (resume.x, resume.value, resume.gradient, resume.inverseHessian, resume.history)
    } else {
        x = start
        (fx, g) = f(x)
        history = [fx]
        hInv = [Double](repeating: 0, count: n * n)
        for i in 0..<n { hInv[i * n + i] = 1 }
    }
    if n == 0 { return (x, fx, 0, true, history) }
    let first = (resume?.iteration ?? 0) + 1
    guard first <= settings.maxIterations else {
        return (x, fx, settings.maxIterations, g.map(abs).max()! < settings.gradientTolerance, history)
    }
    for iteration in first...settings.maxIterations {
        if g.map(abs).max()! < settings.gradientTolerance { return (x, fx, iteration - 1, true, history) }
        var direction = [Double](repeating: 0, count: n)
        for i in 0..<n { for j in 0..<n { direction[i] -= hInv[i * n + j] * g[j] } }
        var slope = zip(direction, g).reduce(0) { $0 + $1.0 * $1.1 }
        if slope >= 0 {  // not a descent direction: restart from steepest descent
            for i in 0..<n { for j in 0..<n { hInv[i * n + j] = i == j ? 1 : 0 } }
            direction = g.map { -$0 }
            slope = -zip(g, g).reduce(0) { $0 + $1.0 * $1.1 }
        }
        var step = 1.0
        var accepted: (x: [Double], fx: Double, g: [Double])? = nil
        for _ in 0..<40 {
            let trial = zip(x, direction).map { $0 + step * $1 }
            let (ft, gt) = f(trial)
            if ft <= fx + 1e-4 * step * slope { accepted = (trial, ft, gt); break }
            step *= 0.5
        }
        guard let next = accepted else { return (x, fx, iteration, g.map(abs).max()! < 100 * settings.gradientTolerance, history) }
        let s = zip(next.x, x).map { $0 - $1 }, y = zip(next.g, g).map { $0 - $1 }
        let sy = zip(s, y).reduce(0) { $0 + $1.0 * $1.1 }
        (x, fx, g) = next
        history.append(fx)
        onIteration(iteration, fx)
        if sy > 1e-16 {
            // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ
            let rho = 1 / sy
            var hy = [Double](repeating: 0, count: n)
            for i in 0..<n { for j in 0..<n { hy[i] += hInv[i * n + j] * y[j] } }
            let yhy = zip(y, hy).reduce(0) { $0 + $1.0 * $1.1 }
            for i in 0..<n { for j in 0..<n {
                hInv[i * n + j] += -rho * (hy[i] * s[j] + s[i] * hy[j]) + (rho * rho * yhy + rho) * s[i] * s[j]
            } }
        }
        if iteration < settings.maxIterations {
            try checkpoint(BFGSState(x: x, value: fx, gradient: g, inverseHessian: hInv, iteration: iteration, history: history))
        }
    }
    return (x, fx, settings.maxIterations, g.map(abs).max()! < settings.gradientTolerance, history)
}

/// BFGS from `start` to the end, without checkpoints.
public func minimizeBFGS(start: [Double], settings: OptimizerSettings, _ f: ([Double]) -> (energy: Double, gradient: [Double]),
                         onIteration: (Int, Double) -> Void = { _, _ in }) -> (x: [Double], value: Double, iterations: Int, converged: Bool, history: [Double]) {
    minimizeBFGS(start: start, settings: settings, resume: nil, f, onIteration: onIteration, checkpoint: { _ in })
}

/// UCCSD-VQE from `start` (zeros: the Hartree–Fock point; a previous geometry's parameters
/// warm-start).
public func runVQE(_ objective: VariationalEnergy, start: [Double]? = nil, settings: OptimizerSettings = OptimizerSettings(),
                   onIteration: (Int, Double) -> Void = { _, _ in }) -> VQEResult {
    runVQE(objective, start: start, settings: settings, resume: nil, onIteration: onIteration, checkpoint: { _ in })
}

/// UCCSD-VQE, or its continuation from `resume`; `checkpoint` sees the optimiser's state after
/// every iteration and may throw to stop the run (see `minimizeBFGS`).
public func runVQE(_ objective: VariationalEnergy, start: [Double]? = nil, settings: OptimizerSettings = OptimizerSettings(),
                   resume: BFGSState?, onIteration: (Int, Double) -> Void = { _, _ in },
                   checkpoint: (BFGSState) throws -> Void) rethrows -> VQEResult {
    let before = objective.evaluations
    let r = try minimizeBFGS(start: start ?? Array(repeating: 0, count: objective.excitations.count), settings: settings,
                             resume: resume, objective.energyAndGradient, onIteration: onIteration, checkpoint: checkpoint)
    return VQEResult(energy: r.value, parameters: r.x, energyHistory: r.history, iterations: r.iterations,
                     evaluations: objective.evaluations - before, converged: r.converged, excitations: objective.excitations)
}

/// ADAPT-VQE: repeatedly append the pool excitation with the largest energy gradient and
/// re-optimise every parameter, until the largest pool gradient is below `poolTolerance`.
public func runADAPTVQE(_ objective: VariationalEnergy, pool: [Excitation], poolTolerance: Double = 1e-6,
                        maxOperators: Int = 60, settings: OptimizerSettings = OptimizerSettings(),
                        onIteration: (Int, Double) -> Void = { _, _ in }) -> VQEResult {
    objective.excitations = []
    var theta: [Double] = []
    var history: [Double] = [objective.energy([])]
    var energy = history[0]
    var iterations = 0, converged = false
    let before = objective.evaluations
    while objective.excitations.count < maxOperators {
        let gradients = objective.appendGradients(theta, candidates: pool)
        let best = gradients.indices.max { abs(gradients[$0]) < abs(gradients[$1]) }!
        if abs(gradients[best]) < poolTolerance { converged = true; break }
        objective.excitations.append(pool[best])
        let r = minimizeBFGS(start: theta + [0], settings: settings, objective.energyAndGradient)
        (theta, energy) = (r.x, r.value)
        iterations += r.iterations
        history += r.history.dropFirst()
        onIteration(objective.excitations.count, energy)
    }
    return VQEResult(energy: energy, parameters: theta, energyHistory: history, iterations: iterations,
                     evaluations: objective.evaluations - before, converged: converged, excitations: objective.excitations)
}
