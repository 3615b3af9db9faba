"""Shared helpers for QForge's end-to-end tests of `qforge sv` / `qforge inspect`.

The binary under test is $QFORGE_BIN, default <repo>/.build/release/qforge (the repo root is
found from this file's path, so a clone anywhere works).

Markers:
  mpi   -- the test launches qforge under `mpirun` (deselect with `-m "not mpi"`,
           run only those with `-m mpi`).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterable, Sequence

import h5py
import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
QFORGE_BIN = Path(os.environ.get("QFORGE_BIN") or REPO_ROOT / ".build" / "release" / "qforge")

#: Per-process timeout (seconds) for one qforge run; every circuit here is small.
DEFAULT_TIMEOUT = float(os.environ.get("QFORGE_TEST_TIMEOUT", "120"))

#: Text that means a crash / Swift trap instead of a clean error.
CRASH_MARKERS = (
    "Fatal error",
    "Stack dump",
    "Swift runtime failure",
    "Current stack trace",
    "Backtrace",
    "Segmentation fault",
    "SIGSEGV",
    "SIGILL",
    "SIGABRT",
    "Illegal instruction",
    "signal 4",
    "signal 11",
    "💣",
)


def pytest_configure(config):
    config.addinivalue_line("markers", "mpi: launches qforge under mpirun (select with -m mpi)")


def pytest_report_header(config):
    return f"qforge binary: {QFORGE_BIN}"


@pytest.fixture(scope="session", autouse=True)
def _qforge_binary_exists():
    if not QFORGE_BIN.is_file() or not os.access(QFORGE_BIN, os.X_OK):
        pytest.fail(
            f"qforge binary not found at {QFORGE_BIN}: build it with "
            f"`swift build -c release --product qforge` or set QFORGE_BIN",
            pytrace=False,
        )


# --------------------------------------------------------------------------------------------
# Launching


def ranks_params(*ranks: int):
    """pytest params for rank counts; every count > 1 (and any mpirun run) carries the mpi mark."""
    return [pytest.param(r, marks=pytest.mark.mpi, id=f"np{r}") if r > 1 else pytest.param(r, id="np1")
            for r in ranks]


#: The usual parametrisation: serial, 2 and 4 ranks.
RANKS = ranks_params(1, 2, 4)


@functools.cache
def mpi_launcher() -> tuple[str, str]:
    """(openmpi|mpich|unknown, path) of the launcher scripts/mpirun finds: $QFORGE_MPIEXEC, else
    mpiexec or mpirun on PATH; ("missing", "") without one."""
    p = subprocess.run([str(REPO_ROOT / "scripts" / "mpirun"), "--implementation"], capture_output=True, text=True)
    return tuple(p.stdout.split(maxsplit=1)) if p.returncode == 0 else ("missing", "")


def mpi_implementation() -> str:
    return mpi_launcher()[0]


def mpirun_command(np_: int, quiet: bool = False) -> list[str]:
    """The launcher prefix for `np_` ranks on this (possibly 2-core) machine.

    Open MPI: --oversubscribe, shared memory only (no network probing on a test box),
    --allow-run-as-root as root, and with quiet=True `-q`, which stops its "process returned a
    non-zero exit code" banner, so qforge's own error output can be checked. MPICH's Hydra needs
    no flag and prints no such banner on stderr.
    """
    implementation, launcher = mpi_launcher()
    if implementation == "missing":
        pytest.skip("no MPI launcher (mpiexec, mpirun or $QFORGE_MPIEXEC)")
    cmd = [launcher.strip(), "-np", str(np_)]
    if implementation == "openmpi":
        cmd += ["--oversubscribe", "--mca", "btl", "self,vader"]
        if os.geteuid() == 0:
            cmd.append("--allow-run-as-root")
        if quiet:
            cmd.append("-q")
    return cmd


def descendants(pid: int) -> list[int]:
    """Every process below `pid`: Open MPI's mpirun starts the ranks as its children, MPICH's
    mpiexec as grandchildren (under hydra_pmi_proxy)."""
    kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    out = []
    for k in map(int, kids):
        out += [k] + descendants(k)
    return out


def rank_pids(launcher_pid: int) -> list[int]:
    """The qforge processes a launcher started."""
    found = []
    for pid in descendants(launcher_pid):
        try:
            if Path(f"/proc/{pid}/exe").resolve().name == "qforge":
                found.append(pid)
        except OSError:
            pass
    return found


def qforge_command(args: Sequence[str], ranks: int = 1, quiet_mpirun: bool = False,
                   force_mpirun: bool = False) -> list[str]:
    """The argv for `qforge ARGS` with `ranks` MPI ranks (1 rank runs without mpirun unless forced)."""
    cmd = [str(QFORGE_BIN), *map(str, args)]
    if ranks > 1 or force_mpirun:
        cmd = mpirun_command(ranks, quiet=quiet_mpirun) + cmd
    return cmd


def clean_env(**overrides: str | None) -> dict[str, str]:
    """The environment for a run: no Slurm variables unless given; None removes a variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def run_qforge(args: Sequence[str], ranks: int = 1, *, timeout: float = DEFAULT_TIMEOUT,
               env: dict[str, str] | None = None, cwd: Path | str | None = None,
               quiet_mpirun: bool = False, force_mpirun: bool = False) -> subprocess.CompletedProcess:
    """Runs qforge (under mpirun when ranks > 1) and returns the finished process (text output)."""
    cmd = qforge_command(args, ranks, quiet_mpirun=quiet_mpirun, force_mpirun=force_mpirun)
    try:
        return subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout,
                              env=env if env is not None else clean_env(), cwd=cwd,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"timed out after {timeout} s: {' '.join(cmd)}\nstdout:\n{e.stdout}\nstderr:\n{e.stderr}")


def describe(proc: subprocess.CompletedProcess) -> str:
    cmd = proc.args if isinstance(proc.args, str) else " ".join(map(str, proc.args))
    return f"$ {cmd}\nexit {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"


def assert_ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, "qforge failed\n" + describe(proc)
    assert_no_crash_text(proc)
    return proc


def assert_no_crash_text(proc: subprocess.CompletedProcess) -> None:
    text = (proc.stdout or "") + (proc.stderr or "")
    for marker in CRASH_MARKERS:
        assert marker not in text, f"crash text {marker!r} in output\n" + describe(proc)


def qforge_error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("qforge: error: ")]


def assert_input_error(proc: subprocess.CompletedProcess, *paths_absent: Path) -> str:
    """Exit 2, exactly one stderr line `qforge: error: …`, no crash text, and none of
    `paths_absent` (nor their .partial) exist. Returns the message after `qforge: error: `."""
    assert proc.returncode == 2, "expected exit 2 (bad input)\n" + describe(proc)
    assert_no_crash_text(proc)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, "expected exactly one stderr line\n" + describe(proc)
    assert lines[0].startswith("qforge: error: "), describe(proc)
    for p in paths_absent:
        assert not Path(p).exists(), f"{p} left behind\n" + describe(proc)
        partial = Path(str(p) + ".partial")
        assert not partial.exists(), f"{partial} left behind\n" + describe(proc)
    return lines[0][len("qforge: error: "):]


# --------------------------------------------------------------------------------------------
# Result files


@dataclasses.dataclass
class Result:
    path: Path
    proc: subprocess.CompletedProcess
    attrs: dict
    qasm: str
    qasm_attrs: dict
    state: np.ndarray | None
    state_attrs: dict
    counts: np.ndarray | None  # structured: outcome, count
    counts_attrs: dict
    expectations: dict[str, float]

    def counts_dict(self) -> dict[int, int]:
        assert self.counts is not None, "no /measurements/counts in " + str(self.path)
        return {int(o): int(c) for o, c in zip(self.counts["outcome"], self.counts["count"])}


def _decode(v):
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, np.ndarray) and v.shape == ():
        return _decode(v[()])
    if isinstance(v, np.generic):
        return v.item()
    return v


def attrs_dict(obj) -> dict:
    return {k: _decode(v) for k, v in obj.attrs.items()}


def load_result(path: Path, proc: subprocess.CompletedProcess | None = None) -> Result:
    with h5py.File(path, "r") as f:
        qasm_ds = f["circuit/qasm"]
        qasm = _decode(qasm_ds[()])
        state = state_attrs = None
        if "state" in f and "amplitudes" in f["state"]:
            ds = f["state/amplitudes"]
            state = ds[()]
            state_attrs = attrs_dict(ds)
        counts = counts_attrs = None
        if "measurements" in f and "counts" in f["measurements"]:
            ds = f["measurements/counts"]
            counts = ds[()]
            counts_attrs = attrs_dict(ds)
        expectations = {}
        if "observables" in f and "expectations" in f["observables"]:
            for row in f["observables/expectations"][()]:
                expectations[_decode(row["label"])] = float(row["value"])
        return Result(path=Path(path), proc=proc, attrs=attrs_dict(f), qasm=qasm,
                      qasm_attrs=attrs_dict(qasm_ds), state=state, state_attrs=state_attrs or {},
                      counts=counts, counts_attrs=counts_attrs or {}, expectations=expectations)


def simulate(workdir: Path, qasm: str, ranks: int = 1, extra: Iterable[str] = (), name: str = "circuit",
             env: dict[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT) -> Result:
    """Writes `qasm` to WORKDIR/NAME.qasm, runs `qforge sv` on `ranks` ranks into
    WORKDIR/NAME-npR.h5, checks success and that no .partial is left, and loads the result."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    src = workdir / f"{name}.qasm"
    if not src.exists() or src.read_text() != qasm:
        src.write_text(qasm)
    out = workdir / f"{name}-np{ranks}.h5"
    if out.exists():
        out.unlink()
    proc = assert_ok(run_qforge(["sv", src, "-o", out, "--quiet", *extra], ranks, env=env, timeout=timeout))
    assert out.is_file(), "no result file\n" + describe(proc)
    assert not Path(str(out) + ".partial").exists(), ".partial left behind\n" + describe(proc)
    return load_result(out, proc)


# --------------------------------------------------------------------------------------------
# References (Qiskit)


@functools.lru_cache(maxsize=None)
def load_qasm_circuit(qasm: str):
    """The circuit Qiskit reads from `qasm`, with Qiskit's legacy qelib1 gate set (rc3x, c3sqrtx,
    c4x, rxx, … map to Qiskit's standard gates, whose matrices carry their exact global phase)."""
    import qiskit.qasm2

    return qiskit.qasm2.loads(qasm, custom_instructions=qiskit.qasm2.LEGACY_CUSTOM_INSTRUCTIONS)


@functools.lru_cache(maxsize=None)
def reference_state(qasm: str) -> np.ndarray:
    """Exact statevector (global phase included) of a measurement-free circuit."""
    from qiskit.quantum_info import Statevector

    circuit = load_qasm_circuit(qasm).remove_final_measurements(inplace=False)
    return np.asarray(Statevector(circuit).data, dtype=np.complex128)


def fidelity(a: np.ndarray, b: np.ndarray) -> float:
    return float(abs(np.vdot(a, b)) ** 2 / (np.vdot(a, a).real * np.vdot(b, b).real))


def pauli_op(label: str, n: int):
    """SparsePauliOp of a qforge observable label such as "Z0 Z1" or "X0 Y2"."""
    from qiskit.quantum_info import SparsePauliOp

    paulis, qubits = "", []
    for token in label.replace("*", " ").split():
        paulis += token[0]
        qubits.append(int(token[1:]))
    return SparsePauliOp.from_sparse_list([(paulis, qubits, 1.0)], num_qubits=n)


def basis_probabilities(state: np.ndarray) -> np.ndarray:
    p = np.abs(state) ** 2
    return p / p.sum()
