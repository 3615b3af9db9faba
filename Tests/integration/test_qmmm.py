"""`kind = "qmmm"`: H2 (UCCSD-VQE) in SPC/E water with electrostatic embedding, the water run by the
MD engine (lj/cut/coul/long, PPPM, SHAKE) over 1, 2 and 4 ranks.

Checks: the same trajectory on any rank count; the energy terms add up and match the VQE group;
NVE energy conservation no worse than ten times that of the same run with H2 replaced by a
classical harmonic molecule (`kind = "md"`, the reference a QM/MM user would compare with); the
mechanical embedding; and bad input. Forces on the MM charges against finite differences of the
embedded energy are unit tests (Tests/ChemistryTests/DynamicsTests.swift), single-point energies
against PySCF are test_embedding.py."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import REPO_ROOT, assert_input_error, assert_ok, attrs_dict, run_qforge

WATER = REPO_ROOT / "Tests" / "DynamicsTests" / "Fixtures" / "water" / "water.data"
EXAMPLE = (REPO_ROOT / "configs" / "h2-water-qmmm.toml").read_text()
HARTREE = 627.509474  # kcal/mol


def solvate(tmp: Path, name: str, *extra: str, qm=(("H", "0 0 -0.37"), ("H", "0 0 0.37"))) -> Path:
    """H2 in the 216-molecule water box (18.6 Å) by scripts/solvate-qm."""
    out = tmp / name
    args = [str(REPO_ROOT / "scripts" / "solvate-qm"), str(WATER), "-o", str(out), *extra]
    for element, xyz in qm:
        args += ["--qm", element, *xyz.split()]
    subprocess.run(args, check=True, capture_output=True)
    return out


def job(tmp: Path, data: Path, steps: int = 50, **replace: str) -> Path:
    """The example job on the small box: 7 Å pair cutoff (4 bricks fit), 6 Å QM/MM cutoff."""
    text = (EXAMPLE.replace('data_file = "h2-water.data"', f'data_file = "{data}"')
            .replace("cutoff = 10.0", "cutoff = 7.0").replace("cutoff = 8.0 ", "cutoff = 6.0 ")
            .replace("steps = 40", f"steps = {steps}"))
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp / "job.toml"
    path.write_text(text)
    return path


def run(tmp: Path, config: Path, ranks: int = 1, name: str = "out.h5") -> Path:
    out = tmp / name
    assert_ok(run_qforge(["run", str(config), "-o", str(out), "--catalog", "off"], ranks, timeout=600))
    return out


def observables(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {k: f[f"observables/{k}/value"][:] for k in f["observables"]}


@pytest.mark.mpi
def test_same_trajectory_on_one_two_and_four_ranks(tmp_path):
    config = job(tmp_path, solvate(tmp_path, "h2w.data"))
    runs = [run(tmp_path, config, ranks, f"r{ranks}.h5") for ranks in (1, 2, 4)]
    with h5py.File(runs[0], "r") as f:
        want = f["particles/trajectory/position/value"][-1]
        assert len(f["particles/trajectory/position/step"]) == 6 and f["particles/trajectory/position/step"][-1] == 50
    for out in runs[1:]:
        with h5py.File(out, "r") as f:
            got = f["particles/trajectory/position/value"][-1]
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
        np.testing.assert_allclose(observables(out)["total_energy"], observables(runs[0])["total_energy"], rtol=1e-11)


def test_energy_terms_add_up_and_the_file_has_the_region(tmp_path):
    out = run(tmp_path, job(tmp_path, solvate(tmp_path, "h2w.data"), steps=10))
    o = observables(out)
    np.testing.assert_allclose(o["mm_energy"] + o["qm_energy"] + o["coupling_energy"], o["potential_energy"], rtol=1e-12)
    assert np.all(o["qm_charges"] > 30)                           # whole waters within 6 Å
    assert np.all(o["coupling_energy"] < 0)                        # H2 is polarised towards lower energy
    assert np.all(np.abs(o["qm_energy"] / HARTREE + 1.137) < 0.01)  # H2 near its STO-3G FCI minimum (−1.137 Ha)
    with h5py.File(out, "r") as f:
        assert attrs_dict(f)["job_kind"] == "qmmm"
        assert list(f["particles/trajectory/qm"][:4]) == [1, 1, 0, 0] and f["particles/trajectory/qm"][:].sum() == 2
        assert f["particles/trajectory/charge"][0] == 0 and f["particles/trajectory/charge"][2] != 0
        # /vqe is the last step's: its energy is the quantum region's with the coupling (hartree).
        vqe = float(f["vqe/energy"][0])
        assert abs(vqe * HARTREE - (o["qm_energy"][-1] + o["coupling_energy"][-1])) < 1e-6
        assert abs(vqe - f["vqe"].attrs["exact_energy"]) < 1e-6    # two electrons: UCCSD is FCI


def drift(path: Path) -> float:
    """|slope| of a straight line through the total energy (kcal/mol per ps)."""
    with h5py.File(path, "r") as f:
        t = f["observables/total_energy/time"][:] / 1000
        e = f["observables/total_energy/value"][:]
    return abs(np.polyfit(t, e, 1)[0])


def test_nve_drift_within_ten_times_the_classical_model(tmp_path):
    qmmm = run(tmp_path, job(tmp_path, solvate(tmp_path, "h2w.data"), steps=200, **{"trajectory = 10": "trajectory = 5"}), name="qmmm.h5")
    # The same system with H2 as a harmonic molecule (K = 415 kcal/mol/Å², r0 = 0.74 Å) in plain MD.
    classical = solvate(tmp_path, "h2c.data", "--classical-bond", "415", "0.74")
    text = job(tmp_path, classical, steps=200, **{"trajectory = 10": "trajectory = 5"}).read_text().replace('kind = "qmmm"', 'kind = "md"')
    text = re.sub(r"\[qm\].*?(?=\[pair\])", "", text, flags=re.S)
    config = tmp_path / "classical.toml"
    config.write_text(text)
    md = run(tmp_path, config, name="classical.h5")
    quantum, reference = drift(qmmm), drift(md)
    print(f"NVE drift: QM/MM {quantum:.3g} kcal/mol/ps, classical {reference:.3g} kcal/mol/ps")
    assert quantum <= 10 * max(reference, 0.05), (quantum, reference)


def test_mechanical_embedding_sees_no_charges(tmp_path):
    config = job(tmp_path, solvate(tmp_path, "h2w.data"), steps=4, **{'embedding = "electrostatic"': 'embedding = "mechanical"'})
    o = observables(run(tmp_path, config))
    assert np.all(o["qm_charges"] == 0) and np.all(o["coupling_energy"] == 0)
    assert np.all(np.abs(o["qm_energy"] / HARTREE + 1.137) < 0.01)


@pytest.mark.parametrize("case, key, words", [
    ("core", "qm.atoms", "inside 'qm_mm.core_radius'"),
    ("crossing", "qm.atoms", "crosses the box"),
    ("half-box", "qm_mm.cutoff", "beyond half the shortest box edge"),
    ("unknown-atom", "qm.atoms", "not in the system"),
    ("bonded", "qm.atoms", "bonds are quantum"),
])
def test_bad_regions_are_refused(tmp_path, case, key, words):
    qm = (("H", "0 0 -0.37"), ("H", "0 0 0.37"))
    replace = {}
    if case == "core":        # the water O nearest QM H 1 moved to 0.6 Å from it
        data = solvate(tmp_path, "h2w.data", "--exclusion", "0")
        text = data.read_text().splitlines()
        start = text.index("Atoms # full") + 2
        rows = [line.split() for line in text[start:text.index("", start)]]
        h = np.array([float(v) for v in rows[0][4:7]])
        oxygens = [k for k, r in enumerate(rows) if r[2] == "1"]
        k = min(oxygens, key=lambda k: np.linalg.norm(np.array([float(v) for v in rows[k][4:7]]) - h))
        o = np.array([float(v) for v in rows[k][4:7]])
        o = h + 0.6 * (o - h) / np.linalg.norm(o - h)
        text[start + k] = " ".join(rows[k][:4] + [f"{v:.10g}" for v in o])
        data.write_text("\n".join(text) + "\n")
    else:
        if case == "crossing":
            qm = (("H", "0 0 -1.5"), ("H", "0 0 1.5"))
            replace["cutoff = 6.0 "] = "cutoff = 8.0 "
        if case == "half-box":
            replace["cutoff = 6.0 "] = "cutoff = 9.5 "
        if case == "bonded":      # H2 as a classical molecule with its bond, named quantum
            data = solvate(tmp_path, "h2w.data", "--classical-bond", "415", "0.74")
        if case == "unknown-atom":
            replace["atoms = [1, 2]"] = "atoms = [1, 99999]"
            replace['elements = ["H", "H"]'] = 'elements = ["H", "H"]'
        if case != "bonded":
            data = solvate(tmp_path, "h2w.data", qm=qm)
    config = job(tmp_path, data, steps=2, **replace)
    out = tmp_path / "bad.h5"
    message = assert_input_error(run_qforge(["run", str(config), "-o", str(out), "--catalog", "off"]), out)
    assert words in message and f"{config}:" in message, message
    line = next(i + 1 for i, text in enumerate(config.read_text().splitlines()) if text.startswith(key.split(".")[1] + " ="))
    assert f":{line}:" in message, (message, line)
