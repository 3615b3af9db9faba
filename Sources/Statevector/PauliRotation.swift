// Pauli rotations exp(−iθ/2·P) and Pauli-sum products on the distributed state, for variational
// algorithms (VQE): no dense matrices, no circuits. A Pauli product P maps basis state |g⟩ to
// i^{#Y}·(−1)^{popcount(g & z)}·|g ⊕ x⟩, so every operation pairs amplitude g with g ⊕ x; when x
// has rank-index bits, the partner amplitude lives on rank ⊕ (x >> L) and is fetched by the same
// bounded chunk exchange the gate kernels use.
import ComplexModule
import RealModule
import ForgeCore

extension PauliString {
    /// The product with X/Y on `xMask` and Y/Z on `zMask`, labelled Qiskit-style ("IXYZ": the
    /// rightmost letter is qubit 0).
    public init(xMask: UInt64, zMask: UInt64, qubits: Int) {
        let letters = (0..<qubits).reversed().map { q -> Character in
            switch ((xMask >> UInt64(q)) & 1, (zMask >> UInt64(q)) & 1) {
            case (1, 1): return "Y"
            case (1, 0): return "X"
            case (0, 1): return "Z"
            default: return "I"
            }
        }
        // Pauli.swift declares only the parsing initialiser; "II" always parses.
        self = try! PauliString(parsing: "II", qubits: 2)
        (self.xMask, self.zMask, label) = (xMask, zMask, String(letters))
    }
}

/// A real-weighted sum of Pauli products, grouped by X-mask: the terms of one group pair the same
/// amplitudes (g, g ⊕ x), so one pass (and at most one partner exchange) serves the whole group.
public struct PauliSumGroups: Sendable {
    struct Group: Sendable {
        let xMask: UInt64
        let zMasks: [UInt64]
        /// c_t · i^{#Y_t} as (re, im).
        let phases: [SIMD2<Double>]
    }
    let groups: [Group]
    public let termCount: Int

    public init(_ terms: [(pauli: PauliString, coefficient: Double)]) {
        var byX: [UInt64: (z: [UInt64], p: [SIMD2<Double>])] = [:]
        var order: [UInt64] = []
        for t in terms {
            if byX[t.pauli.xMask] == nil { order.append(t.pauli.xMask); byX[t.pauli.xMask] = ([], []) }
            byX[t.pauli.xMask]!.z.append(t.pauli.zMask)
            byX[t.pauli.xMask]!.p.append(PauliSumGroups.power(ofI: t.pauli.yCount) * t.coefficient)
        }
        groups = order.map { Group(xMask: $0, zMasks: byX[$0]!.z, phases: byX[$0]!.p) }
        termCount = terms.count
    }

    public var groupCount: Int { groups.count }

    /// i^k as (re, im).
    static func power(ofI k: Int) -> SIMD2<Double> {
        switch k & 3 {
        case 0: return SIMD2(1, 0)
        case 1: return SIMD2(0, 1)
        case 2: return SIMD2(-1, 0)
        default: return SIMD2(0, -1)
        }
    }
}

/// A double-precision statevector sharded over the ranks like `Simulator`'s, driven by Pauli
/// rotations: the state of a variational ansatz.
public final class PauliState {
    let state: DistributedState<Double>
    /// Two chunks of partner amplitudes: a rotation updates block b from block b ⊕ highX and back,
    /// so both are fetched before either is overwritten.
    private let partnerBlocks: UnsafeMutablePointer<SIMD2<Double>>
    public var qubitCount: Int { state.qubitCount }
    public var comm: Communicator { state.comm }

    public init(qubits: Int, comm: Communicator) throws {
        guard comm.size > 0, comm.size & (comm.size - 1) == 0 else {
            throw InputError("the statevector needs a power-of-two number of ranks (1, 2, 4, 8, …), got \(comm.size)")
        }
        guard comm.size.trailingZeroBitCount < qubits, qubits <= 40 else {
            throw InputError("\(comm.size) ranks are too many for \(qubits) qubits: each rank needs at least 2 amplitudes (use at most \(1 << max(qubits - 1, 0)) ranks)")
        }
        state = DistributedState(qubits: qubits, comm: comm)
        partnerBlocks = .allocate(capacity: 2 * state.chunkCount)
    }

    deinit { partnerBlocks.deallocate() }

    /// |index⟩ (a computational basis state, e.g. the Hartree–Fock determinant).
    public func setBasisState(_ index: UInt64) {
        let s = state
        s.amplitudes.update(repeating: .zero, count: s.localCount)
        let offset = s.globalOffset
        if index >> UInt64(s.localQubitCount) == offset >> UInt64(s.localQubitCount) {
            s.amplitudes[Int(index - offset)] = SIMD2(1, 0)
        }
    }

    public func copy(from other: PauliState) {
        precondition(other.state.localCount == state.localCount)
        state.amplitudes.update(from: other.state.amplitudes, count: state.localCount)
    }

    /// Amplitudes of this rank, global indices `localOffset ..< localOffset + count`.
    public var localOffset: UInt64 { state.globalOffset }
    public func localAmplitude(_ i: Int) -> Complex<Double> {
        Complex(state.amplitudes[i].x, state.amplitudes[i].y)
    }
    public var localCount: Int { state.localCount }

    // MARK: chunked partner access

    private var chunkShift: Int { state.chunkCount.trailingZeroBitCount }

    /// Copies block `block` of the amplitudes paired by `partner` (this rank's or the partner's)
    /// into `buffer`: ranks call it in the same block order, so the exchanges match.
    private func fetch(block: Int, partner: Int, into buffer: UnsafeMutablePointer<SIMD2<Double>>) {
        let s = state, count = s.chunkCount
        let source = s.amplitudes + block * count
        if partner == s.comm.rank {
            buffer.update(from: source, count: count)
        } else {
            let bytes = count * MemoryLayout<SIMD2<Double>>.stride
            s.comm.sendrecv(UnsafeRawBufferPointer(start: source, count: bytes),
                            into: UnsafeMutableRawBufferPointer(start: buffer, count: bytes), partner: partner)
        }
    }

    /// Calls `body(blockStart, paired, lowX)` for every block, where `paired[j ^ lowX]` is
    /// ψ_{g ⊕ x} for g = offset + blockStart + j. Read-only on this state.
    private func forEachPairedBlock(xMask x: UInt64, _ body: (Int, UnsafePointer<SIMD2<Double>>, Int) -> Void) {
        let s = state
        let localX = Int(x & UInt64(s.localCount - 1))
        let partner = s.comm.rank ^ Int(x >> UInt64(s.localQubitCount))
        let highX = localX >> chunkShift, lowX = localX & (s.chunkCount - 1)
        for block in 0..<(s.localCount >> chunkShift) {
            let sourceBlock = block ^ highX
            if partner == s.comm.rank {
                body(block << chunkShift, UnsafePointer(s.amplitudes + (sourceBlock << chunkShift)), lowX)
            } else {
                fetch(block: sourceBlock, partner: partner, into: partnerBlocks)
                body(block << chunkShift, UnsafePointer(partnerBlocks), lowX)
            }
        }
    }

    // MARK: operations

    /// ψ ← exp(−i·angle/2·P) ψ = cos(angle/2)·ψ − i·sin(angle/2)·Pψ.
    public func rotate(_ pauli: PauliString, angle: Double) {
        let s = state
        let x = pauli.xMask, z = pauli.zMask
        let c = Double.cos(angle / 2)
        // −i·sin·i^{#Y}
        let omega = PauliSumGroups.power(ofI: pauli.yCount + 3) * Double.sin(angle / 2)
        let cosine = SIMD2(c, c)
        let localX = Int(x & UInt64(s.localCount - 1))
        let partner = s.comm.rank ^ Int(x >> UInt64(s.localQubitCount))
        let highX = localX >> chunkShift, lowX = localX & (s.chunkCount - 1)
        let count = s.chunkCount, offset = s.globalOffset
        let a = s.amplitudes
        func update(block: Int, from paired: UnsafeMutablePointer<SIMD2<Double>>) {
            let start = block << chunkShift
            for j in 0..<count {
                let source = (offset | UInt64(start + j)) ^ x  // g ⊕ x
                let w = (source & z).nonzeroBitCount & 1 == 0 ? omega : -omega
                a[start + j] = cosine * a[start + j] + Kernels.mul(w, paired[j ^ lowX])
            }
        }
        for block in 0..<(s.localCount >> chunkShift) where block <= block ^ highX {
            let other = block ^ highX
            fetch(block: block, partner: partner, into: partnerBlocks)
            if other == block {
                update(block: block, from: partnerBlocks)
            } else {
                fetch(block: other, partner: partner, into: partnerBlocks + count)
                update(block: block, from: partnerBlocks + count)
                update(block: other, from: partnerBlocks)
            }
        }
    }

    /// ⟨ψ|H|ψ⟩ for the grouped sum H, identical on every rank.
    public func expectation(_ h: PauliSumGroups) -> Double {
        let s = state
        let offset = s.globalOffset, a = s.amplitudes
        var total = 0.0
        for group in h.groups {
            let x = group.xMask
            var groupSum = 0.0
            forEachPairedBlock(xMask: x) { start, paired, lowX in
                for j in 0..<s.chunkCount {
                    let source = (offset | UInt64(start + j)) ^ x
                    var f = SIMD2<Double>.zero
                    for (t, zMask) in group.zMasks.enumerated() {
                        f += (source & zMask).nonzeroBitCount & 1 == 0 ? group.phases[t] : -group.phases[t]
                    }
                    // Re(conj(ψ_g) · f · ψ_{g⊕x})
                    let v = Kernels.mul(f, paired[j ^ lowX]), own = a[start + j]
                    groupSum += own.x * v.x + own.y * v.y
                }
            }
            total += groupSum
        }
        var sums = [total]
        s.comm.allreduceSum(&sums)
        return sums[0]
    }

    /// target ← H ψ.
    public func apply(_ h: PauliSumGroups, into target: PauliState) {
        let s = state
        precondition(target !== self && target.state.localCount == s.localCount)
        let offset = s.globalOffset, out = target.state.amplitudes
        out.update(repeating: .zero, count: s.localCount)
        for group in h.groups {
            let x = group.xMask
            forEachPairedBlock(xMask: x) { start, paired, lowX in
                for j in 0..<s.chunkCount {
                    let source = (offset | UInt64(start + j)) ^ x
                    var f = SIMD2<Double>.zero
                    for (t, zMask) in group.zMasks.enumerated() {
                        f += (source & zMask).nonzeroBitCount & 1 == 0 ? group.phases[t] : -group.phases[t]
                    }
                    out[start + j] += Kernels.mul(f, paired[j ^ lowX])
                }
            }
        }
    }

    /// ⟨bra|P|ψ⟩.
    public func matrixElement(bra: PauliState, _ pauli: PauliString) -> Complex<Double> {
        let s = state
        precondition(bra.state.localCount == s.localCount)
        let x = pauli.xMask, z = pauli.zMask
        let offset = s.globalOffset, b = bra.state.amplitudes
        var sum = SIMD2<Double>.zero
        forEachPairedBlock(xMask: x) { start, paired, lowX in
            for j in 0..<s.chunkCount {
                let source = (offset | UInt64(start + j)) ^ x
                let v = (source & z).nonzeroBitCount & 1 == 0 ? paired[j ^ lowX] : -paired[j ^ lowX]
                let w = b[start + j]
                sum += SIMD2(w.x * v.x + w.y * v.y, w.x * v.y - w.y * v.x)  // conj(w)·v
            }
        }
        var sums = [sum.x, sum.y]
        s.comm.allreduceSum(&sums)
        let phase = PauliSumGroups.power(ofI: pauli.yCount)
        let r = Kernels.mul(phase, SIMD2(sums[0], sums[1]))
        return Complex(r.x, r.y)
    }
}
