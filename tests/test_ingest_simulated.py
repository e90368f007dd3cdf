"""Ingestion over a small simulated world: every file loads, accounting closes, and every defect
the simulator injected (truth/defects.parquet) ends where it should.

Defects that only a semantic rule can see (an unknown currency code, an absurd amount, a date in
2099) are caught by the gate (the entity's expectation suite), which ingestion runs by default.
"""

from __future__ import annotations

import shutil

import duckdb
import pyarrow.parquet as pq
import pytest

from orchestration.ingest import PartitionResult, ingest_all
from orchestration.ledger import LandedFileRow, Ledger
from orchestration.settings import Settings

ROW_RULES = {  # simulator defect class -> ingestion rule for that record
    "malformed_record": "malformed_record",
    "missing_required": "not_null",
    "wrong_type": "type",
    "duplicate_key": "duplicate_key",
    "truncated_file": "malformed_record",
}
GATE_CLASSES = {"unknown_currency", "impossible_amount"}  # caught by the suites, not by conform


@pytest.fixture(scope="module")
def loaded(
    simulated_world: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Settings, list[PartitionResult]]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("ingested"))
    shutil.copytree(simulated_world.landing_dir, settings.landing_dir)
    return settings, ingest_all(settings)


@pytest.fixture(scope="module")
def defects(simulated_world: Settings) -> list[dict]:
    return pq.read_table(simulated_world.truth_dir / "defects.parquet").to_pylist()


def _quarantine(settings: Settings) -> list[dict]:
    pattern = (settings.quarantine_dir / "*" / "*" / "*" / "part-0.parquet").as_posix()
    return duckdb.sql(f"SELECT * FROM read_parquet('{pattern}')").to_arrow_table().to_pylist()


def _ledger(settings: Settings) -> dict[str, LandedFileRow]:
    return {row.path: row for row in Ledger(settings.ledger_path).files()}


def test_every_landed_file_is_accounted_for(loaded: tuple[Settings, list[PartitionResult]]) -> None:
    settings, results = loaded
    landed = {
        p.relative_to(settings.landing_dir).as_posix()
        for p in settings.landing_dir.rglob("*")
        if p.is_file()
    }
    assert {f.path for r in results for f in r.files} == landed
    for result in results:
        for file in result.files:
            assert file.rows_read == file.rows_loaded + file.rows_quarantined, file
    # The partitions hold exactly what the ledger says they hold.
    counts: dict[tuple[str, str, str], int] = {}
    for row in Ledger(settings.ledger_path).files():
        if row.partition_date:
            key = (row.system, row.entity, row.partition_date)
            counts[key] = counts.get(key, 0) + row.rows_loaded
    for (system, entity, day), expected in counts.items():
        path = settings.raw_dir / system / entity / f"load_date={day}" / "part-0.parquet"
        assert pq.read_metadata(path).num_rows == expected, path


def test_row_defects_end_in_quarantine_with_their_rule(
    loaded: tuple[Settings, list[PartitionResult]], defects: list[dict]
) -> None:
    settings, _ = loaded
    quarantined = {(q["_source_file"], q["_source_row"]): q for q in _quarantine(settings)}
    checked = 0
    for defect in defects:
        rule = ROW_RULES.get(defect["defect_class"])
        if rule is None:
            continue
        got = quarantined.get((defect["file"], defect["source_row"]))
        assert got is not None, f"not quarantined: {defect}"
        assert got["rule"] == rule, (defect, got)
        if defect["column_name"] and rule in ("not_null", "type"):
            assert got["column_name"] == defect["column_name"], (defect, got)
        checked += 1
    assert checked > 0


def test_impossible_dates_are_quarantined_by_type_or_by_the_gate(
    loaded: tuple[Settings, list[PartitionResult]], defects: list[dict]
) -> None:
    settings, _ = loaded
    quarantined = {(q["_source_file"], q["_source_row"]): q for q in _quarantine(settings)}
    dates = [d for d in defects if d["defect_class"] == "impossible_date"]
    assert dates
    for defect in dates:
        got = quarantined.get((defect["file"], defect["source_row"]))
        assert got is not None, f"not quarantined: {defect}"
        # 30 February cannot be typed; year 2099 is a date, after the load date.
        assert got["rule"] in ("type", "expect_column_values_to_be_between"), (defect, got)
        assert got["column_name"] == defect["column_name"], (defect, got)


def test_semantic_defects_are_quarantined_by_the_gate(
    loaded: tuple[Settings, list[PartitionResult]], defects: list[dict]
) -> None:
    settings, _ = loaded
    quarantined = {(q["_source_file"], q["_source_row"]): q for q in _quarantine(settings)}
    semantic = [d for d in defects if d["defect_class"] in GATE_CLASSES]
    assert semantic
    for defect in semantic:
        got = quarantined.get((defect["file"], defect["source_row"]))
        assert got is not None, f"not quarantined: {defect}"
        assert got["rule"].startswith("expect_"), (defect, got)


def test_file_defects_and_delivery_habits(
    loaded: tuple[Settings, list[PartitionResult]], defects: list[dict]
) -> None:
    settings, results = loaded
    ledger = _ledger(settings)
    quarantine = _quarantine(settings)
    by_class: dict[str, list[dict]] = {}
    for defect in defects:
        by_class.setdefault(defect["defect_class"], []).append(defect)
    for defect in by_class.get("renamed_column", []):
        row = ledger[defect["file"]]
        assert row.outcome == "rejected" and row.rows_loaded == 0
        rules = {(q["rule"], q["column_name"]) for q in quarantine if q["_source_file"] == row.path}
        assert rules <= {("missing_column", defect["column_name"])} and (
            rules or row.rows_read == 0
        )
    for defect in by_class.get("wrong_encoding", []):
        row = ledger[defect["file"]]
        assert row.rows_loaded == 0 and row.rows_quarantined == row.rows_read
        assert {q["rule"] for q in quarantine if q["_source_file"] == row.path} <= {"encoding"}
    for defect in by_class.get("extra_column", []):
        row = ledger[defect["file"]]
        assert row.outcome == "loaded" and "undeclared column" in (row.reason or "")
    for defect in by_class.get("redelivered_file", []):
        assert ledger[defect["file"]].outcome == "duplicate"
    for defect in by_class.get("corrected_file", []):
        original = ledger[defect["file"]]
        assert original.outcome == "superseded"
        (correction,) = [
            r for r in ledger.values()
            if r.file_name == original.file_name and r.path != original.path
            and r.outcome == "loaded"
        ]  # fmt: skip
        assert correction.partition_date == original.load_date
        rebuilt = settings.raw_dir / defect["system"] / defect["entity"]
        sources = pq.read_table(
            rebuilt / f"load_date={original.load_date}" / "part-0.parquet",
            columns=["_source_file"],
        )["_source_file"].to_pylist()
        assert original.path not in sources and correction.path in sources
        assert any(date.isoformat() == original.load_date for r in results
                   for date in r.rebuilt_partitions)  # fmt: skip


def test_nothing_but_injected_defects_is_quarantined(
    loaded: tuple[Settings, list[PartitionResult]], defects: list[dict]
) -> None:
    """Quarantine holds nothing the simulator did not inject (no false alarms)."""
    settings, _ = loaded
    injected_rows = {(d["file"], d["source_row"]) for d in defects if d["source_row"] is not None}
    whole_files = {d["file"] for d in defects if d["source_row"] is None}
    for q in _quarantine(settings):
        assert (q["_source_file"], q["_source_row"]) in injected_rows or (
            q["_source_file"] in whole_files
        ), q
