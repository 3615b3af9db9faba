#!/usr/bin/env python3
"""Writes OpenQASM 2 programs exported by Qiskit's `qasm2.dumps`, for the parser tests.

    python3 make_qiskit_fixtures.py                 # refresh Fixtures/qiskit_*.qasm + manifest
    python3 make_qiskit_fixtures.py --corpus DIR    # also a large corpus (not committed)

Each program gets a manifest entry with its qubit and clbit counts and, when it is purely
unitary, Qiskit's statevector from |0...0> (little-endian, as QForge), so the tests check
the parser's expansion of every Qiskit-emitted `gate` definition against Qiskit itself.
"""
import argparse
import json
import os

import numpy as np
import qiskit
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, qasm2
from qiskit.circuit.library import (MCPhaseGate, MCXGate, QFTGate, UnitaryGate,
                                    get_standard_gate_name_mapping)
from qiskit.circuit.random import random_circuit
from qiskit.quantum_info import Statevector, random_unitary

HERE = os.path.dirname(os.path.abspath(__file__))


def entry(name, circuit):
    text = qasm2.dumps(circuit)
    record = {"file": name, "qubits": circuit.num_qubits, "clbits": circuit.num_clbits}
    unitary = all(i.operation.name not in ("measure", "reset", "if_else") for i in circuit.data)
    if unitary and circuit.num_qubits <= 10:
        state = Statevector(circuit.remove_final_measurements(inplace=False)).data
        record["statevector"] = [[float(a.real), float(a.imag)] for a in state]
    return text, record


def library_circuit(seed):
    """Every standard gate Qiskit can export, with random parameters, on 5 qubits."""
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(5)
    qc.h(range(5))
    for name, gate in sorted(get_standard_gate_name_mapping().items()):
        if name in ("measure", "reset", "delay", "global_phase", "barrier"):
            continue
        params = [float(rng.uniform(-3, 3)) for _ in gate.params]
        gate = type(gate)(*params) if params else gate
        qubits = [int(q) for q in rng.permutation(5)[: gate.num_qubits]]
        qc.append(gate, qubits)
    return qc


def registers_circuit():
    """Several registers of each kind, broadcast, measurement and conditions."""
    a, b = QuantumRegister(2, "a"), QuantumRegister(3, "b")
    c, d = ClassicalRegister(2, "c"), ClassicalRegister(3, "d")
    qc = QuantumCircuit(a, b, c, d)
    qc.h(a)
    qc.cx(a[0], b[2])
    qc.measure(a, c)
    with qc.if_test((c, 3)):
        qc.x(b[0])
    qc.barrier()
    qc.measure(b, d)
    return qc


def fixtures():
    yield "qiskit_library.qasm", library_circuit(7)
    yield "qiskit_qft5.qasm", QFTGate(5).definition
    qft = QuantumCircuit(6)
    qft.x([0, 2])
    qft.append(QFTGate(5), range(5))
    qft.append(MCXGate(5), range(6))
    qft.append(MCPhaseGate(0.3, 4), range(5))
    qft.append(MCPhaseGate(-1.2, 4), [1, 2, 3, 4, 5])  # Qiskit renames the second definition
    yield "qiskit_nested.qasm", qft
    u = QuantumCircuit(3)
    u.append(UnitaryGate(random_unitary(4, seed=5)), [0, 2])
    u.append(UnitaryGate(random_unitary(2, seed=6)), [1])
    yield "qiskit_unitary.qasm", u
    for seed in (1, 2):
        yield f"qiskit_random_{seed}.qasm", random_circuit(6, 8, max_operands=4, seed=seed)
    yield "qiskit_random_measured.qasm", random_circuit(6, 8, max_operands=4, conditional=True,
                                                        measure=True, reset=True, seed=2)
    yield "qiskit_registers.qasm", registers_circuit()


def corpus():
    """Many random circuits; what the tests keep is a sample of these."""
    for seed in range(400):
        for n, operands in ((6, 4), (4, 3), (8, 4)):
            yield f"random_{n}_{seed}.qasm", random_circuit(n, 8, max_operands=operands, seed=seed)
        yield f"cond_{seed}.qasm", random_circuit(6, 8, max_operands=4, conditional=True,
                                                  measure=True, reset=True, seed=seed)
    for n in range(1, 9):
        yield f"qft_{n}.qasm", QFTGate(n).definition
        yield f"qft_gate_{n}.qasm", QFTGate(n).definition.decompose()
    for seed in range(20):
        yield f"library_{seed}.qasm", library_circuit(seed)
    for controls in range(1, 8):
        qc = QuantumCircuit(controls + 1)
        qc.h(range(controls + 1))
        qc.append(MCXGate(controls), range(controls + 1))
        qc.append(MCPhaseGate(0.7, controls), range(controls + 1))
        yield f"mc_{controls}.qasm", qc


def write(directory, items, manifest_name):
    os.makedirs(directory, exist_ok=True)
    manifest = []
    for name, circuit in items:
        text, record = entry(name, circuit)
        with open(os.path.join(directory, name), "w") as f:
            f.write(text + "\n")
        manifest.append(record)
    with open(os.path.join(directory, manifest_name), "w") as f:
        json.dump({"qiskit": qiskit.__version__, "programs": manifest}, f, indent=1)
    print(f"wrote {len(manifest)} programs to {directory}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", help="also write a large corpus to this folder")
    args = parser.parse_args()
    write(os.path.join(HERE, "Fixtures"), fixtures(), "qiskit_manifest.json")
    if args.corpus:
        write(args.corpus, corpus(), "manifest.json")
