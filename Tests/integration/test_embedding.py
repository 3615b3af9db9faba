"""Electrostatic embedding of a `vqe` single point: `[embedding] charges = [[x, y, z, q], …]` enter
the one-electron Hamiltonian (electron–charge) and the constant term (nucleus–charge), with no
charge–charge term. Reference: a fresh PySCF calculation with `qmmm.mm_charge` (the same
convention), RHF (conv_tol 1e-12) and CASCI — with every orbital active, that is FCI — on 1 and 2
ranks. RHF and the exact sector energy agree to 1e-9 Ha; VQE (UCCSD) is exact for two electrons
(1e-6 Ha) and otherwise lies above FCI within UCCSD's error.

The many-charge environments are SPC/E-like waters (O −0.8476 e, H +0.4238 e, O–H 1 Å, H–O–H
109.47°) drawn with a fixed-seed RNG on the shell 3–9 Å from the molecule's centre, every charge at
least 2.5 Å from every nucleus, padded with lone ±1 e ions when N is not a multiple of 3."""
from __future__ import annotations

import functools
import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import describe, run_qforge

pyscf = pytest.importorskip("pyscf")
from pyscf import gto, mcscf, qmmm, scf  # noqa: E402

#: Three SPC/E-like charges around the molecule (Å, e); not neutral on purpose.
CHARGES = [[0.0, 2.6, 0.3, -0.8476], [0.4, 3.2, 0.9, 0.4238], [-2.4, -0.5, 1.1, 0.4238]]

#: name: (elements, positions in Å, charge).
MOLECULES = {
    "H2": (["H", "H"], [[0, 0, 0], [0, 0, 0.735]], 0),
    "HeH+": (["He", "H"], [[0, 0, 0], [0, 0, 0.772]], 1),
    "H4": (["H"] * 4, [[0, 0, 0], [0, 0, 1.0], [0, 0, 2.0], [0, 0, 3.0]], 0),
}
WATER = (-0.8476, 0.4238, 0.4238)


def atoms(elements: list[str], positions: list[list[float]]) -> str:
    return "; ".join(f"{e} {x} {y} {z}" for e, (x, y, z) in zip(elements, positions))


@functools.lru_cache(maxsize=None)
def water_charges(molecule: str, n: int, seed: int = 2026) -> list[list[float]]:
    """`n` point charges (Å, e) around MOLECULES[molecule]: n // 3 waters, then lone ions +1, −1."""
    nuclei = np.array(MOLECULES[molecule][1], dtype=float)
    centre = nuclei.mean(axis=0)
    rng = np.random.default_rng(seed)

    def allowed(site):
        r = np.linalg.norm(site - centre)
        return 3.0 <= r <= 9.0 and np.linalg.norm(nuclei - site, axis=1).min() >= 2.5

    def direction():
        v = rng.normal(size=3)
        return v / np.linalg.norm(v)

    half = np.radians(109.47) / 2
    sites: list[list[float]] = []
    while len(sites) < n:
        o = centre + direction() * rng.uniform(3.0, 9.0)
        if n - len(sites) >= 3:  # a water: H's in a random plane through O, 1 Å away
            bisector = direction()
            normal = np.cross(bisector, direction())
            normal /= np.linalg.norm(normal)
            hs = [o + np.cos(half) * bisector + s * np.sin(half) * normal for s in (1, -1)]
            group = list(zip([o, *hs], WATER))
        else:  # a lone ion
            group = [(o, 1.0 if (n - len(sites)) % 2 == 1 else -1.0)]
        if all(allowed(p) for p, _ in group):
            sites += [[*np.round(p, 6).tolist(), q] for p, q in group]
    return sites


def pyscf_embedded(atoms: str, basis: str, charge: int, electrons: int | None = None, orbitals: int | None = None,
                   charges: list[list[float]] = CHARGES) -> tuple[float, float]:
    """RHF and CASCI(orbitals, electrons) energies in the point charges; FCI when both are None."""
    mol = gto.M(atom=atoms, basis=basis, charge=charge, verbose=0)
    coords = [c[:3] for c in charges]
    q = [c[3] for c in charges]
    mf = qmmm.mm_charge(scf.RHF(mol), coords, q)
    mf.conv_tol = 1e-12
    mf.kernel()
    assert mf.converged
    cas = mcscf.CASCI(mf, orbitals or mol.nao, electrons or mol.nelectron)
    cas.verbose = 0
    return mf.e_tot, cas.kernel()[0]


def job(elements: list[str], positions: list[list[float]], charge: int, basis: str, extra: str = "",
        charges: list[list[float]] = CHARGES) -> str:
    rows = ", ".join(f"[{x}, {y}, {z}, {q}]" for x, y, z, q in charges)
    return f"""kind = "vqe"
[molecule]
elements = {json.dumps(elements)}
positions = {json.dumps(positions)}
charge = {charge}
basis = "{basis}"
{extra}
[embedding]
charges = [{rows}]
"""


def run_job(tmp_path: Path, text: str, ranks: int = 1) -> tuple[float, float, float]:
    """Runs the vqe job `text` and returns its (RHF, exact, VQE) energies."""
    path, out = tmp_path / "job.toml", tmp_path / "job.h5"
    path.write_text(text)
    proc = run_qforge(["run", path, "-o", out, "--quiet", "--catalog", "off"], ranks)
    assert proc.returncode == 0, describe(proc)
    with h5py.File(out, "r") as f:
        v = f["vqe"]
        return float(v.attrs["hartree_fock_energy"]), float(v.attrs["exact_energy"]), float(v["energy"][0])


@pytest.mark.parametrize("ranks", [1, 2])
def test_h2_in_point_charges_against_pyscf(tmp_path, ranks):
    elements, positions, _ = MOLECULES["H2"]
    rhf, exact, vqe = run_job(tmp_path, job(elements, positions, 0, "6-31g"), ranks)
    want_rhf, want_fci = pyscf_embedded(atoms(elements, positions), "6-31g", 0)
    assert abs(rhf - want_rhf) < 1e-9, (rhf, want_rhf)
    assert abs(exact - want_fci) < 1e-9, (exact, want_fci)
    assert abs(vqe - want_fci) < 1e-7, "two electrons: UCCSD is exact"
    # The charges matter: the energy without them differs by far more than the tolerance.
    mol = gto.M(atom=atoms(elements, positions), basis="6-31g", verbose=0)
    assert abs(scf.RHF(mol).kernel() - want_rhf) > 1e-5


#: (molecule, basis, N charges, ranks); the 200-charge H2 cases also on 2 ranks.
MANY = [(m, b, n, 1) for m, bases in [("H2", ["sto-3g", "6-31g"]), ("HeH+", ["sto-3g", "6-31g"]), ("H4", ["sto-3g"])]
        for b in bases for n in (10, 200)] + [("H2", b, 200, 2) for b in ("sto-3g", "6-31g")]


@pytest.mark.parametrize("name, basis, n, ranks", MANY, ids=[f"{m}-{b}-{n}q-np{r}" for m, b, n, r in MANY])
def test_molecule_among_many_point_charges_against_pyscf_fci(tmp_path, name, basis, n, ranks):
    elements, positions, charge = MOLECULES[name]
    charges = water_charges(name, n)
    assert len(charges) == n and abs(sum(c[3] for c in charges)) <= 1 + 1e-9
    rhf, exact, vqe = run_job(tmp_path, job(elements, positions, charge, basis, charges=charges), ranks)
    want_rhf, want_fci = pyscf_embedded(atoms(elements, positions), basis, charge, charges=charges)
    print(f"{name} {basis} {n} charges np{ranks}: RHF {rhf - want_rhf:+.2e}, exact {exact - want_fci:+.2e}, VQE − FCI {vqe - want_fci:+.3e}")
    assert abs(rhf - want_rhf) < 1e-9, (rhf, want_rhf)
    assert abs(exact - want_fci) < 1e-9, (exact, want_fci)
    if gto.M(atom=atoms(elements, positions), charge=charge).nelectron == 2:
        assert abs(vqe - want_fci) < 1e-6, "two electrons: UCCSD is exact"
    else:
        assert -1e-10 <= vqe - want_fci < 5e-3, "UCCSD above FCI, within its limit"


def test_water_cas_in_point_charges_against_pyscf(tmp_path):
    elements, positions = ["O", "H", "H"], [[0, 0, 0.1173], [0, 0.7572, -0.4692], [0, -0.7572, -0.4692]]
    rhf, casci, vqe = run_job(tmp_path, job(elements, positions, 0, "sto-3g", "[active_space]\nelectrons = 4\norbitals = 4"))
    want_rhf, want_casci = pyscf_embedded(atoms(elements, positions), "sto-3g", 0, 4, 4)
    assert abs(rhf - want_rhf) < 1e-9, (rhf, want_rhf)
    assert abs(casci - want_casci) < 1e-9, (casci, want_casci)
    assert -1e-10 < vqe - casci < 1e-5, "UCCSD within its limit of CASCI"


def test_charge_on_an_atom_is_refused(tmp_path):
    path = tmp_path / "bad.toml"
    text = job(["H", "H"], [[0, 0, 0], [0, 0, 0.735]], 0, "sto-3g").replace("[0.0, 2.6, 0.3, -0.8476]", "[0.0, 0.0, 0.735, -0.8476]")
    path.write_text(text)
    proc = run_qforge(["run", path, "-o", tmp_path / "bad.h5", "--quiet", "--catalog", "off"])
    assert proc.returncode == 2, describe(proc)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "sits on an atom" in lines[0] and ":9:" in lines[0], proc.stderr
    assert not (tmp_path / "bad.h5").exists()
