#!/usr/bin/env python3
"""f shells through a user's basis file: HF in cc-pVTZ (F has an f shell) against PySCF.

Writes Tests/ChemistryTests/Fixtures/cc-pvtz-HF.nw (the H and F blocks of the cc-pvtz.dat PySCF
ships, a Basis Set Exchange export) and f_shells.json: geometry (bohr), S, T, V (upper triangles),
sampled ERIs and ‖ERI‖, the RHF energy and gradient. Run from the repository root:
python3 Tests/ChemistryTests/Fixtures/make_f_shell_fixtures.py
"""
import json
import os
import numpy
import pyscf
from pyscf import gto, scf

source = os.path.join(os.path.dirname(pyscf.__file__), "gto", "basis", "cc-pvtz.dat")
lines, keep = [f"# cc-pVTZ, H and F, from the cc-pvtz.dat PySCF {pyscf.__version__} ships (Basis Set Exchange)", "BASIS \"ao basis\" PRINT"], False
for line in open(source):
    fields = line.split()
    if not fields or line.startswith("#") or fields[0].upper() in ("BASIS", "END"):
        continue
    if fields[0][0].isalpha():
        keep = fields[0] in ("H", "F")
    if keep:
        lines.append(line.rstrip())
lines.append("END")
open("Tests/ChemistryTests/Fixtures/cc-pvtz-HF.nw", "w").write("\n".join(lines) + "\n")

mol = gto.M(atom="F 0 0 0; H 0.05 0 0.9168", basis="cc-pvtz", verbose=0)
n = mol.nao
eri = mol.intor("int2e").reshape(n, n, n, n)
mf = scf.RHF(mol)
mf.conv_tol, mf.conv_tol_grad = 1e-14, 1e-10
energy = mf.kernel()
grad = mf.nuc_grad_method().kernel()
rng = numpy.random.default_rng(5)
upper = lambda m: [float(m[i, j]) for i in range(n) for j in range(i, n)]
json.dump({"generator": "make_f_shell_fixtures.py", "pyscf": pyscf.__version__, "elements": ["F", "H"],
           "positions": mol.atom_coords(unit="Bohr").tolist(), "nao": n,
           "overlap": upper(mol.intor("int1e_ovlp")), "kinetic": upper(mol.intor("int1e_kin")), "nuclear": upper(mol.intor("int1e_nuc")),
           "eri_samples": [[int(a), int(b), int(c), int(d), float(eri[a, b, c, d])] for a, b, c, d in rng.integers(0, n, (400, 4))],
           "eri_norm": float(numpy.linalg.norm(eri)), "rhf_energy": float(energy), "gradient": grad.tolist()},
          open("Tests/ChemistryTests/Fixtures/f_shells.json", "w"), separators=(",", ":"))
