"""Smoke test of the benchmark harness (benchmarks/): a tiny world through every phase, run
as `make bench` runs it (`python -m benchmarks.run`, from the repository root).

Timings are never asserted; only that every phase was measured and the table printed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MEASURED = (
    "simulate",
    "ingest",
    "dbt_parse",
    "dbt_build",
    "identity",
    "full_load",
    "bare_duckdb",
    "dbt_same_work",
    "dbt_identity_alone",
    "publish",
    "report",
    "publish_increment",
    "report_increment",
    "ingest_increment",
    "dbt_build_increment",
    "incremental_load",
)
SKIPPABLE = ("splink",)


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        # Generous: about 3 minutes alone, and more than 5 on a 2-core host busy with more.
        timeout=1200,
        check=False,
    )


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, str]:
    root = tmp_path_factory.mktemp("bench")
    results = root / "results"
    # dbt's tests are left out: the harness is under test here, not the warehouse.
    done = bench(
        "--customers",
        "200",
        "--work-dir",
        str(root / "work"),
        "--results-dir",
        str(results),
        "--dbt-exclude",
        "resource_type:test",
        "resource_type:unit_test",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [result_file] = results.glob("custom-200-*.json")
    return json.loads(result_file.read_text()), result_file, done.stdout


def test_every_phase_is_measured(bench_run: tuple[dict, Path, str]) -> None:
    result, _, _ = bench_run
    phases = result["phases"]
    for name in MEASURED:
        assert phases[name]["wall_s"] > 0, name
        assert phases[name]["peak_rss_bytes"] > 0, name
        assert phases[name]["returncode"] == 0, name
    for name in SKIPPABLE:
        assert "skipped" in phases[name] or phases[name]["wall_s"] > 0, name
    assert phases["identity"]["detail"]["models"], "no int_identity__* timings from dbt"
    assert phases["full_load"]["detail"]["parts"] == ["ingest", "dbt_build", "publish", "report"]
    assert phases["incremental_load"]["detail"]["parts"][-1] == "report_increment"
    assert result["sizes"]["after_full_load"]["raw_parquet_bytes"] > 0
    assert result["sizes"]["after_full_load"]["warehouse_bytes"] > 0


def test_ratios_and_targets_are_reported(bench_run: tuple[dict, Path, str]) -> None:
    result, _, _ = bench_run
    assert result["ratios"]["pipeline_over_bare"] > 0
    # None when a model it sums is missing (renamed): the like-for-like ratio went dark
    assert result["ratios"]["same_work_over_bare"] > 0
    assert result["ratios"]["same_work_alone_over_bare"] > 0
    assert result["ratios"]["incremental_share"] > 0
    verdicts = {row["target"]: row["verdict"] for row in result["targets"]}
    assert verdicts["full_load_time"] == "n/a (L only)"
    assert verdicts["incremental_share"] in ("pass", "miss")


def test_spark_is_not_in_the_default_run(bench_run: tuple[dict, Path, str]) -> None:
    """`make bench` stays on DuckDB; Spark's build is asked for with `--phases ... dbt_spark`."""
    result, _, _ = bench_run
    assert not [name for name in result["phases"] if name.endswith("_spark")]
    assert result["ratios"]["spark_over_duckdb_models"] is None


def test_the_table_prints_with_the_previous_result(bench_run: tuple[dict, Path, str]) -> None:
    _, result_file, stdout = bench_run
    for name in ("simulate", "dbt_build", "bare_duckdb", "incremental_load", "targets"):
        assert name in stdout
    earlier = result_file.with_name("custom-200-20000101T000000Z.json")
    shutil.copy(result_file, earlier)
    shown = bench("--show", str(result_file))
    assert shown.returncode == 0, shown.stderr
    assert f"previous: {earlier.name}" in shown.stdout
    assert "1.00x" in shown.stdout  # the same figures beside themselves
