"""How well identity resolution matches the truth: pairwise and cluster metrics, in DuckDB SQL.

A prediction is a table (system, entity, source_id, customer_id); the truth a table (system,
entity, source_id, true_customer_id). Both are joined on the three key columns; records on one
side only are counted, not scored. Every metric comes from group sizes over the records on both
sides, never from enumerating pairs, so a million records cost one aggregation:

- pairwise: a pair of records is predicted when both share a customer_id, true when both share a
  true_customer_id. Correct pairs = sum of n*(n-1)/2 over (customer_id, true_customer_id) groups;
  predicted pairs the same over customer_id groups, true pairs over true_customer_id groups.
- B-cubed: per record, precision = |its cluster ∩ its true customer| / |its cluster| and recall
  = the same over |its true customer|, averaged over records.
- splits: true customers spread over more than one customer_id; merges: customer_ids holding more
  than one true customer; exact clusters: customer_ids holding exactly one true customer's records.

A record without a customer_id (unresolved) is scored as a cluster of its own.
See docs/identity.md, "Measuring identity resolution".
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from orchestration.settings import Settings

KEY = ("system", "entity", "source_id")
BRIDGE = "bridge_customer_source"  # the published mart: one row per customer-like source record
TRUTH_FILE = "source_records.parquet"


class EvaluationUnavailable(RuntimeError):
    """No truth to compare with, or nothing published: the message says what to do."""


@dataclass(frozen=True)
class IdentityMetrics:
    records_scored: int  # on both sides
    records_only_predicted: int  # in the prediction, not in the truth (e.g. a leaked defect)
    records_only_truth: int  # in the truth, not in the prediction (e.g. quarantined)
    predicted_clusters: int
    true_clusters: int
    predicted_pairs: int
    true_pairs: int
    correct_pairs: int
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    splits: int
    merges: int
    exact_clusters: int
    largest_cluster: int  # records under one customer_id: a chain of wrong links shows here

    def as_dict(self) -> dict[str, int | float]:
        return asdict(self)


def evaluate(con: duckdb.DuckDBPyConnection, predicted: str, truth: str) -> IdentityMetrics:
    """Score `predicted` against `truth`: table names or parenthesised queries in `con`."""
    for relation, columns in (
        (predicted, (*KEY, "customer_id")),
        (truth, (*KEY, "true_customer_id")),
    ):
        _check_unique_keys(con, relation, columns)
    counts = _counts(con, predicted, truth)
    precision = _ratio(counts["correct_pairs"], counts["predicted_pairs"])
    recall = _ratio(counts["correct_pairs"], counts["true_pairs"])
    return IdentityMetrics(
        **counts,
        pairwise_precision=precision,
        pairwise_recall=recall,
        pairwise_f1=_f1(precision, recall),
        bcubed_f1=_f1(counts["bcubed_precision"], counts["bcubed_recall"]),
    )


def _check_unique_keys(
    con: duckdb.DuckDBPyConnection, relation: str, columns: tuple[str, ...]
) -> None:
    # A key twice would count its record twice (and pair it with itself): refuse, naming one.
    found = con.sql(f"select * from {relation}").columns  # a relation runs nothing here
    missing = [c for c in columns if c not in found]
    if missing:
        raise ValueError(
            f"{relation}: no column {', '.join(missing)}; expected {', '.join(columns)}"
        )
    keys = ", ".join(KEY)
    duplicate = con.execute(
        f"select {keys}, count(*) from {relation} group by all having count(*) > 1 limit 1"
    ).fetchall()
    if duplicate:
        [(*key, count)] = duplicate
        raise ValueError(
            f"{relation}: record {':'.join(map(str, key))} appears {count} times; "
            "one row per (system, entity, source_id) is expected"
        )


COUNTS_SQL = """
with predicted as (
    select cast(system as varchar) as system, cast(entity as varchar) as entity,
        cast(source_id as varchar) as source_id,
        -- an unresolved record is a cluster of its own
        coalesce(cast(customer_id as varchar),
                 'unresolved:' || system || ':' || entity || ':' || source_id) as customer_id
    from {predicted}
),
truth as (
    select cast(system as varchar) as system, cast(entity as varchar) as entity,
        cast(source_id as varchar) as source_id,
        coalesce(cast(true_customer_id as varchar),
                 'unknown:' || system || ':' || entity || ':' || source_id) as true_customer_id
    from {truth}
),
joined as (
    select p.customer_id, t.true_customer_id,
        p.source_id is not null as in_predicted, t.source_id is not null as in_truth
    from predicted as p
    full join truth as t using (system, entity, source_id)
),
scored as (select customer_id, true_customer_id from joined where in_predicted and in_truth),
cells as (select customer_id, true_customer_id, count(*) as n from scored group by all),
clusters as (
    select customer_id, sum(n) as n, count(*) as true_customers from cells group by all
),
customers as (
    select true_customer_id, sum(n) as n, count(*) as clusters from cells group by all
),
cell_shares as (
    select cells.n, cells.n * cells.n / clusters.n as precision_sum,
        cells.n * cells.n / customers.n as recall_sum,
        cells.n = clusters.n and cells.n = customers.n as is_exact
    from cells
    inner join clusters using (customer_id)
    inner join customers using (true_customer_id)
)
select
    (select count(*) from scored) as records_scored,
    (select count(*) from joined where not in_truth) as records_only_predicted,
    (select count(*) from joined where not in_predicted) as records_only_truth,
    (select count(*) from clusters) as predicted_clusters,
    (select count(*) from customers) as true_clusters,
    (select coalesce(sum(n * (n - 1) // 2), 0) from clusters) as predicted_pairs,
    (select coalesce(sum(n * (n - 1) // 2), 0) from customers) as true_pairs,
    (select coalesce(sum(n * (n - 1) // 2), 0) from cells) as correct_pairs,
    (select coalesce(sum(precision_sum) / nullif(sum(n), 0), 1.0) from cell_shares)
        as bcubed_precision,
    (select coalesce(sum(recall_sum) / nullif(sum(n), 0), 1.0) from cell_shares) as bcubed_recall,
    (select count(*) from customers where clusters > 1) as splits,
    (select count(*) from clusters where true_customers > 1) as merges,
    (select count(*) from cell_shares where is_exact) as exact_clusters,
    (select coalesce(max(n), 0) from clusters) as largest_cluster
"""


def _counts(con: duckdb.DuckDBPyConnection, predicted: str, truth: str) -> dict[str, int | float]:
    cursor = con.execute(COUNTS_SQL.format(predicted=predicted, truth=truth))
    names = [column[0] for column in cursor.description]
    return {
        name: float(value) if name.startswith("bcubed") else int(value)
        for name, value in zip(names, cursor.fetchall()[0], strict=True)
    }


def _ratio(numerator: int, denominator: int) -> float:
    # No predicted pairs: nothing was wrongly merged (precision 1); no true pairs: nothing to find.
    return numerator / denominator if denominator else 1.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


# ------------------------------------------------------------------ the published warehouse


def evaluate_published(settings: Settings) -> IdentityMetrics:
    """The published bridge (serving.duckdb, opened read-only) against the simulator's truth."""
    truth = settings.truth_dir / TRUTH_FILE
    if not truth.exists():
        raise EvaluationUnavailable(
            f"no truth at {truth}: identity can only be measured on a simulated world "
            "(`cdw simulate`, then `cdw load`)"
        )
    if not settings.serving_path.exists():
        raise EvaluationUnavailable(
            f"no published warehouse at {settings.serving_path}: run `cdw load` (it publishes)"
        )
    with duckdb.connect(str(settings.serving_path), read_only=True) as con:
        has_bridge = con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'main' and table_name = ?",
            [BRIDGE],
        ).fetchall()[0][0]
        if not has_bridge:
            raise EvaluationUnavailable(
                f"{settings.serving_path} has no {BRIDGE}: publish a load that built it "
                "(`cdw load`)"
            )
        return evaluate(con, f"main.{BRIDGE}", f"read_parquet('{_sql_str(truth)}')")


def _sql_str(path: Path) -> str:
    return str(path).replace("'", "''")


# ------------------------------------------------------------------ printing

ROWS = (  # label, precision, recall, F1
    ("pairwise", "pairwise_precision", "pairwise_recall", "pairwise_f1"),
    ("B-cubed", "bcubed_precision", "bcubed_recall", "bcubed_f1"),
)


def format_table(metrics: IdentityMetrics) -> str:
    """A short aligned plain-text table (no colours: it is read in logs and CI output too)."""
    m = metrics
    lines = [
        f"{'':<10}{'precision':>11}{'recall':>11}{'F1':>11}",
        *(
            f"{label:<10}{getattr(m, p):>11.4f}{getattr(m, r):>11.4f}{getattr(m, f):>11.4f}"
            for label, p, r, f in ROWS
        ),
        "",
        f"{'records scored':<24}{m.records_scored:>10,}",
        f"{'only in the warehouse':<24}{m.records_only_predicted:>10,}",
        f"{'only in the truth':<24}{m.records_only_truth:>10,}",
        f"{'customers (predicted)':<24}{m.predicted_clusters:>10,}",
        f"{'customers (true)':<24}{m.true_clusters:>10,}",
        f"{'exact clusters':<24}{m.exact_clusters:>10,}",
        f"{'largest cluster':<24}{m.largest_cluster:>10,}   records under one customer_id",
        f"{'splits':<24}{m.splits:>10,}   true customers over more than one customer_id",
        f"{'merges':<24}{m.merges:>10,}   customer_ids holding more than one true customer",
        f"{'pairs correct':<24}{m.correct_pairs:>10,}   "
        f"of {m.predicted_pairs:,} predicted, {m.true_pairs:,} true",
    ]
    return "\n".join(lines)


def format_json(metrics: IdentityMetrics) -> str:
    return json.dumps(metrics.as_dict(), indent=2)
