import Circuits
import ComplexModule
import RealModule
import ForgeCore

/// Float or Double: the scalar of a complex amplitude.
public protocol AmplitudeScalar: BinaryFloatingPoint & SIMDScalar & Sendable & Codable {}
extension Double: AmplitudeScalar {}
extension Float: AmplitudeScalar {}

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
    private(set) var bytesSent: UInt64 = 0

    static var maxChunkAmplitudes: Int { 1 << 16 }

    init(qubits: Int, comm: Communicator) {
        let rankBits = comm.size.trailingZeroBitCount
        qubitCount = qubits
        localQubitCount = qubits - rankBits
        localCount = 1 << localQubitCount
        self.comm = comm
        chunkCount = min(localCount, Self.maxChunkAmplitudes)
        amplitudes = .allocate(capacity: localCount)
        exchangeBuffer = .allocate(capacity: chunkCount)
        setZeroState()
    }

    deinit {
        amplitudes.deallocate()
        exchangeBuffer.deallocate()
    }

    /// Bytes one rank needs for `qubits` qubits over `ranks` ranks (state plus exchange buffer).
    static func bytesPerRank(qubits: Int, ranks: Int) -> UInt64 {
        let local = UInt64(1) << UInt64(qubits - ranks.trailingZeroBitCount)
        return (local + UInt64(min(local, UInt64(maxChunkAmplitudes)))) * UInt64(MemoryLayout<SIMD2<T>>.stride)
    }

    func setZeroState() {
        amplitudes.initialize(repeating: .zero, count: localCount)
        if comm.rank == 0 { amplitudes[0] = SIMD2(1, 0) }
    }

    var globalOffset: UInt64 { UInt64(comm.rank) << UInt64(localQubitCount) }

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
        let stride = 1 << target
        if controlMask == 0 {
            if m.isDiagonal {
                Kernels.diagonal(a, count: localCount, stride: stride, m)
            } else {
                Kernels.dense(a, count: localCount, stride: stride, m)
            }
            return
        }
        // Visit only indices whose control bits are set: insert zero bits at the target and control
        // positions into a counter, then set the control bits.
        let positions = (0..<localQubitCount).filter { $0 == target || controlMask & (1 << $0) != 0 }
        let iterations = localCount >> positions.count
        for k in 0..<iterations {
            var i = k
            for p in positions { i = ((i >> p) << (p + 1)) | (i & ((1 << p) - 1)) }
            let i0 = i | controlMask
            Kernels.pair(a, i0, i0 | stride, m)
        }
    }

    private func scale(by factor: SIMD2<T>, controlMask: Int) {
        if factor == SIMD2(1, 0) { return }
        for i in 0..<localCount where i & controlMask == controlMask {
            amplitudes[i] = Kernels.mul(factor, amplitudes[i])
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
                amplitudes[start + j] = Kernels.mul(selfCoeff, own) + Kernels.mul(otherCoeff, exchangeBuffer[j])
            }
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

/// Gate kernels on raw amplitude storage: no MPI, no allocation.
enum Kernels {
    @inline(__always)
    static func mul<T: AmplitudeScalar>(_ a: SIMD2<T>, _ b: SIMD2<T>) -> SIMD2<T> {
        SIMD2(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x)
    }

    @inline(__always)
    static func norm<T: AmplitudeScalar>(_ a: SIMD2<T>) -> Double {
        Double(a.x * a.x + a.y * a.y)
    }

    @inline(__always)
    static func pair<T: AmplitudeScalar>(_ a: UnsafeMutablePointer<SIMD2<T>>, _ i0: Int, _ i1: Int, _ m: KernelMatrix<T>) {
        let x = a[i0], y = a[i1]
        a[i0] = mul(m.m00, x) + mul(m.m01, y)
        a[i1] = mul(m.m10, x) + mul(m.m11, y)
    }

    /// A dense 2×2 on every pair (i, i + stride) of the slice.
    static func dense<T: AmplitudeScalar>(_ a: UnsafeMutablePointer<SIMD2<T>>, count: Int, stride: Int, _ m: KernelMatrix<T>) {
        if stride == 1 {
            var i = 0
            while i < count { pair(a, i, i &+ 1, m); i &+= 2 }
            return
        }
        // Two neighbouring amplitudes per SIMD4 vector (re0, im0, re1, im1): c·v = re(c)·v + im(c)·(−im, re, …).
        let w = UnsafeMutableRawPointer(a).assumingMemoryBound(to: SIMD4<T>.self)
        let c = DenseCoefficients(m)
        let halfStride = stride / 2
        var base = 0
        let vectors = count / 2
        while base < vectors {
            let lower = w + base, upper = w + base + halfStride
            for k in 0..<halfStride {
                let x = lower[k], y = upper[k]
                let xs = x[SIMD4(1, 0, 3, 2)], ys = y[SIMD4(1, 0, 3, 2)]
                lower[k] = c.r00 * x + c.i00 * xs + c.r01 * y + c.i01 * ys
                upper[k] = c.r10 * x + c.i10 * xs + c.r11 * y + c.i11 * ys
            }
            base &+= stride
        }
    }

    static func diagonal<T: AmplitudeScalar>(_ a: UnsafeMutablePointer<SIMD2<T>>, count: Int, stride: Int, _ m: KernelMatrix<T>) {
        let d0 = m.m00, d1 = m.m11
        let scaleLower = d0 != SIMD2(1, 0)
        var base = 0
        while base < count {
            if scaleLower {
                for i in base..<(base + stride) { a[i] = mul(d0, a[i]) }
            }
            for i in (base + stride)..<(base + 2 * stride) { a[i] = mul(d1, a[i]) }
            base &+= 2 &* stride
        }
    }
}
