// The state of a variational ansatz (VQE) on the distributed statevector: excitations applied as
// rotations in the planes of basis-state pairs, and a real-weighted Pauli sum (a qubit
// Hamiltonian) applied once per energy. The amplitudes live in one sector of conserved bit
// counts (the α and β electron numbers under Jordan–Wigner) that every operation here keeps, so
// sweeps visit only that sector's indices and an excitation only its index pairs inside it (listed
// once per excitation). No dense matrices, no circuits. A partner amplitude behind rank-index bits
// is fetched from the partner rank in bounded chunks, as the gate kernels do.
import AmplitudeKernels
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
        self.init(xMask: xMask, zMask: zMask, label: String(letters))
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

/// Basis states g with popcount(g & masks[k]) == counts[k] for every k (e.g. α and β electron
/// numbers): the only amplitudes an `AnsatzState` holds.
public struct BitCountSector: Sendable {
    public let masks: [UInt64], counts: [Int]
    public init(masks: [UInt64], counts: [Int]) {
        precondition(masks.count == counts.count)
        (self.masks, self.counts) = (masks, counts)
    }

    @inline(__always) func contains(_ g: UInt64) -> Bool {
        for k in masks.indices where (g & masks[k]).nonzeroBitCount != counts[k] { return false }
        return true
    }
}

/// exp(θG) for a real generator G that pairs |g⟩ (g & mask == from) with |g ⊕ mask⟩:
/// G|g⟩ = s_g|g ⊕ mask⟩, G|g ⊕ mask⟩ = −s_g|g⟩ with s_g = sign·(−1)^{popcount(g & parity)},
/// and G|h⟩ = 0 for every other basis state; G must keep the state's sector. A Jordan–Wigner
/// excitation T − T† is one (its sign string is the parity), so exp(θG) is a Givens rotation on
/// each pair.
public struct PairRotation: Sendable {
    public let mask: UInt64, from: UInt64, parity: UInt64
    public let sign: Double

    public init(mask: UInt64, from: UInt64, parity: UInt64, sign: Double) {
        // parity ∩ mask = ∅: both members of a pair see the same s_g.
        precondition(from & ~mask == 0 && parity & mask == 0 && abs(sign) == 1)
        (self.mask, self.from, self.parity, self.sign) = (mask, from, parity, sign)
    }
}

/// A double-precision statevector sharded over the ranks like `Simulator`'s, restricted to one
/// `BitCountSector`.
public final class AnsatzState {
    let state: DistributedState<Double>
    public let sector: BitCountSector
    /// Local indices of this rank's sector states, ascending; `blockSupport[b]` is the first of block b.
    private let support: [Int]
    private let blockSupport: [Int]
    /// Two chunks: a block and its partner's, or packed own and partner amplitudes of a pair rotation.
    private let partnerBlocks: UnsafeMutablePointer<SIMD2<Double>>
    public var qubitCount: Int { state.qubitCount }
    public var comm: Communicator { state.comm }
    /// Threads inside this rank (results are identical for any count).
    public var threads: Int {
        get { state.team.threads }
        set { state.team = ThreadTeam(threads: newValue, minimumItemsPerThread: threadGrain) }
    }
    /// Fewest work items per thread; tests lower it to split even tiny states.
    public var threadGrain = 1 << 11 { didSet { threads = state.team.threads } }

    public init(qubits: Int, sector: BitCountSector, comm: Communicator) throws {
        guard comm.size > 0, comm.size & (comm.size - 1) == 0 else {
            throw InputError("the statevector needs a power-of-two number of ranks (1, 2, 4, 8, …), got \(comm.size)")
        }
        guard comm.size.trailingZeroBitCount < qubits, qubits <= 40 else {
            throw InputError("\(comm.size) ranks are too many for \(qubits) qubits: each rank needs at least 2 amplitudes (use at most \(1 << max(qubits - 1, 0)) ranks)")
        }
        state = DistributedState(qubits: qubits, comm: comm)
        self.sector = sector
        partnerBlocks = .allocate(capacity: 2 * state.chunkCount)
        let offset = state.globalOffset
        support = (0..<state.localCount).filter { sector.contains(offset | UInt64($0)) }
        var starts: [Int] = [], next = 0
        for block in 0...(state.localCount / state.chunkCount) {
            while next < support.count && support[next] < block * state.chunkCount { next += 1 }
            starts.append(next)
        }
        blockSupport = starts
        state.team = ThreadTeam(threads: 1, minimumItemsPerThread: threadGrain)
    }

    deinit { partnerBlocks.deallocate() }

    /// |index⟩ (a computational basis state in the sector, e.g. the Hartree–Fock determinant).
    public func setBasisState(_ index: UInt64) {
        precondition(sector.contains(index))
        let s = state
        s.amplitudes.update(repeating: .zero, count: s.localCount)
        let offset = s.globalOffset
        if index >> UInt64(s.localQubitCount) == offset >> UInt64(s.localQubitCount) {
            s.amplitudes[Int(index - offset)] = SIMD2(1, 0)
        }
    }

    /// Amplitudes of this rank, global indices `localOffset ..< localOffset + count`.
    public var localOffset: UInt64 { state.globalOffset }
    public func localAmplitude(_ i: Int) -> Complex<Double> {
        Complex(state.amplitudes[i].x, state.amplitudes[i].y)
    }
    public var localCount: Int { state.localCount }

    // MARK: partner amplitudes on other ranks

    private var chunkShift: Int { state.chunkCount.trailingZeroBitCount }

    /// Calls `body(blockStart, paired, lowX)` for every block, where `paired[j ^ lowX]` is
    /// ψ_{g ⊕ x} for g = offset + blockStart + j, for an x with rank-index bits: the partner
    /// rank's block is fetched into `partnerBlocks` (ranks go through the blocks in the same
    /// order, so the exchanges match). Read-only on this state.
    private func forEachRemotePairedBlock(xMask x: UInt64, _ body: (Int, UnsafePointer<SIMD2<Double>>, Int) -> Void) {
        let s = state, count = s.chunkCount, bytes = count * MemoryLayout<SIMD2<Double>>.stride
        let localX = Int(x & UInt64(s.localCount - 1))
        let partner = s.comm.rank ^ Int(x >> UInt64(s.localQubitCount))
        precondition(partner != s.comm.rank)
        let highX = localX >> chunkShift, lowX = localX & (count - 1)
        for block in 0..<(s.localCount >> chunkShift) {
            let source = s.amplitudes + ((block ^ highX) << chunkShift)
            s.comm.sendrecv(UnsafeRawBufferPointer(start: source, count: bytes),
                            into: UnsafeMutableRawBufferPointer(start: partnerBlocks, count: bytes), partner: partner)
            body(block << chunkShift, UnsafePointer(partnerBlocks), lowX)
        }
    }

    /// This rank's members of a rotation's pairs: the local indices g of sector states with
    /// g & mask == pattern (on the mask's local bits), ascending. `role` says whether they are
    /// first members (g & mask == from), second members, both (the pair is local: g is the first,
    /// g ^ localMask the second) or none; the other member of a remote pair lives on `partner` at
    /// g ^ localMask, and both ranks list their members in the same order (ascending in the free bits).
    private struct PairLayout {
        enum Role { case both, first, second, none }
        let role: Role
        let members: [Int32]
        let localMask: Int
        let partner: Int
    }

    /// Layouts by (mask, from): built once per excitation, reused by every sweep.
    private var layouts: [SIMD2<UInt64>: PairLayout] = [:]

    private func layout(_ r: PairRotation) -> PairLayout {
        let key = SIMD2(r.mask, r.from)
        if let l = layouts[key] { return l }
        let s = state
        let local = UInt64(s.localCount - 1), shift = UInt64(s.localQubitCount)
        let maskHigh = r.mask >> shift, fromHigh = r.from >> shift, rank = UInt64(s.comm.rank)
        let role: PairLayout.Role
        if maskHigh == 0 { role = .both }
        else if rank & maskHigh == fromHigh { role = .first }
        else if rank & maskHigh == fromHigh ^ maskHigh { role = .second }
        else { role = .none }
        let pattern = role == .second ? (r.from ^ r.mask) & local : r.from & local
        // The generator keeps the sector, so a pair's members are both in it or both out.
        let members = role == .none ? [] : support.filter { UInt64($0) & r.mask & local == pattern }.map { Int32($0) }
        let l = PairLayout(role: role, members: members, localMask: Int(r.mask & local), partner: s.comm.rank ^ Int(maskHigh))
        layouts[key] = l
        return l
    }

    /// The partner's amplitudes of `source` at this rank's members of a remote pair layout, chunk
    /// by chunk: calls `body(k0, count, packed)` with packed[k] the partner of member k0 + k.
    private func withRemoteMembers(_ l: PairLayout, of source: AnsatzState, _ body: (Int, Int, UnsafePointer<SIMD2<Double>>) -> Void) {
        let s = state, chunk = s.chunkCount, a = source.state.amplitudes
        for k0 in Swift.stride(from: 0, to: l.members.count, by: chunk) {
            let count = min(chunk, l.members.count - k0)
            for k in 0..<count { partnerBlocks[k] = a[Int(l.members[k0 + k])] }
            let bytes = count * MemoryLayout<SIMD2<Double>>.stride
            s.comm.sendrecv(UnsafeRawBufferPointer(start: partnerBlocks, count: bytes),
                            into: UnsafeMutableRawBufferPointer(start: partnerBlocks + chunk, count: bytes), partner: l.partner)
            body(k0, count, UnsafePointer(partnerBlocks + chunk))
        }
    }

    // MARK: operations

    /// ψ ← exp(θG) ψ: on each pair (g, h = g ⊕ mask), ψ_g ← cos θ·ψ_g − s_g sin θ·ψ_h and
    /// ψ_h ← cos θ·ψ_h + s_g sin θ·ψ_g.
    public func rotate(_ r: PairRotation, angle theta: Double) {
        let l = layout(r)
        let a = state.amplitudes, offset = state.globalOffset
        let c = SIMD2(repeating: Double.cos(theta)), sine = r.sign * Double.sin(theta)
        @inline(__always) func signed(_ g: Int) -> SIMD2<Double> {
            SIMD2(repeating: ((offset | UInt64(g)) & r.parity).nonzeroBitCount & 1 == 0 ? sine : -sine)
        }
        l.members.withUnsafeBufferPointer { members in
            switch l.role {
            case .none: return
            case .both:
                state.team.forEach(members.count) { range in
                    for k in range {
                        let g = Int(members[k]), h = g ^ l.localMask
                        let s = signed(g), x = a[g], y = a[h]
                        a[g] = c * x - s * y
                        a[h] = c * y + s * x
                    }
                }
            case .first, .second:
                let direction: Double = l.role == .first ? -1 : 1
                withRemoteMembers(l, of: self) { k0, count, partner in
                    for k in 0..<count {
                        let g = Int(members[k0 + k])
                        a[g] = c * a[g] + direction * signed(g) * partner[k]
                    }
                }
            }
        }
    }

    /// This rank's part of Re⟨bra|G|ψ⟩ = Σ_pairs s_g·Re(bra_h* ψ_g − bra_g* ψ_h); the caller sums
    /// the parts over ranks (one reduction for many rotations). Sums over fixed runs of members,
    /// so the result does not depend on the thread count.
    public func localGeneratorOverlap(_ r: PairRotation, bra: AnsatzState) -> Double {
        let l = layout(r)
        let a = state.amplitudes, b = bra.state.amplitudes, offset = state.globalOffset
        @inline(__always) func s(_ g: Int) -> Double {
            ((offset | UInt64(g)) & r.parity).nonzeroBitCount & 1 == 0 ? r.sign : -r.sign
        }
        @inline(__always) func re(_ u: SIMD2<Double>, _ v: SIMD2<Double>) -> Double { u.x * v.x + u.y * v.y }
        return l.members.withUnsafeBufferPointer { members in
            switch l.role {
            case .none: return 0
            case .both:
                let run = threadGrain, runs = (members.count + run - 1) / run
                let partial = UnsafeMutableBufferPointer<Double>.allocate(capacity: runs)
                defer { partial.deallocate() }
                ThreadTeam(threads: threads, minimumItemsPerThread: 1).forEach(runs) { range in
                    for p in range {
                        var sum = 0.0
                        for k in (p * run)..<min(members.count, (p + 1) * run) {
                            let g = Int(members[k]), h = g ^ l.localMask
                            sum += s(g) * (re(b[h], a[g]) - re(b[g], a[h]))
                        }
                        partial[p] = sum
                    }
                }
                return partial.reduce(0, +)
            case .first, .second:
                let direction: Double = l.role == .first ? -1 : 1
                var sum = 0.0
                withRemoteMembers(l, of: self) { k0, count, partner in
                    for k in 0..<count {
                        let g = Int(members[k0 + k])
                        sum += direction * s(g) * re(b[g], partner[k])
                    }
                }
                return sum
            }
        }
    }

    /// Re⟨other|ψ⟩, identical on every rank.
    public func realInnerProduct(_ other: AnsatzState) -> Double {
        let a = state.amplitudes, b = other.state.amplitudes
        var sums = [support.reduce(0.0) { $0 + a[$1].x * b[$1].x + a[$1].y * b[$1].y }]
        state.comm.allreduceSum(&sums)
        return sums[0]
    }

    /// target ← H ψ, computed at the sector's indices only (H must conserve the sector).
    public func apply(_ h: PauliSumGroups, into target: AnsatzState) {
        let s = state
        precondition(target !== self && target.state.localCount == s.localCount)
        let offset = s.globalOffset, out = target.state.amplitudes, sector = self.sector
        out.update(repeating: .zero, count: s.localCount)
        support.withUnsafeBufferPointer { support in
            /// out_g += Σ_t c_t i^{#Y_t} (−1)^{popcount((g⊕x) & z_t)} ψ_{g⊕x} for the sector indices
            /// support[rows], ψ_{g⊕x} being paired[(g − start) ^ lowX].
            func accumulate(_ group: PauliSumGroups.Group, rows: Range<Int>, paired: UnsafePointer<SIMD2<Double>>, start: Int, lowX: Int) {
                let x = group.xMask
                group.zMasks.withUnsafeBufferPointer { zMasks in
                    group.phases.withUnsafeBufferPointer { phases in
                        for i in rows {
                            let g = support[i], source = (offset | UInt64(g)) ^ x
                            // H keeps the sector: a partner outside it holds zero.
                            guard sector.contains(source) else { continue }
                            var f = SIMD2<Double>.zero
                            for t in zMasks.indices {
                                f += (source & zMasks[t]).nonzeroBitCount & 1 == 0 ? phases[t] : -phases[t]
                            }
                            out[g] += complexProduct(f, paired[(g - start) ^ lowX])
                        }
                    }
                }
            }
            let rankBits = ~UInt64(s.localCount - 1)
            // Groups within the rank: one threaded pass, each thread its own rows for every group.
            s.team.forEach(support.count) { rows in
                for group in h.groups where group.xMask & rankBits == 0 {
                    accumulate(group, rows: rows, paired: UnsafePointer(s.amplitudes), start: 0, lowX: Int(group.xMask))
                }
            }
            // Groups pairing with another rank: block by block, the partner's block exchanged.
            for group in h.groups where group.xMask & rankBits != 0 {
                forEachRemotePairedBlock(xMask: group.xMask) { start, paired, lowX in
                    let block = start >> chunkShift, first = blockSupport[block]
                    s.team.forEach(blockSupport[block + 1] - first) { rows in
                        accumulate(group, rows: (first + rows.lowerBound)..<(first + rows.upperBound), paired: paired, start: start, lowX: lowX)
                    }
                }
            }
        }
    }
}
