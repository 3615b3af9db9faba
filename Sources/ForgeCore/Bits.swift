// Index bits of qubits: shared by the fusion planner (Circuits) and the kernels' block set-up.

/// Bit k of `value` moved to bit `positions[k]`.
public func depositingBits(_ value: Int, at positions: ArraySlice<Int>) -> Int {
    var result = 0
    for (k, p) in positions.enumerated() where value & (1 << k) != 0 { result |= 1 << p }
    return result
}

/// Bit k of the result is bit `positions[k]` of `value` (the inverse of `depositingBits`).
public func extractingBits(_ value: Int, at positions: [Int]) -> Int {
    positions.enumerated().reduce(0) { value & (1 << $1.element) != 0 ? $0 | 1 << $1.offset : $0 }
}

/// Entries of a product of gate matrices this small are rounding where the exact entry is 0
/// (h·h, sx·sx, cx networks): fusion drops them, and the dense kernels treat them as 0.
public let matrixRoundoff = 1e-14
