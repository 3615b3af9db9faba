"""Random OpenQASM 2 circuits (every qelib1 gate, user gates, expressions, broadcast) against
Qiskit's exact Statevector, global phase included, on 1, 2 and 4 ranks."""

import numpy as np
import pytest

from conftest import RANKS, reference_state, simulate
from qasmgen import QELIB1_GATES, USER_GATES, gates_called, random_qasm

#: (qubits, seed): small n leaves few local qubits per rank at 4 ranks, large n many; n = 17
#: has more local qubits than the cache-blocking window (15) on 1 and 2 ranks.
CASES = [(3, 101), (4, 102), (5, 103), (7, 104), (9, 105), (12, 106), (14, 107), (17, 108)]

TOLERANCE = 1e-12


def test_generator_covers_every_gate():
    called = set()
    for n, seed in CASES:
        called |= gates_called(random_qasm(n, seed))
    missing = (set(QELIB1_GATES) | set(USER_GATES)) - called
    assert not missing, f"random circuits never call {sorted(missing)}"


@pytest.mark.parametrize("ranks", RANKS)
@pytest.mark.parametrize("n,seed", CASES, ids=[f"n{n}" for n, _ in CASES])
def test_random_circuit_matches_qiskit_statevector(tmp_path, n, seed, ranks):
    qasm = random_qasm(n, seed)
    result = simulate(tmp_path, qasm, ranks=ranks, name=f"random{n}")
    ref = reference_state(qasm)
    assert result.state is not None
    assert result.state.dtype == np.complex128
    assert result.state.shape == ref.shape
    err = np.abs(result.state - ref)
    worst = int(np.argmax(err))
    assert err[worst] < TOLERANCE, (
        f"max |amp - ref| = {err[worst]:.3e} at index {worst} "
        f"(qforge {result.state[worst]:.15f}, qiskit {ref[worst]:.15f}); "
        f"overlap |<ref|qforge>| = {abs(np.vdot(ref, result.state)):.15f}\n"
        f"circuit: {tmp_path / f'random{n}.qasm'}")


#: Parameter expressions whose OpenQASM 2 meaning is easy to get wrong, each checked against
#: Qiskit's reading of the same text. `^` binds tighter than unary minus and is right-associative;
#: a negative base with an integer exponent is an ordinary real number.
EXPRESSIONS = [
    "(-0.5)^2", "(-2)^3/5", "-2^2", "2^3^2/100", "-(-1.25)", "8/4/2", "3 - 2 - 0.5",
    "pi/2^2", "2*sin(pi/6)", "ln(exp(0.7))", "sqrt(2)^2", "1.5e-1", "cos(-pi)^2 + tan(0.3)",
]


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_parameter_expression(tmp_path, expr):
    from qasmgen import HEADER

    qasm = HEADER + f"qreg q[1];\nh q[0];\nrz({expr}) q[0];\nry({expr}) q[0];\n"
    result = simulate(tmp_path, qasm, name="expr")
    ref = reference_state(qasm)
    assert np.abs(result.state - ref).max() < TOLERANCE, f"{expr}: qforge {result.state}, qiskit {ref}"
