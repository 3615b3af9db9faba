// `qforge inspect`: a human summary of any result file, in bounded memory.
import CHDF5
import ForgeCore
import Foundation

/// A human summary of the result file at `path`: run metadata, the statevector sections
/// (circuit, norm and most probable basis states streamed in bounded blocks, counts,
/// expectations) when present, then a listing of every group and dataset.
/// Throws InputError("not an HDF5 file") naming the file when it is missing or not HDF5.
public func inspectSummary(path: String) throws -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
        throw InputError("not an HDF5 file (no such file)", file: path)
    }
    guard !isDirectory.boolValue, H5File.isHDF5(path) else {
        throw InputError("not an HDF5 file", file: path)
    }
    let file = try H5File.open(path)
    var lines: [String] = ["file: \(path)"]

    let metadata = try RunMetadata.read(from: file)
    if let m = metadata {
        lines.append(field("job_kind", m.jobKind))
        lines.append(field("run_id", m.runID))
        lines.append(field("created", m.created))
        lines.append(field("ranks", "\(m.ranks)"))
        lines.append(field("wall_seconds", String(format: "%.3f", m.wallSeconds)))
        lines.append(field("qforge_version", m.qforgeVersion))
        if let slurm = m.slurmJobID { lines.append(field("slurm_job_id", slurm)) }
    } else {
        lines.append("run metadata: missing (an unfinished .partial file, or not written by qforge)")
    }

    // A section that cannot be read (an unfinished or foreign file) is named, not fatal: the
    // listing of what is there still follows.
    func section(_ name: String, _ summary: (H5File) throws -> [String]) {
        do { lines += try summary(file) } catch { lines.append("\(name): incomplete (\(error))") }
    }
    if metadata?.jobKind == StatevectorCheckpoint.jobKind {
        // Amplitudes in the run's physical qubit order: no basis-state summary.
        section("checkpoint", statevectorCheckpointSummary)
    } else if metadata?.jobKind == "statevector" || file.exists(StatevectorFile.qasmPath)
        || file.exists(StatevectorFile.amplitudesPath) {
        section("state", statevectorSummary)
    }
    if file.exists("particles/trajectory/position/value") { section("trajectory", trajectorySummary) }
    if file.exists("vqe/energy") { section("vqe", vqeSummary) }
    if file.exists("restart") { section("restart", restartSummary) }

    lines.append("contents:")
    lines += try treeListing(file)
    return lines.joined(separator: "\n") + "\n"
}

private func field(_ name: String, _ value: String) -> String {
    padded(name + ":", 15) + " " + value
}

private func formatProbability(_ p: Double) -> String {
    p == 0 || p >= 1e-4 ? String(format: "%.6f", p) : String(format: "%.3e", p)
}

private func padded(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}

/// "|0101>" with qubit n-1 on the left (index bit q is qubit q, as in Qiskit).
func basisLabel(_ index: UInt64, qubits: Int) -> String {
    guard qubits > 0 else { return "|\(index)>" }
    var s = ""
    for q in stride(from: qubits - 1, through: 0, by: -1) {
        s.append(q < 64 && (index >> UInt64(q)) & 1 == 1 ? "1" : "0")
    }
    return "|" + s + ">"
}

private func statevectorSummary(_ file: H5File) throws -> [String] {
    var lines: [String] = []
    var qubits = 0
    if file.exists(StatevectorFile.qasmPath) {
        let qasm = try file.openDataset(StatevectorFile.qasmPath)
        qubits = Int(try qasm.attributeIfPresent("n_qubits")?.intValue ?? 0)
        let gates = try qasm.attributeIfPresent("n_gates")?.intValue.map(String.init) ?? "?"
        let sha = try qasm.attributeIfPresent("sha256")?.stringValue ?? "?"
        lines.append(field("circuit", "\(qubits) qubits, \(gates) gates"))
        lines.append(field("sha256", sha))
    }

    if file.exists(StatevectorFile.amplitudesPath) {
        let amplitudes = try file.openDataset(StatevectorFile.amplitudesPath)
        let count = try amplitudes.shape().first ?? 0
        let precision = try amplitudes.attributeIfPresent("precision")?.stringValue ?? "?"
        if qubits == 0 && count > 1 { qubits = UInt64.bitWidth - (count - 1).leadingZeroBitCount }
        try amplitudes.close()

        // One pass in 1 MiB blocks: compensated norm and the 8 largest probabilities.
        var norm = 0.0, compensation = 0.0
        var top: [(index: UInt64, p: Double)] = []
        let keep = 8
        try StatevectorFile.forEachAmplitudeBlock(in: file) { first, values in
            var blockSum = 0.0
            for k in 0..<(values.count / 2) {
                let p = values[2 * k] * values[2 * k] + values[2 * k + 1] * values[2 * k + 1]
                blockSum += p
                // Only states that occur at all: a GHZ state lists its two, not six zeros.
                if p > 0 && (top.count < keep || p > top[top.count - 1].p) {
                    let entry = (index: first + UInt64(k), p: p)
                    let at = top.firstIndex { $0.p < p } ?? top.count
                    top.insert(entry, at: at)
                    if top.count > keep { top.removeLast() }
                }
            }
            let y = blockSum - compensation
            let t = norm + y
            compensation = (t - norm) - y
            norm = t
        }
        lines.append(field("state", "\(count) amplitudes, precision \(precision), norm \(String(format: "%.12f", norm.squareRoot()))"))
        if !top.isEmpty {
            lines.append("most probable basis states (qubit \(max(qubits - 1, 0)) leftmost):")
            for entry in top {
                lines.append("  " + padded(basisLabel(entry.index, qubits: qubits), qubits + 2)
                             + "  index " + padded("\(entry.index)", 10) + "  p = " + formatProbability(entry.p))
            }
        }
    } else {
        lines.append(field("state", "not stored"))
    }

    if let countsDataset = file.exists(StatevectorFile.countsPath) ? try file.openDataset(StatevectorFile.countsPath) : nil,
       let counts = try StatevectorFile.readCounts(in: file) {
        let total = counts.reduce(UInt64(0)) { $0 + $1.count }
        let shots = try countsDataset.attributeIfPresent("shots")?.uintValue ?? total
        let seed = try countsDataset.attributeIfPresent("seed")?.uintValue.map { String($0) } ?? "?"
        let shown = counts.sorted { $0.count != $1.count ? $0.count > $1.count : $0.outcome < $1.outcome }.prefix(10)
        lines.append(field("counts", "\(shots) shots, seed \(seed), \(counts.count) distinct outcomes"
                           + (counts.count > shown.count ? " (top \(shown.count))" : "")))
        let width = shown.map { String($0.count).count }.max() ?? 1
        for c in shown {
            let percent = shots > 0 ? 100 * Double(c.count) / Double(shots) : 0
            let countText = String(c.count)
            lines.append("  " + padded(basisLabel(c.outcome, qubits: qubits), qubits + 2) + "  "
                         + String(repeating: " ", count: width - countText.count) + countText
                         + "  " + String(format: "%6.2f %%", percent))
        }
    }

    if let expectations = try StatevectorFile.readExpectations(in: file), !expectations.isEmpty {
        lines.append("expectations:")
        let shown = expectations.prefix(20)
        let width = shown.map { $0.label.count }.max() ?? 0
        for e in shown {
            lines.append("  <" + e.label + ">" + String(repeating: " ", count: width - e.label.count)
                         + "  = " + String(format: "% .12f", e.value))
        }
        if expectations.count > shown.count { lines.append("  … \(expectations.count - shown.count) more") }
    }
    return lines
}

/// H5MD (md, bomd, qmmm): atoms, frames, steps and time, box, and each observable's last value
/// and mean (observables have one row per frame, so this reads little).
private func trajectorySummary(_ file: H5File) throws -> [String] {
    let trajectory = try file.openGroup("particles/trajectory")
    let shape = try trajectory.openDataset("position/value").shape()
    let steps = try trajectory.openDataset("position/step").readAll(Int64.self)
    let times = try trajectory.openDataset("position/time").readAll(Double.self)
    let units = try file.openGroup("particles").attributeIfPresent("unit_system")?.stringValue ?? "?"
    var lines = [field("atoms", "\(shape.count > 1 ? shape[1] : 0), \(units) units")]
    if let first = steps.first, let last = steps.last {
        lines.append(field("frames", "\(steps.count), steps \(first)…\(last), time \(short(times.first ?? 0))…\(short(times.last ?? 0))"))
        let edges = try trajectory.openDataset("box/edges/value").read(Double.self, offset: [UInt64(steps.count - 1), 0], count: [1, 3])
        lines.append(field("box", edges.map(short).joined(separator: " × ")))
    } else {
        lines.append(field("frames", "0"))
    }
    if file.exists("observables") {
        let observables = try file.openGroup("observables")
        let names = try observables.childNames()
        if !names.isEmpty { lines.append("observables (last, mean over frames):") }
        let width = names.map(\.count).max() ?? 0
        for name in names where observables.kind(of: name) == .group && observables.exists("\(name)/value") {
            let dataset = try observables.openDataset("\(name)/value")
            let values = try dataset.readAll(Double.self)
            guard let last = values.last else { continue }
            let unit = try dataset.attributeIfPresent("unit")?.stringValue.map { " " + $0 } ?? ""
            let mean = values.reduce(0, +) / Double(values.count)
            lines.append("  " + padded(name, width) + "  " + String(format: "% .10g  % .10g", last, mean) + unit)
        }
    }
    return lines
}

/// A preempted statevector run: how far it got and in which qubit layout.
private func statevectorCheckpointSummary(_ file: H5File) throws -> [String] {
    let done = try file.attribute("done").intValue ?? 0
    let layout = try file.attribute("layout").description
    return [field("checkpoint", "statevector after \(done) operations (physical layout \(layout)): run the same command again to continue")]
}

/// VQE (vqe, bomd, qmmm): final energy, its distance to the exact energy when stored, iterations.
private func vqeSummary(_ file: H5File) throws -> [String] {
    let vqe = try file.openGroup("vqe")
    let energy = try vqe.openDataset("energy").readAll(Double.self).last ?? .nan
    var lines = [field("vqe energy", String(format: "%.12f hartree", energy))]
    if let exact = try vqe.attributeIfPresent("exact_energy")?.doubleValue {
        lines.append(field("exact energy", String(format: "%.12f hartree (VQE − exact = %.3e)", exact, energy - exact)))
    }
    if let hf = try vqe.attributeIfPresent("hartree_fock_energy")?.doubleValue {
        lines.append(field("hartree-fock", String(format: "%.12f hartree", hf)))
    }
    let iterations = vqe.exists("energy_history") ? try vqe.openDataset("energy_history").shape().first ?? 0 : 0
    let parameters = vqe.exists("parameters") ? try vqe.openDataset("parameters").shape().first ?? 0 : 0
    let ansatz = try vqe.attributeIfPresent("ansatz")?.stringValue ?? "?"
    let converged = try vqe.attributeIfPresent("converged")?.intValue.map { $0 != 0 ? "converged" : "not converged" } ?? ""
    lines.append(field("optimiser", "\(ansatz), \(parameters) parameters, \(iterations) energies recorded \(converged)"))
    if file.exists("hamiltonian/coefficient") {
        let terms = try file.openDataset("hamiltonian/coefficient").shape().first ?? 0
        let qubits = try file.openGroup("hamiltonian").attributeIfPresent("n_qubits")?.intValue.map { ", \($0) qubits" } ?? ""
        lines.append(field("hamiltonian", "\(terms) Pauli terms\(qubits)"))
    }
    return lines
}

/// MD restart files and checkpoints of preempted runs.
private func restartSummary(_ file: H5File) throws -> [String] {
    let g = try file.openGroup("restart")
    let step = try g.attributeIfPresent("step")?.intValue ?? 0
    let atoms = g.exists("id") ? try g.openDataset("id").shape().first ?? 0 : 0
    var lines = [field("restart", "step \(step), time \(short(try g.attributeIfPresent("time")?.doubleValue ?? 0)), \(atoms) atoms, \(try g.attributeIfPresent("units")?.stringValue ?? "?") units")]
    if let end = try g.attributeIfPresent("end_step")?.intValue {
        lines.append(field("checkpoint", "of a preempted run that ends at step \(end): run the same command again to continue"))
    }
    return lines
}

private func short(_ x: Double) -> String { String(format: "%.6g", x) }

/// One line per group and dataset (shape, type, chunks), with the attributes of each
/// non-root object underneath. Works for any HDF5 file (H5MD trajectories included).
func treeListing(_ file: H5File) throws -> [String] {
    var lines: [String] = []
    let rootAttributes = try file.attributeNames()
    lines.append("  /  group" + (rootAttributes.isEmpty ? "" : "  (\(rootAttributes.count) attributes)"))
    try listChildren(of: file, depth: 1, into: &lines)
    return lines
}

private func listChildren(of group: H5Location, depth: Int, into lines: inout [String]) throws {
    guard depth <= 32 else { return }
    for name in try group.childNames() {
        let path = group.childPath(name)
        switch group.kind(of: name) {
        case .group:
            let child = try group.openGroup(name)
            lines.append("  \(path)  group")
            try listAttributes(of: child, into: &lines)
            try listChildren(of: child, depth: depth + 1, into: &lines)
        case .dataset:
            let dataset = try group.openDataset(name)
            let (shape, maxShape) = try dataset.dimensions()
            var text = "  \(path)  dataset  "
            if shape.isEmpty {
                text += "scalar"
            } else {
                text += "[" + shape.map(String.init).joined(separator: ", ") + "]"
                if zip(shape, maxShape).contains(where: { $0.1 != $0.0 }) {
                    text += " max [" + maxShape.map { $0.map(String.init) ?? "inf" }.joined(separator: ", ") + "]"
                }
            }
            text += "  " + (try dataset.type().description)
            if let chunk = try dataset.chunkShape() {
                text += "  chunks [" + chunk.map(String.init).joined(separator: ", ") + "]"
            }
            lines.append(text)
            try listAttributes(of: dataset, into: &lines)
        case .namedType:
            lines.append("  \(path)  named type")
        case .other:
            lines.append("  \(path)  other object")
        case nil:
            lines.append("  \(path)  dangling link")
        }
    }
}

private func listAttributes(of object: H5Object, into lines: inout [String]) throws {
    let names = try object.attributeNames()
    for name in names.prefix(12) {
        var text = (try? object.attribute(name).description) ?? "<unreadable>"
        if let newline = text.firstIndex(of: "\n") { text = String(text[..<newline]) + " …" }
        if text.count > 72 { text = String(text.prefix(71)) + "…" }
        lines.append("      @\(name) = \(text)")
    }
    if names.count > 12 { lines.append("      … \(names.count - 12) more attributes") }
}
