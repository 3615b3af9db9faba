import ComplexModule
import RealModule
import ForgeCore

public typealias Amplitude = Complex<Double>

/// A 2×2 complex matrix, row-major: [[m00, m01], [m10, m11]].
public struct Matrix2: Equatable, Sendable {
    public var m00, m01, m10, m11: Amplitude
    public init(_ m00: Amplitude, _ m01: Amplitude, _ m10: Amplitude, _ m11: Amplitude) {
        (self.m00, self.m01, self.m10, self.m11) = (m00, m01, m10, m11)
    }
    public static let identity = Matrix2(.one, .zero, .zero, .one)
    public var isDiagonal: Bool { m01 == .zero && m10 == .zero }
    public var isAntiDiagonal: Bool { m00 == .zero && m11 == .zero }

    /// self · other
    public func multiplied(by o: Matrix2) -> Matrix2 {
        Matrix2(m00 * o.m00 + m01 * o.m10, m00 * o.m01 + m01 * o.m11,
                m10 * o.m00 + m11 * o.m10, m10 * o.m01 + m11 * o.m11)
    }
}

/// Where an instruction came from in the source, for error messages.
public struct SourceLocation: Equatable, Sendable {
    public var file: String
    public var line: Int
    public var column: Int
    public init(file: String, line: Int, column: Int) { (self.file, self.line, self.column) = (file, line, column) }
}

/// `if(creg==value)`: the classical register's bits are `clbitOffset ..< clbitOffset + width`.
public struct Condition: Equatable, Sendable {
    public var clbitOffset: Int
    public var width: Int
    public var value: UInt64
    public init(clbitOffset: Int, width: Int, value: UInt64) { (self.clbitOffset, self.width, self.value) = (clbitOffset, width, value) }
}

/// The flattened operations the simulator executes. Every unitary gate of qelib1 and every
/// user `gate` is expanded to single-qubit matrices with any number of control qubits.
public enum Operation: Equatable, Sendable {
    /// Apply `matrix` to `target` where every qubit in `controls` is |1⟩.
    case unitary(target: Int, controls: [Int], matrix: Matrix2)
    case measure(qubit: Int, clbit: Int)
    case reset(qubit: Int)
    case barrier(qubits: [Int])
}

public struct Instruction: Equatable, Sendable {
    public var operation: Operation
    public var condition: Condition?
    public var location: SourceLocation
    public init(_ operation: Operation, condition: Condition? = nil, location: SourceLocation) {
        (self.operation, self.condition, self.location) = (operation, condition, location)
    }
}

/// A declared quantum or classical register: bits `offset ..< offset + size` in declaration order.
public struct Register: Equatable, Sendable {
    public var name: String
    public var offset: Int
    public var size: Int
    public init(name: String, offset: Int, size: Int) { (self.name, self.offset, self.size) = (name, offset, size) }
}

/// A parsed program. Qubit q is bit q of the amplitude index (Qiskit's little-endian order);
/// registers are laid out in declaration order, so `qreg a[2]; qreg b[1];` gives a[0]=0, a[1]=1, b[0]=2.
public struct Circuit: Sendable {
    public var qubitCount: Int
    public var clbitCount: Int
    public var qregs: [Register]
    public var cregs: [Register]
    public var instructions: [Instruction]
    /// Number of gate applications in the source program before expansion (for metadata).
    public var sourceGateCount: Int
    public init(qubitCount: Int, clbitCount: Int, qregs: [Register], cregs: [Register],
                instructions: [Instruction], sourceGateCount: Int) {
        self.qubitCount = qubitCount
        self.clbitCount = clbitCount
        self.qregs = qregs
        self.cregs = cregs
        self.instructions = instructions
        self.sourceGateCount = sourceGateCount
    }
}
