"""Bad input: exit 2, one `qforge: error: FILE:LINE:COL: …` line on stderr, no crash text, no
output file (neither OUT.h5 nor OUT.h5.partial); serially and under mpirun."""

import random
import re
import time

import pytest

from conftest import assert_input_error, describe, run_qforge
from qasmgen import HEADER, ghz_qasm

# Every case: lines 1-2 are the header, line 3 declares qreg q[3], line 4 (or later) is bad.
PRE = HEADER + "qreg q[3];\n"

#: id -> (source, line, allowed columns, regex the message must match)
LOCATED = {
    # "  cx q[0] q[1];": the second argument (col 11) comes where ',' or ';' was expected
    "syntax-error": (PRE + "  cx q[0] q[1];\n", 4, {11}, r"expected"),
    "unknown-gate": (PRE + "  foo q[0];\n", 4, {3}, r"foo"),
    "wrong-qubit-arity": (PRE + "  cx q[0];\n", 4, {3, 6}, r"(?i)qubit"),
    "wrong-parameter-arity": (PRE + "  rx(0.1, 0.2) q[0];\n", 4, {3}, r"(?i)param"),
    "qubit-index-out-of-range": (PRE + "h q[0];\n  h q[5];\n", 5, {5, 7}, r"(?i)range"),
    "undefined-register": (PRE + "  h r[0];\n", 4, {5}, r"\br\b"),
    # "  rx(1/(2-2)) q[0];": '1' col 6, '/' col 7, '(' col 8
    "division-by-zero": (PRE + "  rx(1/(2-2)) q[0];\n", 4, {6, 7, 8}, r"(?i)division by zero"),
    "unknown-gate-in-gate-body": (PRE + "gate g a { foo a; }\ng q[0];\n", 4, {12}, r"foo"),
    "opaque-gate-called": (PRE + "opaque mystery a;\nmystery q[1];\n", 5, {1}, r"mystery"),
    "duplicate-qubit": (PRE + "  cx q[1], q[1];\n", 4, {3, 6, 12}, r"(?i)duplicate|same|twice"),
    "bad-version": ("OPENQASM 3.0;\nqreg q[1];\n", 1, {10}, r"(?i)version|2\.0"),
}


def _write(tmp_path, name, data):
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
    return path


def _located(message, path, line, columns):
    m = re.match(re.escape(str(path)) + r":(\d+):(\d+): \S", message)
    assert m, f"message does not start with '{path}:LINE:COL: ': {message!r}"
    assert int(m.group(1)) == line and int(m.group(2)) in columns, (
        f"location {m.group(1)}:{m.group(2)}, expected {line}:{sorted(columns)}: {message!r}")


@pytest.mark.parametrize("case", list(LOCATED))
def test_located_errors(tmp_path, case):
    source, line, columns, pattern = LOCATED[case]
    src = _write(tmp_path, "bad.qasm", source)
    out = tmp_path / "out.h5"
    msg = assert_input_error(run_qforge(["sv", src, "-o", out, "--quiet"]), out)
    _located(msg, src, line, columns)
    assert re.search(pattern, msg), msg


@pytest.mark.parametrize("case,data", [
    ("empty-file", ""),
    ("comment-only", "// nothing here\n"),
    ("binary-garbage", bytes(random.Random(7).randrange(256) for _ in range(4096))),
    ("binary-garbage-with-header", b"OPENQASM 2.0;\n\x00\xff\xfe\x01garbage\x7f\n"),
])
def test_unreadable_sources(tmp_path, case, data):
    src = _write(tmp_path, "bad.qasm", data)
    out = tmp_path / "out.h5"
    msg = assert_input_error(run_qforge(["sv", src, "-o", out, "--quiet"]), out)
    assert msg.startswith(str(src) + ":"), f"message does not name the file: {msg!r}"
    m = re.match(re.escape(str(src)) + r":(\d+):(\d+): ", msg)
    if m:  # when a location is given it must point inside the file
        assert int(m.group(1)) >= 1 and int(m.group(2)) >= 1


def test_missing_file(tmp_path):
    out = tmp_path / "out.h5"
    src = tmp_path / "nope.qasm"
    msg = assert_input_error(run_qforge(["sv", src, "-o", out, "--quiet"]), out)
    assert str(src) in msg


@pytest.mark.parametrize("where", ["missing-directory", "under-regular-file", "is-a-directory"])
def test_unwritable_output(tmp_path, where):
    src = _write(tmp_path, "ok.qasm", ghz_qasm(3))
    if where == "missing-directory":
        out = tmp_path / "no" / "such" / "dir" / "out.h5"
    elif where == "under-regular-file":
        _write(tmp_path, "file.txt", "x")
        out = tmp_path / "file.txt" / "out.h5"
    else:
        out = tmp_path / "adir"
        out.mkdir()
    started = time.monotonic()
    proc = run_qforge(["sv", src, "-o", out, "--quiet"])
    if where == "is-a-directory":
        assert proc.returncode == 2, describe(proc)
        assert out.is_dir() and not list(out.iterdir())
        assert_input_error(proc)
    else:
        msg = assert_input_error(proc, out)
        assert str(out) in msg
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("args,pattern", [
    (["--observable", "Z7"], r"(?i)observable.*(range|7)"),
    (["--observable", "Q0"], r"(?i)observable|pauli"),
    (["--observable", ""], r"(?i)observable"),
    (["--precision", "half"], r"(?i)precision|half"),
    (["--shots", "-5"], r"(?i)shots"),
    (["--seed", "abc"], r"(?i)seed|abc"),
    (["--bogus-flag"], r"(?i)bogus"),
])
def test_bad_options(tmp_path, args, pattern):
    src = _write(tmp_path, "ok.qasm", ghz_qasm(3))
    out = tmp_path / "out.h5"
    msg = assert_input_error(run_qforge(["sv", src, "-o", out, "--quiet", *args]), out)
    assert re.search(pattern, msg), msg


def test_state_too_large_for_memory(tmp_path):
    src = _write(tmp_path, "big.qasm", HEADER + "qreg q[40];\nh q[0];\n")
    out = tmp_path / "out.h5"
    started = time.monotonic()
    msg = assert_input_error(run_qforge(["sv", src, "-o", out, "--quiet"], timeout=60), out)
    assert time.monotonic() - started < 20, "should fail before allocating anything"
    sizes = re.findall(r"\d+(?:\.\d+)? ?(?:B|KiB|MiB|GiB|TiB|PiB|bytes)\b", msg)
    assert len(sizes) >= 2, f"expected the bytes needed and available: {msg!r}"
    assert re.search(r"16(\.0+)? TiB|17592186044416", msg), f"2^40 x 16 B = 16 TiB not stated: {msg!r}"
    assert re.search(r"(?i)availab", msg), msg


# ------------------------------------------------------------------------------- under mpirun

MPI_CASES = ["syntax-error", "unknown-gate", "division-by-zero", "qubit-index-out-of-range"]


@pytest.mark.mpi
@pytest.mark.parametrize("case", MPI_CASES)
def test_located_errors_under_mpirun(tmp_path, case):
    source, line, columns, pattern = LOCATED[case]
    src = _write(tmp_path, "bad.qasm", source)
    out = tmp_path / "out.h5"
    msg = assert_input_error(run_qforge(["sv", src, "-o", out, "--quiet"], ranks=2, quiet_mpirun=True), out)
    _located(msg, src, line, columns)


@pytest.mark.mpi
def test_io_errors_under_mpirun(tmp_path):
    src = _write(tmp_path, "ok.qasm", ghz_qasm(3))
    out = tmp_path / "no" / "dir" / "out.h5"
    assert_input_error(run_qforge(["sv", src, "-o", out, "--quiet"], ranks=2, quiet_mpirun=True), out)
    out = tmp_path / "out.h5"
    msg = assert_input_error(run_qforge(["sv", tmp_path / "missing.qasm", "-o", out, "--quiet"], ranks=2,
                                        quiet_mpirun=True), out)
    assert "missing.qasm" in msg
    garbage = _write(tmp_path, "garbage.qasm", bytes(random.Random(3).randrange(256) for _ in range(1000)))
    assert_input_error(run_qforge(["sv", garbage, "-o", out, "--quiet"], ranks=2, quiet_mpirun=True), out)


@pytest.mark.mpi
def test_non_power_of_two_ranks(tmp_path):
    src = _write(tmp_path, "ok.qasm", ghz_qasm(4))
    out = tmp_path / "out.h5"
    msg = assert_input_error(run_qforge(["sv", src, "-o", out, "--quiet"], ranks=3, quiet_mpirun=True), out)
    assert re.search(r"(?i)power[- ]of[- ](two|2)", msg) and "3" in msg, msg


@pytest.mark.mpi
def test_too_many_ranks_for_qubits(tmp_path):
    src = _write(tmp_path, "one.qasm", HEADER + "qreg q[1];\nh q[0];\n")
    out = tmp_path / "out.h5"
    msg = assert_input_error(run_qforge(["sv", src, "-o", out, "--quiet"], ranks=4, quiet_mpirun=True), out)
    assert re.search(r"(?i)rank", msg) and re.search(r"(?i)qubit", msg), msg


@pytest.mark.mpi
def test_state_too_large_under_mpirun(tmp_path):
    src = _write(tmp_path, "big.qasm", HEADER + "qreg q[40];\nh q[0];\n")
    out = tmp_path / "out.h5"
    msg = assert_input_error(run_qforge(["sv", src, "-o", out, "--quiet"], ranks=2, quiet_mpirun=True,
                                        timeout=60), out)
    assert re.search(r"(?i)availab", msg), msg
