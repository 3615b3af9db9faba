"""Electrostatic embedding of a `vqe` single point: `[embedding] charges = [[x, y, z, q], …]` enter
the one-electron Hamiltonian (electron–charge) and the constant term (nucleus–charge), with no
charge–charge term. Reference: a fresh PySCF calculation with `qmmm.mm_charge` (the same
convention), RHF and CASCI, on 1 and 2 ranks."""
from __future__ import annotations

from pathlib import Path

import h5py
import pytest

from conftest import describe, run_qforge

pyscf = pytest.importorskip("pyscf")
from pyscf import gto, mcscf, qmmm, scf  # noqa: E402

#: Three SPC/E-like charges around the molecule (Å, e); not neutral on purpose.
CHARGES = [[0.0, 2.6, 0.3, -0.8476], [0.4, 3.2, 0.9, 0.4238], [-2.4, -0.5, 1.1, 0.4238]]


def pyscf_embedded(atoms: str, basis: str, charge: int, electrons: int, orbitals: int) -> tuple[float, float]:
    mol = gto.M(atom=atoms, basis=basis, charge=charge, verbose=0)
    coords = [c[:3] for c in CHARGES]
    q = [c[3] for c in CHARGES]
    mf = qmmm.mm_charge(scf.RHF(mol), coords, q)
    mf.conv_tol = 1e-12
    mf.kernel()
    cas = mcscf.CASCI(mf, orbitals, electrons)
    cas.verbose = 0
    return mf.e_tot, cas.kernel()[0]


def job(elements: str, positions: str, charge: int, basis: str, extra: str = "") -> str:
    rows = ", ".join(f"[{x}, {y}, {z}, {q}]" for x, y, z, q in CHARGES)
    return f"""kind = "vqe"
[molecule]
elements = {elements}
positions = {positions}
charge = {charge}
basis = "{basis}"
{extra}
[embedding]
charges = [{rows}]
"""


def energies(path: Path) -> tuple[float, float, float]:
    with h5py.File(path, "r") as f:
        v = f["vqe"]
        return float(v.attrs["hartree_fock_energy"]), float(v.attrs["exact_energy"]), float(v["energy"][0])


@pytest.mark.parametrize("ranks", [1, 2])
def test_h2_in_point_charges_against_pyscf(tmp_path, ranks):
    path = tmp_path / "h2.toml"
    path.write_text(job('["H", "H"]', "[[0, 0, 0], [0, 0, 0.735]]", 0, "6-31g"))
    out = tmp_path / "h2.h5"
    proc = run_qforge(["run", path, "-o", out, "--quiet", "--catalog", "off"], ranks)
    assert proc.returncode == 0, describe(proc)
    rhf, exact, vqe = energies(out)
    want_rhf, want_fci = pyscf_embedded("H 0 0 0; H 0 0 0.735", "6-31g", 0, 2, 4)
    assert abs(rhf - want_rhf) < 1e-9, (rhf, want_rhf)
    assert abs(exact - want_fci) < 1e-9, (exact, want_fci)
    assert abs(vqe - want_fci) < 1e-7, "two electrons: UCCSD is exact"
    # The charges matter: the energy without them differs by far more than the tolerance.
    mol = gto.M(atom="H 0 0 0; H 0 0 0.735", basis="6-31g", verbose=0)
    assert abs(scf.RHF(mol).kernel() - want_rhf) > 1e-5


def test_water_cas_in_point_charges_against_pyscf(tmp_path):
    path = tmp_path / "h2o.toml"
    path.write_text(job('["O", "H", "H"]', "[[0, 0, 0.1173], [0, 0.7572, -0.4692], [0, -0.7572, -0.4692]]", 0, "sto-3g",
                        "[active_space]\nelectrons = 4\norbitals = 4"))
    out = tmp_path / "h2o.h5"
    proc = run_qforge(["run", path, "-o", out, "--quiet", "--catalog", "off"])
    assert proc.returncode == 0, describe(proc)
    rhf, casci, vqe = energies(out)
    want_rhf, want_casci = pyscf_embedded("O 0 0 0.1173; H 0 0.7572 -0.4692; H 0 -0.7572 -0.4692", "sto-3g", 0, 4, 4)
    assert abs(rhf - want_rhf) < 1e-9, (rhf, want_rhf)
    assert abs(casci - want_casci) < 1e-9, (casci, want_casci)
    assert -1e-10 < vqe - casci < 1e-5, "UCCSD within its limit of CASCI"


def test_charge_on_an_atom_is_refused(tmp_path):
    path = tmp_path / "bad.toml"
    text = job('["H", "H"]', "[[0, 0, 0], [0, 0, 0.735]]", 0, "sto-3g").replace("[0.0, 2.6, 0.3, -0.8476]", "[0.0, 0.0, 0.735, -0.8476]")
    path.write_text(text)
    proc = run_qforge(["run", path, "-o", tmp_path / "bad.h5", "--quiet", "--catalog", "off"])
    assert proc.returncode == 2, describe(proc)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "sits on an atom" in lines[0] and ":9:" in lines[0], proc.stderr
    assert not (tmp_path / "bad.h5").exists()
