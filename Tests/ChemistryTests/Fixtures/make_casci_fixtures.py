#!/usr/bin/env python3
"""CASCI reference energies from PySCF (mcscf.CASCI on RHF orbitals) for ChemistryTests.

Writes Tests/ChemistryTests/Fixtures/casci.json (geometries in bohr, mol.cart = False).
Run from the repository root: python3 Tests/ChemistryTests/Fixtures/make_casci_fixtures.py
"""
import json
import pyscf
from pyscf import gto, mcscf, scf

CASES = [
    # name, atoms (Å), basis, active electrons, active orbitals
    ("N2", "N 0 0 0; N 0 0 1.0977", "cc-pvdz", 6, 6),
    ("H2O", "O 0 0 0.1173; H 0 0.7572 -0.4692; H 0 -0.7572 -0.4692", "6-31g", 4, 4),
    # Frozen 1s, every other orbital active: CAS(2,5).
    ("LiH", "Li 0 0 0; H 0 0 1.5949", "sto-3g", 2, 5),
]

out = []
for name, atom, basis, ne, no in CASES:
    mol = gto.M(atom=atom, basis=basis, verbose=0)
    mf = scf.RHF(mol)
    # CASCI energies move linearly with orbital errors: converge the orbitals hard.
    mf.conv_tol, mf.conv_tol_grad = 1e-14, 1e-10
    mf.kernel()
    cas = mcscf.CASCI(mf, no, ne)
    cas.fcisolver.conv_tol = 1e-13
    energy = cas.kernel()[0]
    out.append({"name": name, "basis": basis, "elements": [mol.atom_symbol(i) for i in range(mol.natm)],
                "positions": mol.atom_coords(unit="Bohr").tolist(), "electrons": ne, "orbitals": no,
                "rhf_energy": float(mf.e_tot), "casci_energy": float(energy)})

with open("Tests/ChemistryTests/Fixtures/casci.json", "w") as f:
    json.dump({"generator": "make_casci_fixtures.py", "pyscf": pyscf.__version__, "cases": out}, f, indent=1)
