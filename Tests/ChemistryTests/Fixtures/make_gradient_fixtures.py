#!/usr/bin/env python3
"""RHF nuclear gradients from PySCF (mf.nuc_grad_method(), hartree/bohr) for ChemistryTests.

Writes Tests/ChemistryTests/Fixtures/gradients.json (geometries in bohr, off equilibrium so every
component is exercised; mol.cart = False). Run from the repository root:
python3 Tests/ChemistryTests/Fixtures/make_gradient_fixtures.py
"""
import json
import pyscf
from pyscf import gto, scf

CASES = [
    ("H2O", "O 0 0 0.1173; H 0 0.7572 -0.4692; H 0 -0.7572 -0.4692", "sto-3g"),
    ("LiH", "Li 0 0 0; H 0.1 0.2 1.5949", "6-31g*"),
    ("HF", "F 0 0 0; H 0.05 0 0.9168", "cc-pvdz"),
    ("NH3", "N 0 0 0.1162; H 0 0.9377 -0.2711; H 0.8121 -0.4689 -0.2711; H -0.8121 -0.4689 -0.3711", "6-31g*"),
    ("N2", "N 0 0 0; N 0.03 0 1.0977", "cc-pvdz"),
    ("BeH2", "Be 0 0 0; H 0 0 1.3264; H 0 0.1 -1.3064", "cc-pvdz"),
]

out = []
for name, atom, basis in CASES:
    mol = gto.M(atom=atom, basis=basis, verbose=0)
    mf = scf.RHF(mol)
    mf.conv_tol, mf.conv_tol_grad = 1e-14, 1e-10
    energy = mf.kernel()
    grad = mf.nuc_grad_method().kernel()
    out.append({"name": name, "basis": basis, "elements": [mol.atom_symbol(i) for i in range(mol.natm)],
                "positions": mol.atom_coords(unit="Bohr").tolist(), "rhf_energy": float(energy),
                "gradient": grad.tolist()})

with open("Tests/ChemistryTests/Fixtures/gradients.json", "w") as f:
    json.dump({"generator": "make_gradient_fixtures.py", "pyscf": pyscf.__version__, "cases": out}, f, indent=1)
