/// Pairwise (tree) summation over a power-of-two run of values: sum(node) = sum(left) + sum(right).
/// The tree is fixed by the global amplitude index alone, so a sum split over 1, 2 or 4 ranks
/// (each holding an aligned subtree) rounds identically: that makes sampling and mid-circuit
/// measurement give the same outcomes for any rank count.
struct PairwiseSum {
    private var stack: [Double] = []
    private var count: UInt64 = 0

    init() { stack.reserveCapacity(64) }

    @inline(__always)
    mutating func add(_ value: Double) {
        var v = value
        var c = count
        while c & 1 == 1 {
            v = stack.removeLast() + v
            c >>= 1
        }
        stack.append(v)
        count &+= 1
    }

    /// The root; valid once a power-of-two number of values was added.
    var total: Double {
        precondition(count == 0 || count & (count - 1) == 0, "pairwise sum needs 2^k values")
        return stack.last ?? 0
    }
}

/// Sums values given in rank order, each the root of an equal-sized subtree, into the global root.
func combinePairwise(_ roots: [Double]) -> Double {
    var sum = PairwiseSum()
    for r in roots { sum.add(r) }
    return sum.total
}
