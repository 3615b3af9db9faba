"""The analysis scripts (scripts/plot-*, scripts/gather-sweep) on small results: each writes a
PNG, and the numbers they print or store are checked against independent calculations."""
from __future__ import annotations

import csv
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import QFORGE_BIN, REPO_ROOT, clean_env, describe, run_qforge

SCRIPTS = REPO_ROOT / "scripts"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def script(name: str, *args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPTS / name), *map(str, args)], capture_output=True, text=True,
                          env=env or clean_env(QFORGE_BIN=str(QFORGE_BIN)), timeout=120)


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 10_000, f"{path}: not a PNG with content ({len(data)} bytes)"


def analysis():
    spec = importlib.util.spec_from_file_location("qforge_analysis", SCRIPTS / "qforge_analysis.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["plot-md", "plot-counts", "plot-vqe", "plot-dissociation", "plot-usage", "gather-sweep"])
def test_help(name):
    proc = script(name, "--help")
    assert proc.returncode == 0 and "example:" in proc.stdout and "usage:" in proc.stdout, describe(proc)


def test_bad_input_is_one_line(tmp_path):
    (tmp_path / "x.h5").write_text("not hdf5")
    proc = script("plot-md", tmp_path / "x.h5")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "error:" in proc.stderr, describe(proc)


MD_JOB = """kind = "md"
[system]
lattice = "fcc"
density = 0.8442
cells = 3
[pair]
cutoff = 2.5
shift = true
[velocity]
temperature = {t}
seed = 3
[run]
timestep = 0.005
steps = 300
integrator = "langevin"
[thermostat]
temperature = {t}
damp = 0.5
seed = 9
[output]
thermo = 100
trajectory = 10
"""


def md_result(tmp: Path, t: float, name: str | None = None) -> Path:
    job = tmp / f"{name or 'md'}.toml"
    job.write_text(MD_JOB.format(t=t))
    out = tmp / f"{name or 'md'}.h5md"
    proc = run_qforge(["run", job, "-o", out, "--quiet", "--catalog", "off"])
    assert proc.returncode == 0, describe(proc)
    return out


def test_rdf_of_fcc_lattice_counts_twelve_neighbours():
    """g(r) of a perfect fcc crystal: first shell at a/√2 holding 12 neighbours (coordination
    number ∫ 4πr²ρ g(r) dr over the shell)."""
    qa = analysis()
    a, cells = 1.5, 4
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    grid = np.array([[i, j, k] for i in range(cells) for j in range(cells) for k in range(cells)])
    x = ((grid[:, None, :] + basis[None, :, :]).reshape(-1, 3) * a)[None]
    box = np.full(3, a * cells)
    r, g = qa.radial_distribution(x, box, r_max=0.5 * box[0], bins=300)
    dr = r[1] - r[0]
    shell = 4 / 3 * np.pi * ((r + dr / 2) ** 3 - (r - dr / 2) ** 3)
    rho = (x.shape[1] - 1) / np.prod(box)  # density of the other atoms seen from one
    first = (r > 0.8 * a / np.sqrt(2)) & (r < 1.2 * a / np.sqrt(2))
    assert abs(r[first][np.argmax(g[first])] - a / np.sqrt(2)) < dr
    assert np.isclose((rho * g[first] * shell[first]).sum(), 12, rtol=1e-9)
    # Nothing closer than the first shell.
    assert g[r < 0.8 * a / np.sqrt(2)].sum() == 0


def test_plot_md(tmp_path):
    out = md_result(tmp_path, 1.0)
    png = tmp_path / "md.png"
    proc = script("plot-md", out, "-o", png, "--rdf-frames", "3")
    assert proc.returncode == 0, describe(proc)
    assert_png(png)


def test_plot_counts(tmp_path):
    out = tmp_path / "ghz.h5"
    proc = run_qforge(["sv", REPO_ROOT / "configs/ghz.qasm", "-o", out, "--shots", "500", "--catalog", "off", "--quiet"])
    assert proc.returncode == 0, describe(proc)
    png = tmp_path / "ghz-counts.png"
    proc = script("plot-counts", out, "-o", png)
    assert proc.returncode == 0, describe(proc)
    assert_png(png)


def vqe_file(path: Path, r: float, energy: float, history: list[float]) -> Path:
    """A small VQE result in the DESIGN §3 layout (written here with h5py)."""
    with h5py.File(path, "w") as f:
        f.attrs["job_kind"] = "vqe"
        f["vqe/energy_history"] = history
        f["vqe/energy"] = [energy]
        f["vqe/parameters"] = [0.1]
        f["molecule/positions"] = [[0, 0, 0], [0, 0, r]]
        f["hamiltonian/coefficient"] = [1.0]
    return path


def test_plot_vqe_and_dissociation_against_fci(tmp_path):
    fci = {0.5: -1.055159794471, 0.735: -1.137306035753, 1.0: -1.101150330233, 1.5: -0.998149353471}  # PySCF 2.14.0
    offsets = {0.5: 2e-7, 0.735: 1e-8, 1.0: 3e-6, 1.5: 4e-5}
    files = []
    for r, e in fci.items():
        e_vqe = e + offsets[r]
        files.append(vqe_file(tmp_path / f"h2-{r}.h5", r, e_vqe, [e + 0.1, e + 0.01, e + 1e-3, e_vqe]))
    png = tmp_path / "conv.png"
    proc = script("plot-vqe", files[1], "-o", png)
    assert proc.returncode == 0, describe(proc)
    assert_png(png)
    png, table = tmp_path / "curve.png", tmp_path / "curve.csv"
    proc = script("plot-dissociation", *reversed(files), "-o", png, "--csv", table)
    assert proc.returncode == 0, describe(proc)
    assert_png(png)
    rows = list(csv.DictReader(table.open()))
    assert [float(r["bond_length_angstrom"]) for r in rows] == sorted(fci)
    for row in rows:
        r = float(row["bond_length_angstrom"])
        assert float(row["e_fci_hartree"]) == fci[r]
        assert np.isclose(float(row["error_hartree"]), offsets[r], rtol=1e-6, atol=1e-12)


def test_gather_sweep_matches_direct_averages(tmp_path):
    temperatures = [0.7, 1.3]
    files = [md_result(tmp_path, t, f"sweep-{k}") for k, t in enumerate(temperatures)]
    summary, png = tmp_path / "sweep.h5", tmp_path / "sweep.png"
    proc = script("gather-sweep", *files, "-o", summary, "--plot", png, "--expect", "2", "--skip", "0.5")
    assert proc.returncode == 0, describe(proc)
    assert_png(png)
    with h5py.File(summary, "r") as s:
        assert list(s["value"][()]) == temperatures
        for k, path in enumerate(files):
            with h5py.File(path, "r") as f:
                for q in ("temperature", "potential_energy", "pressure"):
                    v = f[f"observables/{q}/value"][()]
                    assert np.isclose(s[q][k], v[len(v) // 2:].mean(), rtol=1e-12)
        # The thermostat holds each run near its target (Langevin, 108 atoms: loose bound).
        assert np.allclose(s["temperature"][()], temperatures, rtol=0.25)
    proc = script("gather-sweep", *files, "-o", summary, "--expect", "3")
    assert proc.returncode == 1 and "2 results for 3 tasks" in proc.stderr


def test_plot_usage_totals_match_catalog(tmp_path):
    db = tmp_path / "catalog.sqlite"
    for account in ("alpha", "beta", "beta"):
        proc = run_qforge(["sv", REPO_ROOT / "configs/ghz.qasm", "-o", tmp_path / f"{account}.h5", "--catalog", db,
                           "--account", account, "--quiet"])
        assert proc.returncode == 0, describe(proc)
    png = tmp_path / "usage.png"
    proc = script("plot-usage", "--db", db, "-o", png)
    assert proc.returncode == 0, describe(proc)
    assert_png(png)
    runs = json.loads(subprocess.run([str(QFORGE_BIN), "catalog", "runs", "--db", str(db), "--format", "json"],
                                     capture_output=True, text=True).stdout)
    lines = {line.split()[0]: line.split() for line in proc.stdout.splitlines() if line.split()}
    assert lines["alpha"][1] == "1" and lines["beta"][1] == "2"
    beta_hours = sum(float(r["core_hours"]) for r in runs if r["account"] == "beta")
    assert np.isclose(float(lines["beta"][2]), beta_hours, atol=1e-6)
    assert lines["qforge-statevector"][1] == "3"


def test_inspect_summarises_md_and_vqe(tmp_path):
    out = md_result(tmp_path, 1.0)
    proc = subprocess.run([str(QFORGE_BIN), "inspect", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, describe(proc)
    with h5py.File(out, "r") as f:
        steps = f["particles/trajectory/position/step"][()]
        temperature = f["observables/temperature/value"][()]
    assert "atoms:          108, lj units" in proc.stdout
    assert f"frames:         {len(steps)}, steps {steps[0]}…{steps[-1]}" in proc.stdout
    row = next(line.split() for line in proc.stdout.splitlines() if line.strip().startswith("temperature "))
    assert np.isclose(float(row[1]), temperature[-1], rtol=1e-9) and np.isclose(float(row[2]), temperature.mean(), rtol=1e-9)
    vqe = vqe_file(tmp_path / "v.h5", 0.735, -1.1373060, [-1.0, -1.1373060])
    with h5py.File(vqe, "a") as f:
        f["vqe"].attrs["exact_energy"] = -1.137306035753
    proc = subprocess.run([str(QFORGE_BIN), "inspect", str(vqe)], capture_output=True, text=True)
    assert proc.returncode == 0, describe(proc)
    assert "vqe energy:     -1.137306000000 hartree" in proc.stdout
    assert "VQE − exact = 3.575e-08" in proc.stdout and "1 Pauli terms" in proc.stdout
