"""Incremental builds equal a full build after deliveries and builds the daily tests do not make:
a corrected earlier file that withdraws a record's latest version, so that an older version,
loaded before the last build's newest rows, is the latest again; a CRM switched to its live form
whose raw zone holds earlier extractions; a day built in two goes, stopped after the record
features. Over the hand-made raw zone of tests/raw_fixture.py, each load written at its own
time as the raw zone writes them."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from raw_fixture import FIRST_LOAD, LOADED_AT, SECOND_LOAD, _contact, _table, build_raw_zone, utc
from test_dbt_build import run_dbt
from test_revenue_incremental import DAY, DAY_LOADED_AT, _rows, _write

from orchestration.contracts import CONTRACTS_DIR, load_contract

SOURCE_RECORDS = "+int_identity__record_features"
PAIRS = "+int_identity__candidate_pairs"
SECOND_LOADED_AT = LOADED_AT + timedelta(days=1)
LIVE_LOAD = FIRST_LOAD - timedelta(days=1)  # an earlier spell of the live CRM


def _build(data_dir: Path, *args: str) -> None:
    """Build the source records and record features; `args` may select more."""
    assert run_dbt(data_dir, "run", "--threads", "1", "--select", SOURCE_RECORDS, *args).success


def _incremental_and_full(incremental: Path, tmp_path: Path) -> Path:
    """Build `incremental` incrementally, then a copy of it in full; return the copy."""
    _build(incremental)
    full = tmp_path / "full"
    shutil.copytree(incremental, full)
    _build(full, "--full-refresh")
    return full


def test_a_withdrawn_latest_version_brings_back_an_older_one(tmp_path: Path):
    """CON-1's newest version came in the second load, a day after the first; a corrected second
    load withdraws it, so the first load's version is CON-1's latest again. That version was
    loaded before the source records' newest row: the day's build must still normalise it."""
    incremental = tmp_path / "incremental"
    build_raw_zone(incremental)
    newer = _contact(utc(2026, 3, 1, 8), "030 5555555")
    _write(incremental, SECOND_LOAD, "crm", "contacts", [newer], loaded_at=SECOND_LOADED_AT)
    assert run_dbt(incremental, "seed", "--threads", "1").success
    _build(incremental)
    _write(incremental, SECOND_LOAD, "crm", "contacts", [], loaded_at=DAY_LOADED_AT)
    full = _incremental_and_full(incremental, tmp_path)

    loads = _rows(
        incremental,
        "(select _load_date from intermediate.int_identity__source_records "
        "where record_key = 'crm:contacts:CON-1')",
    )
    assert loads == {(FIRST_LOAD,)}  # the first load's version again
    for table in (
        "intermediate.int_identity__source_records",
        "intermediate.int_identity__record_features",
    ):
        assert _rows(incremental, table) == _rows(full, table), table


def _write_live(data_dir: Path, name: str, rows: list[dict], loaded_at) -> None:
    """A partition of the live CRM's raw zone (sources/live/crm_live.yml)."""
    contract = load_contract(CONTRACTS_DIR / "live" / "crm_live.yml")
    entity = {e.name: e for e in contract.entities}[name]
    table = _table("crm_live", entity, LIVE_LOAD, rows)
    stamps = pa.array([loaded_at] * len(rows), pa.timestamp("us", tz="UTC"))
    table = table.set_column(table.schema.get_field_index("_loaded_at"), "_loaded_at", stamps)
    folder = data_dir / "raw" / "crm_live" / name / f"load_date={LIVE_LOAD}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "part-0.parquet")


def test_an_entity_switched_to_its_live_form_is_read_whole(tmp_path: Path, monkeypatch):
    """The CRM's live form is switched on after its files were loaded, and its raw zone holds
    versions extracted before the files' last load (an earlier spell of the live form): the
    day's build must take every live record, not only those loaded after the files' newest."""
    incremental = tmp_path / "incremental"
    build_raw_zone(incremental)
    monkeypatch.delenv("CDW_CRM_PG_URL", raising=False)
    monkeypatch.delenv("CDW_ERP_MYSQL_URL", raising=False)
    extracted_at = LOADED_AT - timedelta(days=1)
    _write_live(incremental, "accounts", [
        {"account_id": "ACC-1", "account_type": "person", "country": "de",
         "created_at": utc(2025, 12, 1, 9), "updated_at": utc(2025, 12, 1, 9)},
        {"account_id": "ACC-2", "account_type": "business", "account_name": "Acme GmbH",
         "tax_id": "DE 123.456.789", "country": "DE", "created_at": utc(2025, 12, 2, 9),
         "updated_at": utc(2025, 12, 2, 9)},
    ], extracted_at)  # fmt: skip
    _write_live(incremental, "contacts", [
        {**_contact(utc(2026, 2, 1, 8), "030 4444444"), "is_deleted": False},
        {"contact_id": "CON-3", "account_id": "ACC-2", "first_name": "Carla",
         "last_name": "Builder", "email": "carla@acme.example", "country": "DE",
         "created_at": utc(2025, 12, 3, 9), "updated_at": utc(2025, 12, 3, 9),
         "is_deleted": False},
    ], extracted_at)  # fmt: skip
    assert run_dbt(incremental, "seed", "--threads", "1").success
    _build(incremental)
    monkeypatch.setenv("CDW_CRM_PG_URL", "postgresql://crm.invalid/crm")
    full = _incremental_and_full(incremental, tmp_path)

    keys = {
        row[0]
        for row in _rows(full, "(select record_key from intermediate.int_identity__source_records)")
    }
    assert "crm:contacts:CON-3" in keys  # only in the live CRM
    for table in (
        "intermediate.int_identity__source_records",
        "intermediate.int_identity__record_features",
    ):
        assert _rows(incremental, table) == _rows(full, table), table


def test_a_blanked_record_loses_its_keys_after_an_interrupted_build(tmp_path: Path):
    """A day in which U-3 changes email and U-2 blanks every key, built in two goes (stopped
    after the record features, as a failed build leaves it): the second build's block index
    holds no key of U-2, whose features were resolved before that build, as a full build's."""
    incremental = tmp_path / "incremental"
    build_raw_zone(incremental)
    assert run_dbt(incremental, "seed", "--threads", "1").success
    _build(incremental, PAIRS)
    changed_at = utc(2026, 3, 20, 9)
    _write(incremental, DAY, "webshop", "users", [
        {"user_id": "U-3", "email": "john.new@example.org", "first_name": "John",
         "last_name": "Smith", "phone": "07700 900123", "country": "GB",
         "created_at": utc(2026, 3, 14, 8), "updated_at": changed_at},
        {"user_id": "U-2", "country": "DE", "created_at": utc(2026, 1, 20, 8),
         "updated_at": changed_at},
    ], loaded_at=DAY_LOADED_AT)  # fmt: skip
    _build(incremental)  # the features only: the build stops there
    _build(incremental, PAIRS)
    full = tmp_path / "full"
    shutil.copytree(incremental, full)
    _build(full, PAIRS, "--full-refresh")

    blocks = "intermediate.int_identity__record_blocks"
    keyed = {row[0] for row in _rows(full, f"(select record_key from {blocks})")}
    assert "webshop:users:U-3" in keyed and "webshop:users:U-2" not in keyed
    for table in (blocks, "intermediate.int_identity__candidate_pairs"):
        assert _rows(incremental, table) == _rows(full, table), table
