"""Crash safety and concurrency of `cdw load`, run as real processes on a tiny simulated world.

A load killed with SIGKILL at several points and then re-run ends in exactly the state of an
uninterrupted load (ledger, raw partitions, quarantine, serving marts); two loads started together
on one data directory both succeed; a reader querying serving.duckdb during a load never fails.
The re-run after the kills is those two loads at once, so every proof costs one test: one
uninterrupted load (the reference) and one killed-and-rerun data directory.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest
from dagster_history import assert_fully_recorded, run_histories

CDW = [sys.executable, "-m", "orchestration.cli"]
pytestmark = pytest.mark.e2e
# Generous: two loads serialised on the writer lock, on a busy 2-core machine.
LOAD_TIMEOUT_S = 1500


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from simulator import simulate

    root = tmp_path_factory.mktemp("crash") / "world"
    simulate(root, customers=80, days=1, seed=9)
    return root


def _copy(world: Path, target: Path) -> Path:
    shutil.copytree(world, target)
    return target


def _env(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "CDW_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    env.pop("DAGSTER_HOME", None)
    return env


def _start(data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CDW, "load"], env=_env(data_dir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip


def _load(data_dir: Path) -> None:
    proc = _start(data_dir)
    out, _ = proc.communicate(timeout=LOAD_TIMEOUT_S)
    assert proc.returncode == 0, out


def _kill_when(data_dir: Path, ready: Callable[[], bool], timeout_s: float = 120) -> bool:
    """Start a load, SIGKILL its whole process group once ready() holds; False if it finished."""
    proc = _start(data_dir)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None and not ready():
        time.sleep(0.05)
    finished = proc.poll() is not None
    if not finished:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    return not finished


def _ledger_files(data_dir: Path) -> int:
    path = data_dir / "ledger.sqlite"
    if not path.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute("SELECT count(*) FROM landed_files").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def _table_digest(path: Path) -> tuple[int, str]:
    table = pq.read_table(path)
    table = table.drop_columns([c for c in table.column_names if c == "_loaded_at"])
    rows = sorted(repr(sorted(r.items())) for r in table.to_pylist())
    return table.num_rows, hashlib.sha256("\n".join(rows).encode()).hexdigest()


def _state(data_dir: Path) -> dict[str, object]:
    from orchestration.ledger import Ledger

    ledger = sorted(
        (r.path, r.outcome, r.rows_read, r.rows_loaded, r.rows_quarantined, r.partition_date)
        for r in Ledger(data_dir / "ledger.sqlite").files()
    )
    raw = {
        p.relative_to(data_dir).as_posix(): _table_digest(p)
        for p in sorted((data_dir / "raw").rglob("*.parquet"))
    }
    quarantine = {
        p.relative_to(data_dir).as_posix(): pq.read_metadata(p).num_rows
        for p in sorted((data_dir / "quarantine").rglob("*.parquet"))
    }
    con = duckdb.connect(str(data_dir / "serving.duckdb"), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "ORDER BY 1").fetchall()]  # fmt: skip
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        fct = next(t for t in tables if t.endswith(".fct_revenue"))
        revenue = con.execute(
            f"SELECT sum(amount), sum(amount_reporting), "
            f"sum(hash(revenue_line_id, amount_reporting)) FROM {fct}"
        ).fetchone()
    finally:
        con.close()
    return {"ledger": ledger, "raw": raw, "quarantine": quarantine, "serving": counts,
            "revenue": revenue}  # fmt: skip


def _leftovers(data_dir: Path) -> list[str]:
    return [
        p.relative_to(data_dir).as_posix() for p in data_dir.rglob("*")
        if ".tmp" in p.name and "warehouse.duckdb.tmp" not in p.as_posix()
        and not p.relative_to(data_dir).as_posix().startswith(("landing", "dagster_home"))
    ]  # fmt: skip


@pytest.fixture(scope="module")
def reference(world: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    a = _copy(world, tmp_path_factory.mktemp("a") / "data")
    _load(a)
    assert _leftovers(a) == []
    return _state(a)


def test_killed_loads_converge_when_rerun_twice_at_once_with_a_reader(
    world: Path, reference: dict[str, object], tmp_path: Path
) -> None:
    """SIGKILL at three points, then the re-run is two loads started together on the same data
    directory while a reader polls serving.duckdb: both succeed without a lock error, the reader
    never fails (the second load's publish swaps the file under it), and the end state is exactly
    the uninterrupted load's.

    One re-run pair instead of a re-run and a separate concurrency world: the same proofs with
    two dbt builds fewer (the slow part of every load).
    """
    b = _copy(world, tmp_path / "data")
    started = time.monotonic()
    kills = [
        _kill_when(b, lambda: time.monotonic() - started > 1.5),
        _kill_when(b, lambda: _ledger_files(b) > 0),
        _kill_when(b, lambda: (b / "warehouse.duckdb").exists() and _ledger_files(b) > 0),
    ]
    assert any(kills), "every load finished before it could be killed"
    assert not (b / "serving.duckdb").exists(), "a killed load must not have published"

    reader = _Reader(b / "serving.duckdb")
    reader.start()
    try:
        first, second = _start(b), _start(b)
        outs = [p.communicate(timeout=LOAD_TIMEOUT_S)[0] for p in (first, second)]
    finally:
        reader.stop()
    for proc, out in zip((first, second), outs, strict=True):
        assert proc.returncode == 0, out
        assert "Could not set lock" not in out, out
    assert reader.errors == [] and reader.queries > 0
    # The reader was querying when the other load's publish replaced the file.
    assert len(reader.files_seen) >= 2, reader.files_seen
    assert _state(b) == reference
    assert _leftovers(b) == []
    # Dagster's history of it all: the killed runs marked failed, and every run that succeeded
    # recorded in full: the two builds of the loads at once, their two ingest runs of the first
    # date, and any a killed load finished before its kill.
    histories = run_histories(b / "dagster_home")
    ended = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE}
    assert {h.status for h in histories} <= ended
    succeeded = [h for h in histories if h.status == dg.DagsterRunStatus.SUCCESS]
    jobs = Counter(h.job_name for h in succeeded)
    assert jobs["daily_load"] == 2 and jobs["ingest_load_date"] >= 2, jobs
    for history in succeeded:
        assert_fully_recorded(history)


class _Reader:
    """Polls serving.duckdb read-only, every table, from its first publish on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[str] = []
        self.queries = 0
        self.files_seen: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                inode = self.path.stat().st_ino
            except FileNotFoundError:
                time.sleep(0.05)  # nothing published yet: nothing to read
                continue
            try:
                self._query_all()
                self.files_seen.add(inode)
                self.queries += 1
            except Exception as error:
                self.errors.append(repr(error))
            time.sleep(0.02)

    def _query_all(self) -> None:
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            tables = con.execute(
                "SELECT table_schema, table_name FROM information_schema.tables"
            ).fetchall()
            for schema, name in tables:
                con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()
        finally:
            con.close()
