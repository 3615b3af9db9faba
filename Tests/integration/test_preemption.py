"""Preemption as a cluster delivers it, with the catalog on (the default):
- SIGTERM (scancel, PreemptMode=REQUEUE, the end of the grace time) to every kind that runs long:
  exit 75, a checkpoint, no `.partial`, catalog row `cancelled` with exit code 75; the same
  command then finishes with the uninterrupted run's result, bit for bit.
- SIGKILL (OOM killer, lost node) of a 2-rank run after a periodic checkpoint (`checkpoint_every`):
  the same command continues from that checkpoint to the uninterrupted result, bit for bit.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import REPO_ROOT, clean_env, describe, descendants, qforge_command, rank_pids, run_qforge

MD = """kind = "md"
[system]
lattice = "fcc"
density = 0.8442
cells = 5
[pair]
cutoff = 2.5
[velocity]
temperature = 1.2
seed = 31
[run]
timestep = 0.005
steps = {steps}
integrator = "langevin"
[thermostat]
temperature = 1.0
damp = 0.5
seed = 5
[output]
thermo = 100
trajectory = 500
"""

# Long enough (a few seconds in a release build) for a signal to land mid-run.
BOMD = (REPO_ROOT / "configs" / "h2-bomd.toml").read_text().replace("steps = 80", "steps = 1000").replace("trajectory_every = 1", "trajectory_every = 25")
# H2 in the 216-water box (scripts/solvate-qm writes its data file next to the job).
QMMM = ((REPO_ROOT / "configs" / "h2-water-qmmm.toml").read_text().replace("cutoff = 10.0", "cutoff = 7.0").replace("cutoff = 8.0 ", "cutoff = 6.0 ")
        .replace("steps = 40", "steps = 300").replace("trajectory = 10", "trajectory = 50"))


def sv_circuit(tmp: Path, qubits: int = 20, layers: int = 300) -> Path:
    rng = np.random.default_rng(3)
    lines = ['OPENQASM 2.0;', 'include "qelib1.inc";', f"qreg q[{qubits}];", f"creg c[{qubits}];"]
    for layer in range(layers):
        for q in range(qubits):
            lines.append(f"{('rx', 'ry', 'rz')[rng.integers(3)]}({rng.uniform(-np.pi, np.pi):.12f}) q[{q}];")
        for q in range(layer % 2, qubits - 1, 2):
            lines.append(f"cx q[{q}], q[{(q + 1 + layer % (qubits - 1)) % qubits}];")
    lines.append("measure q -> c;")
    path = tmp / "long.qasm"
    path.write_text("\n".join(lines) + "\n")
    return path


def datasets(path: Path) -> dict[str, np.ndarray]:
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name.split("/")[0] in ("particles", "observables", "state", "measurements", "vqe"):
                out[name] = obj[()]
        f.visititems(visit)
    return out


def assert_same(got: Path, want: Path) -> None:
    a, b = datasets(got), datasets(want)
    assert a.keys() == b.keys()
    for name in b:
        assert np.array_equal(a[name], b[name]), f"{name} differs from the uninterrupted run"


def catalog_rows(db: Path) -> list[tuple[str, int]]:
    con = sqlite3.connect(db)
    rows = [(r[0], r[1]) for r in con.execute("SELECT state, exit_code FROM runs ORDER BY started_at, recorded_at")]
    con.close()
    return rows


def start(args: list[str], ranks: int) -> subprocess.Popen:
    return subprocess.Popen(qforge_command(args, ranks), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=clean_env(), stdin=subprocess.DEVNULL)


def finish(proc: subprocess.Popen, timeout: float = 300) -> subprocess.CompletedProcess:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def wait_until(what, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(0.05)
    return what()


def jobs(tmp: Path) -> dict[str, list[str]]:
    """Each long kind as a command whose result lands in tmp/<kind>.h5(md)."""
    out = {}
    subprocess.run([str(REPO_ROOT / "scripts" / "solvate-qm"), str(REPO_ROOT / "Tests" / "DynamicsTests" / "Fixtures" / "water" / "water.data"),
                    "--qm", "H", "0", "0", "-0.37", "--qm", "H", "0", "0", "0.37", "-o", str(tmp / "h2-water.data")], check=True, capture_output=True)
    for name, text in (("md", MD.format(steps=20000)), ("bomd", BOMD), ("qmmm", QMMM)):
        (tmp / f"{name}.toml").write_text(text)
        out[name] = ["run", str(tmp / f"{name}.toml")]
    out["statevector"] = ["sv", str(sv_circuit(tmp)), "--max-fused", "0", "--shots", "200"]
    return out


def result_name(kind: str) -> str:
    return f"{kind}.h5md" if kind == "md" else f"{kind}.h5"


@pytest.mark.parametrize("kind", ["statevector", "md", "bomd", "qmmm"])
def test_sigterm_with_the_catalog_on_checkpoints_and_continues(tmp_path, kind):
    args = jobs(tmp_path)[kind]
    reference = tmp_path / ("ref-" + result_name(kind))
    proc = run_qforge(args + ["-o", reference, "--quiet", "--catalog", "off"], 1, timeout=600)
    assert proc.returncode == 0, describe(proc)

    result, db = tmp_path / result_name(kind), tmp_path / "catalog.sqlite"
    checkpoint, partial = Path(f"{result}.checkpoint"), Path(f"{result}.partial")
    command = args + ["-o", result, "--catalog", db]
    first = start(command, 1)
    # SIGTERM once the run is under way: its first progress line ("qforge: md steps 812/20000 …",
    # "qforge: gates …"), printed a second into the loop.
    seen = []
    for line in first.stderr:
        seen.append(line)
        if line.startswith("qforge: ") and (" steps " in line or line.startswith("qforge: gates ")):
            first.send_signal(signal.SIGTERM)
            break
    first = finish(first)
    first.stderr = "".join(seen) + first.stderr
    assert first.returncode == 75, describe(first)
    assert f"checkpoint written to {checkpoint}" in first.stderr, describe(first)
    assert checkpoint.is_file() and not partial.exists() and not result.exists()
    assert catalog_rows(db) == [("cancelled", 75)]

    second = run_qforge(command + ["--quiet"], 1, env=clean_env(), timeout=600)
    assert second.returncode == 0, describe(second)
    assert result.is_file() and not checkpoint.exists() and not partial.exists()
    assert_same(result, reference)
    assert catalog_rows(db) == [("cancelled", 75), ("completed", 0)]


@pytest.mark.mpi
def test_sigterm_to_the_ranks_under_mpirun(tmp_path):
    """As Slurm delivers it: SIGTERM to the rank processes themselves (mpirun passes their exit 75 on)."""
    args = jobs(tmp_path)["statevector"]
    result, db = tmp_path / "sv.h5", tmp_path / "catalog.sqlite"
    proc = start(args + ["-o", result, "--catalog", db], 2)
    assert wait_until(lambda: len(rank_pids(proc.pid)) >= 2, 30)
    time.sleep(2)
    for pid in rank_pids(proc.pid):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    done = finish(proc)
    assert done.returncode == 75, describe(done)
    assert Path(f"{result}.checkpoint").is_file() and not Path(f"{result}.partial").exists()
    assert catalog_rows(db) == [("cancelled", 75)]


@pytest.mark.mpi
@pytest.mark.parametrize("kind", ["statevector", "md", "bomd"])
def test_sigkill_after_a_periodic_checkpoint_continues_bit_for_bit(tmp_path, kind):
    args = jobs(tmp_path)[kind]
    reference = tmp_path / ("ref-" + result_name(kind))
    proc = run_qforge(args + ["-o", reference, "--quiet", "--catalog", "off"], 2, timeout=600)
    assert proc.returncode == 0, describe(proc)

    result = tmp_path / result_name(kind)
    checkpoint = Path(f"{result}.checkpoint")
    command = args + ["-o", result, "--catalog", "off", "--checkpoint-every", "0.5"]
    first = start(command, 2)
    assert wait_until(checkpoint.exists, 120), "no periodic checkpoint appeared"
    time.sleep(0.3)
    for pid in [first.pid] + descendants(first.pid):  # the launcher and every rank, at once
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    finish(first)
    assert not result.exists(), "the killed run must not have finished"
    assert checkpoint.is_file()

    second = run_qforge(command + ["--quiet"], 2, env=clean_env(), timeout=600)
    assert second.returncode == 0, describe(second)
    assert "continuing from checkpoint" in second.stdout or "resuming from" in second.stderr, describe(second)
    assert result.is_file() and not checkpoint.exists()
    assert_same(result, reference)
