import ForgeCore

/// Float or Double: the scalar of a complex amplitude.
public protocol AmplitudeScalar: BinaryFloatingPoint & SIMDScalar & Sendable & Codable {}
extension Double: AmplitudeScalar {}
extension Float: AmplitudeScalar {}

/// a·b for complex numbers stored as (re, im): every kernel's product, so all give the same bits.
@inlinable @inline(__always)
public func complexProduct<T: AmplitudeScalar>(_ a: SIMD2<T>, _ b: SIMD2<T>) -> SIMD2<T> {
    SIMD2(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x)
}

/// A vector of 2, 4 or 8 complex amplitudes as interleaved (re, im) lanes: amplitudes whose
/// indices differ in their lowest `laneShift` bits (qubits 0 ..< laneShift).
public protocol AmplitudeVector: SIMD where Scalar: AmplitudeScalar {
    /// i·z of every complex lane, (−im, re): a shuffle and a sign flip, both exact, so every
    /// kernel that forms A + i·B gets the same bits.
    var timesI: Self { get }
}

extension AmplitudeVector {
    /// log2 of the complex lanes.
    @inlinable @inline(__always) public static var laneShift: Int { (scalarCount / 2).trailingZeroBitCount }

    /// Complex lane ℓ takes lane (ℓ with its `mask` bits replaced by `value`): the same entry
    /// of a block for every group in the vector. With literal arguments the loop folds into
    /// one shuffle.
    @inlinable @inline(__always) func broadcastingLanes(mask: Int, value: Int) -> Self {
        var result = Self()
        for lane in 0..<(Self.scalarCount / 2) {
            let source = (lane & ~mask) | value
            result[2 &* lane] = self[2 &* source]
            result[2 &* lane &+ 1] = self[2 &* source &+ 1]
        }
        return result
    }
}

extension SIMD4: AmplitudeVector where Scalar: AmplitudeScalar {
    @inlinable @inline(__always) public var timesI: Self { SIMD4(-self[1], self[0], -self[3], self[2]) }
}

extension SIMD8: AmplitudeVector where Scalar: AmplitudeScalar {
    @inlinable @inline(__always) public var timesI: Self {
        SIMD8(-self[1], self[0], -self[3], self[2], -self[5], self[4], -self[7], self[6])
    }
}

extension SIMD16: AmplitudeVector where Scalar: AmplitudeScalar {
    @inlinable @inline(__always) public var timesI: Self {
        SIMD16(-self[1], self[0], -self[3], self[2], -self[5], self[4], -self[7], self[6],
               -self[9], self[8], -self[11], self[10], -self[13], self[12], -self[15], self[14])
    }
}

// MARK: index bits

/// Index of the `group`-th group once zero bits are inserted at `qubits` (ascending).
@inlinable @inline(__always)
public func insertingZeroBits(_ group: Int, at qubits: UnsafeBufferPointer<Int>) -> Int {
    var i = group
    for q in qubits { i = ((i &>> q) &<< (q &+ 1)) | (i & ((1 &<< q) &- 1)) }
    return i
}

/// Bits of a vector index (amplitude index >> `shift`) that are `qubits` (all ≥ `shift`).
@inlinable @inline(__always)
public func vectorMask(_ qubits: UnsafeBufferPointer<Int>, shift: Int) -> Int {
    var mask = 0
    for q in qubits { mask |= 1 &<< (q &- shift) }
    return mask
}

/// The next index after `index` with zero bits at `mask`: what `insertingZeroBits` gives the
/// next group, in three operations instead of a loop over the qubits (kernels walk items in
/// order, so only a range's first index needs the loop).
@inlinable @inline(__always)
public func nextIndex(after index: Int, skipping mask: Int) -> Int { ((index | mask) &+ 1) & ~mask }

/// The bits of `value` at `mask`'s set positions, packed from bit 0 up.
func compressingBits(_ value: Int, mask: Int) -> Int {
    var (result, k, m) = (0, 0, mask)
    while m != 0 {
        let bit = m & -m
        if value & bit != 0 { result |= 1 << k }
        (k, m) = (k + 1, m & (m - 1))
    }
    return result
}

/// Offset of entry j of a group: bit k of j set → bit `qubits[k]` set.
public func groupOffsets(_ qubits: [Int]) -> [Int] {
    (0..<(1 << qubits.count)).map { depositingBits($0, at: qubits[...]) }
}

/// Bit k of `value` moved to the k-th set bit of `mask` (literal arguments fold).
@inlinable @inline(__always)
func depositingLowBits(_ value: Int, mask: Int) -> Int {
    var (result, k) = (0, 0)
    for bit in 0..<3 where mask & (1 << bit) != 0 {
        if value & (1 << k) != 0 { result |= 1 << bit }
        k += 1
    }
    return result
}

/// Which of qubits 0, 1, 2 a dense block holds, as a type (see `denseMixedSized`).
@usableFromInline protocol LaneMask { static var bits: Int { get } }
@usableFromInline enum LaneMask1: LaneMask { @inlinable static var bits: Int { 1 } }
@usableFromInline enum LaneMask2: LaneMask { @inlinable static var bits: Int { 2 } }
@usableFromInline enum LaneMask3: LaneMask { @inlinable static var bits: Int { 3 } }
@usableFromInline enum LaneMask4: LaneMask { @inlinable static var bits: Int { 4 } }
@usableFromInline enum LaneMask5: LaneMask { @inlinable static var bits: Int { 5 } }
@usableFromInline enum LaneMask6: LaneMask { @inlinable static var bits: Int { 6 } }
@usableFromInline enum LaneMask7: LaneMask { @inlinable static var bits: Int { 7 } }
