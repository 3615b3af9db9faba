import ComplexModule
import ForgeCore
import RealModule

/// A gate the program may call: a native (one controlled 2×2 matrix), a user or library
/// `gate` with a body, or an `opaque` declaration that cannot be simulated.
final class GateDefinition {
    typealias MatrixFunction = @Sendable ([Double]) -> Matrix2

    enum Body {
        /// The last qubit argument is the target, all earlier ones are controls.
        case native(MatrixFunction)
        case composite([GateCall])
        case opaque
    }

    /// One statement of a gate body. `qubits` index the enclosing gate's qubit arguments.
    struct GateCall {
        var gate: GateDefinition
        var arguments: [Expression]
        var qubits: [Int]
        var location: SourceLocation
    }

    let name: String
    let parameterCount: Int
    let qubitCount: Int
    let body: Body
    /// Instructions one call expands to (saturating), checked before expanding anything.
    let operationCount: Int
    /// Longest chain of nested definitions; bounds the expansion's recursion.
    let depth: Int

    init(name: String, parameterCount: Int, qubitCount: Int, body: Body) {
        (self.name, self.parameterCount, self.qubitCount, self.body) = (name, parameterCount, qubitCount, body)
        switch body {
        case .native:
            (operationCount, depth) = (1, 0)
        case .opaque:
            (operationCount, depth) = (0, 0)
        case .composite(let calls):
            operationCount = calls.reduce(0) { total, call in
                let (sum, overflow) = total.addingReportingOverflow(call.gate.operationCount)
                return overflow ? Int.max : sum
            }
            depth = 1 + (calls.map(\.gate.depth).max() ?? 0)
        }
    }
}

/// The gates of Qiskit's qelib1.inc, with Qiskit's exact matrices (global phase included).
enum StandardGates {
    typealias MatrixFunction = GateDefinition.MatrixFunction

    static func phase(_ angle: Double) -> Amplitude { Amplitude(.cos(angle), .sin(angle)) }
    private static let r = 0.5.squareRoot()
    private static let i = Amplitude(0, 1)

    static func u3(_ theta: Double, _ phi: Double, _ lambda: Double) -> Matrix2 {
        let c = Amplitude(.cos(theta / 2)), s = Amplitude(.sin(theta / 2))
        return Matrix2(c, -phase(lambda) * s, phase(phi) * s, phase(phi + lambda) * c)
    }
    static func rx(_ t: Double) -> Matrix2 {
        let c = Amplitude(.cos(t / 2)), s = Amplitude(0, -.sin(t / 2))
        return Matrix2(c, s, s, c)
    }
    static func ry(_ t: Double) -> Matrix2 {
        let c = Amplitude(.cos(t / 2)), s = Amplitude(.sin(t / 2))
        return Matrix2(c, -s, s, c)
    }
    static func rz(_ t: Double) -> Matrix2 { Matrix2(phase(-t / 2), .zero, .zero, phase(t / 2)) }
    static func p(_ lambda: Double) -> Matrix2 { Matrix2(.one, .zero, .zero, phase(lambda)) }
    static func diagonal(_ d: Amplitude) -> Matrix2 { Matrix2(.one, .zero, .zero, d) }

    static let x = Matrix2(.zero, .one, .one, .zero)
    static let y = Matrix2(.zero, -i, i, .zero)
    static let z = diagonal(-.one)
    static let h = Matrix2(Amplitude(r), Amplitude(r), Amplitude(r), Amplitude(-r))
    static let s = diagonal(i)
    static let sdg = diagonal(-i)
    static let t = diagonal(Amplitude(r, r))
    static let tdg = diagonal(Amplitude(r, -r))
    static let sx = Matrix2(Amplitude(0.5, 0.5), Amplitude(0.5, -0.5), Amplitude(0.5, -0.5), Amplitude(0.5, 0.5))
    static let sxdg = Matrix2(Amplitude(0.5, -0.5), Amplitude(0.5, 0.5), Amplitude(0.5, 0.5), Amplitude(0.5, -0.5))

    private static func fixed(_ m: Matrix2) -> MatrixFunction { { _ in m } }

    /// (name, parameters, controls, matrix applied to the target). `U` and `CX` are the
    /// language builtins; everything else exists only after `include "qelib1.inc";`.
    static let natives: [(name: String, parameters: Int, controls: Int, matrix: MatrixFunction)] = [
        ("U", 3, 0, { u3($0[0], $0[1], $0[2]) }),
        ("CX", 0, 1, fixed(x)),
        ("u3", 3, 0, { u3($0[0], $0[1], $0[2]) }),
        ("u", 3, 0, { u3($0[0], $0[1], $0[2]) }),
        ("u2", 2, 0, { u3(.pi / 2, $0[0], $0[1]) }),
        ("u1", 1, 0, { p($0[0]) }),
        ("p", 1, 0, { p($0[0]) }),
        ("u0", 1, 0, fixed(.identity)),  // an idle of length γ: identity
        ("id", 0, 0, fixed(.identity)),
        ("x", 0, 0, fixed(x)),
        ("y", 0, 0, fixed(y)),
        ("z", 0, 0, fixed(z)),
        ("h", 0, 0, fixed(h)),
        ("s", 0, 0, fixed(s)),
        ("sdg", 0, 0, fixed(sdg)),
        ("t", 0, 0, fixed(t)),
        ("tdg", 0, 0, fixed(tdg)),
        ("rx", 1, 0, { rx($0[0]) }),
        ("ry", 1, 0, { ry($0[0]) }),
        ("rz", 1, 0, { rz($0[0]) }),
        ("sx", 0, 0, fixed(sx)),
        ("sxdg", 0, 0, fixed(sxdg)),
        ("cx", 0, 1, fixed(x)),
        ("cy", 0, 1, fixed(y)),
        ("cz", 0, 1, fixed(z)),
        ("ch", 0, 1, fixed(h)),
        ("crx", 1, 1, { rx($0[0]) }),
        ("cry", 1, 1, { ry($0[0]) }),
        ("crz", 1, 1, { rz($0[0]) }),
        ("cu1", 1, 1, { p($0[0]) }),
        ("cp", 1, 1, { p($0[0]) }),
        ("cu3", 3, 1, { u3($0[0], $0[1], $0[2]) }),
        ("csx", 0, 1, fixed(sx)),
        ("cu", 4, 1, { params in  // controlled e^{iγ}·U(θ,φ,λ)
            let m = u3(params[0], params[1], params[2]), g = phase(params[3])
            return Matrix2(g * m.m00, g * m.m01, g * m.m10, g * m.m11)
        }),
        ("ccx", 0, 2, fixed(x)),
        ("c3x", 0, 3, fixed(x)),
        ("c3sqrtx", 0, 3, fixed(sx)),
        ("c4x", 0, 4, fixed(x)),
    ]

    static let builtinNames: Set<String> = ["U", "CX"]

    /// The remaining qelib1 gates as exact decompositions into the natives above, parsed by
    /// the same machinery as user gates. rccx and rc3x are qelib1.inc's own bodies; rxx is
    /// H⊗H·rzz·H⊗H so that it is exactly exp(−iθ/2 X⊗X), as Qiskit's matrix.
    static let qelib1Definitions = """
        gate swap a,b { cx a,b; cx b,a; cx a,b; }
        gate cswap a,b,c { cx c,b; ccx a,b,c; cx c,b; }
        gate rzz(theta) a,b { cx a,b; rz(theta) b; cx a,b; }
        gate rxx(theta) a,b { h a; h b; rzz(theta) a,b; h a; h b; }
        gate rccx a,b,c {
          u2(0,pi) c; u1(pi/4) c; cx b,c; u1(-pi/4) c; cx a,c;
          u1(pi/4) c; cx b,c; u1(-pi/4) c; u2(0,pi) c;
        }
        gate rc3x a,b,c,d {
          u2(0,pi) d; u1(pi/4) d; cx c,d; u1(-pi/4) d; u2(0,pi) d;
          cx a,d; u1(pi/4) d; cx b,d; u1(-pi/4) d; cx a,d; u1(pi/4) d; cx b,d; u1(-pi/4) d;
          u2(0,pi) d; u1(pi/4) d; cx c,d; u1(-pi/4) d; u2(0,pi) d;
        }
        """

    static func native(named name: String) -> GateDefinition? {
        natives.first { $0.name == name }.map {
            GateDefinition(name: $0.name, parameterCount: $0.parameters, qubitCount: $0.controls + 1,
                           body: .native($0.matrix))
        }
    }
}
