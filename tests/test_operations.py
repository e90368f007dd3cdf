"""The operator's `cdw status` and `cdw quarantine list | show | release` on a small ingested world.

The world is simulated and ingested (no dbt, no warehouse) once per module; tests that change it
(release) work on a copy. Figures are checked against the ledger and the Parquet zones, not
against the commands' own functions.

The fix behind the release test is one an operator really makes: the expectation suite of
erp/invoice_lines says unit prices are >= 0; the operator decides negative unit prices are
legitimate (price corrections), deletes that expectation from the suite and releases the
partition. The suite is edited in a copy of `expectations/` that the gate is pointed at.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from orchestration.cli import app, console
from orchestration.contracts import load_contracts
from orchestration.settings import Settings

WORLD = {"customers": 200, "days": 2, "seed": 5}
FIXED = ("erp", "invoice_lines")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    from orchestration.ingest import ingest_all
    from simulator import simulate

    data_dir = tmp_path_factory.mktemp("ops_world")
    simulate(data_dir, **WORLD)
    settings = Settings(data_dir=data_dir)
    ingest_all(settings)
    return settings


@pytest.fixture
def world_copy(world: Settings, tmp_path: Path) -> Settings:
    target = tmp_path / "data"
    shutil.copytree(world.data_dir, target)
    return Settings(data_dir=target)


def cdw(settings: Settings, *args: str) -> tuple[int, str]:
    env = {
        "CDW_DATA_DIR": str(settings.data_dir),
        "CDW_REPORTING_CURRENCY": "EUR",
        "DAGSTER_HOME": str(settings.data_dir / "dagster_home"),
        "COLUMNS": "250",
    }
    # The CLI's console fixed its width on import if COLUMNS was set then (an xdist worker's
    # environment has COLUMNS=80): give it the width this terminal has, as a fresh `cdw` takes.
    console.width = int(env["COLUMNS"])
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def table_rows(output: str) -> list[list[str]]:
    """The body rows of every rich table in `output`, as lists of stripped cells."""
    return [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in output.splitlines()
        if line.startswith("│")
    ]


def ledger_accounting(settings: Settings) -> dict[tuple[str, str], tuple[int, int, int]]:
    with sqlite3.connect(settings.ledger_path) as con:
        rows = con.execute(
            "select system, entity, sum(rows_read), sum(rows_loaded), sum(rows_quarantined) "
            "from landed_files where outcome in ('loaded', 'rejected') group by system, entity"
        ).fetchall()
    return {(s, e): (read, loaded, quarantined) for s, e, read, loaded, quarantined in rows}


def quarantine_parquet(settings: Settings) -> Counter[tuple[str, str, date, str]]:
    counts: Counter[tuple[str, str, date, str]] = Counter()
    for path in settings.quarantine_dir.glob("*/*/load_date=*/part-0.parquet"):
        system, entity = path.parts[-4], path.parts[-3]
        table = pq.read_table(path, columns=["rule", "_load_date"])
        for rule, load_date in zip(
            table["rule"].to_pylist(), table["_load_date"].to_pylist(), strict=True
        ):
            counts[(system, entity, load_date, rule)] += 1
    return counts


# ------------------------------------------------------------------------------------ status


def test_status_before_any_load_fails_with_one_line_reason(tmp_path: Path) -> None:
    code, output = cdw(Settings(data_dir=tmp_path), "status")
    assert code == 1
    assert "nothing loaded yet" in output
    assert len(output.strip().splitlines()) <= 2  # one reason (rich may wrap it once)


def test_status_shows_every_entity_with_freshness_and_the_ledgers_counts(world: Settings) -> None:
    code, output = cdw(world, "status")
    assert code == 0, output
    rows = table_rows(output)
    ledger = ledger_accounting(world)
    last_date = max(date.fromisoformat(p.name) for p in world.landing_dir.glob("*/*"))
    assert f"Last load {last_date}" in output
    assert "success" in output

    for contract in load_contracts():
        for entity in contract.entities:
            mine = [r for r in rows if r[:2] == [contract.system, entity.name]]
            # Freshness row: 7 cells ending in a state; zone row: 8 cells of counts.
            fresh = [r for r in mine if len(r) == 7]
            zone = [r for r in mine if len(r) == 8]
            assert len(fresh) == 1, (contract.system, entity.name)
            assert fresh[0][6] in ("ok", "warn", "error")
            thresholds = f"{entity.freshness.warn_after_hours}/{entity.freshness.error_after_hours}"
            assert fresh[0][5] == thresholds
            read, loaded, quarantined = ledger[(contract.system, entity.name)]
            assert len(zone) == 1
            assert [int(c.replace(",", "")) for c in zone[0][3:6]] == [read, loaded, quarantined]
    total = next(r for r in rows if r[0] == "total")
    assert int(total[3].replace(",", "")) == sum(v[0] for v in ledger.values())
    assert "✗" not in output  # accounting closes everywhere

    by_rule = Counter()
    for (_, _, _, rule), n in quarantine_parquet(world).items():
        by_rule[rule] += n
    shown = {r[0]: int(r[1].replace(",", "")) for r in rows if len(r) == 2}
    assert shown == dict(by_rule)
    assert "no warehouse yet" in output  # status works without dbt


def test_freshness_states_follow_the_contract_thresholds(world: Settings) -> None:
    from orchestration.status import collect_status

    latest = max(date.fromisoformat(p.name) for p in world.landing_dir.glob("*/*"))
    midnight = datetime(latest.year, latest.month, latest.day, tzinfo=UTC)
    for hours, expected in ((2, "ok"), (40, "warn"), (60, "error")):
        report = collect_status(world, now=midnight + timedelta(hours=hours))
        daily = [f for f in report.freshness if f.latest_load_date == latest]
        assert daily, "some entity delivered on the latest load date"
        for f in daily:
            assert f.age_hours == pytest.approx(hours)
            assert f.state == expected  # the contracts use the default 30 / 54 hours


def test_freshness_checks_are_judged_as_of_the_load_date_not_the_clock(tmp_path: Path) -> None:
    """Daily deliveries in 2020 are fresh when 2020 dates are loaded, years later; one missed
    day warns, two block; a later delivery does not make an earlier load date fresh."""
    from orchestration.contracts import Entity, Freshness
    from orchestration.freshness import EntityFreshness, entity_freshness

    settings = Settings(data_dir=tmp_path / "data")
    entity = next(e for c in load_contracts() for e in c.entities if c.system == "erp")
    entity = Entity.model_validate(
        {**entity.model_dump(), "freshness": Freshness(warn_after_hours=30, error_after_hours=54)}
    )
    start = date(2020, 1, 1)
    for day in (start, start + timedelta(days=1), start + timedelta(days=5)):
        part = settings.raw_dir / "erp" / entity.name / f"load_date={day}" / "part-0.parquet"
        part.parent.mkdir(parents=True)
        part.write_bytes(b"")

    def judged(day: date) -> EntityFreshness:
        return entity_freshness(settings, "erp", entity, day, history_start=start)

    assert (judged(start).age_hours, judged(start).state) == (24, "ok")
    one_missed = judged(start + timedelta(days=2))
    assert (one_missed.latest_load_date, one_missed.age_hours) == (start + timedelta(days=1), 48)
    assert one_missed.state == "warn"
    assert (
        judged(start + timedelta(days=3)).age_hours,
        judged(start + timedelta(days=3)).state,
    ) == (
        72,
        "error",
    )
    assert judged(start + timedelta(days=5)).state == "ok"  # delivered again
    nothing = entity.model_copy(update={"name": "nothing"})  # never delivered at all
    never = entity_freshness(settings, "erp", nothing, start, history_start=start)
    assert (never.latest_load_date, never.age_hours, never.state) == (None, 24, "ok")
    later = start + timedelta(days=2)
    assert entity_freshness(settings, "erp", nothing, later, history_start=start).state == "error"


# ------------------------------------------------------------------------------------ quarantine


def test_quarantine_list_counts_equal_the_parquet_rows(world: Settings) -> None:
    parquet = quarantine_parquet(world)
    assert parquet, "the simulated world quarantines some rows"
    code, output = cdw(world, "quarantine", "list")
    assert code == 0, output
    listed = {
        (r[0], r[1], date.fromisoformat(r[2]), r[3]): int(r[4].replace(",", ""))
        for r in table_rows(output)
        if r[0]  # continuation lines of a wrapped reason have an empty first cell
    }
    assert listed == dict(parquet)
    assert f"Quarantined rows ({sum(parquet.values()):,})" in output

    system, _, _, rule = next(iter(sorted(parquet)))
    code, output = cdw(world, "quarantine", "list", "--system", system, "--rule", rule)
    assert code == 0
    expected = sum(n for (s, _, _, r), n in parquet.items() if s == system and r == rule)
    assert f"Quarantined rows ({expected:,})" in output


def test_quarantine_show_prints_a_known_row(world: Settings) -> None:
    system, entity = FIXED
    path = next((world.quarantine_dir / system / entity).glob("load_date=*/part-0.parquet"))
    known = pq.read_table(path).to_pylist()[0]
    load_date = path.parent.name.removeprefix("load_date=")
    code, output = cdw(
        world, "quarantine", "show", system, entity, "--load-date", load_date, "--limit", "1000"
    )
    assert code == 0, output
    assert f"{known['_source_file']} row {known['_source_row']}" in output
    assert known["rule"] in output
    assert known["raw_record"] in output
    assert f"showing {pq.read_metadata(path).num_rows} of" in output

    code, output = cdw(world, "quarantine", "show", system, "no_such_entity")
    assert code == 1
    assert "has no entity 'no_such_entity'" in output


def test_release_without_a_fix_changes_nothing_and_accounting_closes(
    world_copy: Settings,
) -> None:
    before_ledger = ledger_accounting(world_copy)
    before_parquet = quarantine_parquet(world_copy)
    load_date = min(date.fromisoformat(p.name) for p in world_copy.landing_dir.glob("erp/*"))
    code, output = cdw(world_copy, "quarantine", "release", *FIXED, "--load-date", str(load_date))
    assert code == 0, output
    before, after = (r for r in table_rows(output) if r[0] in ("before", "after"))
    assert before[1:] == after[1:]
    assert "nothing changed" in output
    assert f"cdw load --date {load_date}" in output
    assert ledger_accounting(world_copy) == before_ledger
    assert quarantine_parquet(world_copy) == before_parquet


def test_release_after_a_suite_fix_moves_the_rows_to_raw(
    world_copy: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import orchestration.expectations as expectations

    system, entity = FIXED
    suites = tmp_path / "expectations"
    shutil.copytree(expectations.SUITES_DIR, suites)
    suite_file = suites / f"{system}.{entity}.json"
    suite = json.loads(suite_file.read_text())
    negative_price = {
        "type": "expect_column_values_to_be_between",
        "kwargs": {"column": "unit_price", "min_value": 0},
    }
    kept = [
        e for e in suite["expectations"] if {k: e[k] for k in ("type", "kwargs")} != negative_price
    ]
    assert len(kept) == len(suite["expectations"]) - 1, "the suite has the unit_price >= 0 rule"
    suite_file.write_text(json.dumps({**suite, "expectations": kept}))
    monkeypatch.setattr(expectations, "SUITES_DIR", suites)

    def negative_prices(path: Path) -> list[dict]:
        return [
            r
            for r in pq.read_table(path).to_pylist()
            if r["column_name"] == "unit_price" and "must be >= 0" in r["reason"]
        ]

    quarantine_file = next(
        p
        for p in sorted((world_copy.quarantine_dir / system / entity).glob("load_date=*/*.parquet"))
        if negative_prices(p)
    )
    partition = quarantine_file.parent
    load_date = partition.name.removeprefix("load_date=")
    quarantined = pq.read_table(quarantine_file).to_pylist()
    freed = negative_prices(quarantine_file)
    assert freed, "the world has a negative unit price in quarantine"
    raw_path = world_copy.raw_dir / system / entity / partition.name / "part-0.parquet"
    raw_before = pq.read_metadata(raw_path).num_rows

    code, output = cdw(
        world_copy, "quarantine", "release", system, entity, "--load-date", load_date
    )
    assert code == 0, output
    before, after = (r for r in table_rows(output) if r[0] in ("before", "after"))
    assert [int(c) for c in before[1:]] == [raw_before, len(quarantined)]
    assert [int(c) for c in after[1:]] == [raw_before + len(freed), len(quarantined) - len(freed)]
    assert f"+{len(freed)} rows out of quarantine" in output
    assert f"cdw load --date {load_date}" in output

    raw_rows = set(pq.read_table(raw_path, columns=["_source_row"])["_source_row"].to_pylist())
    assert {r["_source_row"] for r in freed} <= raw_rows
    still = pq.read_table(partition / "part-0.parquet").to_pylist()
    assert not {r["_source_row"] for r in freed} & {
        r["_source_row"] for r in still if r["rule"] == negative_price["type"]
    }
    # The ledger moved the rows too, and every entity still closes.
    with sqlite3.connect(world_copy.ledger_path) as con:
        assert not con.execute(
            "select path from landed_files where rows_read <> rows_loaded + rows_quarantined"
        ).fetchall()
    code, output = cdw(world_copy, "status")
    assert code == 0 and "✗" not in output


def test_status_counts_mart_rows_and_tolerates_a_writer(world_copy: Settings) -> None:
    import subprocess
    import sys

    import duckdb

    with duckdb.connect(str(world_copy.warehouse_path)) as db:
        db.execute("create schema marts")
        db.execute("create table marts.dim_customers as select range as id from range(42)")
    code, output = cdw(world_copy, "status")
    assert code == 0, output
    assert ["marts.dim_customers", "42"] in table_rows(output)

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\n"
            f"db = duckdb.connect({str(world_copy.warehouse_path)!r})\n"
            "print('held', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        code, output = cdw(world_copy, "status")
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert code == 0, output
    assert "the warehouse is being written" in output
