"""Identity-resolution metrics (orchestration/identity_eval.py) on a case worked out by hand,
and `cdw identity eval` on a tiny serving file. No dbt, no simulator: seconds.

The case (truth → predicted):
    true T1 {a1, a2, a3}  predicted C1 {a1, a2}, C2 {a3}     one split (T1)
    true T2 {b1}, T3 {c1} predicted C3 {b1, c1}              one merge (C3)
    true T4 {d1, d2}      predicted C4 {d1, d2}              exact
    true T5 {e1}          not predicted                      only in the truth
    x1 predicted (C5)     not in the truth                   only predicted
Scored: a1 a2 a3 b1 c1 d1 d2 (7 records).
Pairs: predicted C1 1 + C3 1 + C4 1 = 3; true T1 3 + T4 1 = 4; correct (C1,T1) 1 + (C4,T4) 1 = 2.
    precision 2/3, recall 2/4, F1 = 2·(2/3)(1/2) / (2/3 + 1/2) = 4/7.
B-cubed precision per record: a1 1, a2 1, a3 1, b1 1/2, c1 1/2, d1 1, d2 1 → 6/7.
B-cubed recall per record: a1 2/3, a2 2/3, a3 1/3, b1 1, c1 1, d1 1, d2 1 → (17/3)/7 = 17/21.
    F1 = 2·(6/7)(17/21) / (6/7 + 17/21) = 204/245.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from orchestration.cli import app
from orchestration.identity_eval import IdentityMetrics, evaluate

PREDICTED = [  # system, entity, source_id, customer_id
    ("crm", "contacts", "a1", "C1"),
    ("erp", "customers", "a2", "C1"),
    ("webshop", "users", "a3", "C2"),
    ("crm", "contacts", "b1", "C3"),
    ("pos", "loyalty_cards", "c1", "C3"),
    ("crm", "contacts", "d1", "C4"),
    ("support", "tickets", "d2", "C4"),
    ("webshop", "users", "x1", "C5"),
]
TRUTH = [  # system, entity, source_id, true_customer_id
    ("crm", "contacts", "a1", "T1"),
    ("erp", "customers", "a2", "T1"),
    ("webshop", "users", "a3", "T1"),
    ("crm", "contacts", "b1", "T2"),
    ("pos", "loyalty_cards", "c1", "T3"),
    ("crm", "contacts", "d1", "T4"),
    ("support", "tickets", "d2", "T4"),
    ("erp", "customers", "e1", "T5"),
]
EXPECTED = IdentityMetrics(
    records_scored=7,
    records_only_predicted=1,
    records_only_truth=1,
    predicted_clusters=4,
    true_clusters=4,
    predicted_pairs=3,
    true_pairs=4,
    correct_pairs=2,
    pairwise_precision=2 / 3,
    pairwise_recall=1 / 2,
    pairwise_f1=4 / 7,
    bcubed_precision=6 / 7,
    bcubed_recall=17 / 21,
    bcubed_f1=204 / 245,
    splits=1,
    merges=1,
    exact_clusters=1,
    largest_cluster=2,
)


def _connection(predicted: list[tuple], truth: list[tuple]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "create table predicted (system text, entity text, source_id text, customer_id text)"
    )
    con.execute(
        "create table truth (system text, entity text, source_id text, true_customer_id text)"
    )
    con.executemany("insert into predicted values (?, ?, ?, ?)", predicted)
    con.executemany("insert into truth values (?, ?, ?, ?)", truth)
    return con


def _assert_metrics(found: IdentityMetrics, expected: IdentityMetrics) -> None:
    for name, value in expected.as_dict().items():
        if isinstance(value, float):
            assert getattr(found, name) == pytest.approx(value, abs=1e-12), name
        else:
            assert getattr(found, name) == value, name


def test_hand_made_case_has_the_metrics_worked_out_by_hand() -> None:
    found = evaluate(_connection(PREDICTED, TRUTH), "predicted", "truth")
    _assert_metrics(found, EXPECTED)


def test_a_perfect_prediction_scores_one_and_an_unresolved_record_is_its_own_cluster() -> None:
    perfect = [(s, e, i, t.replace("T", "P")) for s, e, i, t in TRUTH]
    found = evaluate(_connection(perfect, TRUTH), "predicted", "truth")
    assert (found.pairwise_f1, found.bcubed_f1, found.splits, found.merges) == (1.0, 1.0, 0, 0)
    assert found.exact_clusters == found.true_clusters == 5
    # a1 unresolved (no customer_id): T1 is split into {a1} and {a2, a3}, nothing merged
    unresolved = [(s, e, i, None if i == "a1" else c) for s, e, i, c in perfect]
    found = evaluate(_connection(unresolved, TRUTH), "predicted", "truth")
    assert (found.splits, found.merges, found.correct_pairs, found.true_pairs) == (1, 0, 2, 4)


def test_a_record_twice_on_one_side_is_refused_not_double_counted() -> None:
    con = _connection([*PREDICTED, PREDICTED[0]], TRUTH)
    with pytest.raises(ValueError, match="crm:contacts:a1 appears 2 times"):
        evaluate(con, "predicted", "truth")


def _published_world(data_dir: Path) -> None:
    """A serving file with the bridge mart, and the simulator's truth file beside it."""
    with duckdb.connect(str(data_dir / "serving.duckdb")) as con:
        con.execute(
            "create table main.bridge_customer_source (record_key text, system text, "
            "entity text, source_id text, customer_id text, matched_on text)"
        )
        con.executemany(
            "insert into main.bridge_customer_source values (?, ?, ?, ?, ?, 'email')",
            [(f"{s}:{e}:{i}", s, e, i, c) for s, e, i, c in PREDICTED],
        )
    (data_dir / "truth").mkdir()
    columns = list(zip(*TRUTH, strict=True))
    names = ("system", "entity", "source_id", "true_customer_id")
    pq.write_table(
        pa.table(dict(zip(names, columns, strict=True))),
        data_dir / "truth" / "source_records.parquet",
    )


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # The CLI's callback sets these when absent: set them here so that they are restored.
    monkeypatch.setenv("CDW_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("CDW_REPORTING_CURRENCY", "EUR")
    return tmp_path


def test_cli_prints_the_metrics_of_the_published_bridge(data_dir: Path) -> None:
    _published_world(data_dir)
    runner = CliRunner()
    as_json = runner.invoke(app, ["identity", "eval", "--json"])
    assert as_json.exit_code == 0, as_json.output
    _assert_metrics(IdentityMetrics(**json.loads(as_json.output)), EXPECTED)
    table = runner.invoke(app, ["identity", "eval"])
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert "pairwise       0.6667     0.5000     0.5714" in lines
    assert "B-cubed        0.8571     0.8095     0.8327" in lines
    assert any(line.split()[:2] == ["splits", "1"] for line in lines)
    assert any(line.split()[:2] == ["merges", "1"] for line in lines)


def test_cli_says_in_one_line_when_there_is_no_truth_or_no_warehouse(data_dir: Path) -> None:
    runner = CliRunner()
    no_truth = runner.invoke(app, ["identity", "eval"])
    assert no_truth.exit_code == 1
    assert no_truth.output.count("\n") == 1 and "no truth at" in no_truth.output
    (data_dir / "truth").mkdir()
    (data_dir / "truth" / "source_records.parquet").touch()
    unpublished = runner.invoke(app, ["identity", "eval", "--json"])
    assert unpublished.exit_code == 1
    assert unpublished.output.count("\n") == 1
    assert "no published warehouse" in unpublished.output
