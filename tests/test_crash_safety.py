"""Crash safety and concurrency of `cdw load`, run as real processes on a tiny simulated world.

A load killed with SIGKILL at several points and then re-run ends in exactly the state of an
uninterrupted load (ledger, raw partitions, quarantine, serving marts); two loads started together
on one data directory both succeed; a reader querying serving.duckdb during a load never fails.
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
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

CDW = [sys.executable, "-m", "orchestration.cli"]
pytestmark = pytest.mark.e2e


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
    out, _ = proc.communicate(timeout=600)
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
        if ".tmp" in p.name and "duckdb_tmp" not in p.as_posix()
        and not p.relative_to(data_dir).as_posix().startswith(("landing", "dagster_home"))
    ]  # fmt: skip


@pytest.fixture(scope="module")
def reference(world: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    a = _copy(world, tmp_path_factory.mktemp("a") / "data")
    _load(a)
    assert _leftovers(a) == []
    return _state(a)


def test_a_load_killed_at_several_points_converges_on_a_rerun(
    world: Path, reference: dict[str, object], tmp_path: Path
) -> None:
    b = _copy(world, tmp_path / "data")
    started = time.monotonic()
    kills = [
        _kill_when(b, lambda: time.monotonic() - started > 1.5),
        _kill_when(b, lambda: _ledger_files(b) > 0),
        _kill_when(b, lambda: (b / "warehouse.duckdb").exists() and _ledger_files(b) > 0),
    ]
    assert any(kills), "every load finished before it could be killed"
    _load(b)
    assert _state(b) == reference
    assert _leftovers(b) == []


def test_two_loads_at_once_and_a_reader_during_them(
    world: Path, reference: dict[str, object], tmp_path: Path
) -> None:
    c = _copy(world, tmp_path / "data")
    _load(c)  # a first serving state for the reader
    errors: list[str] = []
    queries = 0
    stop = threading.Event()

    def read() -> None:
        nonlocal queries
        while not stop.is_set():
            try:
                con = duckdb.connect(str(c / "serving.duckdb"), read_only=True)
                try:
                    con.execute("SELECT count(*) FROM information_schema.tables").fetchone()
                    for (schema, name) in con.execute(
                        "SELECT table_schema, table_name FROM information_schema.tables"
                    ).fetchall():
                        con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()
                finally:
                    con.close()
                queries += 1
            except Exception as error:
                errors.append(repr(error))
            time.sleep(0.02)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        first, second = _start(c), _start(c)
        outs = [p.communicate(timeout=600)[0] for p in (first, second)]
    finally:
        stop.set()
        reader.join(timeout=30)
    for proc, out in zip((first, second), outs, strict=True):
        assert proc.returncode == 0, out
        assert "lock" not in out.lower() or "Could not set lock" not in out, out
    assert errors == [] and queries > 0
    assert _state(c) == reference
    assert _leftovers(c) == []
