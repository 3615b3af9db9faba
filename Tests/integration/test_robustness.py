"""Failure modes of batch runs: a rank killed mid-run, an unwritable results directory, and two
jobs sharing one results directory and catalog."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import h5py
import pytest

from conftest import REPO_ROOT, clean_env, describe, mpi_implementation, qforge_command, rank_pids, run_qforge

LONG_MD = """kind = "md"
[system]
lattice = "fcc"
density = 0.8442
cells = 5
[pair]
cutoff = 2.5
[velocity]
temperature = 1.0
seed = 8
[run]
steps = 100000
[output]
thermo = 50
trajectory = 200
"""


def runs(db: Path) -> list[dict]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    out = [dict(r) for r in con.execute("SELECT * FROM runs")]
    con.close()
    return out


@pytest.mark.mpi
def test_killing_one_rank_ends_the_job_without_a_finished_file(tmp_path):
    job, out, db = tmp_path / "long.toml", tmp_path / "long.h5md", tmp_path / "catalog.sqlite"
    job.write_text(LONG_MD)
    proc = subprocess.Popen(qforge_command(["run", job, "-o", out, "--quiet", "--catalog", db], 2),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
    for line in proc.stdout:  # wait until the run is stepping
        words = line.split()
        if len(words) == 5 and words[0].isdigit() and int(words[0]) >= 100:
            break
    pids = rank_pids(proc.pid)
    assert len(pids) == 2, f"rank processes under mpirun: {pids}"
    os.kill(pids[-1], signal.SIGKILL)
    try:
        rest, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the job hung after one rank was killed")
    assert proc.returncode != 0
    # The launcher names the dead rank and why: Open MPI's mpirun on stderr, MPICH's mpiexec in
    # its "BAD TERMINATION ... KILLED BY SIGNAL: 9 (Killed)" banner on stdout.
    assert "signal 9" in err + rest or "Killed" in err + rest, err + rest
    assert not out.exists(), "a killed run left a file that looks complete"
    records = runs(db)
    # Open MPI's mpirun sends the other ranks SIGTERM before its SIGKILL, so rank 0 records the
    # end; MPICH's mpiexec sends SIGKILL at once (seen with strace), so nothing can, and the
    # record stays `running`, as after a lost node.
    ended = ("failed", "cancelled") + (("running",) if mpi_implementation() == "mpich" else ())
    assert len(records) == 1 and records[0]["state"] in ended, records
    assert records[0]["state"] != "completed"


def test_unwritable_results_directory_is_reported_before_compute(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permission bits: use a read-only path instead
            target = Path("/proc/qforge-results/out.h5md")
        else:
            target = locked / "out.h5md"
        job = tmp_path / "md.toml"
        job.write_text(LONG_MD)
        started = time.monotonic()
        proc = run_qforge(["run", job, "-o", target, "--catalog", "off"], env=clean_env())
        elapsed = time.monotonic() - started
    finally:
        locked.chmod(0o700)
    assert proc.returncode == 2, describe(proc)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"qforge: error: {target}") and "cannot write result" in lines[0], describe(proc)
    assert "Step" not in proc.stdout and elapsed < 20  # refused before the 100000 steps started


def test_two_jobs_share_results_directory_and_catalog(tmp_path):
    db = tmp_path / "catalog.sqlite"
    results = tmp_path / "results"
    results.mkdir()
    procs = []
    for k in range(2):
        job = tmp_path / f"job{k}.toml"
        job.write_text(LONG_MD.replace("steps = 100000", "steps = 300").replace("seed = 8", f"seed = {k + 1}"))
        procs.append(subprocess.Popen(qforge_command(["run", job, "-o", results / f"job{k}.h5md", "--quiet", "--catalog", db]),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env()))
    for k in range(2):
        proc = run_qforge(["sv", REPO_ROOT / "configs/ghz.qasm", "-o", results / f"sv{k}.h5", "--shots", "100",
                           "--catalog", db, "--quiet"])
        assert proc.returncode == 0, describe(proc)
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    names = sorted(f.name for f in results.iterdir())
    assert names == ["job0.h5md", "job1.h5md", "sv0.h5", "sv1.h5"], names
    for f in results.iterdir():
        with h5py.File(f, "r") as h:
            assert "run_id" in h.attrs
    records = runs(db)
    assert len(records) == 4 and all(r["state"] == "completed" for r in records), records
    assert sorted(Path(r["result_path"]).name for r in records) == names
