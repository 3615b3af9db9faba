import AmplitudeKernels
import Circuits
import ComplexModule
import RealModule
import ForgeCore

/// Amplitude storage aligned to a cache line, so no vector load of the kernels straddles two.
/// (2 MiB pages for the state measured no faster.)
func allocateAmplitudes<T>(_ count: Int) -> UnsafeMutablePointer<SIMD2<T>> {
    UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<SIMD2<T>>.stride, alignment: 64)
        .bindMemory(to: SIMD2<T>.self, capacity: count)
}

/// 2^n amplitudes sharded over 2^k ranks: rank r holds global indices r·2^L ..< (r+1)·2^L with
/// L = n − k. Qubits 0..<L are *local* (a bit of the local index); qubits L..<n are *rank-index*
/// qubits (bit q−L of the rank). Amplitudes are stored as interleaved (re, im) pairs.
final class DistributedState<T: AmplitudeScalar> {
    let qubitCount: Int
    let localQubitCount: Int
    let localCount: Int
    let comm: Communicator
    /// Amplitudes handled per exchange message with a partner rank (bounded: no message near 2^31 bytes).
    let chunkCount: Int
    let amplitudes: UnsafeMutablePointer<SIMD2<T>>
    private let exchangeBuffer: UnsafeMutablePointer<SIMD2<T>>
    /// Outgoing half-slice chunk of a qubit swap (the incoming one lands in `exchangeBuffer`).
    private let sendBuffer: UnsafeMutablePointer<SIMD2<T>>
    private(set) var bytesSent: UInt64 = 0
    /// Threads sweeping this rank's slice.
    var team = ThreadTeam(threads: 1)
    /// The fused-block kernels for this CPU's vector width (`VectorWidth`).
    let kernels: KernelTable<T>
    /// Global index of local amplitude 0.
    let globalOffset: UInt64
    /// False for a window (`forEachWindow`), which borrows its parent's storage.
    private let ownsStorage: Bool

    static var maxChunkAmplitudes: Int { 1 << 16 }

    init(qubits: Int, comm: Communicator, vectorBits: Int = VectorWidth.preferred) {
        let rankBits = comm.size.trailingZeroBitCount
        qubitCount = qubits
        localQubitCount = qubits - rankBits
        localCount = 1 << localQubitCount
        self.comm = comm
        chunkCount = min(localCount, Self.maxChunkAmplitudes)
        amplitudes = allocateAmplitudes(localCount)
        exchangeBuffer = allocateAmplitudes(chunkCount)
        sendBuffer = allocateAmplitudes(chunkCount)
        globalOffset = UInt64(comm.rank) << UInt64(localQubitCount)
        kernels = kernelTable(T.self, vectorBits: vectorBits)
        ownsStorage = true
        setZeroState()
    }

    /// A cache window of `parent` (see `forEachWindow`): 2^`qubits` amplitudes at `storage`
    /// read as a state of their own whose local index 0 has global index `globalOffset`. No
    /// communication.
    private init(window parent: DistributedState, qubits: Int, storage: UnsafeMutablePointer<SIMD2<T>>, globalOffset: UInt64) {
        qubitCount = parent.qubitCount
        localQubitCount = qubits
        localCount = 1 << qubits
        comm = parent.comm
        chunkCount = min(localCount, Self.maxChunkAmplitudes)
        amplitudes = storage
        exchangeBuffer = parent.exchangeBuffer
        sendBuffer = parent.sendBuffer
        self.globalOffset = globalOffset
        kernels = parent.kernels
        ownsStorage = false
    }

    deinit {
        guard ownsStorage else { return }
        UnsafeMutableRawPointer(amplitudes).deallocate()
        UnsafeMutableRawPointer(exchangeBuffer).deallocate()
        UnsafeMutableRawPointer(sendBuffer).deallocate()
    }

    /// Cache blocking: runs `body` on each window of 2^W amplitudes that agree on every local
    /// qubit outside `window` (W local qubits, ascending), in turn, the team's threads taking
    /// whole windows. A run of operations on those qubits then streams the slice from memory
    /// once instead of once per operation. A window on the lowest W qubits is a contiguous run,
    /// used in place; any other is gathered into the thread's buffer (runs of 2^c amplitudes,
    /// c = how many of qubits 0, 1, … the window holds) and scattered back. The window reads as
    /// a state whose qubits are renamed by `windowLabels(window)`: window qubit k is qubit k,
    /// the other local qubits follow in order and are fixed per window (their bits are in the
    /// window's `globalOffset`, so diagonals on them still apply). Each amplitude is computed as
    /// an unblocked sweep computes it: results are bit for bit the same.
    func forEachWindow(qubits window: [Int], _ body: (DistributedState) -> Void) {
        let w = window.count, count = localCount >> w
        let windows = ThreadTeam(threads: team.threads, minimumItemsPerThread: 1)
        func windowOffset(_ x: Int) -> UInt64 { globalOffset | UInt64(x) << UInt64(w) }
        if window == Array(0..<w) {
            windows.forEach(count) { range in
                for x in range { body(DistributedState(window: self, qubits: w, storage: amplitudes + x << w, globalOffset: windowOffset(x))) }
            }
            return
        }
        let outside = qubitsOutside(window)
        let c = zip(window, 0...).prefix { $0 == $1 }.count
        let runOffsets = (0..<(1 << (w - c))).map { depositingBits($0, at: window[c...]) }
        windows.forEach(count) { range in
            let buffer: UnsafeMutablePointer<SIMD2<T>> = allocateAmplitudes(1 << w)
            defer { UnsafeMutableRawPointer(buffer).deallocate() }
            let runLength = 1 << c
            for x in range {
                let base = amplitudes + depositingBits(x, at: outside[...])
                runOffsets.withUnsafeBufferPointer { runs in kernels.copyRuns(buffer, base, runs, runLength, true) }
                body(DistributedState(window: self, qubits: w, storage: buffer, globalOffset: windowOffset(x)))
                runOffsets.withUnsafeBufferPointer { runs in kernels.copyRuns(buffer, base, runs, runLength, false) }
            }
        }
    }

    /// The first 2^`qubits` amplitudes of this slice as a state of their own, on the same
    /// threads (`Simulator.prefixRuns`).
    func prefix(qubits: Int) -> DistributedState {
        let prefix = DistributedState(window: self, qubits: qubits, storage: amplitudes, globalOffset: globalOffset)
        prefix.team = team
        return prefix
    }

    /// How a window (`forEachWindow`) names qubits: label[q] for each of the n qubits.
    func windowLabels(_ window: [Int]) -> [Int] {
        var label = Array(0..<qubitCount)
        for (k, q) in (window + qubitsOutside(window)).enumerated() { label[q] = k }
        return label
    }

    /// The local qubits a window does not hold, ascending: fixed per window.
    private func qubitsOutside(_ window: [Int]) -> [Int] {
        (0..<localQubitCount).filter { !window.contains($0) }
    }

    /// Bytes one rank needs for `qubits` qubits over `ranks` ranks (state plus exchange buffers).
    static func bytesPerRank(qubits: Int, ranks: Int) -> UInt64 {
        let local = UInt64(1) << UInt64(qubits - ranks.trailingZeroBitCount)
        return (local + 2 * UInt64(min(local, UInt64(maxChunkAmplitudes)))) * UInt64(MemoryLayout<SIMD2<T>>.stride)
    }

    /// The kernels' view of this slice or window.
    var slice: StateSlice<T> {
        StateSlice(amplitudes: amplitudes, localQubits: localQubitCount, globalOffset: globalOffset, team: team)
    }

    func setZeroState() {
        amplitudes.initialize(repeating: .zero, count: localCount)
        if comm.rank == 0 { amplitudes[0] = SIMD2(1, 0) }
    }

    @inline(__always) private func rankBit(_ qubit: Int) -> Bool {
        (comm.rank >> (qubit - localQubitCount)) & 1 == 1
    }

    // MARK: gates

    /// Applies `matrix` to `target` where all `controls` are |1⟩.
    func apply(target: Int, controls: [Int], matrix: Matrix2) {
        var localControlMask = 0
        for c in controls {
            if c < localQubitCount {
                localControlMask |= 1 << c
            } else if !rankBit(c) {
                return  // a rank-index control is |0⟩ for this whole slice (and its partner's)
            }
        }
        let m = KernelMatrix<T>(matrix)
        if target < localQubitCount {
            applyLocal(target: target, controlMask: localControlMask, m)
        } else if matrix.isDiagonal {
            // Diagonal on a rank-index qubit: a phase on the whole slice, no communication.
            scale(by: rankBit(target) ? m.m11 : m.m00, controlMask: localControlMask)
        } else {
            applyRankIndex(target: target, controlMask: localControlMask, m)
        }
    }

    private func applyLocal(target: Int, controlMask: Int, _ m: KernelMatrix<T>) {
        let a = amplitudes
        if controlMask == 0 {
            if m.isDiagonal {
                team.forEach(localCount >> 1) { Kernels.diagonal(a, pairs: $0, target: target, m) }
            } else if target == 0 {
                team.forEach(localCount >> 1) { pairs in for p in pairs { Kernels.pair(a, 2 &* p, 2 &* p &+ 1, m) } }
            } else {
                team.forEach(localCount >> 2) { Kernels.dense(a, vectorPairs: $0, target: target, m) }
            }
            return
        }
        // Visit only indices whose control bits are set: insert zero bits at the target and control
        // positions into a counter, then set the control bits.
        let positions = (0..<localQubitCount).filter { $0 == target || controlMask & (1 << $0) != 0 }
        let stride = 1 << target
        positions.withUnsafeBufferPointer { ps in
            team.forEach(localCount >> positions.count) { range in
                for k in range {
                    let i0 = insertingZeroBits(k, at: ps) | controlMask
                    Kernels.pair(a, i0, i0 | stride, m)
                }
            }
        }
    }

    private func scale(by factor: SIMD2<T>, controlMask: Int) {
        if factor == SIMD2(1, 0) { return }
        for i in 0..<localCount where i & controlMask == controlMask {
            amplitudes[i] = complexProduct(factor, amplitudes[i])
        }
    }

    /// Target is a rank-index qubit: this rank holds one half of every pair, the partner the other.
    /// Exchange the slice in bounded chunks and update in place.
    private func applyRankIndex(target: Int, controlMask: Int, _ m: KernelMatrix<T>) {
        let partner = comm.rank ^ (1 << (target - localQubitCount))
        let upper = rankBit(target)
        // Row of the matrix this rank produces: own amplitude × self-coefficient + partner's × other.
        let selfCoeff = upper ? m.m11 : m.m00
        let otherCoeff = upper ? m.m10 : m.m01
        for start in Swift.stride(from: 0, to: localCount, by: chunkCount) {
            exchange(start: start, count: chunkCount, partner: partner)
            for j in 0..<chunkCount where (start + j) & controlMask == controlMask {
                let own = amplitudes[start + j]
                amplitudes[start + j] = complexProduct(selfCoeff, own) + complexProduct(otherCoeff, exchangeBuffer[j])
            }
        }
    }

    /// Swaps local qubit `local` with rank-index qubit `global`: this rank keeps the half of its
    /// slice whose bit `local` equals its own bit of `global` and trades the other half with the
    /// partner rank (half a slice each way, in bounded chunks).
    func swapQubits(local: Int, global: Int) {
        let partner = comm.rank ^ (1 << (global - localQubitCount))
        let traded = rankBit(global) ? 0 : 1 << local   // bit `local` of the traded half
        let half = localCount / 2
        let bytesPerAmplitude = MemoryLayout<SIMD2<T>>.stride
        let a = amplitudes, send = sendBuffer, receive = exchangeBuffer
        let lowMask = (1 << local) - 1
        @inline(__always) func index(_ h: Int) -> Int { ((h >> local) << (local + 1)) | (h & lowMask) | traded }
        for start in Swift.stride(from: 0, to: half, by: chunkCount) {
            let count = min(chunkCount, half - start)
            team.forEach(count) { range in for j in range { send[j] = a[index(start &+ j)] } }
            comm.sendrecv(UnsafeRawBufferPointer(start: send, count: count * bytesPerAmplitude),
                          into: UnsafeMutableRawBufferPointer(start: receive, count: count * bytesPerAmplitude), partner: partner)
            bytesSent &+= UInt64(count * bytesPerAmplitude)
            team.forEach(count) { range in for j in range { a[index(start &+ j)] = receive[j] } }
        }
    }

    /// Sends local amplitudes start..<start+count to `partner`, receives its same range into the buffer.
    private func exchange(start: Int, count: Int, partner: Int) {
        let bytes = count * MemoryLayout<SIMD2<T>>.stride
        comm.sendrecv(UnsafeRawBufferPointer(start: amplitudes + start, count: bytes),
                      into: UnsafeMutableRawBufferPointer(start: exchangeBuffer, count: bytes), partner: partner)
        bytesSent &+= UInt64(bytes)
    }

    // MARK: probabilities, measurement

    /// Pairwise sum over all ranks of |a_i|² for global indices with `(i & mask) == value`.
    func probability(mask: UInt64, value: UInt64) -> Double {
        var sum = PairwiseSum()
        let offset = globalOffset
        for i in 0..<localCount {
            let g = offset | UInt64(i)
            sum.add(g & mask == value ? Kernels.norm(amplitudes[i]) : 0)
        }
        return combinePairwise(comm.allgather([sum.total]))
    }

    /// Projective measurement of one qubit with uniform draw `u`; collapses and renormalises.
    func measure(qubit: Int, draw u: Double) -> Int {
        let bit = UInt64(1) << UInt64(qubit)
        let p1 = probability(mask: bit, value: bit)
        let total = probability(mask: 0, value: 0)
        let outcome = u * total < p1 ? 1 : 0
        let kept = outcome == 1 ? p1 : total - p1
        let factor = T(1 / kept.squareRoot())
        let offset = globalOffset
        for i in 0..<localCount {
            let g = offset | UInt64(i)
            let set = g & bit != 0
            amplitudes[i] = (set == (outcome == 1)) ? amplitudes[i] * factor : .zero
        }
        return outcome
    }

    // MARK: observables

    /// ⟨ψ|P|ψ⟩ for a Pauli product: Σ_j conj(ψ_{j⊕x}) · i^{#Y} · (−1)^{popcount(j & z)} · ψ_j.
    func expectation(_ pauli: PauliString) -> Double {
        let x = pauli.xMask, z = pauli.zMask
        let localMask = UInt64(localCount - 1)
        let localX = Int(x & localMask)
        let partner = comm.rank ^ Int(x >> UInt64(localQubitCount))
        let offset = globalOffset
        var real = 0.0, imag = 0.0
        let blockShift = chunkCount.trailingZeroBitCount
        let highX = localX >> blockShift, lowX = localX & (chunkCount - 1)
        for block in 0..<(localCount / chunkCount) {
            let start = block * chunkCount
            let sourceBlock = block ^ highX
            let other: UnsafeMutablePointer<SIMD2<T>>
            if partner == comm.rank {
                other = amplitudes + sourceBlock * chunkCount
            } else {
                exchange(start: sourceBlock * chunkCount, count: chunkCount, partner: partner)
                other = exchangeBuffer
            }
            for j in 0..<chunkCount {
                let g = offset | UInt64(start + j)
                let a = amplitudes[start + j]
                let b = other[j ^ lowX]  // ψ_{g⊕x}
                // conj(b)·a, signed by (−1)^{popcount(g & z)}
                let re = Double(b.x * a.x + b.y * a.y), im = Double(b.x * a.y - b.y * a.x)
                let sign: Double = (g & z).nonzeroBitCount & 1 == 0 ? 1 : -1
                real += sign * re
                imag += sign * im
            }
        }
        var sums = [real, imag]
        comm.allreduceSum(&sums)
        // Multiply by i^{#Y}; the result is real for a Hermitian P.
        switch pauli.yCount & 3 {
        case 0: return sums[0]
        case 1: return -sums[1]
        case 2: return -sums[0]
        default: return sums[1]
        }
    }
}

/// A gate matrix in the simulation's precision, as (re, im) pairs.
struct KernelMatrix<T: AmplitudeScalar> {
    let m00, m01, m10, m11: SIMD2<T>
    let isDiagonal: Bool
    init(_ m: Matrix2) {
        func c(_ z: Amplitude) -> SIMD2<T> { SIMD2(T(z.real), T(z.imaginary)) }
        (m00, m01, m10, m11) = (c(m.m00), c(m.m01), c(m.m10), c(m.m11))
        isDiagonal = m.isDiagonal
    }
}

/// Matrix entries broadcast for the SIMD4 kernel: real parts, and imaginary parts with the
/// (−, +, −, +) sign pattern that turns a swapped (im, re) vector into i·z.
struct DenseCoefficients<T: AmplitudeScalar> {
    let r00, i00, r01, i01, r10, i10, r11, i11: SIMD4<T>
    init(_ m: KernelMatrix<T>) {
        func re(_ z: SIMD2<T>) -> SIMD4<T> { SIMD4(repeating: z.x) }
        func im(_ z: SIMD2<T>) -> SIMD4<T> { SIMD4(-z.y, z.y, -z.y, z.y) }
        (r00, i00, r01, i01) = (re(m.m00), im(m.m00), re(m.m01), im(m.m01))
        (r10, i10, r11, i11) = (re(m.m10), im(m.m10), re(m.m11), im(m.m11))
    }
}

/// (im, re) of both complex numbers: written lane by lane, which compiles to one shuffle (a
/// SIMD-index swizzle can stay a call into the standard library).
@inline(__always)
func swappingParts<T: AmplitudeScalar>(_ x: SIMD4<T>) -> SIMD4<T> { SIMD4(x[1], x[0], x[3], x[2]) }

/// Gate kernels on raw amplitude storage: no MPI, no allocation.
enum Kernels {
    @inline(__always)
    static func norm<T: AmplitudeScalar>(_ a: SIMD2<T>) -> Double {
        Double(a.x * a.x + a.y * a.y)
    }

    /// One pair, summed in the same order as `dense` (re·x + im·swap(x) + re·y + im·swap(y)), so
    /// a gate gives the same bits whichever kernel a qubit's position selects.
    @inline(__always)
    static func pair<T: AmplitudeScalar>(_ a: UnsafeMutablePointer<SIMD2<T>>, _ i0: Int, _ i1: Int, _ m: KernelMatrix<T>) {
        let x = a[i0], y = a[i1]
        let xs = SIMD2(x.y, x.x), ys = SIMD2(y.y, y.x)
        @inline(__always) func re(_ z: SIMD2<T>) -> SIMD2<T> { SIMD2(repeating: z.x) }
        @inline(__always) func im(_ z: SIMD2<T>) -> SIMD2<T> { SIMD2(-z.y, z.y) }
        a[i0] = re(m.m00) * x + im(m.m00) * xs + re(m.m01) * y + im(m.m01) * ys
        a[i1] = re(m.m10) * x + im(m.m10) * xs + re(m.m11) * y + im(m.m11) * ys
    }

    /// A dense 2×2 on pairs (i, i + 2^target), target ≥ 1, two neighbouring amplitudes per SIMD4
    /// (re0, im0, re1, im1): c·v = re(c)·v + im(c)·(−im, re, …). `vectorPairs` counts SIMD4 pairs.
    static func dense<T: AmplitudeScalar>(_ a: UnsafeMutablePointer<SIMD2<T>>, vectorPairs: Range<Int>, target: Int, _ m: KernelMatrix<T>) {
        let w = UnsafeMutableRawPointer(a).assumingMemoryBound(to: SIMD4<T>.self)
        let c = DenseCoefficients(m)
        let shift = target - 1, halfStride = 1 << shift
        for j in vectorPairs {
            let lower = w + (((j &>> shift) &<< target) | (j & (halfStride &- 1))), upper = lower + halfStride
            let x = lower.pointee, y = upper.pointee
            let xs = swappingParts(x), ys = swappingParts(y)
            lower.pointee = c.r00 * x + c.i00 * xs + c.r01 * y + c.i01 * ys
            upper.pointee = c.r10 * x + c.i10 * xs + c.r11 * y + c.i11 * ys
        }
    }

    /// diag(d0, d1) on pairs (i, i + 2^target); the lower half is left alone when d0 = 1.
    static func diagonal<T: AmplitudeScalar>(_ a: UnsafeMutablePointer<SIMD2<T>>, pairs: Range<Int>, target: Int, _ m: KernelMatrix<T>) {
        let d0 = m.m00, d1 = m.m11
        let scaleLower = d0 != SIMD2(1, 0)
        let stride = 1 << target
        for p in pairs {
            let i0 = ((p &>> target) &<< (target &+ 1)) | (p & (stride &- 1))
            if scaleLower { a[i0] = complexProduct(d0, a[i0]) }
            a[i0 | stride] = complexProduct(d1, a[i0 | stride])
        }
    }
}
