"""Every rank writes its own part of the result at once (docs/io.md): the bytes land where HDF5
says the data is, the summary reports each output's write, and a rank killed while the ranks
write leaves nothing under the final name."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import RANKS, assert_ok, clean_env, describe, qforge_command, reference_state, run_qforge
from test_robustness import rank_pids

WRITE = re.compile(r"write (\w+): (?:(\d+) writes, )?([0-9.]+) (B|KiB|MiB|GiB) in ([0-9.]+) s \(([0-9.]+) (B|KiB|MiB|GiB)/s\)")
UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


def writes(stdout: str) -> dict[str, tuple[int, float, int]]:
    """{output: (bytes, seconds, writes)} from the summary's 'write X: ...' lines."""
    found = {}
    for m in WRITE.finditer(stdout):
        found[m.group(1)] = (round(float(m.group(3)) * UNITS[m.group(4)]), float(m.group(5)), int(m.group(2) or 1))
    return found


def raw_dataset_bytes(path: Path, name: str, dtype) -> np.ndarray:
    """The dataset's values read straight from the file at HDF5's offset, not through HDF5."""
    with h5py.File(path, "r") as f:
        d = f[name]
        offset, count = d.id.get_offset(), d.size
    return np.fromfile(path, dtype=dtype, count=count, offset=offset)


QASM = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[14];
h q[0];
cx q[0],q[13];
ry(0.3) q[5];
cp(0.7) q[5],q[12];
t q[12];
"""


@pytest.mark.parametrize("ranks", RANKS)
@pytest.mark.parametrize("precision", ["double", "single"])
def test_slices_land_at_the_dataset_offset_and_the_summary_reports_the_write(tmp_path, ranks, precision):
    circuit, out = tmp_path / "c.qasm", tmp_path / "c.h5"
    circuit.write_text(QASM)
    proc = assert_ok(run_qforge(["sv", circuit, "-o", out, "--precision", precision, "--catalog", "off"], ranks))
    with h5py.File(out, "r") as f:
        a = f["state/amplitudes"]
        assert a.chunks is None and a.dtype == np.complex128
        psi = a[()]
    # Independent of HDF5's reader: the bytes at the dataset's file offset.
    assert np.array_equal(raw_dataset_bytes(out, "state/amplitudes", "<c16"), psi)
    tol = 1e-12 if precision == "double" else 1e-6
    assert np.abs(psi - reference_state(QASM)).max() < tol
    w = writes(proc.stdout)
    assert "result" in w, describe(proc)
    assert w["result"][0] == pytest.approx(16 << 14, rel=1e-3), w


@pytest.mark.parametrize("ranks", RANKS)
def test_md_rows_land_in_id_order_and_the_summary_reports_each_output(tmp_path, ranks):
    restart = tmp_path / "state.restart"
    job = tmp_path / "lj.toml"
    job.write_text(f"""kind = "md"
[system]
lattice = "fcc"
density = 0.8442
cells = 5
[pair]
cutoff = 2.5
[velocity]
temperature = 1.44
seed = 3
[run]
steps = 40
[output]
thermo = 20
trajectory = 20
restart = "{restart}"
restart_every = 20
""")
    out = tmp_path / "lj.h5md"
    proc = assert_ok(run_qforge(["run", job, "-o", out, "--catalog", "off"], ranks))
    n = 500
    with h5py.File(out, "r") as f:
        t = f["particles/trajectory"]
        assert t["position/value"].shape == (3, n, 3) and t["position/value"].chunks == (1, n, 3)
        for k in range(3):
            assert np.array_equal(t["id/value"][k], np.arange(1, n + 1))
        ids_raw = f["particles/trajectory/id/value"].id
    with h5py.File(restart, "r") as r:
        assert np.array_equal(r["restart/id"][()], np.arange(1, n + 1))
        last_positions = r["restart/position"][()]
    assert np.array_equal(raw_dataset_bytes(restart, "restart/position", "<f8").reshape(n, 3), last_positions)
    with h5py.File(out, "r") as f:
        assert np.array_equal(f["particles/trajectory/position/value"][2], last_positions)
    w = writes(proc.stdout)
    # Frames: 3 × 500 atoms × (24 + 24 + 4 + 8) bytes; restarts: 2 × 500 × (8 + 4 + 3 × 24).
    assert w["frames"][0] == pytest.approx(3 * n * 60, rel=1e-3), w  # the summary rounds to 3 digits
    assert w["restart"][0] == pytest.approx(2 * n * 84, rel=1e-3) and w["restart"][2] == 2, w


@pytest.mark.mpi
def test_a_rank_killed_while_the_ranks_write_leaves_no_final_file(tmp_path):
    n = 25  # 512 MiB of complex128: the ranks' writes take a while
    circuit, out = tmp_path / "big.qasm", tmp_path / "big.h5"
    circuit.write_text(f'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[{n}];\nh q[0];\n')
    partial = Path(str(out) + ".partial")
    proc = subprocess.Popen(qforge_command(["sv", circuit, "-o", out, "--catalog", "off", "--quiet"], 2),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
    deadline = time.time() + 120
    while not partial.exists():  # rank 0 has created the file: the ranks write now
        assert proc.poll() is None, f"qforge ended before writing: {proc.communicate()}"
        assert time.time() < deadline, "no .partial appeared"
        time.sleep(0.002)
    ranks = rank_pids(proc.pid)
    assert len(ranks) == 2, ranks
    os.kill(ranks[-1], signal.SIGKILL)
    try:
        _, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the job hung after one rank was killed")
    assert proc.returncode != 0
    assert not out.exists(), "a rank killed mid-write left a file under the final name"
