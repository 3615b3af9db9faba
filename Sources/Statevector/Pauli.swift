import ForgeCore

/// A Pauli product such as "Z0 Z1" or "X0 Y3": one of X, Y, Z on each listed qubit.
public struct PauliString: Equatable, Sendable, CustomStringConvertible {
    /// Qubits carrying X or Y (they flip the basis state).
    public var xMask: UInt64 = 0
    /// Qubits carrying Y or Z (they give a sign).
    public var zMask: UInt64 = 0
    public var label: String

    public var yCount: Int { (xMask & zMask).nonzeroBitCount }
    public var description: String { label }

    init(xMask: UInt64, zMask: UInt64, label: String) {
        (self.xMask, self.zMask, self.label) = (xMask, zMask, label)
    }

    /// Parses "Z0 Z1", "X0*Y2", or a Qiskit-style label "XZI" (rightmost letter is qubit 0).
    public init(parsing text: String, qubits: Int) throws {
        label = text.trimmingCharacters(in: .whitespaces)
        let tokens = label.split(whereSeparator: { $0 == " " || $0 == "*" })
        guard !tokens.isEmpty else { throw InputError("empty observable (expected e.g. \"Z0 Z1\")", file: "--observable") }
        if tokens.count == 1, tokens[0].count > 1, tokens[0].allSatisfy({ "IXYZ".contains($0) }) {
            // Qiskit label: character k from the right acts on qubit k.
            guard tokens[0].count <= qubits else {
                throw InputError("observable '\(label)' has \(tokens[0].count) letters but the circuit has \(qubits) qubits", file: "--observable")
            }
            for (k, ch) in tokens[0].reversed().enumerated() { try set(ch, qubit: k) }
            return
        }
        for token in tokens {
            guard let ch = token.first, "IXYZ".contains(ch), let q = Int(token.dropFirst()), q >= 0 else {
                throw InputError("bad Pauli factor '\(token)' in observable '\(label)' (expected e.g. \"Z0 Z1\" or \"X0 Y2\")", file: "--observable")
            }
            guard q < qubits else {
                throw InputError("observable '\(label)': qubit \(q) out of range (circuit has \(qubits) qubits)", file: "--observable")
            }
            guard (xMask | zMask) & (1 << q) == 0 else {
                throw InputError("observable '\(label)': qubit \(q) appears twice", file: "--observable")
            }
            try set(ch, qubit: q)
        }
    }

    private mutating func set(_ ch: Character, qubit q: Int) throws {
        switch ch {
        case "X": xMask |= 1 << q
        case "Y": xMask |= 1 << q; zMask |= 1 << q
        case "Z": zMask |= 1 << q
        default: break
        }
    }
}

import Foundation
