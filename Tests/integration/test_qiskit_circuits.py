"""Circuits written by Qiskit (`qasm2.dumps`): QFT, random_circuit, GHZ, against qiskit-aer's
statevector, on 1, 2 and 4 ranks (fidelity, so global phase lost by dumps does not matter)."""

import functools

import numpy as np
import pytest

from conftest import RANKS, fidelity, simulate

FIDELITY = 1 - 1e-10


def _qft(n, reps):
    """QFT on a non-trivial input; reps=1 leaves h/cp/swap, reps=2 goes down to u/p/cx."""
    from qiskit import QuantumCircuit
    from qiskit.circuit.library import QFTGate

    qft = QuantumCircuit(n)
    qft.append(QFTGate(n), range(n))
    qc = QuantumCircuit(n)
    for q in range(n):  # a non-trivial input state
        qc.ry(0.3 + 0.17 * q, q)
        qc.rz(0.11 * (q + 1), q)
    return qc.compose(qft.decompose(reps=reps))


def _ghz(n):
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(n)
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    return qc


def _random(n, depth, seed, max_operands):
    from qiskit.circuit.random import random_circuit

    return random_circuit(n, depth, max_operands=max_operands, measure=False, seed=seed)


CIRCUITS = {
    "qft5-cp": lambda: _qft(5, 1),
    "qft10-cp": lambda: _qft(10, 1),
    "qft9-u-cx": lambda: _qft(9, 2),
    "ghz8": lambda: _ghz(8),
    "random6-ops3-s1": lambda: _random(6, 12, 1, 3),
    "random7-ops4-s2": lambda: _random(7, 12, 2, 4),
    "random8-ops3-s3": lambda: _random(8, 10, 3, 3),
    "random5-ops4-s4": lambda: _random(5, 15, 4, 4),
    "random11-ops2-s5": lambda: _random(11, 10, 5, 2),
}


@functools.lru_cache(maxsize=None)
def _circuit_and_reference(name):
    import qiskit.qasm2
    from qiskit import transpile
    from qiskit_aer import AerSimulator

    qc = CIRCUITS[name]()
    qasm = qiskit.qasm2.dumps(qc)
    sim = AerSimulator(method="statevector")
    saved = qc.copy()
    saved.save_statevector()
    state = sim.run(transpile(saved, sim, optimization_level=0)).result().get_statevector()
    return qasm, np.asarray(state.data, dtype=np.complex128)


@pytest.mark.parametrize("ranks", RANKS)
@pytest.mark.parametrize("name", list(CIRCUITS))
def test_qiskit_written_circuit_matches_aer(tmp_path, name, ranks):
    qasm, ref = _circuit_and_reference(name)
    result = simulate(tmp_path, qasm, ranks=ranks, name=name)
    assert result.state.shape == ref.shape
    f = fidelity(result.state, ref)
    assert f >= FIDELITY, f"fidelity {f!r} < {FIDELITY} for {name}; circuit: {tmp_path / (name + '.qasm')}"
