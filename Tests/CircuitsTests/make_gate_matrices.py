#!/usr/bin/env python3
"""Writes Fixtures/gate_matrices.json: Qiskit's matrix for every qelib1.inc gate (and the
builtins U, CX) at fixed parameters, an independent reference for the parser's gate table.

Matrices are little-endian as in Qiskit: the gate's first argument is qubit 0, the least
significant bit of the row/column index. Regenerate with `python3 make_gate_matrices.py`.
"""
import json
import os

import qiskit
from qiskit.circuit.library import CXGate, UGate
from qiskit.qasm2 import LEGACY_CUSTOM_INSTRUCTIONS
from qiskit.quantum_info import Operator

# θ, φ, λ, γ: a gate with n parameters takes the first n.
PARAMETERS = [0.3, -1.1, 2.5, 0.7]

gates = [("U", 3, UGate), ("CX", 0, CXGate)]
gates += [(g.name, g.num_params, g.constructor) for g in LEGACY_CUSTOM_INSTRUCTIONS if g.name != "delay"]

records = []
for name, count, constructor in gates:
    # Qiskit's u0 counts idle cycles and insists on an integer; its matrix is the identity.
    params = [2] if name == "u0" else PARAMETERS[:count]
    matrix = Operator(constructor(*params)).data
    records.append({
        "name": name,
        "params": params,
        "qubits": matrix.shape[0].bit_length() - 1,
        "matrix": [[[float(z.real), float(z.imag)] for z in row] for row in matrix],
    })

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "Fixtures", "gate_matrices.json")
with open(path, "w") as f:
    json.dump({"qiskit": qiskit.__version__, "gates": records}, f)
print(f"wrote {len(records)} gates to {path}")
