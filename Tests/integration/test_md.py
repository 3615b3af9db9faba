"""End-to-end tests of `qforge run` with `kind = "md"` (Lennard-Jones MD, H5MD output).

References are independent of QForge: LAMMPS' published bench/in.lj step-0 row
(LAMMPS bench/in.lj, log.15Jul25.lj.fixed.g++.1), a LAMMPS data file + LAMMPS thermo log kept in
Tests/DynamicsTests/Fixtures (made by make_lammps_fixture.lmp with Debian's `lmp`), physical
conservation laws and canonical-ensemble statistics.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import REPO_ROOT, assert_input_error, assert_ok, describe, ranks_params, run_qforge

FIXTURES = REPO_ROOT / "Tests" / "DynamicsTests" / "Fixtures"

#: LAMMPS bench/in.lj, step 0 (LAMMPS log.15Jul25.lj.fixed.g++.1, reproduced with Debian's lmp).
INLJ_STEP0 = {"Temp": 1.44, "E_pair": -6.77336805323, "TotEng": -4.61343555323, "Press": -5.01970725909}

INLJ = """
kind = "md"
[system]
lattice = "fcc"
density = 0.8442
cells = {cells}
[pair]
cutoff = 2.5
[velocity]
temperature = 1.44
seed = 87287
[neighbor]
skin = 0.3
every = 20
check = false
[run]
timestep = 0.005
steps = {steps}
[output]
thermo = {thermo}
"""


def write_job(tmp: Path, name: str, text: str) -> Path:
    path = tmp / f"{name}.toml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def thermo_rows(stdout: str) -> dict[int, dict[str, float]]:
    """The thermo table qforge printed: step -> {Temp, E_pair, TotEng, Press}."""
    rows, header = {}, None
    for line in stdout.splitlines():
        words = line.split()
        if words[:1] == ["Step"]:
            header = words
            continue
        if header and len(words) == len(header) and re.fullmatch(r"\d+", words[0]):
            rows[int(words[0])] = {h: float(w) for h, w in zip(header[1:], words[1:])}
        elif header and words[:1] == ["Loop"]:
            header = None
    return rows


def lammps_rows(log: Path) -> dict[int, dict[str, float]]:
    text = log.read_text()
    rows, header = {}, None
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["Step"]:
            header = ["Temp", "E_pair", "TotEng", "Press"]
            continue
        if header and words[:1] == ["Loop"]:
            header = None
        elif header and len(words) == 5 and words[0].isdigit():
            rows[int(words[0])] = dict(zip(header, map(float, words[1:])))
    return rows


def assert_rel(a: float, b: float, tol: float, what: str) -> None:
    assert abs(a - b) <= tol * abs(b), f"{what}: {a!r} vs {b!r} (relative {abs(a - b) / abs(b):.3g} > {tol})"


def run_md(tmp: Path, name: str, text: str, ranks: int = 1, out: Path | None = None, timeout: float = 240):
    job = write_job(tmp, name, text)
    out = out or tmp / f"{name}-np{ranks}.h5md"
    proc = assert_ok(run_qforge(["run", job, "-o", out, "--quiet"], ranks, timeout=timeout))
    assert out.is_file(), describe(proc)
    assert not Path(str(out) + ".partial").exists()
    return proc, out


# ---------------------------------------------------------------------------------------------
# LAMMPS parity


@pytest.mark.parametrize("ranks", ranks_params(1, 2))
def test_inlj_step0_matches_lammps(tmp_path, ranks):
    proc, _ = run_md(tmp_path, "inlj", INLJ.format(cells=20, steps=0, thermo=1), ranks)
    assert "32000 atoms" in proc.stdout
    row = thermo_rows(proc.stdout)[0]
    for key, ref in INLJ_STEP0.items():
        assert_rel(row[key], ref, 1e-10, f"step 0 {key} on {ranks} rank(s)")


FIXTURE_JOB = """
kind = "md"
[system]
data_file = "{data}"
[pair]
cutoff = 2.5
epsilon = [1.0, 0.8]
sigma = [1.0, 1.1]
mixing = "arithmetic"
shift = true
[neighbor]
skin = 0.3
every = 1
check = true
[run]
timestep = 0.005
steps = 100
[output]
thermo = 50
trajectory = 50
"""


@pytest.mark.parametrize("ranks", ranks_params(1, 3))
def test_lammps_data_file_step100_parity(tmp_path, ranks):
    reference = lammps_rows(FIXTURES / "lammps_fixture.log")
    assert set(reference) == {0, 50, 100}
    proc, out = run_md(tmp_path, "fixture", FIXTURE_JOB.format(data=FIXTURES / "lammps_fixture.data"), ranks)
    rows = thermo_rows(proc.stdout)
    for step, ref in reference.items():
        for key, value in ref.items():
            assert_rel(rows[step][key], value, 1e-8, f"step {step} {key} on {ranks} rank(s)")
    with h5py.File(out, "r") as f:
        assert list(f["observables/total_energy/step"][()]) == [0, 50, 100]
        assert_rel(float(f["observables/total_energy/value"][-1]), reference[100]["TotEng"], 1e-8, "H5MD total_energy")


# ---------------------------------------------------------------------------------------------
# Domain decomposition


@pytest.mark.mpi
def test_rank_counts_agree_at_step100(tmp_path):
    results = {}
    for ranks in (1, 2, 3, 4):
        text = INLJ.format(cells=6, steps=100, thermo=100) + "trajectory = 100\n"
        proc, out = run_md(tmp_path, "ranks", text, ranks)
        results[ranks] = thermo_rows(proc.stdout)[100]
        with h5py.File(out, "r") as f:
            ids = f["particles/trajectory/id/value"][-1]
            v = f["particles/trajectory/velocity/value"][-1]
            assert sorted(ids) == list(range(1, 865)), f"atoms lost or duplicated on {ranks} ranks"
            assert np.abs(v.sum(axis=0)).max() < 1e-10, f"momentum not conserved on {ranks} ranks"
            assert f.attrs["ranks"] == ranks
    for ranks, row in results.items():
        for key in ("Temp", "E_pair", "TotEng", "Press"):
            assert_rel(row[key], results[1][key], 1e-10, f"{key} on {ranks} ranks vs 1")


# ---------------------------------------------------------------------------------------------
# H5MD and restart

ARGON = """
kind = "md"
units = "real"
[system]
lattice = "fcc"
lattice_constant = 5.26
cells = 4
masses = 39.948
[pair]
cutoff = 8.5
epsilon = 0.2381
sigma = 3.405
shift = true
[velocity]
temperature = 90.0
seed = 7
[run]
timestep = 2.0
steps = 40
[output]
thermo = 10
trajectory = 10
"""


def test_h5md_opens_in_mdanalysis_with_units(tmp_path):
    mda = pytest.importorskip("MDAnalysis")
    _, out = run_md(tmp_path, "argon", ARGON)
    u = mda.Universe(str(out))
    assert len(u.atoms) == 256
    assert len(u.trajectory) == 5
    with h5py.File(out, "r") as f:
        pos = f["particles/trajectory/position/value"][()]
        assert f["particles/trajectory/position/value"].chunks == (1, 256, 3)
        assert list(f["particles/trajectory/position/step"][()]) == [0, 10, 20, 30, 40]
        assert f["h5md"].attrs["version"].tolist() == [1, 1]
        assert f["particles/trajectory/box"].attrs["dimension"] == 3
        assert [b.decode() if isinstance(b, bytes) else b for b in f["particles/trajectory/box"].attrs["boundary"]] == ["periodic"] * 3
        assert f["particles/trajectory/position/value"].attrs["unit"] in ("Angstrom", b"Angstrom")
        for name in ("potential_energy", "kinetic_energy", "total_energy", "temperature", "pressure"):
            assert f[f"observables/{name}/value"].shape == (5,)
        assert f.attrs["job_kind"] in ("md", b"md")
    for k, ts in enumerate(u.trajectory):
        assert np.allclose(ts.positions, pos[k], atol=1e-4)  # MDAnalysis stores float32
        assert np.allclose(ts.dimensions[:3], 4 * 5.26)
        assert np.allclose(ts.dimensions[3:], 90)
        assert ts.time == pytest.approx(k * 10 * 2.0 / 1000)  # fs -> ps
    # Lattice sites: atom 2 starts at (a/2, a/2, 0).
    assert np.allclose(pos[0][1], [2.63, 2.63, 0.0])


def test_h5md_lj_units_open_without_conversion(tmp_path):
    mda = pytest.importorskip("MDAnalysis")
    from MDAnalysis.coordinates.H5MD import H5MDReader

    _, out = run_md(tmp_path, "lj", INLJ.format(cells=4, steps=20, thermo=10) + "trajectory = 10\n")
    # MDAnalysis 2.11's Universe(file, convert_units=False) passes the flag to the topology
    # parser and fails; the reader itself takes it.
    reader = H5MDReader(str(out), convert_units=False)
    assert reader.n_atoms == 256 and reader.n_frames == 3
    u = mda.Universe.empty(256, trajectory=True)
    u.load_new(str(out), format="H5MD", convert_units=False)
    with h5py.File(out, "r") as f:
        for k, ts in enumerate(u.trajectory):
            assert np.allclose(ts.positions, f["particles/trajectory/position/value"][k], atol=1e-5)
            assert np.allclose(ts.dimensions[:3], f["particles/trajectory/box/edges/value"][k])


RESTART_JOB = INLJ.format(cells=5, steps="{steps}", thermo=10).replace("[velocity]\ntemperature = 1.44\nseed = 87287\n", "{velocity}") + """
trajectory = 10
restart = "{restart}"
restart_every = 30
"""


@pytest.mark.parametrize("integrator", ["nve", "nose-hoover", "langevin"])
def test_restart_continues_exactly(tmp_path, integrator):
    thermostat = "" if integrator == "nve" else (
        f'\n[thermostat]\ntemperature = 1.0\ndamp = 0.5\n' + ("seed = 99\n" if integrator == "langevin" else ""))
    velocity = "[velocity]\ntemperature = 1.44\nseed = 87287\n"

    def job(steps, system, restart, vel):
        text = RESTART_JOB.format(steps=steps, restart=restart, velocity=vel)
        text = text.replace('timestep = 0.005\n', f'timestep = 0.005\nintegrator = "{integrator}"\n')
        if system:
            text = re.sub(r'lattice = "fcc"\ndensity = 0.8442\ncells = 5\n', f'restart = "{system}"\n', text)
        return text + thermostat

    straight, out_a = run_md(tmp_path, "straight", job(60, None, tmp_path / "a.restart", velocity))
    first, _ = run_md(tmp_path, "first", job(30, None, tmp_path / "b.restart", velocity))
    second, out_c = run_md(tmp_path, "second", job(30, tmp_path / "b.restart", tmp_path / "c.restart", ""))
    a, c = thermo_rows(straight.stdout), thermo_rows(second.stdout)
    for step in (30, 40, 50, 60):
        assert a[step] == c[step], f"step {step}: {a[step]} vs restarted {c[step]}"
    with h5py.File(out_a, "r") as fa, h5py.File(out_c, "r") as fc:
        assert np.array_equal(fa["particles/trajectory/position/value"][-1], fc["particles/trajectory/position/value"][-1])
        assert np.array_equal(fa["particles/trajectory/velocity/value"][-1], fc["particles/trajectory/velocity/value"][-1])
        assert list(fc["particles/trajectory/position/step"][()]) == [30, 40, 50, 60]


# ---------------------------------------------------------------------------------------------
# Conservation and thermostats

DRIFT_JOB = """
kind = "md"
[system]
lattice = "fcc"
density = 0.8442
cells = 5
[pair]
cutoff = 2.5
shift = true
[velocity]
temperature = 1.0
seed = 2024
[neighbor]
skin = 0.3
every = 1
check = true
[run]
timestep = 0.005
steps = {steps}
{integrator}
[output]
thermo = 1000
trajectory = 20
"""


def observables(path: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    with h5py.File(path, "r") as f:
        return f[f"observables/{name}/time"][()], f[f"observables/{name}/value"][()]


def test_nve_energy_drift(tmp_path):
    # 20 τ = 4000 steps of 0.005; total energy is per atom in LJ units.
    _, out = run_md(tmp_path, "drift", DRIFT_JOB.format(steps=4000, integrator=""))
    t, e = observables(out, "total_energy")
    assert t[-1] == pytest.approx(20.0)
    slope = np.polyfit(t, e, 1)[0]
    print(f"NVE drift {slope:.3e} eps/atom/tau, fluctuation {e.std():.2e}")
    assert abs(slope) < 1e-5, f"energy drift {slope:.3e} ε per atom per τ"


def block_mean_error(values: np.ndarray, blocks: int = 10) -> tuple[float, float]:
    b = np.array_split(values, blocks)
    means = np.array([x.mean() for x in b])
    return values.mean(), means.std(ddof=1) / np.sqrt(blocks)


@pytest.mark.parametrize("integrator", ["langevin", "nose-hoover"])
def test_nvt_holds_temperature(tmp_path, integrator):
    # Start hot (the lattice melts and T falls to about 1.3) so a single Nosé–Hoover variable
    # is not kicked into long-lived oscillations; damp 0.1 τ for Nosé–Hoover, 0.5 τ for Langevin.
    target, damp = 1.5, (0.1 if integrator == "nose-hoover" else 0.5)
    text = DRIFT_JOB.format(steps=6000, integrator=f'integrator = "{integrator}"').replace(
        "temperature = 1.0", "temperature = 2.5") + f"[thermostat]\ntemperature = {target}\ndamp = {damp}\n"
    _, out = run_md(tmp_path, integrator, text)
    t, temp = observables(out, "temperature")
    equilibrated = temp[t > 10.0]
    mean, err = block_mean_error(equilibrated)
    print(f"{integrator}: <T> = {mean:.4f} ± {err:.4f} (target {target})")
    assert abs(mean - target) < max(3 * err, 0.01 * target), f"<T> = {mean} ± {err}, target {target}"
    # Canonical fluctuations: σ_T/T = sqrt(2/(3N)) for N = 500, within 30 %.
    expected = target * np.sqrt(2 / (3 * 500))
    assert 0.7 * expected < equilibrated.std() < 1.3 * expected, f"σ_T = {equilibrated.std()}, canonical {expected}"
    if integrator == "nose-hoover":
        tc, conserved = observables(out, "conserved_energy")
        assert abs(np.polyfit(tc, conserved, 1)[0]) < 1e-4


# ---------------------------------------------------------------------------------------------
# Bad input: one error line with FILE:LINE, exit 2, no result left


def bad(tmp_path, text, ranks=1, data: str | None = None):
    if data is not None:
        (tmp_path / "bad.data").write_text(textwrap.dedent(data).lstrip())
    job = write_job(tmp_path, "bad", text)
    out = tmp_path / "bad.h5md"
    proc = run_qforge(["run", job, "-o", out, "--quiet"], ranks, quiet_mpirun=True)
    return assert_input_error(proc, out), job


SMALL = INLJ.format(cells=5, steps=10, thermo=10)


def test_unknown_key_suggests(tmp_path):
    message, job = bad(tmp_path, SMALL.replace("skin = 0.3", "skn = 0.3"))
    assert message.startswith(f"{job}:12:1: unknown key 'neighbor.skn'")
    assert "did you mean 'neighbor.skin'" in message


def test_missing_key(tmp_path):
    message, job = bad(tmp_path, SMALL.replace("cutoff = 2.5\n", ""))
    assert message.startswith(f"{job}: missing required key 'pair.cutoff'")


def test_box_smaller_than_twice_cutoff(tmp_path):
    message, job = bad(tmp_path, INLJ.format(cells=2, steps=10, thermo=10))
    assert re.match(rf"{re.escape(str(job))}:\d+:\d+: box edge .* shorter than twice the cutoff", message), message


@pytest.mark.mpi
def test_more_ranks_than_cells(tmp_path):
    message, job = bad(tmp_path, INLJ.format(cells=3, steps=10, thermo=10), ranks=4)
    assert re.match(rf"{re.escape(str(job))}:3:1: cannot split the box .* over 4 ranks", message), message


def test_lost_atoms(tmp_path):
    message, job = bad(tmp_path, SMALL.replace("timestep = 0.005", "timestep = 5.0").replace("steps = 10", "steps = 100"))
    assert re.match(rf"{re.escape(str(job))}:\d+:\d+: (lost atoms|energy is not finite)", message), message


DATA = """
overlap test

3 atoms
1 atom types

0 10 xlo xhi
0 10 ylo yhi
0 10 zlo zhi

Masses

1 1.0

Atoms # atomic

1 1 1.0 1.0 1.0
2 1 5.0 5.0 5.0
3 1 1.0 1.0 1.0
"""

DATA_JOB = """
kind = "md"
[system]
data_file = "bad.data"
[pair]
cutoff = 2.5
[run]
steps = 10
"""


def test_overlapping_atoms(tmp_path):
    message, _ = bad(tmp_path, DATA_JOB, data=DATA)
    assert message.startswith(f"{tmp_path / 'bad.data'}:18: atoms 1 and 3 overlap"), message


def test_malformed_data_file(tmp_path):
    message, _ = bad(tmp_path, DATA_JOB, data=DATA.replace("5.0 5.0 5.0", "5.0 five 5.0"))
    assert message.startswith(f"{tmp_path / 'bad.data'}:17: coordinate: 'five' is not a number"), message
