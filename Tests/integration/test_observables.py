"""`--observable` expectation values against Qiskit's Statevector.expectation_value."""

import pytest

from conftest import RANKS, load_qasm_circuit, pauli_op, simulate
from qasmgen import random_qasm

N = 6
QASM = random_qasm(N, 301, user_gates=False)
LABELS = ["Z0 Z1", "X0 Y2", "Z5", "X5 X4", "Y3 Z5 X0", "X0 X1 X2 X3 X4 X5", "Z2*Y4", "I0"]


@pytest.mark.parametrize("ranks", RANKS)
def test_observables_match_qiskit(tmp_path, ranks):
    from qiskit.quantum_info import Statevector

    extra = []
    for label in LABELS:
        extra += ["--observable", label]
    r = simulate(tmp_path, QASM, ranks=ranks, extra=extra, name="obs")
    sv = Statevector(load_qasm_circuit(QASM))
    assert list(r.expectations) == LABELS, f"labels in the file: {list(r.expectations)}"
    for label in LABELS:
        ref = sv.expectation_value(pauli_op(label, N)).real
        assert abs(r.expectations[label] - ref) < 1e-10, f"<{label}> = {r.expectations[label]!r}, qiskit {ref!r}"
    # rank 0 prints them too
    assert "<Z0 Z1>" in r.proc.stdout or "Z0 Z1" in r.proc.stdout


def test_qiskit_style_label(tmp_path):
    """A single Qiskit label such as "XZ" puts its rightmost letter on qubit 0."""
    from qiskit.quantum_info import SparsePauliOp, Statevector

    r = simulate(tmp_path, QASM, extra=["--observable", "XIZYZX"], name="obs")
    ref = Statevector(load_qasm_circuit(QASM)).expectation_value(SparsePauliOp("XIZYZX")).real
    (value,) = r.expectations.values()
    assert abs(value - ref) < 1e-10
