"""Small OpenQASM 2 generators for the integration tests (no Qiskit needed to write them).

`random_qasm(n, seed)` writes a random circuit that calls every gate of qelib1.inc whose
arity fits in n qubits, the builtins U and CX, nested and parameterised user `gate`
definitions, broadcast over registers, barriers, comments and parameter expressions.
"""

from __future__ import annotations

import math
import random

HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'

#: qelib1.inc (Qiskit's legacy set) plus the builtins: name -> (parameters, qubits).
QELIB1_GATES: dict[str, tuple[int, int]] = {
    "U": (3, 1), "CX": (0, 2),
    "u3": (3, 1), "u2": (2, 1), "u1": (1, 1), "u": (3, 1), "p": (1, 1), "id": (0, 1),
    "x": (0, 1), "y": (0, 1), "z": (0, 1), "h": (0, 1), "s": (0, 1), "sdg": (0, 1),
    "t": (0, 1), "tdg": (0, 1), "rx": (1, 1), "ry": (1, 1), "rz": (1, 1),
    "sx": (0, 1), "sxdg": (0, 1),
    "cx": (0, 2), "cz": (0, 2), "cy": (0, 2), "ch": (0, 2), "swap": (0, 2),
    "ccx": (0, 3), "cswap": (0, 3),
    "crx": (1, 2), "cry": (1, 2), "crz": (1, 2), "cu1": (1, 2), "cp": (1, 2),
    "cu3": (3, 2), "csx": (0, 2), "cu": (4, 2), "rxx": (1, 2), "rzz": (1, 2),
    "rccx": (0, 3), "rc3x": (0, 4), "c3x": (0, 4), "c3sqrtx": (0, 4), "c4x": (0, 5),
}

#: User gates defined at the top of every random circuit (nested and parameterised).
USER_GATE_DEFS = """\
// user gates: parameterised, nested, using builtins and library gates
gate rot(a, b) q { U(a, b, -a/2) q; }
gate g1(a, b) x, y { rx(a/2) x; ry(-b) y; CX x, y; u1(a*b - pi/4) y; rot(b, a) x; }
gate g3 x { sx x; t x; }
gate g2(th) x, y, z
{
  g1(th, 2*th) x, y;
  h z;
  ccx x, y, z;
  g1(-th, sin(th)) z, x;   // nested call with an expression of the parameter
  crz(th^2) y, z;
  g3 y;
}
gate g4(ph) a, b, c, d { g2(ph/3) a, b, c; g3 d; rc3x a, b, c, d; cu(ph, ph/2, -ph, 0.25) d, a; }
gate nop a { }
"""

#: User gate name -> (parameters, qubits).
USER_GATES: dict[str, tuple[int, int]] = {"rot": (2, 1), "g1": (2, 2), "g3": (0, 1), "g2": (1, 3),
                                          "g4": (1, 4), "nop": (0, 1)}


def real_literal(x: float) -> str:
    """A real literal OpenQASM 2 accepts (it needs a decimal point before any exponent)."""
    s = repr(float(x))
    if "e" in s and "." not in s.split("e")[0]:
        mantissa, exponent = s.split("e")
        s = f"{mantissa}.0e{exponent}"
    if s.startswith("-"):
        s = f"({s})"
    return s


def random_expression(rng: random.Random) -> str:
    """A random parameter expression (every OpenQASM 2 function and operator appears in some)."""
    a = rng.uniform(-3.0, 3.0)
    b = rng.uniform(0.1, 2.0)
    k = rng.randint(1, 8)
    forms = [
        lambda: real_literal(a),
        lambda: f"{real_literal(a)}*pi",
        lambda: f"pi/{k}",
        lambda: f"-pi/{k}",
        lambda: f"-({real_literal(b)} + pi/{k})",
        lambda: f"sin({real_literal(a)}) + cos({real_literal(b)})",
        lambda: f"tan({real_literal(a / 3)}) - {k}",
        lambda: f"exp(-{real_literal(b)}) * {k}",
        lambda: f"ln({real_literal(b)}) / {k}",
        lambda: f"sqrt({real_literal(b)})*2 - 1",
        lambda: f"({real_literal(b)})^2 - {real_literal(b)}^0.5",
        lambda: f"2^(-{k})*pi",
        lambda: f"{k}*(pi - {real_literal(b)})/({k}+1)",
        lambda: f"{b:.6f}e-1 - {b:.4f}E+1",
    ]
    return rng.choice(forms)()


def random_qasm(n: int, seed: int, extra_ops: int | None = None, user_gates: bool = True) -> str:
    """A random circuit on n qubits (two quantum registers), no measurement; user_gates=False
    leaves out the user `gate` definitions (library gates and expressions only)."""
    assert n >= 2
    rng = random.Random(seed)
    k = rng.randint(1, n - 1)
    regs = [("a", k), ("b", n - k)]

    def qubit(index: int) -> str:
        return f"a[{index}]" if index < k else f"b[{index - k}]"

    lines = [HEADER.rstrip("\n")] + ([USER_GATE_DEFS.rstrip("\n")] if user_gates else [])
    lines += [f"qreg a[{k}];", f"qreg b[{n - k}];"]
    # A first layer so no gate acts on a trivial state: broadcast h, then a rotation per qubit.
    lines += ["h a;", "h b;"]
    lines += [f"ry({random_expression(rng)}) {qubit(q)};" for q in range(n)]

    gates = {**QELIB1_GATES, **USER_GATES} if user_gates else QELIB1_GATES
    pool = {name: spec for name, spec in gates.items() if spec[1] <= n}
    ops = list(pool) * 2  # every gate at least twice, in random order and places
    ops += rng.choices(list(pool), k=extra_ops if extra_ops is not None else 3 * n)
    rng.shuffle(ops)
    for idx, name in enumerate(ops):
        nparams, nqubits = pool[name]
        qs = rng.sample(range(n), nqubits)
        # Favour the highest qubits now and then: they are the rank-index ones when distributed.
        if rng.random() < 0.3 and nqubits <= n:
            qs = rng.sample(range(max(0, n - nqubits - 1), n), nqubits)
        params = f"({', '.join(random_expression(rng) for _ in range(nparams))})" if nparams else ""
        lines.append(f"{name}{params} {', '.join(qubit(q) for q in qs)};")
        r = rng.random()
        if r < 0.05:
            lines.append("barrier a, b;")
        elif r < 0.08:
            lines.append(f"barrier {qubit(rng.randrange(n))};  // a comment after a barrier")
        elif r < 0.14:
            # Broadcast forms: a 1-qubit gate on a register, a control onto a whole register.
            reg, size = rng.choice(regs)
            gate = rng.choice(["x", "h", "t", "sx", f"rz({random_expression(rng)})"])
            lines.append(f"{gate} {reg};")
            other = "b" if reg == "a" else "a"
            lines.append(f"cx {reg}[{rng.randrange(size)}], {other};")
    if k == n - k:
        lines.append("cz a, b;  // register-register broadcast")
    return "\n".join(lines) + "\n"


def gates_called(qasm: str) -> set[str]:
    """Names of gates called at the top level of a random_qasm text (for coverage checks)."""
    names = set()
    body = qasm.split("qreg b[", 1)[1]
    for line in body.splitlines()[1:]:
        line = line.split("//")[0].strip()
        if not line or line.startswith(("barrier", "qreg", "creg", "measure")):
            continue
        token = line.split()[0]
        names.add(token.split("(")[0])
    return names


def ghz_qasm(n: int, measure: bool = False) -> str:
    lines = [HEADER.rstrip("\n"), f"qreg q[{n}];"]
    if measure:
        lines.append(f"creg c[{n}];")
    lines.append("h q[0];")
    lines += [f"cx q[{i}], q[{i + 1}];" for i in range(n - 1)]
    if measure:
        lines.append("measure q -> c;")
    return "\n".join(lines) + "\n"


def teleport_qasm(theta: float, phi: float, measure_target: bool = True) -> str:
    """Teleports ry(theta)·rz(phi)|0> from q[0] to q[2]; the corrections are classically
    conditioned. Classical bits: m0 (bit 0) = q[0], m1 (bit 1) = q[1], out (bit 2) = q[2]."""
    lines = [
        HEADER.rstrip("\n"),
        "qreg q[3];",
        "creg m0[1];",
        "creg m1[1];",
        "creg out[1];",
        f"ry({real_literal(theta)}) q[0];",
        f"rz({real_literal(phi)}) q[0];",
        "h q[1];",
        "cx q[1], q[2];",
        "cx q[0], q[1];",
        "h q[0];",
        "measure q[0] -> m0[0];",
        "measure q[1] -> m1[0];",
        "if(m1==1) x q[2];",
        "if(m0==1) z q[2];",
    ]
    if measure_target:
        lines.append("measure q[2] -> out[0];")
    return "\n".join(lines) + "\n"


def teleported_state(theta: float, phi: float):
    """The state `ry(theta) q; rz(phi) q;` makes from |0>: (e^{-i phi/2} cos(theta/2), e^{i phi/2} sin(theta/2))."""
    import numpy as np

    return np.array([np.exp(-0.5j * phi) * math.cos(theta / 2), np.exp(0.5j * phi) * math.sin(theta / 2)])
