"""Write-audit-publish: the serving file and exports equal the audited marts, swaps are atomic
for readers, and a failed blocking check leaves the last good serving state untouched."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest
from conftest import LoadedWorld, pipeline_environment
from test_operations import cdw

from orchestration.contracts import load_contracts
from orchestration.freshness import freshness_as_of
from orchestration.loads import LoadReport, run_load
from orchestration.publish import AuditFailed, last_published, publish, read_build
from orchestration.publish_assets import (
    SERVING_KEY,
    audit_run,
    audited_check_keys,
    audited_check_names,
    mart_keys,
    run_check_evaluations,
)
from orchestration.settings import Settings

MARTS = {
    "dim_customers",
    "bridge_customer_source",
    "fct_revenue",
    "mart_revenue_per_customer",
    "mart_customer_retention",
}


def _checksum(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[int, str]:
    """Row count and an order-independent checksum of every row's full text."""
    return con.execute(
        f"select count(*), md5(coalesce(string_agg(h, '' order by h), '')) "
        f"from (select md5(cast(t as varchar)) as h from {relation} t)"
    ).fetchone()


def _warehouse_sums(settings: Settings) -> dict[str, tuple[int, str]]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts'"
            ).fetchall()
        ]
        return {name: _checksum(con, f'marts."{name}"') for name in names}


@pytest.fixture()
def world_copy(loaded_world: LoadedWorld, tmp_path: Path) -> Settings:
    data_dir = tmp_path / "data"
    shutil.copytree(
        loaded_world.settings.data_dir,
        data_dir,
        symlinks=True,
        ignore=shutil.ignore_patterns("*.lock", "landing", "truth"),
    )
    return Settings(data_dir=data_dir)


def test_mart_keys_come_from_the_dbt_graph() -> None:
    assert {key.path[-1] for key in mart_keys()} >= MARTS
    assert all(key.path[0] == "marts" for key in mart_keys())
    # dagster-dbt declares every error-severity dbt test blocking; the audit covers the marts'
    # own tests and their upstream models' tests.
    audited = audited_check_keys()
    assert any(k.asset_key.path[0] == "staging" for k in audited)
    assert any(k.asset_key.path[0] == "marts" for k in audited)


def test_daily_load_published_the_marts(loaded_world: LoadedWorld) -> None:
    settings = loaded_world.settings
    assert settings.serving_path.exists(), "the daily_load run should have published"
    assert settings.exports_dir.is_symlink()
    expected = _warehouse_sums(settings)
    with duckdb.connect(str(settings.serving_path), read_only=True) as con:
        assert {name: _checksum(con, f'main."{name}"') for name in expected} == expected


def test_publish_copies_marts_and_exports_exactly(world_copy: Settings) -> None:
    result = publish(world_copy, checks_passed=3)
    expected = _warehouse_sums(world_copy)
    assert set(expected) >= MARTS
    assert result.row_counts == {name: count for name, (count, _) in expected.items()}
    with duckdb.connect(str(world_copy.serving_path), read_only=True) as con:
        served = {name: _checksum(con, f'main."{name}"') for name in expected}
        published = con.execute(
            "select mart, row_count, len(load_dates), checks_passed from _published"
        ).fetchall()
        for name in expected:
            parquet = world_copy.exports_dir / f"{name}.parquet"
            assert _checksum(con, f"read_parquet('{parquet}')") == expected[name], name
            assert pq.read_metadata(parquet).num_rows == expected[name][0]
    assert served == expected
    assert {(m, n, c) for m, n, _, c in published} == {
        (name, count, 3) for name, (count, _) in expected.items()
    }
    assert all(days == len(result.load_dates) > 0 for _, _, days, _ in published)
    state = last_published(world_copy)
    assert state.row_counts == result.row_counts and state.published_at == result.published_at
    assert state.last_load_date == result.load_dates[-1]
    # No temporary files left behind; exports is a symlink to a generation; two generations kept.
    publish(world_copy)
    publish(world_copy)
    data = world_copy.data_dir
    assert not list(data.glob("*.tmp")) and not list(data.glob("*.link"))
    assert len([p for p in data.glob("exports-*") if p.is_dir()]) == 2
    assert (data / "exports").resolve().parent == data


READER = textwrap.dedent(
    """
    import sys, time, duckdb
    path, seconds, reconnect = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "reconnect"
    con = duckdb.connect(path, read_only=True)
    print("ready", flush=True)
    deadline = time.monotonic() + seconds
    queries = 0
    while time.monotonic() < deadline:
        if reconnect:  # a new reader each time: it must find a whole file, old or new
            con.close()
            con = duckdb.connect(path, read_only=True)
        con.execute("select count(*), sum(hash(c)) from dim_customers c").fetchone()
        con.execute("select * from _published").fetchall()
        queries += 1
    print(queries, flush=True)
    """
)


def test_readers_keep_querying_while_publish_swaps(world_copy: Settings) -> None:
    publish(world_copy)
    first = world_copy.serving_path.stat().st_ino
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(world_copy.serving_path), "3", mode],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for mode in ("hold", "reconnect")
    ]
    for reader in readers:
        assert reader.stdout.readline().strip() == "ready"
    publish(world_copy)
    publish(world_copy)
    for reader in readers:
        out, err = reader.communicate(timeout=30)
        assert reader.returncode == 0, err
        assert int(out.strip()) > 0
    assert world_copy.serving_path.stat().st_ino != first
    # A reader that opens now sees the newest publish.
    with duckdb.connect(str(world_copy.serving_path), read_only=True) as con:
        assert con.execute("select count(distinct published_at) from _published").fetchone() == (1,)


def test_failed_audit_names_the_check_and_publishes_nothing(world_copy: Settings) -> None:
    publish(world_copy)
    before = world_copy.serving_path.read_bytes()
    exports_before = (world_copy.data_dir / "exports").resolve()
    required = audited_check_keys()
    key = sorted(k for k in required if k.asset_key.path[0] == "marts")[0]
    failing = dg.AssetCheckEvaluation(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=False,
        severity=dg.AssetCheckSeverity.ERROR,
        blocking=True,
    )
    with pytest.raises(AuditFailed, match=key.name) as failed:
        audit_run([failing], required)
    assert f"{key.asset_key.to_user_string()}:{key.name}" in failed.value.failed_checks
    # A check that never ran counts as not passed, too.
    with pytest.raises(AuditFailed, match="not evaluated in this run"):
        audit_run([], required)
    # The asset itself, run alone (no dbt build, so no check evaluations in its run), refuses.
    from orchestration.publish_assets import serving_marts
    from orchestration.resources import WarehouseConfig

    alone = dg.materialize(
        [serving_marts],
        resources={"warehouse": WarehouseConfig(data_dir=str(world_copy.data_dir))},
        raise_on_error=False,
    )
    assert not alone.success
    assert "AuditFailed" in str(alone.get_step_failure_events()[0].step_failure_data.error)
    assert world_copy.serving_path.read_bytes() == before
    assert (world_copy.data_dir / "exports").resolve() == exports_before


def test_a_failed_blocking_check_alone_skips_downstream() -> None:
    """Dagster's side of the trap: a blocking ERROR check that fails without any exception (as
    dagster-dbt would yield with raise_on_error=False) still fails its step and skips what follows.
    """
    spec = dg.AssetCheckSpec("always_fails", asset="model", blocking=True)

    @dg.asset(check_specs=[spec])
    def model():
        yield dg.Output(1)
        yield dg.AssetCheckResult(check_name="always_fails", passed=False)

    @dg.asset(deps=[model])
    def published() -> None:
        raise AssertionError("must not run")

    result = dg.materialize([model, published], raise_on_error=False)
    assert not result.success
    assert [e.step_key for e in result.get_step_failure_events()] == ["model"]
    assert dg.AssetKey("published") not in {
        e.asset_key for e in result.get_asset_materialization_events()
    }


def _null_the_keys_of_a_raw_partition(settings: Settings) -> None:
    """No account_id in one raw partition: the staging model's not_null key test must fail."""
    import pyarrow as pa

    part = sorted(settings.raw_dir.glob("crm/accounts/load_date=*/*.parquet"))[0]
    table = pq.read_table(part)
    column = table.schema.get_field_index("account_id")
    nulls = pa.nulls(table.num_rows, table.schema.field(column).type)
    field = table.schema.field(column).with_nullable(True)
    pq.write_table(table.set_column(column, field, nulls), part)


def test_blocking_dbt_check_stops_the_publish_end_to_end(world_copy: Settings) -> None:
    from orchestration.definitions import defs
    from orchestration.loads import QUIET

    publish(world_copy)
    before = world_copy.serving_path.read_bytes()
    _null_the_keys_of_a_raw_partition(world_copy)
    with pipeline_environment(world_copy.data_dir), dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("build_warehouse").execute_in_process(
            instance=instance, run_config=QUIET, raise_on_error=False
        )
        failed = [
            e
            for e in result.get_asset_check_evaluations()
            if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
        ]
        assert failed, "the null keys should fail a blocking dbt test"
        assert all(e.blocking for e in failed), "dagster-dbt should mark error tests blocking"
        assert not result.success
        step_failures = result.get_step_failure_events()
        assert [e.step_key for e in step_failures] == ["warehouse_models"]
        # dbt exits 1 on an error-severity test failure, so dagster-dbt fails the step even
        # before Dagster's own blocking-check handling would; the serving step never starts.
        assert "not_null_stg_crm__accounts_account_id" in str(step_failures[0].step_failure_data)
        materialized = {e.asset_key for e in result.get_asset_materialization_events()}
        assert SERVING_KEY not in materialized
        assert "serving_marts" not in {
            e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_START
        }
        # The audit over this run's event log names the failed check, too.
        with pytest.raises(AuditFailed, match=failed[0].check_name):
            audit_run(run_check_evaluations(instance, result.run_id), audited_check_keys())
    assert world_copy.serving_path.read_bytes() == before
    # `cdw publish` audits the recorded build, finds the failed check and refuses in one line.
    code, output = cdw(world_copy, "publish")
    assert code == 1
    assert "not_null_stg_crm__accounts_account_id" in output and "blocking" in output
    assert world_copy.serving_path.read_bytes() == before


# ------------------------------------------------------------------------- republishing alone


def test_cdw_publish_republishes_the_last_audited_build(world_copy: Settings) -> None:
    record = read_build(world_copy)
    assert record is not None and record.completed and record.failed_blocking == ()
    assert audited_check_names() <= set(record.passed_checks)
    # Serving and every export generation lost: republish without rebuilding.
    for generation in world_copy.data_dir.glob("exports-*"):
        shutil.rmtree(generation)
    world_copy.exports_dir.unlink()
    world_copy.serving_path.unlink()
    warehouse_before = world_copy.warehouse_path.stat().st_mtime_ns
    code, output = cdw(world_copy, "publish")
    assert code == 0, output
    assert "published" in output
    expected = _warehouse_sums(world_copy)
    with duckdb.connect(str(world_copy.serving_path), read_only=True) as con:
        assert {name: _checksum(con, f'main."{name}"') for name in expected} == expected
        for name in expected:
            parquet = world_copy.exports_dir / f"{name}.parquet"
            assert _checksum(con, f"read_parquet('{parquet}')") == expected[name], name
        (checks_passed,) = con.execute("select distinct checks_passed from _published").fetchone()
    assert checks_passed == len(audited_check_names())
    assert world_copy.warehouse_path.stat().st_mtime_ns == warehouse_before  # nothing rebuilt


def test_cdw_publish_refuses_when_the_warehouse_changed_since_the_build(
    world_copy: Settings,
) -> None:
    before = world_copy.serving_path.read_bytes()
    with duckdb.connect(str(world_copy.warehouse_path)) as con:
        con.execute("create table main.changed_by_hand as select 1 as x")
    code, output = cdw(world_copy, "publish")
    assert code == 1
    assert "the warehouse changed since the build" in output
    assert len(output.strip().splitlines()) <= 2  # one reason (rich may wrap it once)
    assert world_copy.serving_path.read_bytes() == before


# ------------------------------------------------------------------------- source freshness


@pytest.fixture()
def world_with_landing(loaded_world: LoadedWorld, tmp_path: Path) -> Settings:
    data_dir = tmp_path / "data"
    shutil.copytree(
        loaded_world.settings.data_dir,
        data_dir,
        symlinks=True,
        ignore=shutil.ignore_patterns("*.lock", "truth", "dagster_home"),
    )
    return Settings(data_dir=data_dir)


CRM_ENTITIES = ("accounts", "contacts", "contact_preferences")


def _crm_stops_delivering(settings: Settings, days: list[date]) -> None:
    """As if crm had delivered nothing on these load dates (nothing landed, nothing in raw)."""
    for day in days:
        shutil.rmtree(settings.landing_dir / "crm" / day.isoformat())
        for entity in CRM_ENTITIES:
            shutil.rmtree(settings.raw_dir / "crm" / entity / f"load_date={day.isoformat()}")


def _crm_days(settings: Settings) -> list[date]:
    return sorted(date.fromisoformat(p.name) for p in settings.landing_dir.glob("crm/*"))


def _load(settings: Settings, day: date) -> LoadReport:
    with pipeline_environment(settings.data_dir), dg.DagsterInstance.ephemeral() as instance:
        return run_load([day], instance=instance)


def _freshness_messages(messages: tuple[str, ...]) -> dict[str, str]:
    return {m.split()[1]: m for m in messages if ":freshness failed" in m}


def test_a_source_stale_beyond_error_after_blocks_the_publish(
    world_with_landing: Settings,
) -> None:
    settings = world_with_landing
    days = _crm_days(settings)
    serving_before = settings.serving_path.read_bytes()
    warehouse_before = settings.warehouse_path.stat().st_mtime_ns
    _crm_stops_delivering(settings, days[-2:])  # two days missed: 72 h old > error_after 54 h
    report = _load(settings, days[-1])
    assert not report.succeeded
    failed = _freshness_messages(report.failures)
    assert set(failed) == {f"raw/crm/{entity}:freshness" for entity in CRM_ENTITIES}
    assert f"latest delivery {days[-3]}, 72 h old" in failed["raw/crm/accounts:freshness"]
    # The other sources delivered: no freshness failure or warning for them.
    assert not _freshness_messages(report.warnings)
    # Blocked: dbt did not run, serving and exports are what they were.
    assert settings.warehouse_path.stat().st_mtime_ns == warehouse_before
    assert settings.serving_path.read_bytes() == serving_before
    judged = {
        (f.system, f.entity): f.state for f in freshness_as_of(settings, load_contracts(), days[-1])
    }
    assert judged[("crm", "accounts")] == "error" and judged[("erp", "invoices")] == "ok"
    code, output = cdw(settings, "status")
    assert code == 0, output
    assert "error (blocks publish) crm/accounts: latest delivery" in output


def test_a_source_stale_beyond_warn_after_publishes_with_a_warning(
    world_with_landing: Settings,
) -> None:
    settings = world_with_landing
    days = _crm_days(settings)
    published_before = last_published(settings).published_at
    _crm_stops_delivering(settings, days[-1:])  # one day missed: 48 h old > warn_after 30 h
    report = _load(settings, days[-1])
    assert report.succeeded, report.failures
    warned = _freshness_messages(report.warnings)
    assert set(warned) == {f"raw/crm/{entity}:freshness" for entity in CRM_ENTITIES}
    assert f"latest delivery {days[-2]}, 48 h old" in warned["raw/crm/contacts:freshness"]
    assert last_published(settings).published_at > published_before  # published all the same
    code, output = cdw(settings, "status")
    assert code == 0, output
    assert "warn crm/contacts: latest delivery" in output
    assert "error (blocks publish)" not in output
