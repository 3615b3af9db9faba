// VQE results (the README's "Result files"): /hamiltonian {pauli, coefficient} and /vqe {energy_history,
// parameters, energy}. A `vqe` job writes them alone; `bomd` and `qmmm` add them to an H5MD file.
import CHDF5
import ForgeCore
import Foundation

public struct VQERecord: Sendable {
    /// Qiskit-style labels ("IIXY": the rightmost letter is qubit 0), with the coefficients in hartree.
    public var pauliLabels: [String]
    public var coefficients: [Double]
    public var energyHistory: [Double]
    public var parameters: [Double]
    public var energy: Double
    /// Exact ground energy in the same qubit space and particle sector, if computed.
    public var exactEnergy: Double?
    public var hartreeFockEnergy: Double?
    public var ansatz: String
    /// The excitations (e.g. "[0, 2]→[1, 3]") in ansatz order, one per parameter.
    public var excitations: [String]
    public var qubits: Int
    public var electrons: Int
    public var converged: Bool
    public var iterations: Int
    public var source: String
    /// Element symbols and positions in Å (x, y, z per atom), written to /molecule; empty for FCIDUMP input.
    public var elements: [String] = []
    public var positionsAngstrom: [Double] = []

    public init(pauliLabels: [String], coefficients: [Double], energyHistory: [Double], parameters: [Double], energy: Double,
                exactEnergy: Double?, hartreeFockEnergy: Double?, ansatz: String, excitations: [String], qubits: Int,
                electrons: Int, converged: Bool, iterations: Int, source: String) {
        (self.pauliLabels, self.coefficients, self.energyHistory, self.parameters) = (pauliLabels, coefficients, energyHistory, parameters)
        (self.energy, self.exactEnergy, self.hartreeFockEnergy, self.ansatz) = (energy, exactEnergy, hartreeFockEnergy, ansatz)
        (self.excitations, self.qubits, self.electrons) = (excitations, qubits, electrons)
        (self.converged, self.iterations, self.source) = (converged, iterations, source)
    }

    /// Writes /hamiltonian and /vqe under `root`.
    public func write(to root: H5Location) throws {
        let h = try root.createGroup("hamiltonian")
        try h.writeDataset("pauli", strings: pauliLabels)
        let c = try h.writeDataset("coefficient", coefficients)
        try c.setAttribute("unit", "hartree")
        try h.setAttribute("n_qubits", Int64(qubits))
        try h.setAttribute("n_electrons", Int64(electrons))
        try h.setAttribute("mapping", "jordan-wigner")
        try h.setAttribute("spin_order", "block (alpha orbitals on qubits 0..n-1, beta on n..2n-1)")
        try h.setAttribute("source", source)
        let v = try root.createGroup("vqe")
        try v.writeDataset("energy_history", energyHistory).setAttribute("unit", "hartree")
        try v.writeDataset("parameters", parameters)
        try v.writeDataset("energy", [energy]).setAttribute("unit", "hartree")
        if !excitations.isEmpty { try v.writeDataset("excitations", strings: excitations) }
        if let exactEnergy { try v.setAttribute("exact_energy", exactEnergy) }
        if let hartreeFockEnergy { try v.setAttribute("hartree_fock_energy", hartreeFockEnergy) }
        try v.setAttribute("ansatz", ansatz)
        try v.setAttribute("converged", Int32(converged ? 1 : 0))
        try v.setAttribute("iterations", Int64(iterations))
        if !elements.isEmpty && positionsAngstrom.count == 3 * elements.count {
            let m = try root.createGroup("molecule")
            try m.writeDataset("elements", strings: elements)
            try m.writeDataset("positions", positionsAngstrom, shape: [UInt64(elements.count), 3]).setAttribute("unit", "Angstrom")
        }
    }

    /// A `vqe` result file at `path` (pass the `.partial` name; the caller publishes it).
    public func writeFile(path: String, metadata: RunMetadata) throws {
        let file = try H5File.create(path)
        try write(to: file)
        try metadata.write(to: file)
        try file.flush()
        try file.close()
    }
}

extension H5MDWriter {
    /// Adds /hamiltonian and /vqe to a trajectory (bomd, qmmm) before `finish`.
    public func addVQE(_ record: VQERecord) throws { try record.write(to: file) }
}

/// A `vqe` job's checkpoint ("<output>.checkpoint"): the optimiser between two iterations —
/// parameters, energy, gradient, inverse Hessian, iterations done and the energy history — and
/// whose job it is. Written by rank 0 as `.partial`, then renamed.
public enum VQECheckpoint {
    public static let jobKind = "vqe-checkpoint"

    public struct Optimizer: Sendable, Equatable {
        public var parameters: [Double], energy: Double, gradient: [Double], inverseHessian: [Double]
        public var iteration: Int, history: [Double]
        public init(parameters: [Double], energy: Double, gradient: [Double], inverseHessian: [Double], iteration: Int, history: [Double]) {
            (self.parameters, self.energy, self.gradient, self.inverseHessian) = (parameters, energy, gradient, inverseHessian)
            (self.iteration, self.history) = (iteration, history)
        }
    }

    public static func write(_ state: Optimizer, owner: String, to path: String) throws {
        try writeAndPublish(path) { file in
            try file.setAttribute("job_kind", jobKind)
            try file.setAttribute("config_sha256", owner)
            let g = try file.createGroup("optimizer")
            try g.setAttribute("energy", state.energy)
            try g.setAttribute("iteration", Int64(state.iteration))
            try g.writeDataset("parameters", state.parameters)
            try g.writeDataset("gradient", state.gradient)
            try g.writeDataset("inverse_hessian", state.inverseHessian)
            try g.writeDataset("energy_history", state.history)
        }
    }

    /// Reads a checkpoint; refuses one written by another job.
    public static func read(_ path: String, owner: String) throws -> Optimizer {
        let file = try H5File.open(path)
        defer { try? file.close() }
        guard try file.attributeIfPresent("job_kind")?.stringValue == jobKind,
              let writer = try file.attributeIfPresent("config_sha256")?.stringValue else {
            throw InputError("not a QForge vqe checkpoint; move it away to start afresh", file: path)
        }
        guard writer == owner else {
            throw InputError("checkpoint belongs to a different job (its config differs from this one); delete it to start afresh", file: path)
        }
        let g = try file.openGroup("optimizer")
        guard let energy = try g.attributeIfPresent("energy")?.doubleValue, let iteration = try g.attributeIfPresent("iteration")?.intValue else {
            throw InputError("vqe checkpoint is incomplete; delete it to start afresh", file: path)
        }
        return Optimizer(parameters: try g.openDataset("parameters").readAll(Double.self), energy: energy,
                         gradient: try g.openDataset("gradient").readAll(Double.self),
                         inverseHessian: try g.openDataset("inverse_hessian").readAll(Double.self),
                         iteration: Int(iteration), history: try g.openDataset("energy_history").readAll(Double.self))
    }
}
