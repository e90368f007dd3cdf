"""The operator's commands, run as a person would: a real process, a fresh data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from dagster_history import assert_fully_recorded, run_histories

CDW = [sys.executable, "-m", "orchestration.cli"]


def _cdw(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CDW_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    env.pop("DAGSTER_HOME", None)
    return subprocess.run([*CDW, *args], capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.e2e
def test_demo_simulates_loads_and_prints_the_top_figures(tmp_path: Path) -> None:
    done = _cdw(tmp_path, "demo", "--customers", "120", "--days", "2", "--seed", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Revenue per customer" in done.stdout
    assert (tmp_path / "serving.duckdb").exists()
    with duckdb.connect(str(tmp_path / "serving.duckdb"), read_only=True) as serving:
        (marts,) = serving.sql(
            "SELECT count(*) FROM information_schema.tables WHERE table_name <> '_published'"
        ).fetchall()[0]
    assert marts >= 15 and f"published {marts} marts" in done.stdout
    assert (tmp_path / "warehouse.duckdb").exists()
    assert (tmp_path / "ledger.sqlite").exists()
    assert list((tmp_path / "raw" / "erp" / "invoices").glob("load_date=*/part-0.parquet"))
    # The accounting table closes: no row marked as unaccounted.
    assert "✗" not in done.stdout
    # Dagster recorded the runs in full, in the storage `cdw` configures (the UI reads them).
    histories = run_histories(tmp_path / "dagster_home")
    assert [h.job_name for h in histories].count("daily_load") == 1
    for history in histories:
        assert history.storage == "PooledSqliteEventLogStorage"
        assert_fully_recorded(history)


def test_load_without_deliveries_fails_with_one_line_reason(tmp_path: Path) -> None:
    done = _cdw(tmp_path, "load")
    assert done.returncode == 1
    assert "no deliveries to load" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_load_rejects_a_malformed_date(tmp_path: Path) -> None:
    done = _cdw(tmp_path, "load", "--date", "2026-13-01")
    assert done.returncode == 1
    assert "is not a date" in done.stdout


def test_help_explains_every_command() -> None:
    done = subprocess.run([*CDW, "--help"], capture_output=True, text=True, check=True)
    for command in ("simulate", "load", "demo"):
        assert command in done.stdout
