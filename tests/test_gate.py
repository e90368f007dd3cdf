"""The Great Expectations gate: suites from contracts, each rule on a hand-made batch, batch-level
rejections with closed accounting, the GX engine agreeing with the push-down, and a simulated
world where every semantic defect is caught and nothing else is.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration import rawzone
from orchestration.conform import BatchRejected, typed_schema
from orchestration.contracts import SystemContract, load_contract, load_contracts
from orchestration.expectations import (
    ISO_3166_ALPHA2,
    ISO_4217,
    SUITES_DIR,
    load_suite,
    suite_from_contract,
    suite_path,
    write_missing_suites,
)
from orchestration.gate import Gate
from orchestration.ingest import PartitionResult, ingest_all, ingest_partition
from orchestration.ledger import Ledger
from orchestration.settings import Settings

DAY1, DAY2, DAY3 = date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)
GATE_CLASSES = ("unknown_currency", "impossible_amount", "impossible_date")

SALES_CONTRACT = """
system: sales
description: A test system for the gate.
owner: test-team
timezone: UTC
entities:
  - name: lines
    description: Order lines.
    grain: one row per order line
    format: csv
    files: "lines_*.csv"
    primary_key: [order_id, line_no]
    gate: {max_failed_row_share: 0.05, min_row_ratio: 0.1}
    columns:
      - {name: order_id, type: string, nullable: false, description: order}
      - {name: line_no, type: integer, nullable: false, description: line}
      - {name: quantity, type: integer, nullable: false, description: units}
      - {name: unit_price, type: decimal, nullable: false, tags: [amount], description: price}
      - {name: currency, type: string, nullable: false, tags: [currency], description: ISO 4217}
      - {name: ordered_on, type: date, nullable: false, description: day}
      - {name: email, type: string, tags: [email], description: buyer}
      - {name: country, type: string, tags: [country], description: "ISO alpha-2, mixed case"}
"""
HEADER = "order_id,line_no,quantity,unit_price,currency,ordered_on,email,country\n"
GOOD = "O{n},1,2,19.99,EUR,2026-11-19,ann{n}@example.com,de\n"


@pytest.fixture()
def sales(tmp_path: Path) -> SystemContract:
    path = tmp_path / "contracts" / "sales.yml"
    path.parent.mkdir()
    path.write_text(SALES_CONTRACT, encoding="utf-8")
    return load_contract(path)


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def land(settings: Settings, day: date, body: str) -> None:
    path = settings.landing_dir / "sales" / day.isoformat() / f"lines_{day.isoformat()}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + body, encoding="utf-8")


def good_rows(count: int, start: int = 0) -> str:
    return "".join(GOOD.format(n=n) for n in range(start, start + count))


def ingest(settings: Settings, contract: SystemContract, day: date) -> PartitionResult:
    return ingest_partition(settings, contract, contract.entity("lines"), day)


def quarantined(settings: Settings, day: date) -> list[dict]:
    path = rawzone.quarantine_partition_path(settings, "sales", "lines", day)
    return pq.read_table(path).to_pylist() if path.exists() else []


def assert_accounting(result: PartitionResult) -> None:
    for file in result.files:
        assert file.rows_read == file.rows_loaded + file.rows_quarantined, file
    assert result.rows_read == result.rows_loaded + result.rows_quarantined


# --------------------------------------------------------------------------- suites


def test_suite_from_contract_covers_the_rules(sales: SystemContract) -> None:
    suite = suite_from_contract(sales, sales.entity("lines"))
    by_type: dict[str, list[dict]] = {}
    for e in suite["expectations"]:
        by_type.setdefault(e["type"], []).append(e["kwargs"])
    assert suite["name"] == "sales.lines"
    assert {k["column"] for k in by_type["expect_column_to_exist"]} == set(
        sales.entity("lines").column_names
    )
    assert {"column": "unit_price", "type_": "decimal128(18, 2)"} in by_type[
        "expect_column_values_to_be_of_type"
    ]
    assert by_type["expect_compound_columns_to_be_unique"] == [
        {"column_list": ["order_id", "line_no"]}
    ]
    in_set = {k["column"]: k["value_set"] for k in by_type["expect_column_values_to_be_in_set"]}
    assert set(in_set["currency"]) == set(ISO_4217)
    assert {"EUR", "USD", "IDR", "XOF"} <= set(ISO_4217)
    assert not {"XXX", "EUX", "EURO", "XTS", "XAU"} & set(ISO_4217)
    assert set(in_set["country"]) == set(ISO_3166_ALPHA2) and len(ISO_3166_ALPHA2) == 249
    assert by_type["expect_table_row_count_to_be_between"] == [
        {"min_value": {"$PARAMETER": "min_row_count"}}
    ]


def test_missing_suites_are_written_and_hand_tuning_is_kept(tmp_path: Path) -> None:
    contracts = load_contracts()
    written = write_missing_suites(contracts, tmp_path)
    assert len(written) == sum(len(c.entities) for c in contracts)
    tuned = suite_path("erp", "invoice_lines", tmp_path)
    document = json.loads(tuned.read_text())
    document["notes"] = "tuned by hand"
    tuned.write_text(json.dumps(document))
    assert write_missing_suites(contracts, tmp_path) == []
    assert json.loads(tuned.read_text())["notes"] == "tuned by hand"
    # The repository ships a suite for every entity of every contract.
    for contract in contracts:
        for entity in contract.entities:
            assert suite_path(contract.system, entity.name, SUITES_DIR).exists(), entity.name


def test_shipped_suites_are_valid_gx_suites() -> None:
    gx = pytest.importorskip("great_expectations")
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    for path in sorted(SUITES_DIR.glob("*.json")):
        document = json.loads(path.read_text())
        configs = [ExpectationConfiguration(**e).to_domain_obj() for e in document["expectations"]]
        suite = gx.ExpectationSuite(name=document["name"], expectations=configs)
        assert len(suite.expectations) == len(document["expectations"]), path


# --------------------------------------------------------------------------- row rules


def test_each_row_rule_quarantines_the_row_with_its_expectation(
    settings: Settings, sales: SystemContract
) -> None:
    rows = [
        GOOD.format(n=1),  # 1 good
        "O2,1,2,19.99,EUX,2026-11-19,b@example.com,DE\n",  # 2 made-up currency
        "O3,1,2,19.99,XXX,2026-11-19,c@example.com,DE\n",  # 3 'no currency' is not a currency
        "O4,1,2,19.99,EURO,2026-11-19,d@example.com,DE\n",  # 4 four letters
        "O5,1,2,-5.00,EUR,2026-11-19,e@example.com,DE\n",  # 5 negative price
        "O6,1,2,99999999.99,EUR,2026-11-19,f@example.com,DE\n",  # 6 absurd price
        "O7,1,2,19.99,EUR,2099-11-19,g@example.com,DE\n",  # 7 year 2099
        "O8,1,2,19.99,EUR,2026-11-19,not-an-email,DE\n",  # 8 bad email
        "O9,1,2,19.99,EUR,2026-11-19,i@example.com,Germany\n",  # 9 not alpha-2
        "O10,1,5000,19.99,EUR,2026-11-19,j@example.com,at\n",  # 10 absurd quantity
        "O11,1,1,19.99,EUR,1850-01-01,k@example.com, gb \n",  # 11 absurdly old
        "O12,1,1,19.99,EUR,2026-11-21,l@example.com,us\n",  # 12 load date + 1 day is fine
    ]
    land(settings, DAY1, "".join(rows))

    result = ingest(settings, sales, DAY1)

    assert_accounting(result)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (12, 2, 10)
    got = {q["_source_row"]: q for q in quarantined(settings, DAY1)}
    assert {row: (q["column_name"], q["rule"]) for row, q in got.items()} == {
        2: ("currency", "expect_column_values_to_be_in_set"),
        3: ("currency", "expect_column_values_to_be_in_set"),
        4: ("currency", "expect_column_values_to_be_in_set"),
        5: ("unit_price", "expect_column_values_to_be_between"),
        6: ("unit_price", "expect_column_values_to_be_between"),
        7: ("ordered_on", "expect_column_values_to_be_between"),
        8: ("email", "expect_column_values_to_match_regex"),
        9: ("country", "expect_column_values_to_be_in_set"),
        10: ("quantity", "expect_column_values_to_be_between"),
        11: ("ordered_on", "expect_column_values_to_be_between"),  # " gb " itself is fine
    }
    assert "'EUX'" in got[2]["reason"] and "ISO 4217" in got[2]["reason"]
    assert got[2]["reason"].startswith("sales/2026-11-20/lines_2026-11-20.csv row 2: ")
    assert "2099-11-19" in got[7]["reason"] and "2026-11-21" in got[7]["reason"]
    assert "99999999.99 EUR" in got[6]["reason"]
    assert json.loads(got[8]["raw_record"])["email"] == "not-an-email"
    loaded = pq.read_table(rawzone.raw_partition_path(settings, "sales", "lines", DAY1))
    assert loaded["order_id"].to_pylist() == ["O1", "O12"]
    (ledger_row,) = Ledger(settings.ledger_path).files("sales", "lines")
    summary = json.loads(ledger_row.gate)
    assert ledger_row.outcome == "loaded" and summary["rows_failed"] == 10
    assert summary["rejected"] is None and summary["expectations_failed"] >= 6


def test_compound_key_duplicates_are_flagged(sales: SystemContract) -> None:
    entity = sales.entity("lines")
    gate = Gate(suite_from_contract(sales, entity), entity, load_date=DAY1)
    gate.current_file = "sales/2026-11-20/lines_2026-11-20.csv"
    table = _typed(
        sales,
        order_id=["A", "A", "A", "B"],
        line_no=[1, 2, 1, 1],
    )
    failures = gate(table)
    assert [(f.index, f.column, f.rule) for f in failures] == [
        (0, None, "expect_compound_columns_to_be_unique"),
        (2, None, "expect_compound_columns_to_be_unique"),
    ]
    assert "order_id='A', line_no=1" in failures[0].reason


def test_dates_are_judged_against_the_load_date_not_today(sales: SystemContract) -> None:
    entity = sales.entity("lines")
    suite = suite_from_contract(sales, entity)
    table = _typed(sales, order_id=["A"], line_no=[1], ordered_on=[date(2026, 11, 23)])
    assert Gate(suite, entity, load_date=DAY3)(table) == []  # the day after the load date
    (failure,) = Gate(suite, entity, load_date=DAY2)(table)
    assert (failure.column, failure.rule) == ("ordered_on", "expect_column_values_to_be_between")


def test_a_live_extract_in_a_past_partition_is_judged_against_the_extraction_day(
    settings: Settings,
) -> None:
    """A backfill extracts the database as it is now: a row changed today is not "in the future"."""
    from orchestration.contracts import LIVE_CONTRACTS_DIR
    from orchestration.gate import gate_validators

    crm = load_contract(LIVE_CONTRACTS_DIR / "crm_live.yml")
    live = next(entity for entity in crm.entities if entity.is_live)
    today = datetime.now(UTC).date()
    (gate,) = gate_validators(settings, crm, live, DAY1)
    assert gate.parameters()["latest_date"] == today + timedelta(days=1)
    file_entity = load_contracts()[0].entities[0]
    assert not file_entity.is_live
    assert Gate({}, file_entity, load_date=DAY1).parameters()["latest_date"] == DAY2


# --------------------------------------------------------------------------- batch rules


def test_row_count_collapse_rejects_the_file(settings: Settings, sales: SystemContract) -> None:
    land(settings, DAY1, good_rows(500))  # the initial extract: no yardstick
    land(settings, DAY2, good_rows(200, start=1000))
    land(settings, DAY3, good_rows(12, start=2000))
    assert ingest(settings, sales, DAY1).rows_loaded == 500
    assert ingest(settings, sales, DAY2).rows_loaded == 200  # 0.4 of the initial extract: fine

    result = ingest(settings, sales, DAY3)  # 12 < 10% of 200

    assert_accounting(result)
    (file,) = result.files
    assert (file.outcome, file.rows_read, file.rows_loaded, file.rows_quarantined) == (
        "rejected",
        12,
        0,
        12,
    )
    assert "expect_table_row_count_to_be_between" in file.reason and "200" in file.reason
    rows = quarantined(settings, DAY3)
    assert [q["_source_row"] for q in rows] == list(range(1, 13))
    assert {q["rule"] for q in rows} == {"expect_table_row_count_to_be_between"}
    raw = pq.read_table(rawzone.raw_partition_path(settings, "sales", "lines", DAY3))
    assert raw.num_rows == 0
    (ledger_row,) = [r for r in Ledger(settings.ledger_path).files() if r.load_date == "2026-11-22"]
    assert ledger_row.outcome == "rejected"
    assert json.loads(ledger_row.gate)["rejected"] == "expect_table_row_count_to_be_between"


def test_too_many_failed_rows_reject_the_file(settings: Settings, sales: SystemContract) -> None:
    bad = "".join(
        f"X{n},1,2,19.99,EUX,2026-11-19,x{n}@example.com,DE\n" for n in range(20)
    )  # 20 of 220 rows = 9% > 5%
    land(settings, DAY1, good_rows(200) + bad)

    result = ingest(settings, sales, DAY1)

    assert_accounting(result)
    (file,) = result.files
    assert (file.outcome, file.rows_loaded, file.rows_quarantined) == ("rejected", 0, 220)
    assert "max_failed_row_share" in file.reason and "20 of 220" in file.reason
    assert {q["rule"] for q in quarantined(settings, DAY1)} == {"max_failed_row_share"}


def test_a_missing_column_rejects_the_batch(sales: SystemContract) -> None:
    entity = sales.entity("lines")
    gate = Gate(suite_from_contract(sales, entity), entity, load_date=DAY1)
    table = _typed(sales, order_id=["A"], line_no=[1]).drop_columns(["currency"])
    with pytest.raises(BatchRejected) as rejected:
        gate(table)
    assert rejected.value.rule == "expect_column_to_exist"
    assert "'currency'" in rejected.value.reason


# --------------------------------------------------------------------------- engines


def test_gx_engine_agrees_with_the_push_down(sales: SystemContract) -> None:
    pytest.importorskip("great_expectations")
    entity = sales.entity("lines")
    suite = suite_from_contract(sales, entity)
    table = _typed(
        sales,
        order_id=["A", "B", "C", "D", "E", "E", "G"],
        line_no=[1, 1, 1, 1, 1, 1, 1],
        quantity=[1, 1, 1, 1, 1, 1, 5000],
        unit_price=[1, -1, 99_999_999, 1, 1, 1, 1],
        currency=["EUR", "EUR", "EUR", "EUX", "EUR", "EUR", "IDR"],
        ordered_on=[date(2026, 11, 1)] * 6 + [date(2099, 1, 1)],
        email=["a@b.de", "a@b.de", "nope", "a@b.de", "a@b.de", "a@b.de", None],
        country=["de", "DE", "XX", "de", "de", "de", None],
    )
    push_down = Gate(suite, entity, load_date=DAY1, engine="duckdb")(table)
    reference = Gate(suite, entity, load_date=DAY1, engine="gx")(table)
    assert [(f.index, f.column, f.rule) for f in push_down] == [
        (f.index, f.column, f.rule) for f in reference
    ]
    assert [f.index for f in push_down] == [1, 2, 3, 4, 5, 6]


# --------------------------------------------------------------------------- simulated world


def test_simulated_world_semantic_defects_are_quarantined_and_nothing_else(
    tmp_path: Path,
) -> None:
    from simulator import simulate

    world = tmp_path / "world"
    simulate(world, customers=300, days=3, seed=1)
    settings = Settings(data_dir=world)

    results = ingest_all(settings)

    for result in results:
        assert_accounting(result)
    defects = pq.read_table(world / "truth" / "defects.parquet").to_pylist()
    pattern = (settings.quarantine_dir / "*" / "*" / "*" / "part-0.parquet").as_posix()
    quarantine = duckdb.sql(f"SELECT * FROM read_parquet('{pattern}')").to_arrow_table()
    at = {(q["_source_file"], q["_source_row"]): q for q in quarantine.to_pylist()}
    semantic = [d for d in defects if d["defect_class"] in GATE_CLASSES]
    assert {d["defect_class"] for d in semantic} == set(GATE_CLASSES)
    for defect in semantic:
        got = at.get((defect["file"], defect["source_row"]))
        assert got is not None, f"not quarantined: {defect}"
        if got["rule"].startswith("expect_"):
            assert got["column_name"] == defect["column_name"], (defect, got)
        else:  # 30 February is already a type error at conform
            assert (defect["defect_class"], got["rule"]) == ("impossible_date", "type")
    ledger = Ledger(settings.ledger_path).files()
    rejected = {r.path for r in ledger if r.outcome == "rejected"}
    injected = {(d["file"], d["source_row"]) for d in defects if d["source_row"] is not None}
    whole_files = {d["file"] for d in defects if d["source_row"] is None}
    for key, q in at.items():
        assert key in injected or q["_source_file"] in whole_files | rejected, q
    gated = [json.loads(r.gate) for r in ledger if r.gate]
    assert gated and not any(s["rejected"] for s in gated)  # no file of this world is rejected
    # every quarantined row, not every source row: an order's lines share its source row
    assert sum(s["rows_failed"] for s in gated) == sum(
        1 for q in quarantine.to_pylist() if q["rule"].startswith("expect_")
    )


def test_shipped_suites_fall_back_to_the_contract(sales: SystemContract) -> None:
    entity = sales.entity("lines")
    assert load_suite(sales, entity) == suite_from_contract(sales, entity)
    (erp,) = [c for c in load_contracts() if c.system == "erp"]
    shipped = load_suite(erp, erp.entity("invoice_lines"))
    assert shipped == json.loads(suite_path("erp", "invoice_lines").read_text())


# --------------------------------------------------------------------------- helpers


def _typed(contract: SystemContract, **columns: list) -> pa.Table:
    """A conformed batch: defaults for every column not given, `_source_row` from 1."""
    entity = contract.entity("lines")
    n = len(next(iter(columns.values())))
    defaults = {
        "order_id": [f"O{i}" for i in range(n)],
        "line_no": [1] * n,
        "quantity": [1] * n,
        "unit_price": [10] * n,
        "currency": ["EUR"] * n,
        "ordered_on": [date(2026, 11, 1)] * n,
        "email": ["a@example.com"] * n,
        "country": ["de"] * n,
    }
    data = {**defaults, **columns, "_source_row": list(range(1, n + 1))}
    schema = typed_schema(entity)
    data["unit_price"] = [None if v is None else Decimal(v) for v in data["unit_price"]]
    return pa.table({name: data[name] for name in schema.names}, schema=schema)


def test_the_gate_asset_check_fails_on_a_rejected_file(
    settings: Settings, sales: SystemContract
) -> None:
    from orchestration.ingest_assets import GATE_CHECK, _gate_check

    land(settings, DAY1, good_rows(150) + GOOD.format(n=999).replace("EUR", "EUX"))
    passed = _gate_check(ingest(settings, sales, DAY1))
    assert passed.check_name == GATE_CHECK and passed.passed
    assert passed.metadata["rows_quarantined_by_gate"].value == 1
    assert passed.metadata["expectations_failed"].value == 1

    bad = "".join(f"X{n},1,2,19.99,EUX,2026-11-19,x{n}@example.com,DE\n" for n in range(20))
    land(settings, DAY1, good_rows(150) + bad)
    failed = _gate_check(ingest(settings, sales, DAY1))
    assert not failed.passed
    assert failed.metadata["rows_quarantined_by_gate"].value == 170
    assert "max_failed_row_share" in failed.metadata["files_rejected"].value
