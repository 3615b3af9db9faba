#!/usr/bin/env python3
"""Reference AO integrals and RHF energies from PySCF for ChemistryTests (GaussianIntegralTests).

Writes Tests/ChemistryTests/Fixtures/integrals.json. Per molecule and basis (mol.cart = False,
PySCF's default: spherical d for every basis set, 6-31G* included): geometry in bohr, S, T, V
(upper triangles, row by row; one cartesian case), ERI checks (the unique (ij|kl) for STO-3G; for the larger bases
J_ij = Σ_kl (ij|kl) D_kl and K_ij = Σ_kl (ik|jl) D_kl with a fixed symmetric D, plus ‖ERI‖ and a
few elements), and the RHF energy (conv_tol 1e-12).

Run from the repository root: python3 Tests/ChemistryTests/Fixtures/make_integral_fixtures.py
"""
import json
import numpy
import pyscf
from pyscf import gto, qmmm, scf

MOLECULES = {
    "H2O": "O 0 0 0.1173; H 0 0.7572 -0.4692; H 0 -0.7572 -0.4692",
    "NH3": "N 0 0 0.1162; H 0 0.9377 -0.2711; H 0.8121 -0.4689 -0.2711; H -0.8121 -0.4689 -0.2711",
    "LiH": "Li 0 0 0; H 0 0 1.5949",
    "N2": "N 0 0 0; N 0 0 1.0977",
    "BeH2": "Be 0 0 0; H 0 0 1.3264; H 0 0 -1.3264",
    "HF": "F 0 0 0; H 0 0 0.9168",
}
BASES = ["sto-3g", "6-31g", "6-31g*", "cc-pvdz"]


def upper(m):
    n = m.shape[0]
    return [float(m[i, j]) for i in range(n) for j in range(i, n)]


cases = []
# Every molecule in every basis, spherical; then one cartesian (6d) case, as mol.cart = True gives.
for name, atom, basis, cart in [(m, a, b, False) for m, a in MOLECULES.items() for b in BASES] + [("H2O", MOLECULES["H2O"], "6-31g*", True)]:
    if True:
        mol = gto.M(atom=atom, basis=basis, unit="Angstrom", verbose=0, cart=cart)
        n = mol.nao
        s, t, v = mol.intor("int1e_ovlp"), mol.intor("int1e_kin"), mol.intor("int1e_nuc")
        eri = mol.intor("int2e", aosym="s1").reshape(n, n, n, n)
        rng = numpy.random.default_rng(17)
        d = rng.uniform(-1, 1, (n, n))
        d = (d + d.T) / 2
        j = numpy.einsum("ijkl,kl->ij", eri, d)
        k = numpy.einsum("ikjl,kl->ij", eri, d)
        mf = scf.RHF(mol)
        mf.conv_tol = 1e-12
        energy = mf.kernel()
        assert mf.converged
        case = {
            "name": name, "basis": basis, "cartesian": cart, "elements": [mol.atom_symbol(i) for i in range(mol.natm)],
            "positions": mol.atom_coords(unit="Bohr").tolist(), "nao": n,
            "overlap": upper(s), "kinetic": upper(t), "nuclear": upper(v),
            "density": upper(d), "coulomb": upper(j), "exchange": upper(k),
            "eri_norm": float(numpy.linalg.norm(eri)),
            "eri_samples": [[int(a), int(b), int(c), int(e), float(eri[a, b, c, e])]
                            for a, b, c, e in rng.integers(0, n, (40, 4))],
            "nuclear_repulsion": float(mol.energy_nuc()), "rhf_energy": float(energy),
        }
        if basis == "sto-3g":
            case["eri_unique"] = [[a, b, c, e, float(eri[a, b, c, e])]
                                  for a in range(n) for b in range(a + 1) for c in range(a + 1) for e in range(c + 1)
                                  if a * (a + 1) // 2 + b >= c * (c + 1) // 2 + e]
        cases.append(case)

# External point charges (QM/MM embedding): V over H2O 6-31G* from two charges, with 1/|r − C|
# as PySCF's mol.set_rinv_origin / int1e_rinv gives it.
mol = gto.M(atom=MOLECULES["H2O"], basis="6-31g*", verbose=0)
charges = [([1.5, -0.8, 2.2], 0.417), ([-2.0, 1.1, -1.7], -0.834)]
vext = numpy.zeros((mol.nao, mol.nao))
for pos, q in charges:
    with mol.with_rinv_origin(pos):
        vext -= q * mol.intor("int1e_rinv")
# Electrostatic embedding RHF (pyscf.qmmm.mm_charge; its energy_nuc includes nuclei–charge terms).
mf = qmmm.mm_charge(scf.RHF(mol), numpy.array([p for p, _ in charges]), numpy.array([q for _, q in charges]), unit="Bohr")
mf.conv_tol = 1e-12
embedded = mf.kernel()
point = {"positions": mol.atom_coords(unit="Bohr").tolist(), "elements": [mol.atom_symbol(i) for i in range(mol.natm)],
         "basis": "6-31g*", "charges": [[*p, q] for p, q in charges], "attraction": upper(vext),
         "nuclear_energy": float(mf.energy_nuc()), "rhf_energy": float(embedded)}

with open("Tests/ChemistryTests/Fixtures/integrals.json", "w") as f:
    json.dump({"generator": "make_integral_fixtures.py", "pyscf": pyscf.__version__, "cases": cases,
               "point_charges": point}, f, separators=(",", ":"))
