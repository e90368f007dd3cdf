"""Name similarity on Spark is DuckDB's Jaro-Winkler to the last bit.

A name pair's comparison level comes from its similarity, and a level that differs between the
engines is a different match: before spark__string_similarity reproduced DuckDB's
jaro_winkler_similarity (it was 1 - Levenshtein distance / length), the engines resolved the M
world into 104,544 and 108,755 customers. The pairs here are the simulator's names in every
script it writes (given, family, nickname, variant, native) against their slips (each swap,
drop and doubling the simulator's noise makes) and against the other names of their culture.
"""

from __future__ import annotations

import itertools

import duckdb
import jinja2
import pytest
from test_dbt_build import PROJECT_DIR

from simulator.names import FAMILY_NAMES, GIVEN_NAMES

MACROS = PROJECT_DIR / "dbt_project" / "macros" / "identity_matching.sql"


def spark_similarity_sql(a: str, b: str) -> str:
    source = MACROS.read_text(encoding="utf-8")
    body = source.split("{% macro spark__string_similarity(a, b) -%}")[1]
    return jinja2.Template(body.split("{%- endmacro %}")[0]).render(a=a, b=b)


def slips(name: str) -> set[str]:
    swapped = {name[:i] + name[i + 1] + name[i] + name[i + 2 :] for i in range(len(name) - 1)}
    dropped = {name[:i] + name[i + 1 :] for i in range(len(name))}
    doubled = {name[:i] + name[i] + name[i:] for i in range(len(name))}
    return (swapped | dropped | doubled) - {name}


def name_pairs() -> list[tuple[str | None, str | None]]:
    pairs: set[tuple[str | None, str | None]] = {("", ""), ("", "a"), ("a", "a"), (None, "a")}
    by_culture: dict[str, set[str]] = {}
    for pool in (GIVEN_NAMES, FAMILY_NAMES):
        for field in ("latin", "native", "ascii", "nickname", "variant"):
            for name, culture in zip(getattr(pool, field), pool.culture, strict=True):
                if name:
                    by_culture.setdefault(culture, set()).add(name.lower())
    for names in by_culture.values():
        ordered = sorted(names)
        pairs.update((name, slip) for name in ordered for slip in slips(name))
        pairs.update(itertools.islice(itertools.combinations(ordered, 2), 3000))
    return sorted(pairs, key=repr)


def test_spark_jaro_winkler_equals_duckdb_on_the_simulators_names(tmp_path) -> None:
    pytest.importorskip("pyspark", reason="the spark extra is not installed (make install)")
    from pyspark.sql import SparkSession

    pairs = name_pairs()
    duckdb_scores = [
        row[0]
        for row in duckdb.connect()
        .execute(
            "select jaro_winkler_similarity(a, b) from (select unnest(?) as a, unnest(?) as b)",
            [[a for a, _ in pairs], [b for _, b in pairs]],
        )
        .fetchall()
    ]
    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.warehouse.dir", str(tmp_path / "warehouse"))
        .getOrCreate()
    )
    try:
        frame = spark.createDataFrame(
            [(i, a, b) for i, (a, b) in enumerate(pairs)], "i int, a string, b string"
        )
        frame.createOrReplaceTempView("pairs")
        rows = spark.sql(
            f"select i, {spark_similarity_sql('a', 'b')} as score from pairs"
        ).collect()
    finally:
        spark.stop()
    spark_scores = dict(rows)
    assert len(pairs) > 20_000
    different = [
        (a, b, duckdb_score, spark_scores[i])
        for i, ((a, b), duckdb_score) in enumerate(zip(pairs, duckdb_scores, strict=True))
        if spark_scores[i] != duckdb_score
    ]
    assert not different, different[:10]
