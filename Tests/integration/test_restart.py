"""Preemption: SIGUSR1 mid-run → checkpoint + exit 75; the same command again continues to the
result an uninterrupted run writes (bit for bit on the same rank count, to round-off on another).
"""
from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import QFORGE_BIN, clean_env, describe, qforge_command, run_qforge

# A 256-atom LJ liquid: neighbour lists rebuild every ~10 steps (the checkpoint's safe points).
LIQUID = """
kind = "md"
[system]
lattice = "fcc"
density = 0.8442
cells = 4
[pair]
cutoff = 2.5
shift = true
[velocity]
temperature = 1.2
seed = 31
[run]
timestep = 0.005
steps = {steps}
[output]
thermo = 20
trajectory = 50
"""
INTEGRATORS = ("nve", "langevin")
# Long enough that SIGUSR1 (sent after step 200) lands mid-run with a release build too.
STEPS = 3000 if "debug" in str(QFORGE_BIN) else 20000


def liquid(tmp: Path, integrator: str) -> Path:
    body = LIQUID.format(steps=STEPS)
    if integrator == "langevin":
        body = body.replace("steps = %d\n" % STEPS, "steps = %d\nintegrator = \"langevin\"\n" % STEPS)
        body += "[thermostat]\ntemperature = 1.0\ndamp = 0.5\nseed = 5\n"
    path = tmp / f"{integrator}.toml"
    path.write_text(body)
    return path


def interrupt(args: list[str], ranks: int, env: dict, after_step: int = 200, timeout: float = 120) -> subprocess.CompletedProcess:
    """Starts qforge, sends SIGUSR1 once a thermo row past `after_step` is printed, waits."""
    proc = subprocess.Popen(qforge_command(args, ranks), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out = []
    deadline = time.monotonic() + timeout
    for line in proc.stdout:
        out.append(line)
        words = line.split()
        if len(words) == 5 and words[0].isdigit() and int(words[0]) >= after_step:
            proc.send_signal(signal.SIGUSR1)  # mpirun passes SIGUSR1 on to every rank
            break
        if time.monotonic() > deadline:
            break
    try:
        rest, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        rest, err = proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, "".join(out) + rest, err)


def datasets(path: Path) -> dict[str, np.ndarray]:
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and (name.startswith("particles") or name.startswith("observables")):
                out[name] = obj[()]
        f.visititems(visit)
    return out


def catalog_runs(db: Path) -> list[dict]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute("SELECT * FROM runs ORDER BY started_at, recorded_at")]
    con.close()
    return rows


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """Uninterrupted runs, one per integrator (2 ranks)."""
    tmp = tmp_path_factory.mktemp("reference")
    out = {}
    for integrator in INTEGRATORS:
        result = tmp / f"{integrator}.h5md"
        proc = run_qforge(["run", liquid(tmp, integrator), "-o", result, "--quiet", "--catalog", "off"], 2, timeout=300)
        assert proc.returncode == 0, describe(proc)
        out[integrator] = datasets(result)
    return out


@pytest.mark.mpi
@pytest.mark.parametrize("integrator", list(INTEGRATORS))
def test_interrupted_run_continues_bit_for_bit(tmp_path, references, integrator):
    job, result, db = liquid(tmp_path, integrator), tmp_path / "run.h5md", tmp_path / "catalog.sqlite"
    checkpoint = Path(str(result) + ".checkpoint")
    args = ["run", job, "-o", result, "--quiet", "--catalog", db]
    first = interrupt(args, 2, clean_env())
    assert first.returncode == 75, describe(first)
    assert "checkpoint written to" in first.stderr and str(checkpoint) in first.stderr, describe(first)
    assert first.stderr.count("qforge:") == 1, describe(first)  # one line, from rank 0
    assert checkpoint.is_file() and not result.exists() and not Path(str(result) + ".partial").exists()
    with h5py.File(checkpoint, "r") as f:
        step = int(f["restart"].attrs["step"])
        assert 200 <= step < STEPS and int(f["restart"].attrs["end_step"]) == STEPS
        assert f["particles/trajectory/position/step"][-1] <= step

    second = run_qforge(args, 2, env=clean_env(), timeout=300)
    assert second.returncode == 0, describe(second)
    assert f"continuing from checkpoint {checkpoint} at step {step}" in second.stdout
    assert result.is_file() and not checkpoint.exists()
    got, want = datasets(result), references[integrator]
    assert got.keys() == want.keys()
    for name in want:
        assert np.array_equal(got[name], want[name]), f"{name} differs after the restart at step {step}"

    runs = catalog_runs(db)
    assert [r["state"] for r in runs] == ["cancelled", "completed"], runs
    assert runs[0]["exit_code"] == 75 and runs[1]["exit_code"] == 0


@pytest.mark.mpi
def test_continue_on_another_rank_count(tmp_path, references):
    job, result = liquid(tmp_path, "nve"), tmp_path / "run.h5md"
    args = ["run", job, "-o", result, "--quiet", "--catalog", "off"]
    first = interrupt(args, 2, clean_env())
    assert first.returncode == 75, describe(first)
    with h5py.File(str(result) + ".checkpoint", "r") as f:
        step = int(f["restart"].attrs["step"])
    second = run_qforge(args, 1, env=clean_env(), timeout=300)  # the checkpoint holds every atom
    assert second.returncode == 0, describe(second)
    got, want = datasets(result), references["nve"]
    for name in want:
        assert got[name].shape == want[name].shape, name
        if name.endswith("step") or name.endswith("time") or "species" in name or name.endswith("id/value"):
            assert np.array_equal(got[name], want[name]), name
    # Round-off differences (another force summation order) grow chaotically: compare the
    # trajectory closely for 300 steps after the checkpoint, the conserved energy throughout.
    near = got["particles/trajectory/position/step"] <= step + 300
    assert near.sum() >= 5
    assert np.allclose(got["particles/trajectory/position/value"][near], want["particles/trajectory/position/value"][near], atol=1e-6)
    assert np.allclose(got["observables/total_energy/value"], want["observables/total_energy/value"], rtol=1e-4, atol=0)


def test_checkpoint_of_another_job_is_refused(tmp_path):
    job, result = liquid(tmp_path, "nve"), tmp_path / "run.h5md"
    args = ["run", job, "-o", result, "--quiet", "--catalog", "off"]
    first = interrupt(args, 1, clean_env())
    assert first.returncode == 75, describe(first)
    job.write_text(job.read_text().replace("seed = 31", "seed = 32"))
    second = run_qforge(args, 1, env=clean_env())
    assert second.returncode == 2, describe(second)
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"qforge: error: {result}.checkpoint")
    assert "different job" in lines[0] and not result.exists()
