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

from conftest import QFORGE_BIN, REPO_ROOT, clean_env, describe, mpi_implementation, qforge_command, run_qforge

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


def signal_when(args: list[str], ranks: int, env: dict, ready, stream: str = "stdout", timeout: float = 120) -> subprocess.CompletedProcess:
    """Starts qforge, sends SIGUSR1 once a line of `stream` satisfies `ready`, waits for the end."""
    proc = subprocess.Popen(qforge_command(args, ranks), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    seen = []
    deadline = time.monotonic() + timeout
    for line in getattr(proc, stream):
        seen.append(line)
        if ready(line):
            proc.send_signal(signal.SIGUSR1)  # mpirun passes SIGUSR1 on to every rank
            break
        if time.monotonic() > deadline:
            break
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    if stream == "stdout":
        out = "".join(seen) + out
    else:
        err = "".join(seen) + err
    status = proc.returncode
    if ranks > 1 and mpi_implementation() == "mpich" and status == 0 and "checkpoint written to" in err:
        # MPICH 4.0's mpiexec (Hydra) passes a signal sent to it on to the ranks, but then reports
        # 0 instead of their 75 about half the time (3 of 6 here; 6 of 6 right when the ranks get
        # the signal themselves). Rank 0's line says how the run ended; jobs/qforge-job.sh reads
        # the checkpoint file the same way.
        status = 75
    return subprocess.CompletedProcess(proc.args, status, out, err)


def interrupt(args: list[str], ranks: int, env: dict, after_step: int = 200, timeout: float = 120) -> subprocess.CompletedProcess:
    """SIGUSR1 once a thermo row (five columns, the step first) past `after_step` is printed."""
    def past(line: str) -> bool:
        words = line.split()
        return len(words) == 5 and words[0].isdigit() and int(words[0]) >= after_step
    return signal_when(args, ranks, env, past, timeout=timeout)


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
    # After that the two trajectories are different samples of the same NVE run: both conserve
    # the same total energy to its fluctuation (~1e-4 relative here), with the same mean.
    e_got, e_want = got["observables/total_energy/value"], want["observables/total_energy/value"]
    e0 = abs(e_want[0])
    fluctuation = np.max(np.abs(e_want - e_want[0])) / e0
    assert np.max(np.abs(e_got - e_want[0])) / e0 < 2 * fluctuation + 1e-5
    assert abs(e_got.mean() - e_want.mean()) / e0 < fluctuation


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


# ---------------------------------------------------------------------------------------------
# Statevector preemption: the checkpoint is the state between two instruction blocks.

SV_QUBITS, SV_LAYERS = 20, 400


def long_circuit(tmp: Path) -> Path:
    """A 20-qubit circuit of about 12,000 gates (rotations, cx/cz across every qubit, including the
    rank-index ones) that runs for seconds without fusion, so SIGUSR1 lands mid-run."""
    rng = np.random.default_rng(7)
    lines = ['OPENQASM 2.0;', 'include "qelib1.inc";', f"qreg q[{SV_QUBITS}];", f"creg c[{SV_QUBITS}];"]
    for layer in range(SV_LAYERS):
        for q in range(SV_QUBITS):
            gate = ("rx", "ry", "rz")[rng.integers(3)]
            lines.append(f"{gate}({rng.uniform(-np.pi, np.pi):.12f}) q[{q}];")
        for q in range(layer % 2, SV_QUBITS - 1, 2):
            target = (q + 1 + layer % (SV_QUBITS - 1)) % SV_QUBITS  # never q itself
            lines.append(f"{'cx' if rng.integers(2) else 'cz'} q[{q}], q[{target}];")
    lines.append("measure q -> c;")
    path = tmp / "long.qasm"
    path.write_text("\n".join(lines) + "\n")
    return path


def interrupt_sv(args: list[str], ranks: int, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    """SIGUSR1 to `qforge sv` once its first progress line is on stderr."""
    return signal_when(args, ranks, env, lambda line: line.startswith("qforge: gates "), stream="stderr", timeout=timeout)


def sv_result(path: Path) -> tuple[np.ndarray, dict[int, int]]:
    with h5py.File(path, "r") as f:
        counts = {int(o): int(c) for o, c in zip(f["measurements/counts"]["outcome"], f["measurements/counts"]["count"])}
        return f["state/amplitudes"][()], counts


@pytest.fixture(scope="module")
def sv_reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sv-reference")
    circuit, result = long_circuit(tmp), tmp / "reference.h5"
    proc = run_qforge(["sv", circuit, "-o", result, "--max-fused", "0", "--shots", "500", "--quiet", "--catalog", "off"], 2, timeout=300)
    assert proc.returncode == 0, describe(proc)
    return circuit, sv_result(result)


@pytest.mark.mpi
def test_statevector_interrupted_continues_bit_for_bit(tmp_path, sv_reference):
    circuit, (want_state, want_counts) = sv_reference
    result, db = tmp_path / "run.h5", tmp_path / "catalog.sqlite"
    checkpoint = Path(str(result) + ".checkpoint")
    args = ["sv", circuit, "-o", result, "--max-fused", "0", "--shots", "500", "--catalog", db]
    first = interrupt_sv(args, 2, clean_env())
    assert first.returncode == 75, describe(first)
    assert "checkpoint written to" in first.stderr and str(checkpoint) in first.stderr, describe(first)
    assert checkpoint.is_file() and not result.exists() and not Path(str(result) + ".partial").exists()
    with h5py.File(checkpoint, "r") as f:
        done = int(f.attrs["done"])
        assert 0 < done < SV_LAYERS * SV_QUBITS * 3 // 2
    assert f"statevector after {done} operations" in run_qforge(["inspect", checkpoint]).stdout

    second = run_qforge(args + ["--quiet"], 2, env=clean_env(), timeout=300)
    assert second.returncode == 0, describe(second)
    assert f"resuming from {checkpoint}: {done} of" in second.stderr, describe(second)
    assert result.is_file() and not checkpoint.exists()
    got_state, got_counts = sv_result(result)
    assert np.array_equal(got_state, want_state), "state differs after the restart"
    assert got_counts == want_counts
    runs = catalog_runs(db)
    assert [r["state"] for r in runs] == ["cancelled", "completed"], runs


@pytest.mark.mpi
def test_statevector_checkpoint_continues_on_another_rank_count(tmp_path, sv_reference):
    circuit, (want_state, want_counts) = sv_reference
    result = tmp_path / "run.h5"
    args = ["sv", circuit, "-o", result, "--max-fused", "0", "--shots", "500", "--catalog", "off"]
    first = interrupt_sv(args, 2, clean_env())
    assert first.returncode == 75, describe(first)
    again = interrupt_sv(args, 4, clean_env())  # interrupted again on 4 ranks …
    assert again.returncode == 75 and "resuming from" in again.stderr, describe(again)
    last = run_qforge(args + ["--quiet"], 1, env=clean_env(), timeout=300)  # … and finished on 1
    assert last.returncode == 0, describe(last)
    got_state, got_counts = sv_result(result)
    assert np.max(np.abs(got_state - want_state)) < 1e-12
    assert abs(np.vdot(got_state, got_state).real - 1) < 1e-12


def test_statevector_checkpoint_of_another_circuit_is_refused(tmp_path, sv_reference):
    circuit, _ = sv_reference
    result = tmp_path / "run.h5"
    args = ["sv", circuit, "-o", result, "--max-fused", "0", "--catalog", "off"]
    first = interrupt_sv(args, 1, clean_env())
    assert first.returncode == 75, describe(first)
    second = run_qforge(["sv", circuit, "-o", result, "--max-fused", "2", "--catalog", "off"], 1, env=clean_env())
    assert second.returncode == 2, describe(second)
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"qforge: error: {result}.checkpoint"), describe(second)
    assert "different job" in lines[0] and not result.exists()


# ---------------------------------------------------------------------------------------------
# Born–Oppenheimer MD preemption: the checkpoint holds the nuclei, forces and VQE warm start.

BOMD = (REPO_ROOT / "configs" / "h2-bomd.toml").read_text().replace("steps = 80", "steps = 200").replace("trajectory_every = 1", "trajectory_every = 3")


def bomd_datasets(path: Path) -> dict[str, np.ndarray]:
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name.split("/")[0] in ("particles", "observables", "vqe"):
                out[name] = obj[()]
        f.visititems(visit)
    return out


@pytest.mark.mpi
def test_bomd_interrupted_continues_bit_for_bit(tmp_path):
    job = tmp_path / "h2-bomd.toml"
    job.write_text(BOMD)
    reference = tmp_path / "reference.h5"
    proc = run_qforge(["run", job, "-o", reference, "--quiet", "--catalog", "off"], 2, timeout=300)
    assert proc.returncode == 0, describe(proc)

    result, db = tmp_path / "run.h5", tmp_path / "catalog.sqlite"
    checkpoint = Path(str(result) + ".checkpoint")
    args = ["run", job, "-o", result, "--quiet", "--catalog", db]
    first = interrupt(args, 2, clean_env(), after_step=20)
    assert first.returncode == 75, describe(first)
    assert f"checkpoint written to {checkpoint}" in first.stderr, describe(first)
    assert checkpoint.is_file() and not result.exists() and not Path(str(result) + ".partial").exists()
    with h5py.File(checkpoint, "r") as f:
        step = int(f["restart"].attrs["step"])
        assert 20 <= step < 200 and len(f["restart/auxiliary/vqe_parameters"]) == 3

    second = run_qforge(args, 2, env=clean_env(), timeout=300)
    assert second.returncode == 0, describe(second)
    assert f"continuing from checkpoint {checkpoint} at step {step}" in second.stdout, describe(second)
    assert result.is_file() and not checkpoint.exists()
    got, want = bomd_datasets(result), bomd_datasets(reference)
    assert got.keys() == want.keys()
    for name in want:
        assert np.array_equal(got[name], want[name]), f"{name} differs after the restart at step {step}"
    assert [r["state"] for r in catalog_runs(db)] == ["cancelled", "completed"]
