"""Ingestion: landing -> raw / quarantine with the load ledger, on hand-made landing files.

Each test writes a tiny contract and a few landed files into tmp_path, so that what is asserted
(rows, types, rules, rows numbers, ledger outcomes) is visible in the test itself.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import textwrap
import unicodedata
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration import rawzone
from orchestration.conform import BatchRejected, RowFailure
from orchestration.contracts import ContractError, SystemContract, load_contract, load_contracts
from orchestration.ingest import (
    PartitionResult,
    ingest_all,
    ingest_load_date,
    ingest_partition,
    landed_load_dates,
)
from orchestration.ledger import Ledger
from orchestration.settings import Settings

DAY1, DAY2, DAY3 = date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)

SHOP_CONTRACT = """
system: shop
description: A test system with one entity per delivery format.
owner: test-team
timezone: Europe/Berlin
entities:
  - name: customers
    description: CSV with decimal commas.
    grain: one row per customer
    format: csv
    files: "customers_*.csv"
    csv: {delimiter: ";", decimal_separator: ","}
    primary_key: [customer_id]
    columns:
      - {name: customer_id, type: string, nullable: false, source: CustomerId, description: id}
      - {name: name, type: string, source: Name, description: name}
      - {name: is_active, type: boolean, nullable: false, source: Active, description: flag}
      - {name: balance, type: decimal, source: Balance, description: money}
      - {name: visits, type: integer, source: Visits, description: count}
      - {name: joined_on, type: date, source: Joined, format: "%d.%m.%Y", description: date}
      - {name: tier, type: string, source: Tier, accepted_values: [gold, silver], description: t}
      - {name: updated_at, type: timestamp, nullable: false, source: UpdatedAt, description: ts}
  - name: orders
    description: JSON lines with nested lines.
    grain: one row per order
    format: jsonl
    files: "orders_*.jsonl"
    primary_key: [order_id]
    columns:
      - {name: order_id, type: string, nullable: false, source: orderId, description: id}
      - {name: email, type: string, source: customer.email, description: nested}
      - {name: ordered_at, type: timestamp, nullable: false, source: orderedAt, description: ts}
      - {name: total, type: double, nullable: false, description: total}
  - name: order_lines
    description: Unnested lines.
    grain: one row per line
    format: jsonl
    files: "orders_*.jsonl"
    unnest: lines
    primary_key: [order_id, line_no]
    columns:
      - {name: order_id, type: string, nullable: false, source: orderId, description: id}
      - {name: line_no, type: integer, nullable: false, source: lines.no, description: n}
      - {name: sku, type: string, nullable: false, source: lines.sku, description: sku}
  - name: baskets
    description: Parquet with local store times.
    grain: one row per basket
    format: parquet
    files: "baskets_*.parquet"
    primary_key: [basket_id]
    columns:
      - {name: basket_id, type: string, nullable: false, description: id}
      - {name: sold_at, type: timestamp, nullable: false, timezone_column: store_tz, description: t}
      - {name: store_tz, type: string, nullable: false, description: zone}
      - {name: amount, type: decimal, nullable: false, description: money}
  - name: accounts
    description: A table of an operational SQLite database.
    grain: one row per account
    format: sqlite
    files: "shop_*.sqlite"
    table: accounts
    primary_key: [account_id]
    columns:
      - {name: account_id, type: string, nullable: false, description: id}
      - {name: kind, type: string, nullable: false, accepted_values: [person, business],
         description: k}
      - {name: created_at, type: timestamp, nullable: false, description: ts}
"""

CSV_HEADER = "CustomerId;Name;Active;Balance;Visits;Joined;Tier;UpdatedAt\n"


# --------------------------------------------------------------------------- helpers


@pytest.fixture()
def shop(tmp_path: Path) -> SystemContract:
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    (contracts / "shop.yml").write_text(SHOP_CONTRACT, encoding="utf-8")
    return load_contract(contracts / "shop.yml")


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def land(settings: Settings, system: str, day: date, name: str, content: bytes | str) -> Path:
    path = settings.landing_dir / system / day.isoformat() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def ingest(settings: Settings, contract: SystemContract, entity: str, day: date, **kw):
    return ingest_partition(settings, contract, contract.entity(entity), day, **kw)


def raw(settings: Settings, system: str, entity: str, day: date) -> pa.Table:
    return pq.read_table(rawzone.raw_partition_path(settings, system, entity, day))


def quarantine(settings: Settings, system: str, entity: str, day: date) -> list[dict]:
    path = rawzone.quarantine_partition_path(settings, system, entity, day)
    return pq.read_table(path).to_pylist() if path.exists() else []


def rules(settings: Settings, system: str, entity: str, day: date) -> set[tuple]:
    return {
        (q["_source_row"], q["column_name"], q["rule"])
        for q in quarantine(settings, system, entity, day)
    }


def assert_accounting(result: PartitionResult) -> None:
    for file in result.files:
        assert file.rows_read == file.rows_loaded + file.rows_quarantined, file
    own = [f for f in result.files if f.outcome != "duplicate"]
    assert result.rows_read == result.rows_loaded + result.rows_quarantined
    assert result.rows_read <= sum(f.rows_read for f in own) or result.rebuilt_partitions


# --------------------------------------------------------------------------- formats


def test_csv_is_typed_per_contract_with_lineage(settings: Settings, shop: SystemContract) -> None:
    decomposed = unicodedata.normalize("NFD", "Jos\u00e9")
    land(
        settings,
        "shop",
        DAY1,
        "customers_2026-11-20.csv",
        CSV_HEADER
        + f"C1;{decomposed};yes;1.234,50;3;02.01.2024;gold;2026-07-01 12:00:00\n"
        + "C2; Ann ;0;-0,5;;31.12.2025;;2026-01-10T08:00:00+01:00\n",
    )
    result = ingest(settings, shop, "customers", DAY1)

    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (2, 2, 0)
    table = raw(settings, "shop", "customers", DAY1)
    assert table.schema.field("balance").type == pa.decimal128(18, 2)
    assert table.schema.field("updated_at").type == pa.timestamp("us", tz="UTC")
    assert table.column_names[-4:] == ["_source_file", "_source_row", "_load_date", "_loaded_at"]
    first, second = table.to_pylist()
    assert first["name"] == "Jos\u00e9"  # NFC-normalised
    assert second["name"] == " Ann "  # surrounding whitespace kept as delivered
    assert (first["is_active"], second["is_active"]) == (True, False)
    assert (first["balance"], second["balance"]) == (Decimal("1234.50"), Decimal("-0.50"))
    assert first["joined_on"] == date(2024, 1, 2)
    assert second["visits"] is None and second["tier"] is None
    # Naive time in the system's zone (Berlin, summer: +2); an offset is honoured as given.
    assert first["updated_at"] == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert second["updated_at"] == datetime(2026, 1, 10, 7, 0, tzinfo=UTC)
    assert first["_source_file"] == "shop/2026-11-20/customers_2026-11-20.csv"
    assert [r["_source_row"] for r in (first, second)] == [1, 2]
    assert first["_load_date"] == DAY1


def test_jsonl_nested_fields_and_unnested_lines(settings: Settings, shop: SystemContract) -> None:
    records = [
        {"orderId": "O1", "customer": {"email": "a@x.org"}, "orderedAt": "2026-11-20T10:00:00Z",
         "total": 12.5, "lines": [{"no": 1, "sku": "A"}, {"no": 2, "sku": "B"}]},
        {"orderId": "O2", "orderedAt": "2026-11-20T11:00:00+02:00", "total": "3",
         "lines": []},
    ]  # fmt: skip
    land(settings, "shop", DAY1, "orders_2026-11-20.jsonl",
         "\n".join(json.dumps(r) for r in records) + "\n")  # fmt: skip

    orders = ingest(settings, shop, "orders", DAY1)
    lines = ingest(settings, shop, "order_lines", DAY1)

    assert orders.rows_loaded == 2 and lines.rows_loaded == 2
    got = raw(settings, "shop", "orders", DAY1).to_pylist()
    assert got[0]["email"] == "a@x.org" and got[1]["email"] is None
    assert got[1]["ordered_at"] == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert got[1]["total"] == 3.0
    got_lines = raw(settings, "shop", "order_lines", DAY1).to_pylist()
    assert [(r["order_id"], r["line_no"], r["sku"], r["_source_row"]) for r in got_lines] == [
        ("O1", 1, "A", 1),
        ("O1", 2, "B", 1),
    ]
    # `lines` feeds order_lines: not reported as an undeclared field of orders.
    assert orders.files[0].reason is None


def test_parquet_naive_times_use_the_per_row_zone(settings: Settings, shop: SystemContract) -> None:
    path = settings.landing_dir / "shop" / DAY1.isoformat() / "baskets_2026-11-20.parquet"
    path.parent.mkdir(parents=True)
    table = pa.table(
        {
            "basket_id": ["B1", "B2", "B3"],
            "sold_at": pa.array([datetime(2026, 7, 1, 12, 0)] * 3, pa.timestamp("us")),
            "store_tz": ["Europe/Berlin", "America/New_York", "Mars/Olympus"],
            "amount": pa.array([Decimal("1.50"), Decimal("2.00"), Decimal("3.00")]),
        }
    )
    pq.write_table(table, path)

    result = ingest(settings, shop, "baskets", DAY1)

    got = raw(settings, "shop", "baskets", DAY1).to_pylist()
    assert [r["sold_at"].hour for r in got] == [10, 16]
    assert rules(settings, "shop", "baskets", DAY1) == {(3, "sold_at", "timezone")}
    assert_accounting(result)


def test_sqlite_table_is_read_without_touching_landing(
    settings: Settings, shop: SystemContract
) -> None:
    path = land(settings, "shop", DAY1, "shop_2026-11-20.sqlite", b"")
    path.unlink()
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE accounts (account_id TEXT, kind TEXT, created_at TEXT)")
        con.executemany(
            "INSERT INTO accounts VALUES (?, ?, ?)",
            [("A1", "person", "2026-01-01 12:00:00"), ("A2", "robot", "2026-01-01 12:00:00")],
        )
    con.close()
    before = sorted(p.name for p in path.parent.iterdir())

    result = ingest(settings, shop, "accounts", DAY1)

    assert [r["account_id"] for r in raw(settings, "shop", "accounts", DAY1).to_pylist()] == ["A1"]
    assert rules(settings, "shop", "accounts", DAY1) == {(2, "kind", "accepted_values")}
    assert sorted(p.name for p in path.parent.iterdir()) == before  # no -wal/-shm left behind
    assert_accounting(result)


# --------------------------------------------------------------------------- defects


def test_every_csv_defect_ends_in_quarantine_with_row_column_and_rule(
    settings: Settings, shop: SystemContract
) -> None:
    body = (
        CSV_HEADER
        + "C1;Ann;yes;1,00;1;01.01.2024;gold;2026-01-01 10:00:00\n"  # 1 good
        + "C2;Bob;yes;1,00;1;01.01.2024\n"  # 2 malformed (fields missing)
        + ";Cy;yes;1,00;1;01.01.2024;gold;2026-01-01 10:00:00\n"  # 3 missing key
        + "C4;Di;yes;1,00;many;01.01.2024;gold;2026-01-01 10:00:00\n"  # 4 wrong type
        + "C5;Ed;yes;1,00;1;01.01.2024;platinum;2026-01-01 10:00:00\n"  # 5 unknown value
        + "C1;Ann;yes;1,00;1;01.01.2024;gold;2026-01-01 10:00:00\n"  # 6 duplicate key
    ).encode() + (
        b"C7;Fran\xe7ois;yes;1,00;1;01.01.2024;gold;2026-01-01 10:00:00\n"  # 7 latin-1 byte
        b"C8;Gus;no;1,00;1;30.02.2024;gold;2026-01-01 10:00:00\n"  # 8 impossible date
        b"C9;Hal;yes;1,0"  # 9 file cut in its last record (no final newline)
    )
    land(settings, "shop", DAY1, "customers_2026-11-20.csv", body)

    result = ingest(settings, shop, "customers", DAY1)

    assert rules(settings, "shop", "customers", DAY1) == {
        (2, None, "malformed_record"),
        (3, "customer_id", "not_null"),
        (4, "visits", "type"),
        (5, "tier", "accepted_values"),
        (6, "customer_id", "duplicate_key"),
        (7, "name", "encoding"),
        (8, "joined_on", "type"),
        (9, None, "malformed_record"),
    }
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (9, 1, 8)
    by_row = {q["_source_row"]: q for q in quarantine(settings, "shop", "customers", DAY1)}
    assert "'many' is not a whole number" in by_row[4]["reason"]
    assert "shop/2026-11-20/customers_2026-11-20.csv row 4" in by_row[4]["reason"]
    assert "first seen in row 1" in by_row[6]["reason"]
    assert by_row[7]["raw_record"].startswith("C7;Fran\\xe7ois")
    assert json.loads(by_row[4]["raw_record"])["Visits"] == "many"
    assert_accounting(result)


def test_jsonl_defects(settings: Settings, shop: SystemContract) -> None:
    lines = [
        b'{"orderId": "O1", "orderedAt": "2026-11-20T10:00:00Z", "total": 1}',
        b'{"orderId": "O2", "orderedAt": "2026-11-20T10:00:00Z", "total": 1',  # invalid JSON
        b'{"orderId": "O3", "total": 2}',  # required field absent
        b'{"orderId": "O4", "orderedAt": "yesterday", "total": 2}',  # not a timestamp
        b"",  # a blank line is not a record
        b'{"orderId": "O\xff6", "orderedAt": "2026-11-20T10:00:00Z", "total": 1}',  # not UTF-8
    ]
    land(settings, "shop", DAY1, "orders_2026-11-20.jsonl", b"\n".join(lines) + b"\n")

    result = ingest(settings, shop, "orders", DAY1)

    assert rules(settings, "shop", "orders", DAY1) == {
        (2, None, "malformed_record"),
        (3, "ordered_at", "not_null"),
        (4, "ordered_at", "type"),
        (6, None, "encoding"),
    }
    assert (result.rows_read, result.rows_loaded) == (5, 1)
    assert_accounting(result)


def test_renamed_column_rejects_the_whole_file(settings: Settings, shop: SystemContract) -> None:
    header = CSV_HEADER.replace("Name;", "FullName;")
    row = "C1;Ann;yes;1,00;1;01.01.2024;gold;2026-01-01 10:00:00\n"
    land(settings, "shop", DAY1, "customers_2026-11-20.csv", header + row + row.replace("C1", "C2"))

    result = ingest(settings, shop, "customers", DAY1)

    (file,) = result.files
    assert (file.outcome, file.rows_read, file.rows_loaded, file.rows_quarantined) == (
        "rejected", 2, 0, 2,
    )  # fmt: skip
    assert rules(settings, "shop", "customers", DAY1) == {
        (1, "name", "missing_column"),
        (2, "name", "missing_column"),
    }
    reason = quarantine(settings, "shop", "customers", DAY1)[0]["reason"]
    assert "'name' (source 'Name')" in reason and "FullName" in reason
    assert raw(settings, "shop", "customers", DAY1).num_rows == 0


def test_extra_column_is_ignored_with_a_warning(settings: Settings, shop: SystemContract) -> None:
    header = CSV_HEADER.rstrip("\n") + ";Note\n"
    land(settings, "shop", DAY1, "customers_2026-11-20.csv",
         header + "C1;Ann;yes;1,00;1;01.01.2024;gold;2026-01-01 10:00:00;hello\n")  # fmt: skip

    result = ingest(settings, shop, "customers", DAY1)

    assert result.rows_loaded == 1
    assert "Note" in (result.files[0].reason or "")
    assert "Note" not in raw(settings, "shop", "customers", DAY1).column_names
    (row,) = Ledger(settings.ledger_path).files("shop", "customers")
    assert row.outcome == "loaded" and "undeclared column(s) ignored: Note" in (row.reason or "")


@pytest.mark.parametrize(
    ("entity", "name", "content"),
    [
        ("baskets", "baskets_2026-11-20.parquet", b"PAR1\x00\x01truncated"),
        ("accounts", "shop_2026-11-20.sqlite", b"this is not a database" * 100),
    ],
)
def test_unreadable_file_is_rejected_and_kept(
    settings: Settings, shop: SystemContract, entity: str, name: str, content: bytes
) -> None:
    land(settings, "shop", DAY1, name, content)

    result = ingest(settings, shop, entity, DAY1)

    (file,) = result.files
    assert file.outcome == "rejected" and (file.rows_read, file.rows_quarantined) == (0, 0)
    kept = settings.quarantine_dir / "_files" / "shop" / DAY1.isoformat() / name
    assert kept.read_bytes() == content
    (row,) = quarantine(settings, "shop", entity, DAY1)
    assert row["rule"] == "unreadable_file" and row["_source_row"] is None
    assert name in row["reason"] and "re-deliver" in row["reason"]
    assert Ledger(settings.ledger_path).files("shop", entity)[0].outcome == "rejected"


def test_truncated_parquet_from_a_real_file(settings: Settings, shop: SystemContract) -> None:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"basket_id": ["B1"] * 100}), sink)
    land(settings, "shop", DAY1, "baskets_2026-11-20.parquet", sink.getvalue().to_pybytes()[:-40])

    assert ingest(settings, shop, "baskets", DAY1).files[0].outcome == "rejected"


# --------------------------------------------------------------------------- deliveries


def _customers(*rows: str) -> str:
    return CSV_HEADER + "".join(
        f"{r};N;yes;1,00;1;01.01.2024;gold;2026-01-01 10:00:00\n" for r in rows
    )


def test_identical_redelivery_is_recognised(settings: Settings, shop: SystemContract) -> None:
    land(settings, "shop", DAY1, "customers_2026-11-20.csv", _customers("C1", "C2"))
    land(settings, "shop", DAY2, "customers_2026-11-20.csv", _customers("C1", "C2"))
    ingest(settings, shop, "customers", DAY1)

    result = ingest(settings, shop, "customers", DAY2)

    (file,) = result.files
    assert (file.outcome, file.rows_loaded) == ("duplicate", 0)
    assert "shop/2026-11-20/customers_2026-11-20.csv" in (file.reason or "")
    assert raw(settings, "shop", "customers", DAY2).num_rows == 0


def test_empty_daily_files_are_not_mistaken_for_redeliveries(
    settings: Settings, shop: SystemContract
) -> None:
    land(settings, "shop", DAY1, "customers_2026-11-20.csv", CSV_HEADER)
    land(settings, "shop", DAY2, "customers_2026-11-21.csv", CSV_HEADER)
    ingest(settings, shop, "customers", DAY1)

    assert ingest(settings, shop, "customers", DAY2).files[0].outcome == "loaded"


def test_corrected_redelivery_rebuilds_the_earlier_partition(
    settings: Settings, shop: SystemContract
) -> None:
    land(settings, "shop", DAY1, "customers_2026-11-20.csv", _customers("C1", "C2"))
    land(settings, "shop", DAY2, "customers_2026-11-21.csv", _customers("C5"))
    land(settings, "shop", DAY2, "customers_2026-11-20.csv", _customers("C1", "C2", "C3"))
    ingest(settings, shop, "customers", DAY1)

    result = ingest(settings, shop, "customers", DAY2)

    assert result.rebuilt_partitions == (DAY1,)
    earlier = raw(settings, "shop", "customers", DAY1).to_pylist()
    assert [r["customer_id"] for r in earlier] == ["C1", "C2", "C3"]
    assert {r["_source_file"] for r in earlier} == {"shop/2026-11-21/customers_2026-11-20.csv"}
    assert [r["customer_id"] for r in raw(settings, "shop", "customers", DAY2).to_pylist()] == [
        "C5"
    ]
    assert (result.rows_read, result.rows_loaded) == (1, 1)  # the correction counts in DAY1
    by_path = {f.path: f for f in result.files}
    correction = by_path["shop/2026-11-21/customers_2026-11-20.csv"]
    assert (correction.outcome, correction.rows_loaded) == ("loaded", 3)
    assert "corrected re-delivery of shop/2026-11-20/customers_2026-11-20.csv" in (
        correction.reason or ""
    )
    ledger = {r.path: r for r in Ledger(settings.ledger_path).files("shop", "customers")}
    old = ledger["shop/2026-11-20/customers_2026-11-20.csv"]
    assert (old.outcome, old.rows_loaded) == ("superseded", 0)
    assert ledger["shop/2026-11-21/customers_2026-11-20.csv"].partition_date == "2026-11-20"

    # Re-running either partition (in any order) gives the same state.
    ingest(settings, shop, "customers", DAY1)
    ingest(settings, shop, "customers", DAY2)
    assert raw(settings, "shop", "customers", DAY1).num_rows == 3
    again = {r.path: r for r in Ledger(settings.ledger_path).files("shop", "customers")}
    assert {p: (r.outcome, r.rows_loaded) for p, r in again.items()} == {
        p: (r.outcome, r.rows_loaded) for p, r in ledger.items()
    }


def test_rerun_is_idempotent(settings: Settings, shop: SystemContract) -> None:
    land(settings, "shop", DAY1, "customers_2026-11-20.csv", _customers("C1", "C2", "") + "x\n")
    first = ingest(settings, shop, "customers", DAY1)
    data1 = raw(settings, "shop", "customers", DAY1).drop_columns(["_loaded_at"])
    q1 = [{k: v for k, v in q.items() if k != "_quarantined_at"}
          for q in quarantine(settings, "shop", "customers", DAY1)]  # fmt: skip

    second = ingest(settings, shop, "customers", DAY1)

    assert raw(settings, "shop", "customers", DAY1).drop_columns(["_loaded_at"]).equals(data1)
    assert [{k: v for k, v in q.items() if k != "_quarantined_at"}
            for q in quarantine(settings, "shop", "customers", DAY1)] == q1  # fmt: skip
    assert first.files == second.files
    assert len(Ledger(settings.ledger_path).files("shop", "customers")) == 1
    assert len(Ledger(settings.ledger_path).loads("shop", "customers")) == 2


def test_crash_while_publishing_keeps_the_previous_partition(
    settings: Settings, shop: SystemContract, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = land(settings, "shop", DAY1, "customers_2026-11-20.csv", _customers("C1"))
    ingest(settings, shop, "customers", DAY1)
    target = rawzone.raw_partition_path(settings, "shop", "customers", DAY1)
    before = target.read_bytes()
    ledger_before = Ledger(settings.ledger_path).files()
    path.write_text(_customers("C1", "C2"))  # (landing is never modified; this stands in
    # for a partition whose inputs changed since the last run)

    def crash(source: Path, destination: Path) -> None:
        assert source.exists()  # written aside, fsynced, not yet published
        raise OSError("power cut")

    monkeypatch.setattr(rawzone, "replace", crash)
    with pytest.raises(OSError, match="power cut"):
        ingest(settings, shop, "customers", DAY1)

    assert target.read_bytes() == before
    assert [p.name for p in target.parent.iterdir()] == ["part-0.parquet"]  # no leftovers
    assert Ledger(settings.ledger_path).files() == ledger_before
    assert [r.status for r in Ledger(settings.ledger_path).loads()] == ["success", "failed"]
    monkeypatch.undo()
    assert ingest(settings, shop, "customers", DAY1).rows_loaded == 2


def test_a_killed_writers_temporary_file_is_removed_by_the_next_but_a_running_ones_is_kept(
    settings: Settings, shop: SystemContract
) -> None:
    land(settings, "shop", DAY1, "customers_2026-11-20.csv", _customers("C1"))
    target = rawzone.raw_partition_path(settings, "shop", "customers", DAY1)
    target.parent.mkdir(parents=True)
    with subprocess.Popen(["true"]) as exited:
        exited.wait()  # reaped: its pid names no process now
    with subprocess.Popen(["sleep", "30"]) as running:
        killed = target.with_name(f".{target.name}.{exited.pid}.0.tmp")
        alive = target.with_name(f".{target.name}.{running.pid}.0.tmp")
        killed.write_bytes(b"half a partition")
        alive.write_bytes(b"a concurrent load's partition, still being written")
        ingest(settings, shop, "customers", DAY1)
        running.kill()
    assert sorted(p.name for p in target.parent.iterdir()) == [alive.name, "part-0.parquet"]


# --------------------------------------------------------------------------- API, contracts


def test_validators_move_rows_or_reject_the_batch(settings: Settings, shop: SystemContract) -> None:
    land(settings, "shop", DAY1, "customers_2026-11-20.csv", _customers("C1", "C2", "C3"))

    def no_c2(table: pa.Table) -> list[RowFailure]:
        ids = table["customer_id"].to_pylist()
        return [RowFailure(ids.index("C2"), "customer_id", "expect_c2_absent", "C2 is banned")]

    result = ingest(settings, shop, "customers", DAY1, validators=[no_c2])
    assert (result.rows_loaded, result.rows_quarantined) == (2, 1)
    (row,) = quarantine(settings, "shop", "customers", DAY1)
    assert (row["_source_row"], row["rule"]) == (2, "expect_c2_absent")
    assert row["column_name"] == "customer_id"
    assert json.loads(row["raw_record"])["customer_id"] == "C2"

    def reject(table: pa.Table) -> list[RowFailure]:
        raise BatchRejected("row_count", "too few rows compared with the previous load")

    result = ingest(settings, shop, "customers", DAY1, validators=[reject])
    assert (result.rows_loaded, result.rows_quarantined) == (0, 3)
    assert {q["rule"] for q in quarantine(settings, "shop", "customers", DAY1)} == {"row_count"}


def test_landed_load_dates_and_backfill(settings: Settings, shop: SystemContract) -> None:
    land(settings, "shop", DAY2, "customers_2026-11-21.csv", _customers("C2"))
    land(settings, "shop", DAY1, "customers_2026-11-20.csv", _customers("C1"))
    (settings.landing_dir / "shop" / "not-a-date").mkdir()

    assert landed_load_dates(settings) == [DAY1, DAY2]
    assert landed_load_dates(settings, "shop") == [DAY1, DAY2]
    assert landed_load_dates(settings, "nobody") == []
    results = ingest_all(settings, [shop])
    assert [(r.load_date, r.entity) for r in results if r.files] == [
        (DAY1, "customers"),
        (DAY2, "customers"),
    ]
    assert ingest_load_date(settings, DAY3, [shop]) == []


def test_broken_contract_names_file_and_field(tmp_path: Path) -> None:
    broken = tmp_path / "shop.yml"
    broken.write_text(SHOP_CONTRACT.replace("type: boolean", "type: bool"), encoding="utf-8")
    with pytest.raises(ContractError, match=r"shop\.yml.*entities\.0\.columns\.2\.type"):
        load_contract(broken)
    broken.write_text("system: shop\nentities: [\n", encoding="utf-8")
    with pytest.raises(ContractError, match=r"shop\.yml: not valid YAML"):
        load_contract(broken)


def test_an_unseen_system_loads_with_only_a_contract(tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    (contracts / "helpdesk_legacy.yml").write_text(
        textwrap.dedent(
            """
            system: helpdesk_legacy
            description: An old helpdesk nobody told us about.
            owner: it-support
            timezone: America/Chicago
            entities:
              - name: calls
                description: Phone calls.
                grain: one row per call
                format: csv
                files: "calls_*.txt"
                csv: {delimiter: "|"}
                primary_key: [call_id]
                columns:
                  - {name: call_id, type: integer, nullable: false, source: ID, description: id}
                  - {name: caller, type: string, source: Who, description: who}
                  - {name: started_at, type: timestamp, nullable: false, source: When,
                     description: t}
                  - {name: minutes, type: double, source: Mins, description: length}
            """
        ),
        encoding="utf-8",
    )
    settings = Settings(data_dir=tmp_path / "data")
    calls = "ID|Who|When|Mins\n1|Ann|2026-11-20 09:00:00|3.5\n2|Bob|2026-11-20 10:00:00|x\n"
    land(settings, "helpdesk_legacy", DAY1, "calls_1.txt", calls)

    (result,) = ingest_load_date(settings, DAY1, load_contracts(contracts))

    assert (result.system, result.rows_loaded, result.rows_quarantined) == ("helpdesk_legacy", 1, 1)
    (row,) = raw(settings, "helpdesk_legacy", "calls", DAY1).to_pylist()
    assert row["call_id"] == 1 and row["started_at"] == datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    assert rules(settings, "helpdesk_legacy", "calls", DAY1) == {(2, "minutes", "type")}


def test_quoted_fields_spanning_lines_keep_record_numbers(
    settings: Settings, shop: SystemContract
) -> None:
    land(
        settings,
        "shop",
        DAY1,
        "customers_2026-11-20.csv",
        CSV_HEADER
        + 'C1;"two\nlines";yes;1,00;1;01.01.2024;gold;2026-01-01 10:00:00\n'  # record 1
        + "C2;broken\n"  # record 2, file line 4
        + 'C3;"three\nline\nname";yes;1,00;1;01.01.2024;gold;2026-01-01 10:00:00\n'  # record 3
        + "C4;x;maybe;1,00;1;01.01.2024;gold;2026-01-01 10:00:00\n",  # record 4
    )

    ingest(settings, shop, "customers", DAY1)

    got = raw(settings, "shop", "customers", DAY1).to_pylist()
    assert [(r["customer_id"], r["_source_row"]) for r in got] == [("C1", 1), ("C3", 3)]
    assert got[0]["name"] == "two\nlines"
    assert rules(settings, "shop", "customers", DAY1) == {
        (2, None, "malformed_record"),
        (4, "is_active", "type"),
    }


def test_declared_encoding_other_than_utf8(tmp_path: Path) -> None:
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    (contracts / "legacy.yml").write_text(
        textwrap.dedent(
            """
            system: legacy
            description: A mainframe export in Latin-1.
            owner: it
            entities:
              - name: people
                description: People.
                grain: one row per person
                format: csv
                files: "people_*.csv"
                csv: {encoding: latin-1}
                primary_key: [person_id]
                columns:
                  - {name: person_id, type: string, nullable: false, description: id}
                  - {name: name, type: string, description: name}
            """
        ),
        encoding="utf-8",
    )
    (legacy,) = load_contracts(contracts)
    settings = Settings(data_dir=tmp_path / "data")
    land(
        settings, "legacy", DAY1, "people_1.csv", "person_id,name\nP1,François\n".encode("latin-1")
    )

    ingest(settings, legacy, "people", DAY1)

    assert raw(settings, "legacy", "people", DAY1)["name"].to_pylist() == ["François"]


def test_concurrent_partitions_share_the_ledger(settings: Settings, shop: SystemContract) -> None:
    from concurrent.futures import ThreadPoolExecutor

    days = [date(2026, 11, d) for d in range(1, 9)]
    for day in days:
        land(settings, "shop", day, f"customers_{day}.csv", _customers(f"C{day.day}"))
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda d: ingest(settings, shop, "customers", d), days))

    assert [r.rows_loaded for r in results] == [1] * len(days)
    assert len(Ledger(settings.ledger_path).files("shop", "customers")) == len(days)


def test_a_load_waits_for_the_entitys_lock_and_stamps_its_rows_after(
    settings: Settings, shop: SystemContract
) -> None:
    """Partitions of one entity appear in the order of their `_loaded_at` (the incremental
    models' watermark): a load stamps its rows only once it holds the entity's raw lock, and
    holds it until the partition is published."""
    from threading import Thread

    from orchestration.locks import raw_entity_lock_path, writer_lock

    land(settings, "shop", DAY1, "customers_2026-11-20.csv", _customers("C1"))
    loader = Thread(target=ingest, args=(settings, shop, "customers", DAY1))
    with writer_lock(raw_entity_lock_path(settings.data_dir, "shop", "customers")):
        loader.start()
        loader.join(timeout=1.5)
        assert loader.is_alive()
        assert not rawzone.raw_partition_path(settings, "shop", "customers", DAY1).exists()
        released_at = datetime.now(UTC)
    loader.join(timeout=60)
    assert not loader.is_alive()
    stamps = set(raw(settings, "shop", "customers", DAY1).column("_loaded_at").to_pylist())
    assert len(stamps) == 1 and stamps.pop() >= released_at


def test_a_second_correction_replaces_the_first(settings: Settings, shop: SystemContract) -> None:
    land(settings, "shop", DAY1, "customers_2026-11-20.csv", _customers("C1"))
    land(settings, "shop", DAY2, "customers_2026-11-20.csv", _customers("C1", "C2"))
    land(settings, "shop", DAY3, "customers_2026-11-20.csv", _customers("C1", "C2", "C3"))

    ingest_all(settings, [shop])

    assert raw(settings, "shop", "customers", DAY1).num_rows == 3
    ledger = {r.load_date: r for r in Ledger(settings.ledger_path).files("shop", "customers")}
    outcomes = [(ledger[d.isoformat()].outcome, ledger[d.isoformat()].rows_loaded) for d in
                (DAY1, DAY2, DAY3)]  # fmt: skip
    assert outcomes == [("superseded", 0), ("superseded", 0), ("loaded", 3)]


def test_a_correction_replaces_an_unreadable_file(settings: Settings, shop: SystemContract) -> None:
    land(settings, "shop", DAY1, "customers_2026-11-20.csv", b"")
    land(settings, "shop", DAY2, "customers_2026-11-20.csv", _customers("C1"))

    ingest_all(settings, [shop])

    assert raw(settings, "shop", "customers", DAY1)["customer_id"].to_pylist() == ["C1"]
    assert quarantine(settings, "shop", "customers", DAY1) == []


def test_a_key_repeated_across_files_of_one_partition(
    settings: Settings, shop: SystemContract
) -> None:
    land(settings, "shop", DAY1, "customers_2026-11-20.csv", _customers("C1", "C2"))
    land(settings, "shop", DAY1, "customers_2026-11-20b.csv", _customers("C2", "C3"))

    result = ingest(settings, shop, "customers", DAY1)

    assert raw(settings, "shop", "customers", DAY1)["customer_id"].to_pylist() == ["C1", "C2", "C3"]
    (row,) = quarantine(settings, "shop", "customers", DAY1)
    assert (row["_source_file"], row["_source_row"], row["rule"]) == (
        "shop/2026-11-20/customers_2026-11-20b.csv", 1, "duplicate_key",
    )  # fmt: skip
    assert "already loaded from shop/2026-11-20/customers_2026-11-20.csv" in row["reason"]
    assert_accounting(result)
