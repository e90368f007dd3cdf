"""Identity resolution in the benchmark: our customer_ids scored against the truth, and Splink
run on the same source records as a baseline (a benchmark-only extra, never a test).

    python -m benchmarks.identity ours   --data-dir D --result R
    python -m benchmarks.identity splink --data-dir D --result R

Each runs as its own child of the harness (benchmarks/measure.py), so Splink's wall time and peak
RSS are its own. Both are scored by orchestration.identity_eval against the truth in
D/truth/source_records.parquet.

Splink (DuckDB backend) reads `intermediate.int_identity__source_records` of D's warehouse, the
records our models resolve, with the normalised keys they use:
- blocking: email_key, phone, name_key + postcode, family_name_key + birth_date, tax_id,
  loyalty_card_no (and the CRM account key, below);
- comparisons: Jaro-Winkler levels on given_name_key and family_name_key with term-frequency
  adjustments; exact email_key, phone, birth_date; exact postcode and city with term-frequency
  adjustments (00000 is a placeholder postcode held by thousands); exact tax_id and
  loyalty_card_no too, since pairs blocked on a key must be scored on it;
- the group a record belongs to (`group_id`: the CRM account of a contact or an account):
  a CRM account record carries nothing else, so without it every account is a split that no
  configuration could avoid;
- email_key, phone, tax_id and loyalty_card_no values held by more than MAX_IDENTIFIER_RECORDS
  records, and postcodes held by more than MAX_PLACE_RECORDS (placeholders), blanked first;
- prior from deterministic rules, u by random sampling, m by EM over two blocking rules (email_key,
  name_key + postcode); DuckDB memory_limit MEMORY_LIMIT, spilling under D;
  pairs at match probability >= 0.9 clustered (connected components).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import duckdb

from orchestration.identity_eval import TRUTH_FILE, evaluate

SOURCE_RECORDS = "intermediate.int_identity__source_records"
BRIDGE = "marts.bridge_customer_source"
THRESHOLD = 0.9
SEED = 20261128
U_MAX_PAIRS = 1e7
IDENTIFIER_U = 1e-6  # two different customers sharing a tax id, card or CRM account
# A value held by more records than one customer has is a placeholder (a dummy phone, a shared
# info@ mailbox): it is blanked before blocking and scoring, or its u of IDENTIFIER_U chains
# thousands of customers into one cluster. Computed from the records alone, no truth.
MAX_IDENTIFIER_RECORDS = 50
# A postcode is shared by many, but one held by more records than our models block on
# (identity_max_block_records, 1000) is a placeholder too: 00000 where there are no postcodes,
# which chained 8,506 namesakes at M through the name_key + postcode rule.
MAX_PLACE_RECORDS = 1000
PLACEHOLDER_LIMITS = {
    "email_key": MAX_IDENTIFIER_RECORDS,
    "phone": MAX_IDENTIFIER_RECORDS,
    "tax_id": MAX_IDENTIFIER_RECORDS,
    "loyalty_card_no": MAX_IDENTIFIER_RECORDS,
    "postcode": MAX_PLACE_RECORDS,
}
MEMORY_LIMIT = "6GB"
RECORD_COLUMNS = (
    "system",
    "entity",
    "source_id",
    "given_name_key",
    "family_name_key",
    "name_key",
    "email_key",
    "phone",
    "birth_date",
    "postcode",
    "city",
    "tax_id",
    "loyalty_card_no",
)
# The group within a system (a CRM account and its contacts), as the models key it.
GROUP_KEY = "case when group_id is not null then system || ':' || group_id end as group_key"


def score_ours(data_dir: Path) -> dict[str, Any]:
    """Our clusters: the warehouse's bridge mart against the truth."""
    con = _warehouse(data_dir)
    metrics = evaluate(con, f"wh.{BRIDGE}", _truth(data_dir))
    return {"rows": metrics.records_scored, "metrics": metrics.as_dict()}


def run_splink(data_dir: Path) -> dict[str, Any]:
    """Splink over the same source records: train, predict, cluster, then score the clusters."""
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    import splink
    from splink import DuckDBAPI, Linker

    timings["import_s"] = _lap(clock)
    clock = time.perf_counter()
    con = _warehouse(data_dir)
    with_account = "group_id" in _columns(con, f"wh.{SOURCE_RECORDS}")
    account = f", {GROUP_KEY}" if with_account else ""
    con.execute(
        f"create table records as select record_key as unique_id, {', '.join(RECORD_COLUMNS)}"
        f"{account} from wh.{SOURCE_RECORDS}"
    )
    con.execute("detach wh")  # Splink's work tables live in memory, not in the warehouse
    _blank_placeholders(con)
    records = con.execute("select count(*) from records").fetchall()[0][0]
    db_api = DuckDBAPI(con)
    linker = Linker(db_api.register("records"), settings(with_account), log_level=logging.WARNING)
    timings["load_s"] = _lap(clock)
    clock = time.perf_counter()
    train(linker)
    timings["training_s"] = _lap(clock)
    clock = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=THRESHOLD)
    timings["predict_s"] = _lap(clock)
    clock = time.perf_counter()
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=THRESHOLD
    )
    timings["cluster_s"] = _lap(clock)
    timings["linkage_s"] = round(
        sum(timings[k] for k in ("load_s", "training_s", "predict_s", "cluster_s")), 3
    )
    links = con.execute(f"select count(*) from {predictions.physical_name}").fetchall()[0][0]
    predicted = (
        f"(select r.system, r.entity, r.source_id, c.cluster_id as customer_id "
        f"from records as r inner join {clusters.physical_name} as c using (unique_id))"
    )
    metrics = evaluate(con, predicted, _truth(data_dir))
    return {
        "rows": records,
        "metrics": metrics.as_dict(),
        "timings": timings,
        "pairs_at_threshold": links,
        "splink_version": splink.__version__,
        "threshold_match_probability": THRESHOLD,
        "group_key": with_account,
    }


def settings(with_account: bool) -> Any:
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    keys = ["email_key", "phone", "birth_date"]
    # Places are shared by many customers, some by thousands (00000 where there are no
    # postcodes): a match on a common one is weak evidence.
    places = ["postcode", "city"]
    identifiers = ["tax_id", "loyalty_card_no"]
    blocking = [
        block_on("email_key"),
        block_on("phone"),
        block_on("name_key", "postcode"),
        block_on("family_name_key", "birth_date"),
        block_on("tax_id"),
        block_on("loyalty_card_no"),
    ]
    if with_account:
        identifiers.append("group_key")
        blocking.append(block_on("group_key"))
    return SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=[
            cl.JaroWinklerAtThresholds("given_name_key", [0.92, 0.8]).configure(
                term_frequency_adjustments=True
            ),
            cl.JaroWinklerAtThresholds("family_name_key", [0.92, 0.8]).configure(
                term_frequency_adjustments=True
            ),
            *(cl.ExactMatch(key) for key in keys),
            *(cl.ExactMatch(key).configure(term_frequency_adjustments=True) for key in places),
            *(_identifier(key) for key in identifiers),
        ],
        retain_intermediate_calculation_columns=False,
    )


def _identifier(key: str) -> Any:
    """Exact match on an identifier with u fixed at IDENTIFIER_U: random sampling would take u
    from pairs that are mostly matches (a key held by about two records of one customer), and
    that bias alone keeps every CRM account below the threshold."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name=key,
        comparison_levels=[
            cll.NullLevel(key),
            cll.ExactMatchLevel(key).configure(u_probability=IDENTIFIER_U, fix_u_probability=True),
            cll.ElseLevel(),
        ],
    )


def _blank_placeholders(con: duckdb.DuckDBPyConnection) -> None:
    for key, limit in PLACEHOLDER_LIMITS.items():
        con.execute(
            f"update records set {key} = null where {key} in (select {key} from records "
            f"where {key} is not null group by {key} having count(*) > {limit})"
        )


def train(linker: Any) -> None:
    from splink import block_on

    linker.training.estimate_probability_two_random_records_match(
        [block_on("email_key"), block_on("name_key", "birth_date")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=SEED)
    # Each EM session estimates m for every comparison but the ones it blocks on.
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("email_key"))
    # name_key alone pairs every namesake: billions of pairs at 1M customers.
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("name_key", "postcode")
    )


def _warehouse(data_dir: Path) -> duckdb.DuckDBPyConnection:
    # Spills go under the work dir, within a bound, not to /tmp without one.
    con = duckdb.connect(
        config={"memory_limit": MEMORY_LIMIT, "temp_directory": str(data_dir / "duckdb_tmp")}
    )
    con.execute(f"attach '{_sql_str(data_dir / 'warehouse.duckdb')}' as wh (read_only)")
    return con


def _truth(data_dir: Path) -> str:
    return f"read_parquet('{_sql_str(data_dir / 'truth' / TRUTH_FILE)}')"


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return list(con.sql(f"select * from {relation}").columns)  # a relation runs nothing here


def _lap(started: float) -> float:
    return round(time.perf_counter() - started, 3)


def _sql_str(path: Path) -> str:
    return str(path).replace("'", "''")


RUNS = {"ours": score_ours, "splink": run_splink}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.identity")
    parser.add_argument("run", choices=sorted(RUNS))
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args(argv)
    output = RUNS[args.run](args.data_dir)
    args.result.parent.mkdir(parents=True, exist_ok=True)
    args.result.write_text(json.dumps(output, indent=2, default=str))


if __name__ == "__main__":
    main()
