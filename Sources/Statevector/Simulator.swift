import AmplitudeKernels
import Circuits
import ForgeCore

public enum Precision: String, CaseIterable, Sendable {
    case double, single
    var bytesPerAmplitude: Int { self == .double ? 16 : 8 }
}

public struct SimulationOptions: Sendable {
    public var shots: Int
    public var seed: UInt64
    public var observables: [PauliString]
    public init(shots: Int = 0, seed: UInt64 = 0, observables: [PauliString] = []) {
        (self.shots, self.seed, self.observables) = (shots, seed, observables)
    }
}

/// How many qubits a fused block may span.
public struct FusionLimits: Sendable {
    public var maxDenseQubits: Int
    public var maxDiagonalQubits: Int
    public init(maxDenseQubits: Int = 3, maxDiagonalQubits: Int = 8) {
        (self.maxDenseQubits, self.maxDiagonalQubits) = (maxDenseQubits, maxDiagonalQubits)
    }
}

public struct SimulationResult: Sendable {
    /// Measured classical outcomes (clbit j is bit j), sorted by outcome; nil without shots.
    public var counts: [(outcome: UInt64, count: UInt64)]?
    public var expectations: [(label: String, value: Double)]
    /// Bytes this rank sent to partner ranks.
    public var bytesSent: UInt64
    /// What this rank would send exchanging its whole slice once per non-diagonal gate on a
    /// rank-index qubit (no qubit remapping): the baseline the planner is measured against.
    public var baselineBytesSent: UInt64
    /// Mid-circuit measurement/reset/condition forced one full simulation per shot.
    public var trajectories: Int
}

/// Thrown by `Simulator.run` at an instruction boundary when `interruptCheck` said stop. The
/// state is left as it is in memory: `done` logical instructions applied, logical qubit q stored
/// at physical index bit `layout[q]`. `resumable` is false for trajectory runs (mid-circuit
/// measurement), which cannot continue from a saved state.
public struct SimulationInterrupted: Error, Sendable {
    public let done: Int
    public let layout: [Int]
    public let resumable: Bool
}

/// The distributed statevector simulator: owns the state in the chosen precision and runs circuits on it.
public final class Simulator {
    public let qubits: Int
    public let precision: Precision
    let comm: Communicator
    /// Gate fusion limits; nil runs every gate on its own over the whole slice (for comparison
    /// and tests).
    public var fusion: FusionLimits? = FusionLimits()
    /// Threads inside this rank (results are identical for any count).
    public var threads: Int = 1 { didSet { updateTeam() } }
    /// Polled between blocks of instructions (every `boundaryInterval`); must be collective, i.e.
    /// give the same answer on every rank (`CheckpointSchedule.poll`). true stops the run.
    public var interruptCheck: (() -> Bool)?
    /// Logical instructions between points where a run may stop and resume, single-qubit gates
    /// not counted (`QubitMapping.boundaryWeight`). Fixed by the qubit count and the circuit
    /// alone, so a resumed run executes exactly the operations an uninterrupted one would.
    public var boundaryInterval: Int { qubits >= 28 ? 64 : 256 }
    /// Cache blocking: runs of operations that together pair amplitudes on at most this many
    /// local qubits (diagonals on any) go window by window over 2^cacheQubits amplitudes, one
    /// memory sweep for the whole run: 512 KiB in double precision, the L2 cache of one core
    /// (16 qubits for single precision measured no faster). Results do not depend on it.
    public var cacheQubits = 15
    /// Fewest work items per thread; tests lower it to split even tiny states.
    var threadGrain = 1 << 12 { didSet { updateTeam() } }

    private func updateTeam() {
        let team = ThreadTeam(threads: threads, minimumItemsPerThread: threadGrain)
        switch storage {
        case .double(let s): s.team = team
        case .single(let s): s.team = team
        }
    }
    /// The vector width the kernels run with (256: AVX2, 512: AVX-512).
    public var vectorBits: Int {
        switch storage {
        case .double(let s): return s.kernels.vectorBits
        case .single(let s): return s.kernels.vectorBits
        }
    }
    private enum Storage { case double(DistributedState<Double>), single(DistributedState<Float>) }
    private let storage: Storage

    /// Checks the rank count and the node's memory, then allocates |0…0⟩. `vectorBits` (256 or
    /// 512) picks the kernels' vector width; by default the CPU's widest (`VectorWidth`).
    public init(qubits: Int, precision: Precision, comm: Communicator, vectorBits: Int = VectorWidth.preferred) throws {
        guard VectorWidth.supported.contains(vectorBits) else {
            throw InputError("\(vectorBits)-bit kernels cannot run here: this binary and CPU support \(VectorWidth.supported.map(String.init).joined(separator: " and ")) bits")
        }
        guard comm.size > 0, comm.size & (comm.size - 1) == 0 else {
            throw InputError("the statevector needs a power-of-two number of ranks (1, 2, 4, 8, …), got \(comm.size)")
        }
        let rankBits = comm.size.trailingZeroBitCount
        guard rankBits < qubits else {
            throw InputError("\(comm.size) ranks are too many for \(qubits) qubits: each rank needs at least 2 amplitudes (use at most \(1 << max(qubits - 1, 0)) ranks)")
        }
        let perRank = Self.bytesPerRank(qubits: qubits, ranks: comm.size, precision: precision)
        let needed = perRank * UInt64(comm.ranksOnNode)
        if let available = availableNodeMemoryBytes(), needed > available {
            throw InputError("\(qubits) qubits in \(precision) precision need \(formatBytes(perRank)) per rank × \(comm.ranksOnNode) ranks on this node = \(formatBytes(needed)), but the node has \(formatBytes(available)) available")
        }
        self.qubits = qubits
        self.precision = precision
        self.comm = comm
        switch precision {
        case .double: storage = .double(DistributedState(qubits: qubits, comm: comm, vectorBits: vectorBits))
        case .single: storage = .single(DistributedState(qubits: qubits, comm: comm, vectorBits: vectorBits))
        }
    }

    public static func bytesPerRank(qubits: Int, ranks: Int, precision: Precision) -> UInt64 {
        precision == .double
            ? DistributedState<Double>.bytesPerRank(qubits: qubits, ranks: ranks)
            : DistributedState<Float>.bytesPerRank(qubits: qubits, ranks: ranks)
    }

    /// Global index of this rank's first amplitude.
    public var localOffset: UInt64 {
        switch storage {
        case .double(let s): return s.globalOffset
        case .single(let s): return s.globalOffset
        }
    }

    public var bytesSent: UInt64 {
        switch storage {
        case .double(let s): return s.bytesSent
        case .single(let s): return s.bytesSent
        }
    }

    /// This rank's amplitudes as interleaved (re, im) scalars.
    public enum LocalAmplitudes {
        case double(UnsafeBufferPointer<Double>)
        case single(UnsafeBufferPointer<Float>)
    }

    public enum MutableLocalAmplitudes {
        case double(UnsafeMutableBufferPointer<Double>)
        case single(UnsafeMutableBufferPointer<Float>)
    }

    /// This rank's storage, writable (to load a checkpoint before `run(…, resume:)`).
    public func withMutableLocalAmplitudes<R>(_ body: (MutableLocalAmplitudes) throws -> R) rethrows -> R {
        switch storage {
        case .double(let s):
            return try body(.double(UnsafeMutableBufferPointer(start: UnsafeMutableRawPointer(s.amplitudes).assumingMemoryBound(to: Double.self), count: 2 * s.localCount)))
        case .single(let s):
            return try body(.single(UnsafeMutableBufferPointer(start: UnsafeMutableRawPointer(s.amplitudes).assumingMemoryBound(to: Float.self), count: 2 * s.localCount)))
        }
    }

    public func withLocalAmplitudes<R>(_ body: (LocalAmplitudes) throws -> R) rethrows -> R {
        switch storage {
        case .double(let s):
            return try body(.double(UnsafeBufferPointer(start: UnsafeRawPointer(s.amplitudes).assumingMemoryBound(to: Double.self), count: 2 * s.localCount)))
        case .single(let s):
            return try body(.single(UnsafeBufferPointer(start: UnsafeRawPointer(s.amplitudes).assumingMemoryBound(to: Float.self), count: 2 * s.localCount)))
        }
    }

    /// Runs `circuit` from |0…0⟩. Terminal measurements are sampled from the final state
    /// (which is left unmeasured); mid-circuit measurement, reset or `if` run one trajectory
    /// per shot (at least one), leaving the last trajectory's state. `resume` continues a
    /// sampleable circuit from a state loaded with `withMutableLocalAmplitudes` (a checkpoint).
    public func run(_ circuit: Circuit, options: SimulationOptions, resume: (done: Int, layout: [Int])? = nil,
                    progress: ((Int, Int) -> Void)? = nil) throws -> SimulationResult {
        switch storage {
        case .double(let s): return try run(circuit, on: s, options: options, resume: resume, progress: progress)
        case .single(let s): return try run(circuit, on: s, options: options, resume: resume, progress: progress)
        }
    }

    /// Instructions a run executes before sampling (what `SimulationInterrupted.done` counts).
    public static func resumableInstructionCount(_ circuit: Circuit) -> Int? {
        let plan = MeasurementPlan(circuit)
        return plan.isSampleable ? plan.unitaryPart.count : nil
    }

    private func run<T>(_ circuit: Circuit, on state: DistributedState<T>, options: SimulationOptions,
                        resume: (done: Int, layout: [Int])?, progress: ((Int, Int) -> Void)?) throws -> SimulationResult {
        precondition(circuit.qubitCount == qubits)
        let plan = MeasurementPlan(circuit)
        var counts: [UInt64: UInt64] = [:]
        var trajectories = 0
        if plan.isSampleable {
            if resume == nil { state.setZeroState() }
            try execute(plan.unitaryPart, on: state, from: resume, classical: nil, rng: nil, progress: progress)
            if options.shots > 0 {
                for index in state.sample(shots: options.shots, seed: options.seed) {
                    counts[plan.outcome(ofBasisState: index), default: 0] += 1
                }
            }
        } else {
            precondition(resume == nil, "trajectory runs cannot resume")
            trajectories = max(options.shots, 1)
            for shot in 0..<trajectories {
                state.setZeroState()
                var rng = SplitMix64(seed: options.seed &+ UInt64(shot) &* 0x9E37_79B9_7F4A_7C15)
                var classical: UInt64 = 0
                try execute(circuit.instructions, on: state, from: nil, classical: &classical, rng: &rng,
                            progress: shot == 0 ? progress : nil)
                // Every rank holds the same classical bits; count them once, on rank 0.
                if comm.rank == 0 && options.shots > 0 { counts[classical, default: 0] += 1 }
            }
        }
        let expectations = options.observables.map { (label: $0.label, value: state.expectation($0)) }
        let globalGates = (plan.isSampleable ? plan.unitaryPart : circuit.instructions).filter {
            guard case .unitary(let target, _, let m) = $0.operation else { return false }
            return target >= state.localQubitCount && !m.isDiagonal
        }.count
        let slice = UInt64(state.localCount * MemoryLayout<SIMD2<T>>.stride)
        return SimulationResult(counts: options.shots > 0 ? gatherCounts(counts) : nil,
                                expectations: expectations, bytesSent: state.bytesSent,
                                baselineBytesSent: UInt64(globalGates * max(trajectories, 1)) * slice,
                                trajectories: trajectories)
    }

    private func execute<T>(_ instructions: [Instruction], on state: DistributedState<T>, from resume: (done: Int, layout: [Int])?,
                            classical: UnsafeMutablePointer<UInt64>?, rng: UnsafeMutablePointer<SplitMix64>?,
                            progress: ((Int, Int) -> Void)?) throws {
        let mapping = QubitMapping(qubits: qubits, localQubits: state.localQubitCount, boundaryInterval: boundaryInterval)
        // A run from |0…0⟩ starts on a prefix of the state (`prefixRuns`) until its first swap or
        // boundary: a resumed run, which starts at one, executes what an uninterrupted one does.
        // Without fusion every gate sweeps the whole slice (the per-gate baseline).
        var fromZero = resume == nil && classical == nil && fusion != nil
        progress?(resume?.done ?? 0, instructions.count)
        for step in mapping.plan(instructions, from: resume?.done ?? 0, layout: resume?.layout) {
            switch step {
            case .swap(let local, let global):
                fromZero = false
                state.swapQubits(local: local, global: global)
            case .boundary(let done, let layout):
                fromZero = false
                progress?(done, instructions.count)
                if let interruptCheck, interruptCheck() {
                    throw SimulationInterrupted(done: done, layout: layout, resumable: classical == nil)
                }
            case .instructions(let physical):
                var rest = physical[...]
                if fromZero {
                    let (runs, first) = Self.prefixRuns(physical, minimumQubits: prefixQubits, localQubits: state.localQubitCount)
                    // Only rank 0's slice holds the prefix; the others stay zero.
                    if state.globalOffset == 0 {
                        for (qubits, gates) in runs { execute(Array(gates), on: state.prefix(qubits: qubits), classical: classical, rng: rng) }
                    }
                    rest = physical[first...]
                    fromZero = false
                }
                execute(Array(rest), on: state, classical: classical, rng: rng)
            }
        }
        progress?(instructions.count, instructions.count)
    }

    /// Qubits no gate has touched are still |0⟩: while the gates so far act below qubit K, only
    /// the first 2^K amplitudes can be non-zero, and the gates can run on that prefix alone. A GHZ
    /// state, or any circuit that entangles qubit after qubit from qubit 0, pays for the qubits
    /// it has reached, not for all n. The leading gates of `gates` as runs on growing prefixes of
    /// K qubits (at least `minimumQubits`; then 2 more per run, so the runs
    /// sweep about 4/3 of the last one), up to the first gate that needs the whole slice.
    static func prefixRuns(_ gates: [Instruction], minimumQubits: Int, localQubits: Int) -> (runs: [(qubits: Int, gates: ArraySlice<Instruction>)], rest: Int) {
        var runs: [(qubits: Int, gates: ArraySlice<Instruction>)] = []
        var k = min(minimumQubits, localQubits), start = 0
        for (i, gate) in gates.enumerated() {
            guard gate.condition == nil, case .unitary(let target, let controls, _) = gate.operation else { return (runs, start) }
            let needed = max(target, controls.max() ?? 0) + 1
            guard needed > k else { continue }
            if i > start { runs.append((k, gates[start..<i])) }
            start = i
            k = max(needed, k + 2)
            if k >= localQubits { return (runs, start) }
        }
        if start < gates.count { runs.append((k, gates[start...])) }
        return (runs, gates.count)
    }

    /// Physical gates fused and run, cache stage by cache stage, on `state` (a slice or a prefix).
    private func execute<T>(_ physical: [Instruction], on state: DistributedState<T>,
                            classical: UnsafeMutablePointer<UInt64>?, rng: UnsafeMutablePointer<SplitMix64>?) {
        guard !physical.isEmpty else { return }
        let fusion = fusion.map { GateFusion(localQubits: state.localQubitCount, maxDenseQubits: $0.maxDenseQubits,
                                             maxDiagonalQubits: $0.maxDiagonalQubits, laneQubits: state.kernels.laneShift) }
        let operations = fusion?.fuse(physical) ?? physical.map({ .instruction($0) })
        let (ordered, groupEnds) = Self.commutingGroups(operations, capacity: groupQubits, qubits: qubits,
                                                        localQubits: state.localQubitCount)
        var k = 0, group = 0
        while k < ordered.count {
            while groupEnds[group] <= k { group += 1 }
            if let (end, window) = stage(ordered, from: k, to: groupEnds[group], localQubits: state.localQubitCount) {
                let labels = state.windowLabels(window)
                let prepared = state.prepare(ordered[k..<end].map { $0.relabelled(labels) })
                state.forEachWindow(qubits: window) { part in for operation in prepared { part.apply(operation) } }
                k = end
            } else {
                execute(ordered[k], on: state, classical: classical, rng: rng)
                k += 1
            }
        }
    }

    /// Cache blocking: the longest run of operations from `start` (before `limit`, the end of
    /// its commuting group) whose amplitude pairings fit in one window of `cacheQubits` local
    /// qubits, and that window (nil: run one operation on
    /// the whole slice). Three window qubits are kept for the lowest free qubits, so a gathered
    /// window copies runs of at least 8 amplitudes; a run on the lowest qubits needs no gather.
    private func stage(_ operations: [FusedOperation], from start: Int, to limit: Int, localQubits: Int) -> (end: Int, window: [Int])? {
        let size = cacheQubits
        guard size < localQubits else { return nil }
        let capacity = size >= 9 ? size - 3 : size
        var chosen = Set<Int>(), end = start
        while end < limit, let qubits = Self.pairedQubits(operations[end], localQubits: localQubits) {
            let union = chosen.union(qubits)
            guard union.count <= capacity || union.allSatisfy({ $0 < size }) else { break }
            chosen = union
            end += 1
        }
        guard end - start >= 2 else { return nil }
        for q in 0..<localQubits where chosen.count < size { chosen.insert(q) }
        return (end, chosen.sorted())
    }

    /// A run from |0…0⟩ starts on a prefix of at least this many qubits (`prefixRuns`): about
    /// one cache window. Fixed, not derived from `cacheQubits`, so no bit of a result depends on
    /// the window size.
    public var prefixQubits = 14
    /// Operations are grouped for cache blocking on at most this many paired qubits (the
    /// default window's capacity). Fixed, not derived from `cacheQubits`, so the order of
    /// operations, and so every bit of the result, does not depend on the window size.
    public var groupQubits = 12
    /// Later operations considered for the current group.
    static let groupLookahead = 512

    /// `operations` reordered into groups that each fit one cache window: from the first
    /// operation not yet placed, every later one that commutes with all it would pass (disjoint
    /// qubits, or both diagonal) joins while the group's paired qubits stay within `capacity`.
    /// A random circuit's layers touch every qubit, so in program order a window holds a few
    /// blocks before it must be swept out; pulling the commuting ones forward fills it, and the
    /// state is streamed from memory fewer times. Returns the order and each group's end index.
    static func commutingGroups(_ operations: [FusedOperation], capacity: Int, qubits: Int,
                                localQubits: Int) -> ([FusedOperation], [Int]) {
        var placed = [Bool](repeating: false, count: operations.count)
        var ordered: [FusedOperation] = [], ends: [Int] = []
        ordered.reserveCapacity(operations.count)
        for first in operations.indices where !placed[first] {
            placed[first] = true
            ordered.append(operations[first])
            defer { ends.append(ordered.count) }
            guard var chosen = pairedQubits(operations[first], localQubits: localQubits) else { continue }
            // Qubits of passed-over operations: any later operation on `blocked` stays behind
            // them; a non-diagonal one on `blockedByDiagonal` too.
            var blocked = Set<Int>(), blockedByDiagonal = Set<Int>(), scanned = 0
            var j = first + 1
            while j < operations.count, scanned < groupLookahead, blocked.count < qubits {
                defer { j += 1 }
                if placed[j] { continue }
                scanned += 1
                guard let (touched, diagonal) = touchedQubits(operations[j]) else { break }
                if blocked.isDisjoint(with: touched), diagonal || blockedByDiagonal.isDisjoint(with: touched),
                   let paired = pairedQubits(operations[j], localQubits: localQubits), chosen.union(paired).count <= capacity {
                    chosen.formUnion(paired)
                    placed[j] = true
                    ordered.append(operations[j])
                } else if diagonal {
                    blockedByDiagonal.formUnion(touched)
                } else {
                    blocked.formUnion(touched)
                }
            }
        }
        return (ordered, ends)
    }

    /// Every qubit `operation` acts on and whether it is diagonal; nil for what nothing may
    /// pass (measurement, reset, condition).
    private static func touchedQubits(_ operation: FusedOperation) -> (Set<Int>, Bool)? {
        guard let qubits = operation.touchedQubits else { return nil }
        switch operation {
        case .diagonal: return (Set(qubits), true)
        case .instruction(let instruction):
            guard case .unitary(_, _, let m) = instruction.operation else { return nil }
            return (Set(qubits), m.isDiagonal)
        case .dense, .permutation: return (Set(qubits), false)
        }
    }

    /// The local qubits `operation` pairs amplitudes on (none for a diagonal, which fits any
    /// window); nil when it cannot run in a window (measurement, condition, rank-index qubit).
    private static func pairedQubits(_ operation: FusedOperation, localQubits: Int) -> Set<Int>? {
        guard let qubits = operation.touchedQubits else { return nil }
        switch operation {
        case .diagonal: return []
        case .dense, .permutation: return Set(qubits)
        case .instruction: return qubits.allSatisfy { $0 < localQubits } ? Set(qubits) : nil
        }
    }

    private func execute<T>(_ operation: FusedOperation, on state: DistributedState<T>,
                            classical: UnsafeMutablePointer<UInt64>?, rng: UnsafeMutablePointer<SplitMix64>?) {
        if case .instruction(let instruction) = operation {
            execute(instruction, on: state, classical: classical, rng: rng)
        } else {
            state.apply(state.prepare(operation))
        }
    }

    private func execute<T>(_ instruction: Instruction, on state: DistributedState<T>,
                            classical: UnsafeMutablePointer<UInt64>?, rng: UnsafeMutablePointer<SplitMix64>?) {
        if let condition = instruction.condition, let classical {
            let width = UInt64(condition.width)
            let mask: UInt64 = width >= 64 ? .max : (1 << width) - 1
            if (classical.pointee >> UInt64(condition.clbitOffset)) & mask != condition.value { return }
        }
        switch instruction.operation {
        case .unitary(let target, let controls, let matrix):
            state.apply(target: target, controls: controls, matrix: matrix)
        case .measure(let qubit, let clbit):
            guard let classical, let rng else { return }
            let outcome = state.measure(qubit: qubit, draw: rng.pointee.nextUnit())
            let bit = UInt64(1) << UInt64(clbit)
            classical.pointee = outcome == 1 ? classical.pointee | bit : classical.pointee & ~bit
        case .reset(let qubit):
            guard let rng else { return }
            if state.measure(qubit: qubit, draw: rng.pointee.nextUnit()) == 1 {
                state.apply(target: qubit, controls: [], matrix: .pauliX)
            }
        case .barrier:
            break
        }
    }

    /// Sums every rank's counts on rank 0; other ranks get an empty list.
    private func gatherCounts(_ counts: [UInt64: UInt64]) -> [(outcome: UInt64, count: UInt64)] {
        var bytes: [UInt8] = []
        for (outcome, count) in counts {
            withUnsafeBytes(of: outcome.littleEndian) { bytes += $0 }
            withUnsafeBytes(of: count.littleEndian) { bytes += $0 }
        }
        guard let all = comm.gather(bytes, root: 0) else { return [] }
        var merged: [UInt64: UInt64] = [:]
        for part in all {
            part.withUnsafeBytes { raw in
                for k in Swift.stride(from: 0, to: raw.count, by: 16) {
                    let outcome = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: k, as: UInt64.self))
                    let count = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: k + 8, as: UInt64.self))
                    merged[outcome, default: 0] += count
                }
            }
        }
        return merged.sorted { $0.key < $1.key }.map { (outcome: $0.key, count: $0.value) }
    }
}

/// Splits a circuit into its unitary part and terminal measurements when it can be sampled.
struct MeasurementPlan {
    let isSampleable: Bool
    let unitaryPart: [Instruction]
    /// (qubit, clbit) of terminal measurements, in program order; empty means "measure all".
    let terminal: [(qubit: Int, clbit: Int)]

    init(_ circuit: Circuit) {
        var unitary: [Instruction] = []
        var terminal: [(Int, Int)] = []
        var measured = Set<Int>()
        var sampleable = true
        for instruction in circuit.instructions {
            if instruction.condition != nil { sampleable = false; break }
            switch instruction.operation {
            case .reset: sampleable = false
            case .measure(let q, let c): measured.insert(q); terminal.append((q, c))
            case .unitary(let target, let controls, _):
                if measured.contains(target) || controls.contains(where: measured.contains) { sampleable = false }
                unitary.append(instruction)
            case .barrier: break
            }
            if !sampleable { break }
        }
        isSampleable = sampleable
        unitaryPart = unitary
        self.terminal = terminal
    }

    func outcome(ofBasisState index: UInt64) -> UInt64 {
        if terminal.isEmpty { return index }
        var outcome: UInt64 = 0
        for (q, c) in terminal {
            let bit = UInt64(1) << UInt64(c)
            outcome = (index >> UInt64(q)) & 1 == 1 ? outcome | bit : outcome & ~bit
        }
        return outcome
    }
}
