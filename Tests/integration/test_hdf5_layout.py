"""The statevector result file (the README's "Result files") exactly as h5py sees it, and `qforge inspect`."""

import datetime
import hashlib
import uuid

import h5py
import numpy as np
import pytest

from conftest import (RANKS, assert_ok, clean_env, describe, load_result, run_qforge, simulate)
from qasmgen import HEADER, ghz_qasm

ROOT_ATTRS = {"qforge_version", "job_kind", "run_id", "created", "ranks", "wall_seconds", "config"}

# 3 qubits, 4 gate statements (no broadcast), terminal measure.
SIMPLE = HEADER + """\
qreg q[3];
creg c[3];
h q[0];
cx q[0], q[1];
cx q[1], q[2];
rz(0.25) q[2];
measure q -> c;
"""


def _is_str_type(dt) -> bool:
    return h5py.check_string_dtype(dt) is not None


def check_compound(ds, fields):
    """`fields`: [(name, numpy dtype)] in order, as stored in the file."""
    t = ds.id.get_type()
    assert isinstance(t, h5py.h5t.TypeCompoundID), f"{ds.name} is not a compound"
    names = [t.get_member_name(k).decode() for k in range(t.get_nmembers())]
    assert names == [name for name, _ in fields], f"{ds.name} members {names}"
    for k, (name, dtype) in enumerate(fields):
        member = t.get_member_type(k)
        if dtype is str:
            assert isinstance(member, h5py.h5t.TypeStringID), f"{ds.name}.{name} is not a string"
        else:
            assert member.dtype == np.dtype(dtype), f"{ds.name}.{name}: {member.dtype} != {dtype}"


@pytest.mark.parametrize("ranks", RANKS[:2])
def test_statevector_file_layout(tmp_path, ranks):
    obs = ["Z0 Z1", "X2"]
    r = simulate(tmp_path, SIMPLE, ranks=ranks,
                 extra=["--shots", 500, "--seed", 42, "--observable", obs[0], "--observable", obs[1]],
                 name="simple")
    with h5py.File(r.path, "r") as f:
        assert set(f.keys()) == {"circuit", "state", "measurements", "observables"}, list(f.keys())
        # root attributes
        assert ROOT_ATTRS <= set(f.attrs), sorted(f.attrs)
        assert "slurm_job_id" not in f.attrs
        for name in ("qforge_version", "job_kind", "run_id", "created", "config"):
            assert isinstance(r.attrs[name], str) and r.attrs[name], name
        assert r.attrs["job_kind"] == "statevector"
        uuid.UUID(r.attrs["run_id"])
        created = datetime.datetime.fromisoformat(r.attrs["created"].replace("Z", "+00:00"))
        assert created.utcoffset() == datetime.timedelta(0), r.attrs["created"]
        assert abs((datetime.datetime.now(datetime.timezone.utc) - created).total_seconds()) < 600
        assert np.issubdtype(f.attrs["ranks"].dtype, np.integer) and r.attrs["ranks"] == ranks
        assert np.issubdtype(np.asarray(f.attrs["wall_seconds"]).dtype, np.floating)
        assert 0 <= r.attrs["wall_seconds"] < 60

        # /circuit/qasm
        ds = f["circuit/qasm"]
        assert ds.shape == () and _is_str_type(ds.dtype)
        assert r.qasm == SIMPLE
        assert r.qasm_attrs["n_qubits"] == 3
        assert r.qasm_attrs["n_gates"] == 4
        assert r.qasm_attrs["sha256"] == hashlib.sha256(SIMPLE.encode()).hexdigest()

        # /state/amplitudes
        ds = f["state/amplitudes"]
        assert ds.shape == (8,)
        assert ds.dtype == np.complex128
        check_compound(ds, [("r", "<f8"), ("i", "<f8")])
        assert r.state_attrs["precision"] == "double"
        assert abs(np.linalg.norm(r.state) - 1) < 1e-12

        # /measurements/counts
        ds = f["measurements/counts"]
        check_compound(ds, [("outcome", "<u8"), ("count", "<u8")])
        assert r.counts["count"].sum() == 500
        assert list(r.counts["outcome"]) == sorted(r.counts["outcome"])
        assert set(r.counts_dict()) == {0, 7}
        assert r.counts_attrs["shots"] == 500 and r.counts_attrs["seed"] == 42

        # /observables/expectations
        ds = f["observables/expectations"]
        check_compound(ds, [("label", str), ("value", "<f8")])
        assert list(r.expectations) == obs
        assert abs(r.expectations["Z0 Z1"] - 1) < 1e-12
        assert abs(r.expectations["X2"]) < 1e-12

    # nothing else written next to the result
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert leftovers == ["simple-np%d.h5" % ranks, "simple.qasm"], leftovers


def test_no_state_flag_and_no_shots(tmp_path):
    r = simulate(tmp_path, ghz_qasm(4), extra=["--no-state"], name="ghz")
    assert r.state is None
    assert r.counts is None
    assert r.attrs["job_kind"] == "statevector"
    assert r.qasm_attrs["n_qubits"] == 4


def test_slurm_job_id_attribute(tmp_path):
    r = simulate(tmp_path, ghz_qasm(3), name="ghz", env=clean_env(SLURM_JOB_ID="424242"))
    assert r.attrs["slurm_job_id"] == "424242"


def test_overwrites_existing_output(tmp_path):
    out = tmp_path / "out.h5"
    out.write_bytes(b"old junk")
    (tmp_path / "c.qasm").write_text(ghz_qasm(3))
    assert_ok(run_qforge(["sv", tmp_path / "c.qasm", "-o", out, "--quiet"]))
    assert load_result(out).qasm_attrs["n_qubits"] == 3


@pytest.mark.mpi
def test_only_rank_zero_prints(tmp_path):
    (tmp_path / "c.qasm").write_text(ghz_qasm(5))
    proc = assert_ok(run_qforge(["sv", tmp_path / "c.qasm", "-o", tmp_path / "o.h5", "--quiet",
                                 "--shots", 10, "--observable", "Z0"], ranks=4))
    assert proc.stdout.count("qforge sv:") == 1, describe(proc)
    assert proc.stdout.count("wrote ") == 1, describe(proc)
    assert "simulation" in proc.stdout
    assert proc.stderr.strip() == "", describe(proc)


def test_inspect(tmp_path):
    r = simulate(tmp_path, SIMPLE, extra=["--shots", 100, "--seed", 1, "--observable", "Z0 Z1"], name="simple")
    proc = assert_ok(run_qforge(["inspect", r.path]))
    out = proc.stdout
    assert "3 qubits" in out, out
    assert "|000>" in out and "|111>" in out, out  # the two most probable basis states
    assert "p = 0.000000" not in out, out  # and no state of probability zero
    assert "statevector" in out
    assert r.attrs["run_id"] in out
    assert "Z0 Z1" in out
    for dataset in ("/circuit/qasm", "/state/amplitudes", "/measurements/counts", "/observables/expectations"):
        assert dataset.lstrip("/") in out, f"{dataset} not listed:\n{out}"


def test_inspect_rejects_non_hdf5(tmp_path):
    bad = tmp_path / "x.h5"
    bad.write_text("not hdf5\n")
    proc = run_qforge(["inspect", bad])
    assert proc.returncode == 2, describe(proc)
    assert proc.stderr.startswith("qforge: error: ") and str(bad) in proc.stderr
    proc = run_qforge(["inspect", tmp_path / "missing.h5"])
    assert proc.returncode == 2, describe(proc)
