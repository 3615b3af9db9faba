// Statevector checkpoints on preemption (SIGUSR1/SIGTERM): the state as it is in memory
// (physical qubit order, each rank its slice), how many instructions are done, the qubit layout,
// and whose job it is. "<output>.checkpoint", written as .partial then renamed, like results,
// every rank writing its slice at once.
import ForgeCore
import Foundation

public enum StatevectorCheckpoint {
    public static let jobKind = "statevector-checkpoint"

    public struct Position: Sendable, Equatable {
        /// Logical instructions already applied.
        public var done: Int
        /// Logical qubit q is stored at physical index bit layout[q].
        public var layout: [Int]
        public init(done: Int, layout: [Int]) { (self.done, self.layout) = (done, layout) }
    }

    /// Rank 0: creates the checkpoint file (pass the `.partial` name) with an unwritten
    /// amplitude dataset and returns its byte offset; every rank then writes its slice with
    /// `StatevectorFile.writeAmplitudes`, as for a result.
    public static func create(path: String, qubits: Int, precision: String, position: Position,
                              configSHA256: String) throws -> UInt64 {
        let offset = try StatevectorFile.create(path: path, qasm: "", qubits: qubits, gates: 0,
                                                amplitudeCount: UInt64(1) << UInt64(qubits), precision: precision) ?? 0
        let file = try H5File.open(path, mode: .readWrite)
        try file.setAttribute("job_kind", jobKind)
        try file.setAttribute("config_sha256", configSHA256)
        try file.setAttribute("done", Int64(position.done))
        try file.setAttribute("layout", position.layout.map(Int64.init))
        try file.close()
        return offset
    }

    /// Reads the position of a checkpoint; refuses one written by another job or precision.
    public static func read(_ path: String, configSHA256: String, qubits: Int, precision: String) throws -> Position {
        let file = try H5File.open(path)
        defer { try? file.close() }
        guard let owner = try file.attributeIfPresent("config_sha256")?.stringValue,
              let done = try file.attributeIfPresent("done")?.intValue,
              case .ints(let layout)? = try file.attributeIfPresent("layout") else {
            throw InputError("not a QForge statevector checkpoint; move it away to start afresh", file: path)
        }
        guard owner == configSHA256 else {
            throw InputError("checkpoint belongs to a different job (its circuit or options differ); delete it to start afresh", file: path)
        }
        let stored = try file.openDataset(StatevectorFile.amplitudesPath)
        defer { try? stored.close() }
        guard layout.count == qubits, try stored.attribute("precision").stringValue == precision else {
            throw InputError("checkpoint was written for another qubit count or precision; delete it to start afresh", file: path)
        }
        return Position(done: Int(done), layout: layout.map { Int($0) })
    }

    /// Reads amplitudes [offset, offset + count/2) into interleaved (re, im) storage, in blocks
    /// of one chunk (never a second full-size buffer).
    public static func readAmplitudes<T: BinaryFloatingPoint>(path: String, offset: UInt64, into interleaved: UnsafeMutableBufferPointer<T>) throws {
        let file = try H5File.open(path)
        defer { try? file.close() }
        let dataset = try file.openDataset(StatevectorFile.amplitudesPath)
        defer { try? dataset.close() }
        let memoryType = try H5Type.complex128(file: false)
        let n = UInt64(interleaved.count / 2), block = StatevectorFile.amplitudesPerBlock
        var scratch = [Double](repeating: 0, count: Int(2 * min(block, max(n, 1))))
        var done: UInt64 = 0
        while done < n {
            let count = min(n - done, block)
            try scratch.withUnsafeMutableBytes { raw in
                try dataset.read(into: raw.baseAddress!, memoryType: memoryType, offset: [offset + done], count: [count])
            }
            let target = interleaved.baseAddress! + Int(2 * done)
            for k in 0..<Int(2 * count) { target[k] = T(scratch[k]) }
            done += count
        }
    }
}
