"""`molecule.basis`, `molecule.frozen_core` and `[active_space]` end to end: RHF and CASCI energies
against a fresh PySCF calculation, the VQE at (or within its UCCSD limit of) CASCI on 1 and 2
ranks, and bad settings reported at their job key."""
from __future__ import annotations

from pathlib import Path

import h5py
import pytest

from conftest import REPO_ROOT, clean_env, describe, run_qforge

pyscf = pytest.importorskip("pyscf")
from pyscf import gto, mcscf, scf  # noqa: E402

WATER = "O 0 0 0.1173; H 0 0.7572 -0.4692; H 0 -0.7572 -0.4692"


def pyscf_cas(atoms: str, basis: str, electrons: int, orbitals: int) -> tuple[float, float]:
    mol = gto.M(atom=atoms, basis=basis, verbose=0)
    mf = scf.RHF(mol)
    mf.conv_tol = 1e-12
    mf.kernel()
    cas = mcscf.CASCI(mf, orbitals, electrons)
    cas.verbose = 0
    return mf.e_tot, cas.kernel()[0]


def energies(path: Path) -> tuple[float, float, float]:
    with h5py.File(path, "r") as f:
        v = f["vqe"]
        return float(v.attrs["hartree_fock_energy"]), float(v.attrs["exact_energy"]), float(v["energy"][0])


@pytest.mark.parametrize("ranks", [1, 2])
def test_water_631g_cas44_against_pyscf(tmp_path, ranks):
    out = tmp_path / "h2o.h5"
    proc = run_qforge(["run", REPO_ROOT / "configs" / "h2o-cas-vqe.toml", "-o", out, "--quiet", "--catalog", "off"], ranks)
    assert proc.returncode == 0, describe(proc)
    rhf, casci, vqe = energies(out)
    want_rhf, want_casci = pyscf_cas(WATER, "6-31g", 4, 4)
    assert abs(rhf - want_rhf) < 1e-9
    assert abs(casci - want_casci) < 1e-9
    assert -1e-10 < vqe - casci < 1e-6, "UCCSD within its limit of CASCI"


def test_frozen_core_lih(tmp_path):
    job = tmp_path / "lih.toml"
    job.write_text((REPO_ROOT / "configs" / "lih-vqe.toml").read_text().replace('basis = "sto-3g"', 'basis = "sto-3g"\nfrozen_core = true'))
    out = tmp_path / "lih.h5"
    proc = run_qforge(["run", job, "-o", out, "--quiet", "--catalog", "off"])
    assert proc.returncode == 0, describe(proc)
    with h5py.File(out, "r") as f:
        assert f["hamiltonian"].attrs["n_qubits"] == 10 and f["hamiltonian"].attrs["n_electrons"] == 2
    rhf, casci, _ = energies(out)
    want_rhf, want_casci = pyscf_cas("Li 0 0 0; H 0 0 1.6", "sto-3g", 2, 5)
    assert abs(rhf - want_rhf) < 1e-9 and abs(casci - want_casci) < 1e-9


@pytest.mark.parametrize("edit, key, words", [
    ('basis = "6-31g"', 'basis = "6-311g-nope"', "no basis set"),
    ("orbitals = 4", "orbitals = 40", "exceed the basis"),
    ("electrons = 4", "electrons = 3", "do not fit"),
    ('elements = ["O", "H", "H"]', 'elements = ["Na", "H", "H"]', "unsupported element"),
])
def test_bad_settings_name_their_key(tmp_path, edit, key, words):
    text = (REPO_ROOT / "configs" / "h2o-cas-vqe.toml").read_text()
    assert edit in text
    job = tmp_path / "bad.toml"
    job.write_text(text.replace(edit, key))
    line = job.read_text().splitlines().index(next(l for l in job.read_text().splitlines() if l.startswith(key.split(" =")[0] + " ="))) + 1
    proc = run_qforge(["run", job, "-o", tmp_path / "bad.h5", "--catalog", "off"], env=clean_env())
    assert proc.returncode == 2, describe(proc)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"qforge: error: {job}:{line}:"), describe(proc)
    assert words in lines[0], describe(proc)
    assert not (tmp_path / "bad.h5").exists()
