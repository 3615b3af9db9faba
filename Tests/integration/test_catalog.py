"""End-to-end tests of the run catalog (issue 5): engine runs recorded in SQLite and through a
live `qforge catalog serve`, spool-and-sync while the server is down, budgets, CLI output."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import h5py
import pytest

from conftest import QFORGE_BIN, REPO_ROOT, assert_input_error, assert_ok, clean_env, describe, run_qforge

GHZ = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
h q[0];
cx q[0],q[1];
cx q[1],q[2];
measure q -> c;
"""


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "ghz.qasm").write_text(GHZ)
    return tmp_path


def env_for(work: Path, **extra) -> dict:
    base = {"QFORGE_SPOOL": str(work / "spool"), "QFORGE_CATALOG": None, "QFORGE_API_KEY": None}
    return clean_env(**{**base, **extra})


def catalog_json(work: Path, *args: str) -> list | dict:
    proc = assert_ok(run_qforge(["catalog", *args, "--db", work / "catalog.sqlite", "--format", "json"], env=env_for(work)))
    return json.loads(proc.stdout)


def sv(work: Path, *extra: str, env: dict | None = None, out: str = "ghz.h5") -> subprocess.CompletedProcess:
    return run_qforge(["sv", work / "ghz.qasm", "-o", work / out, "--shots", "100", "--quiet", *extra],
                      env=env or env_for(work), cwd=work)


def test_sv_run_recorded_in_sqlite_with_slurm_fields(work: Path):
    env = env_for(work, SLURM_JOB_ID="4242", SLURM_ARRAY_JOB_ID="4240", SLURM_ARRAY_TASK_ID="2",
                  SLURM_JOB_PARTITION="batch", SLURM_JOB_NUM_NODES="1", SLURM_JOB_ACCOUNT="chem", SLURM_JOB_USER="ada")
    assert_ok(sv(work, "--catalog", str(work / "catalog.sqlite"), env=env))
    runs = catalog_json(work, "runs")
    assert len(runs) == 1, runs
    run = runs[0]
    data = (work / "ghz.h5").read_bytes()
    with h5py.File(work / "ghz.h5") as f:
        file_run_id = f.attrs["run_id"]
        file_run_id = file_run_id.decode() if isinstance(file_run_id, bytes) else str(file_run_id)
    assert run["id"] == file_run_id
    assert run["state"] == "completed" and run["exit_code"] == 0
    assert run["account"] == "chem" and run["user"] == "ada" and run["launcher"] == "slurm"
    assert (run["slurm_job_id"], run["slurm_array_job_id"], run["slurm_array_task_id"]) == ("4242", "4240", "2")
    assert run["partition"] == "batch" and run["nodes"] == 1 and run["ranks"] == 1
    assert run["result_size"] == len(data)
    assert run["result_sha256"] == hashlib.sha256(data).hexdigest()
    assert Path(run["result_path"]) == (work / "ghz.h5").resolve()
    assert run["metrics"] == {"qubits": 3, "gates": 6, "shots": 100}
    assert run["app"] == "qforge-statevector" and run["elapsed_ms"] >= 0
    assert run["started_at"] <= run["ended_at"]


def test_default_account_and_failed_run(work: Path):
    (work / "bad.qasm").write_text("OPENQASM 2.0;\nqreg q[2];\nfoo q[0];\n")
    db = str(work / "catalog.sqlite")
    proc = run_qforge(["sv", work / "bad.qasm", "-o", work / "bad.h5", "--catalog", db], env=env_for(work), cwd=work)
    assert_input_error(proc, work / "bad.h5")
    assert_ok(sv(work, "--catalog", db))
    runs = {r["state"]: r for r in catalog_json(work, "runs")}
    assert runs["failed"]["exit_code"] == 2 and runs["failed"]["account"] == "default"
    assert runs["completed"]["account"] == "default"


def test_run_command_records_and_account_flag(work: Path):
    (work / "job.toml").write_text('kind = "statevector"\ncircuit = "ghz.qasm"\nshots = 10\n')
    proc = run_qforge(["run", work / "job.toml", "-o", work / "job.h5", "--quiet", "--account", "phys",
                       "--catalog", work / "catalog.sqlite"], env=env_for(work, SLURM_JOB_ACCOUNT="chem"), cwd=work)
    assert_ok(proc)
    [run] = catalog_json(work, "runs")
    assert run["account"] == "phys" and run["metrics"]["shots"] == 10


@pytest.mark.mpi
def test_mpirun_run_recorded_once(work: Path):
    proc = run_qforge(["sv", work / "ghz.qasm", "-o", work / "ghz.h5", "--quiet", "--catalog", work / "catalog.sqlite"],
                      ranks=2, env=env_for(work), cwd=work)
    assert_ok(proc)
    [run] = catalog_json(work, "runs")
    assert run["ranks"] == 2 and run["launcher"] == "mpirun" and run["state"] == "completed"
    assert run["core_hours"] is not None


def test_costs_budget_warning_and_enforcement(work: Path):
    db = ["--db", str(work / "catalog.sqlite")]
    e = env_for(work)
    assert_ok(run_qforge(["catalog", "accounts", "set", "chem", "--budget", "1.00", *db], env=e))
    assert_ok(run_qforge(["catalog", "rates", "add", "--core-hour", "0.50", "--from", "2020-01-01", *db], env=e))
    # One core for one hour is estimated at 0.50 of the 1.00 budget: fine. Two hours would not fit.
    ok = assert_ok(sv(work, "--catalog", str(work / "catalog.sqlite"), "--account", "chem", "--time-limit", "1:00:00",
                      "--enforce-budget"))
    assert "warning" not in ok.stderr
    refused = sv(work, "--catalog", str(work / "catalog.sqlite"), "--account", "chem", "--time-limit", "3:00:00",
                 "--enforce-budget", out="refused.h5")
    assert refused.returncode == 1, describe(refused)
    assert "budget" in refused.stderr and "--enforce-budget" in refused.stderr
    assert not (work / "refused.h5").exists()
    warned = assert_ok(sv(work, "--catalog", str(work / "catalog.sqlite"), "--account", "chem", "--time-limit", "2:00:00",
                          out="warned.h5"))
    assert "qforge: warning: account 'chem' has used" in warned.stderr
    [usage] = catalog_json(work, "usage", "--account", "chem")
    assert usage["budget_cents"] == 100 and usage["runs"] == 2
    assert usage["used_cents"] + usage["remaining_cents"] == 100
    runs = catalog_json(work, "runs", "--account", "chem")
    assert {r["estimated_cost_cents"] for r in runs} == {50, 100}


def test_cli_formats_filters_and_invoice(work: Path):
    db = str(work / "catalog.sqlite")
    for acct in ("chem", "phys", "chem"):
        assert_ok(sv(work, "--catalog", db, "--account", acct))
    e = env_for(work)
    table = assert_ok(run_qforge(["catalog", "runs", "--db", db, "--account", "chem"], env=e)).stdout.splitlines()
    assert table[0].split()[:3] == ["id", "app", "account"] and len(table) == 3
    rows = list(csv.DictReader(io.StringIO(assert_ok(run_qforge(["catalog", "runs", "--db", db, "--format", "csv", "--state", "completed"], env=e)).stdout)))
    assert len(rows) == 3 and {r["account"] for r in rows} == {"chem", "phys"}
    assert catalog_json(work, "runs", "--since", "2999-01-01") == []
    for evil in ("'; DROP TABLE runs; --", "\" OR 1=1 --"):
        assert catalog_json(work, "runs", "--account", evil, "--app", evil) == []
    assert len(catalog_json(work, "runs")) == 3
    month = time.strftime("%Y-%m", time.gmtime())
    invoice = catalog_json(work, "invoice", "--account", "chem", "--month", month)
    assert invoice["status"] == "draft"
    bad = run_qforge(["catalog", "runs", "--db", db, "--state", "exploded"], env=e)
    assert_input_error(bad)
    bad = run_qforge(["catalog", "invoice", "--db", db, "--account", "chem", "--month", "2026-13"], env=e)
    assert_input_error(bad)
    apps = catalog_json(work, "apps")
    assert apps[0]["name"] == "qforge-statevector"


# --------------------------------------------------------------------------------------------
# Live server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, db: Path, port: int):
        self.db, self.port = db, port
        self.proc: subprocess.Popen | None = None

    def start(self):
        self.proc = subprocess.Popen([str(QFORGE_BIN), "catalog", "serve", "--db", str(self.db), "--port", str(self.port)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1)
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise AssertionError(f"server exited: {self.proc.stderr.read()}")
                time.sleep(0.1)
        raise AssertionError("server did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, token: str):
        req = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())


def make_key(db: Path, work: Path, role: str, *accounts: str) -> str:
    args = ["catalog", "keys", "create", "--db", db, "--role", role, "--name", role]
    for a in accounts:
        args += ["--account", a]
    return assert_ok(run_qforge(args, env=env_for(work))).stdout.strip()


def test_live_server_records_and_spool_sync(work: Path):
    db = work / "server.sqlite"
    server = Server(db, free_port()).start()
    try:
        admin = make_key(db, work, "admin")
        recorder = make_key(db, work, "recorder", "chem")
        env = env_for(work, QFORGE_API_KEY=recorder)
        assert_ok(sv(work, "--catalog", server.url, "--account", "chem", env=env))
        page = server.get("/api/v1/runs?account=chem", admin)
        assert [r["state"] for r in page["items"]] == ["completed"]
        assert page["items"][0]["result_sha256"] == hashlib.sha256((work / "ghz.h5").read_bytes()).hexdigest()

        # Server down: the run still succeeds, quickly, and its record waits in the spool.
        server.stop()
        t0 = time.time()
        proc = assert_ok(sv(work, "--catalog", server.url, "--account", "chem", env=env, out="down.h5"))
        assert time.time() - t0 < 15
        assert "spooled" in proc.stderr
        spooled = list((work / "spool").glob("*.json"))
        assert len(spooled) == 1

        server.start()
        sync = assert_ok(run_qforge(["catalog", "sync", "--catalog", server.url], env=env, cwd=work))
        assert "delivered 1" in sync.stdout, describe(sync)
        again = assert_ok(run_qforge(["catalog", "sync", "--catalog", server.url], env=env, cwd=work))
        assert "delivered 0" in again.stdout
        items = server.get("/api/v1/runs?limit=100", admin)["items"]
        assert len(items) == 2 and len({r["id"] for r in items}) == 2
        assert all(r["state"] == "completed" for r in items)
        # A recorder key for another account is refused; the run itself is unaffected.
        other = make_key(db, work, "recorder", "phys")
        proc = assert_ok(sv(work, "--catalog", server.url, "--account", "chem", env=env_for(work, QFORGE_API_KEY=other), out="x.h5"))
        assert "HTTP 403" in proc.stderr
        metrics = urllib.request.urlopen(f"{server.url}/metrics", timeout=5).read().decode()
        assert 'qforge_catalog_runs{state="completed"} 2' in metrics
    finally:
        server.stop()


# --------------------------------------------------------------------------------------------
# PostgreSQL: the same catalog in a real server (started on loopback by scripts/start-postgres)


@pytest.fixture(scope="module")
def postgres_url():
    given = os.environ.get("QFORGE_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    proc = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "start-postgres")], capture_output=True, text=True, timeout=300)
    found = dict(line[len("export "):].split("=", 1) for line in proc.stdout.splitlines() if line.startswith("export "))
    if proc.returncode != 0 or "QFORGE_TEST_POSTGRES_URL" not in found:
        pytest.skip(f"PostgreSQL unavailable: scripts/start-postgres exited {proc.returncode}: {proc.stderr.strip()}")
    try:
        yield found["QFORGE_TEST_POSTGRES_URL"]
    finally:
        subprocess.run(["bash", str(REPO_ROOT / "scripts" / "start-postgres"), "stop", found["PGDATA_DIR"]], timeout=60)


@pytest.fixture
def pg_catalog(postgres_url: str) -> str:
    """A fresh schema of its own, as a catalog URL."""
    schema = "py_" + os.urandom(6).hex()
    subprocess.run(["psql", "-q", postgres_url, "-c", f"CREATE SCHEMA {schema}"], check=True, capture_output=True, timeout=30)
    return f"{postgres_url}?search_path={schema}"


def test_postgres_catalog_end_to_end(work: Path, pg_catalog: str):
    env = env_for(work, QFORGE_CATALOG=pg_catalog)
    assert_ok(run_qforge(["catalog", "rates", "add", "--core-hour", "3600", "--from", "2020-01-01"], env=env))
    assert_ok(sv(work, "--account", "chem", env=env))  # recorded through $QFORGE_CATALOG
    proc = assert_ok(run_qforge(["catalog", "runs", "--db", pg_catalog, "--format", "json"], env=env_for(work)))
    [run] = json.loads(proc.stdout)
    assert run["state"] == "completed" and run["account"] == "chem"
    assert run["result_sha256"] == hashlib.sha256((work / "ghz.h5").read_bytes()).hexdigest()
    # 3600 per core-hour is one per core-second: the charge is the elapsed milliseconds / 10, rounded.
    assert run["cost_cents"] == (run["elapsed_ms"] * run["ranks"] * run["threads"] + 5) // 10
    assert not (work / "results" / "catalog.sqlite").exists() and not (work / "catalog.sqlite").exists()

    # The HTTP service over the same PostgreSQL catalog.
    admin = assert_ok(run_qforge(["catalog", "keys", "create", "--db", pg_catalog, "--role", "admin"], env=env_for(work))).stdout.strip()
    port = free_port()
    server = subprocess.Popen([str(QFORGE_BIN), "catalog", "serve", "--db", pg_catalog, "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
    try:
        srv = Server(work / "unused.sqlite", port)
        srv.proc = server
        deadline = time.time() + 20
        while True:
            try:
                urllib.request.urlopen(f"{srv.url}/healthz", timeout=1)
                break
            except OSError:
                assert server.poll() is None and time.time() < deadline, server.stderr.read() if server.poll() is not None else "no start"
                time.sleep(0.1)
        assert srv.get(f"/api/v1/runs/{run['id']}", admin)["cost_cents"] == run["cost_cents"]
        usage = srv.get("/api/v1/accounts/chem", admin)
        assert usage["used_cents"] == run["cost_cents"] and usage["runs"] == 1
    finally:
        srv.stop()

    bad = run_qforge(["catalog", "runs", "--db", "postgres://127.0.0.1/nouser"], env=env_for(work))
    assert_input_error(bad)
    down = run_qforge(["catalog", "runs", "--db", "postgres://qforge@127.0.0.1:1/none"], env=env_for(work))
    assert down.returncode == 1 and "cannot open catalog" in down.stderr and "Traceback" not in down.stderr
