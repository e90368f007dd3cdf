"""Hand-made bad inputs (docs/bad-inputs.md) not covered elsewhere: each test asserts the outcome
(ledger outcome, quarantine rule) and that the accounting closes (read = loaded + quarantined)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_ingest import (
    CSV_HEADER,
    DAY1,
    SHOP_CONTRACT,
    assert_accounting,
    ingest,
    land,
    quarantine,
    raw,
    rules,
)

from orchestration.contracts import SystemContract, load_contract
from orchestration.ledger import Ledger
from orchestration.settings import Settings


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture()
def shop(tmp_path: Path) -> SystemContract:
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    (contracts / "shop.yml").write_text(SHOP_CONTRACT, encoding="utf-8")
    return load_contract(contracts / "shop.yml")


NAME = "customers_2026-11-20.csv"
ROW = "{};N;yes;1,00;1;01.01.2024;gold;2026-01-01 10:00:00"


def _ledger_row(settings: Settings):
    (row,) = Ledger(settings.ledger_path).files("shop", "customers")
    return row


def test_empty_file_loads_nothing_and_is_accounted(
    settings: Settings, shop: SystemContract
) -> None:
    land(settings, "shop", DAY1, NAME, b"")
    result = ingest(settings, shop, "customers", DAY1)
    (file,) = result.files
    assert (file.outcome, file.rows_read, file.rows_loaded) == ("rejected", 0, 0)
    assert "the file is empty" in (file.reason or "")
    assert rules(settings, "shop", "customers", DAY1) == {(None, None, "unreadable_file")}
    kept = settings.quarantine_dir / "_files" / "shop" / DAY1.isoformat() / NAME
    assert kept.read_bytes() == b""
    assert _ledger_row(settings).outcome == "rejected"
    assert_accounting(result)


def test_header_only_file_loads_zero_rows(settings: Settings, shop: SystemContract) -> None:
    land(settings, "shop", DAY1, NAME, CSV_HEADER)
    result = ingest(settings, shop, "customers", DAY1)
    (file,) = result.files
    assert (file.outcome, file.rows_read, file.rows_loaded) == ("loaded", 0, 0)
    assert raw(settings, "shop", "customers", DAY1).num_rows == 0
    assert_accounting(result)


def test_binary_garbage_csv(settings: Settings, shop: SystemContract) -> None:
    land(settings, "shop", DAY1, NAME, bytes(range(256)) * 40)
    result = ingest(settings, shop, "customers", DAY1)
    (file,) = result.files
    assert (file.outcome, file.rows_read, file.rows_loaded) == ("rejected", 0, 0)
    assert rules(settings, "shop", "customers", DAY1) == {(None, None, "unreadable_file")}
    kept = settings.quarantine_dir / "_files" / "shop" / DAY1.isoformat() / NAME
    assert kept.read_bytes() == bytes(range(256)) * 40
    assert _ledger_row(settings).outcome == "rejected"
    assert_accounting(result)


def test_utf8_bom_is_stripped_from_the_first_header(
    settings: Settings, shop: SystemContract
) -> None:
    body = CSV_HEADER + ROW.format("C1") + "\n" + ROW.format("C2") + "\n"
    land(settings, "shop", DAY1, NAME, b"\xef\xbb\xbf" + body.encode())
    result = ingest(settings, shop, "customers", DAY1)
    (file,) = result.files
    assert (file.outcome, file.rows_read, file.rows_loaded) == ("loaded", 2, 2)
    assert raw(settings, "shop", "customers", DAY1)["customer_id"].to_pylist() == ["C1", "C2"]
    assert rules(settings, "shop", "customers", DAY1) == set()
    assert_accounting(result)


def test_mixed_line_endings_load_every_row(settings: Settings, shop: SystemContract) -> None:
    body = CSV_HEADER.replace("\n", "\r\n") + ROW.format("C1") + "\r\n" + ROW.format("C2") + "\n"
    body += ROW.format("C3") + "\r\n"
    land(settings, "shop", DAY1, NAME, body)
    result = ingest(settings, shop, "customers", DAY1)
    (file,) = result.files
    assert_accounting(result)
    assert (file.outcome, file.rows_read, file.rows_loaded) == ("loaded", 3, 3)
    loaded = raw(settings, "shop", "customers", DAY1)
    assert loaded["customer_id"].to_pylist() == ["C1", "C2", "C3"]
    # No carriage return is left at the end of the last field of a CRLF line.
    assert all("\r" not in str(v) for v in loaded["tier"].to_pylist())


def test_mixed_line_endings_keep_row_numbers_in_errors(
    settings: Settings, shop: SystemContract
) -> None:
    body = CSV_HEADER + ROW.format("C1") + "\r\n" + ROW.format("C2") + "\n"
    body += "C3;only two fields\r\n" + ROW.format("C4") + "\n" + ROW.format("C5") + "\r\n"
    land(settings, "shop", DAY1, NAME, body)
    result = ingest(settings, shop, "customers", DAY1)
    (file,) = result.files
    assert_accounting(result)
    assert (file.outcome, file.rows_read, file.rows_loaded, file.rows_quarantined) == (
        "loaded",
        5,
        4,
        1,
    )
    assert rules(settings, "shop", "customers", DAY1) == {(3, None, "malformed_record")}
    assert raw(settings, "shop", "customers", DAY1)["customer_id"].to_pylist() == [
        "C1",
        "C2",
        "C4",
        "C5",
    ]
    (row,) = quarantine(settings, "shop", "customers", DAY1)
    assert row["raw_record"] == "C3;only two fields"


def test_huge_field(settings: Settings, shop: SystemContract) -> None:
    body = CSV_HEADER + ROW.format("C1") + "\n"
    body += "C2;" + "x" * 5_000_000 + ";yes;1,00;1;01.01.2024;gold;2026-01-01 10:00:00\n"
    body += ROW.format("C3") + "\n"
    land(settings, "shop", DAY1, NAME, body)
    result = ingest(settings, shop, "customers", DAY1)
    (file,) = result.files
    assert (file.outcome, file.rows_read, file.rows_loaded, file.rows_quarantined) == (
        "loaded",
        3,
        2,
        1,
    )
    assert rules(settings, "shop", "customers", DAY1) == {(2, None, "malformed_record")}
    assert raw(settings, "shop", "customers", DAY1)["customer_id"].to_pylist() == ["C1", "C3"]
    (row,) = quarantine(settings, "shop", "customers", DAY1)
    assert row["_source_file"] == file.path
    assert_accounting(result)
