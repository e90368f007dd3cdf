"""The gate at the door: each entity's Great Expectations suite, run on every conformed file.

`gate_validators(settings, contract, entity, load_date)` gives ingestion its default validators
(see `ingest_partition`): a `Gate` built from `expectations/<system>.<entity>.json`. For each file:

- batch-level expectations (`meta.level: batch`: a declared column missing, a column of the wrong
  type, the row count collapsing below `gate.min_row_ratio` of the previous load) and a share of
  failed rows above the contract's `gate.max_failed_row_share` reject the whole file
  (`BatchRejected`: every row to quarantine, ledger outcome `rejected`);
- every other expectation is row-level: each failing row goes to quarantine with `rule` = the
  expectation type (the first failing one in suite order), `column_name` and a reason naming every
  failed expectation and the bad value.

Engines. `duckdb` (the default) evaluates the suite's expectations as SQL over the Arrow batch in
one pass (the GX semantics of each expectation type: nulls pass value checks, `unique` flags every
copy, `between` is inclusive unless strict). `gx` runs the same suite through an ephemeral Great
Expectations context with a pandas data source and `result_format=COMPLETE` (failing row indices);
it is the reference the push-down is checked against, and 10-50x slower on large batches (GX is
imported lazily there, never on the ingest hot path). A per-file summary (expectations evaluated
and failed, rows failed, rejected rule) is kept in `Gate.summaries` for the ledger.

The reference row count for the collapse rule is the previous load of the entity in the ledger,
skipping the entity's first load (the systems' initial extract, their whole history, is no
yardstick for a daily delta) and references under `MIN_REFERENCE_ROWS` (a handful of rows says
nothing). Corrected re-deliveries (a file landed on another day than the partition) are exempt.
"""

from __future__ import annotations

import json
import math
import time as clock
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from orchestration.conform import BatchRejected, RowFailure, RowValidator
from orchestration.contracts import Entity, SystemContract
from orchestration.expectations import APPROX_UNITS_PER_EUR, load_suite
from orchestration.readers import SOURCE_ROW, _sql_str, duckdb_cursor
from orchestration.settings import Settings

ENGINES = ("duckdb", "gx")
MIN_REFERENCE_ROWS = 100  # a previous load smaller than this is no yardstick for a collapse
MIN_ROWS_FOR_SHARE = 100  # a file smaller than this is not rejected for its share of bad rows
SHARE_RULE = "max_failed_row_share"
_ORD = "_gate_ord"
_EXAMPLES = 3


@dataclass
class GateSummary:
    """What the gate found in one file (stored as JSON in the ledger's `gate` column)."""

    suite: str
    engine: str
    rows_checked: int = 0
    expectations_evaluated: int = 0
    expectations_failed: int = 0
    rows_failed: int = 0
    rejected: str | None = None  # the rule that rejected the whole file
    failed: dict[str, int] = field(default_factory=dict)  # "type(column)" -> unexpected rows
    seconds: float = 0.0  # not in the ledger: a re-run must record the same summary

    def to_json(self) -> str:
        fields = {k: v for k, v in asdict(self).items() if k != "seconds"}
        return json.dumps(fields, sort_keys=True)


@dataclass(frozen=True)
class _Expectation:
    position: int
    type: str
    kwargs: dict[str, Any]
    meta: dict[str, Any]

    @property
    def column(self) -> str | None:
        return self.kwargs.get("column")

    @property
    def reported_column(self) -> str | None:
        if "column_list" in self.kwargs:
            keys = self.kwargs["column_list"]
            return keys[0] if len(keys) == 1 else None
        return self.meta.get("reports_column", self.column)

    @property
    def label(self) -> str:
        target = self.column or ", ".join(self.kwargs.get("column_list", ()))
        return f"{self.type}({target})" if target else self.type

    @property
    def is_batch(self) -> bool:
        return self.meta.get("level") == "batch" or self.type.startswith("expect_table_")


# --------------------------------------------------------------------------- building


def gate_validators(
    settings: Settings,
    contract: SystemContract,
    entity: Entity,
    load_date: date,
    *,
    engine: str = "duckdb",
) -> list[RowValidator]:
    """Ingestion's default validators for one partition: the entity's suite as a Gate."""
    # A live extraction reads the database as it is now, whatever partition it lands in (a
    # backfill), so for it "in the future" means after the extraction day, not the load date.
    today = datetime.now(UTC).date()
    as_of = max(load_date, today) if entity.is_live else load_date
    return [
        Gate(
            load_suite(contract, entity),
            entity,
            load_date=load_date,
            as_of=as_of,
            reference_rows=previous_load_rows(settings, contract.system, entity.name, load_date),
            engine=engine,
        )
    ]


def previous_load_rows(settings: Settings, system: str, entity: str, load_date: date) -> int | None:
    """Rows read in the entity's previous load, not counting its first (the initial extract)."""
    if not settings.ledger_path.exists():
        return None
    from orchestration.ledger import Ledger

    per_partition: dict[str, int] = {}
    for row in Ledger(settings.ledger_path).files(system, entity):
        if row.partition_date and row.outcome in ("loaded", "rejected"):
            per_partition[row.partition_date] = (
                per_partition.get(row.partition_date, 0) + row.rows_read
            )
    if not per_partition:
        return None
    first = min(per_partition)
    earlier = [d for d in per_partition if first < d < load_date.isoformat()]
    if not earlier:
        return None
    rows = per_partition[max(earlier)]
    return rows if rows >= MIN_REFERENCE_ROWS else None


class Gate:
    """A RowValidator running one entity's suite; see the module docstring."""

    def __init__(
        self,
        suite: dict,
        entity: Entity,
        *,
        load_date: date,
        as_of: date | None = None,
        reference_rows: int | None = None,
        engine: str = "duckdb",
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown gate engine {engine!r}; use one of {', '.join(ENGINES)}")
        self.suite = suite
        self.name = str(suite.get("name", entity.name))
        self.entity = entity
        self.load_date = load_date
        self.as_of = as_of or load_date  # dates after this day (+1) are in the future
        self.reference_rows = reference_rows
        self.engine = engine
        self.derived: dict[str, dict[str, str]] = dict(
            (suite.get("meta") or {}).get("derived_columns") or {}
        )
        self.expectations = [
            _Expectation(i, e["type"], dict(e.get("kwargs") or {}), dict(e.get("meta") or {}))
            for i, e in enumerate(suite.get("expectations") or [])
        ]
        self.current_file = ""  # set by ingestion before each file
        self.summaries: dict[str, GateSummary] = {}

    # ------------------------------------------------------------------ parameters

    def parameters(self, *, collapse_applies: bool = True) -> dict[str, Any]:
        latest = self.as_of + timedelta(days=1)
        ratio = (
            next((e.meta.get("ratio") for e in self.expectations if "ratio" in e.meta), None)
            or self.entity.gate.min_row_ratio
        )
        floor = None
        if collapse_applies and self.reference_rows and ratio:
            floor = math.ceil(ratio * self.reference_rows)
        return {
            "latest_date": latest,
            "latest_timestamp": datetime.combine(latest, time.max, tzinfo=UTC),
            "min_row_count": floor,
            "reference_rows": self.reference_rows,
        }

    def _is_correction(self) -> bool:
        parts = self.current_file.split("/")
        return len(parts) >= 3 and parts[-2] != self.load_date.isoformat()

    # ------------------------------------------------------------------ validating

    def __call__(self, table: pa.Table) -> list[RowFailure]:
        started = clock.perf_counter()
        summary = GateSummary(self.name, self.engine, rows_checked=table.num_rows)
        self.summaries[self.current_file] = summary
        try:
            return self._validate(table, summary)
        finally:
            summary.seconds = round(clock.perf_counter() - started, 4)

    def _validate(self, table: pa.Table, summary: GateSummary) -> list[RowFailure]:
        params = self.parameters(collapse_applies=not self._is_correction())
        where = self.current_file or "batch"
        batch = [e for e in self.expectations if e.is_batch]
        rows = [e for e in self.expectations if not e.is_batch]
        summary.expectations_evaluated = len(self.expectations)
        # Schema first: without the columns, row expectations cannot even be evaluated.
        for expectation in batch:
            problem = self._batch_problem(expectation, table, params)
            if problem:
                summary.failed[expectation.label] = table.num_rows
                summary.expectations_failed = 1
                summary.rejected = expectation.type
                summary.rows_failed = table.num_rows
                raise BatchRejected(
                    expectation.type, f"{where}: {expectation.label} failed: {problem}"
                )
        missing = {c for e in rows for c in _columns(e, self.derived)} - set(table.column_names)
        rows = [e for e in rows if not set(_columns(e, self.derived)) & missing]
        if table.num_rows == 0 or not rows:
            return []
        evaluate = _evaluate_duckdb if self.engine == "duckdb" else _evaluate_gx
        unexpected = evaluate(table, rows, params, self.derived)
        failing = {e.position: idx for e, idx in zip(rows, unexpected, strict=True) if len(idx)}
        summary.failed = {e.label: len(failing[e.position]) for e in rows if e.position in failing}
        summary.expectations_failed = len(failing)
        if not failing:
            return []
        first: dict[int, _Expectation] = {}
        every: dict[int, list[_Expectation]] = {}
        for expectation in rows:
            for index in failing.get(expectation.position, ()):
                first.setdefault(int(index), expectation)
                every.setdefault(int(index), []).append(expectation)
        summary.rows_failed = len(first)
        share = len(first) / table.num_rows
        limit = self.entity.gate.max_failed_row_share
        if table.num_rows >= MIN_ROWS_FOR_SHARE and share > limit:
            summary.rejected = SHARE_RULE
            counts = ", ".join(f"{label}: {n}" for label, n in summary.failed.items())
            raise BatchRejected(
                SHARE_RULE,
                f"{where}: {len(first)} of {table.num_rows} rows ({share:.1%}) failed the "
                f"suite {self.name}, more than the contract allows "
                f"(gate.max_failed_row_share = {limit:.0%}); failed: {counts}. A systematic "
                f"problem in the delivery: ask the system's owner to fix and re-deliver it",
            )
        return self._failures(table, first, every, where)

    def _batch_problem(
        self, expectation: _Expectation, table: pa.Table, params: dict[str, Any]
    ) -> str | None:
        kind, kwargs = expectation.type, expectation.kwargs
        if kind == "expect_column_to_exist":
            if kwargs["column"] not in table.column_names:
                return (
                    f"declared column {kwargs['column']!r} is missing; columns present: "
                    f"{', '.join(c for c in table.column_names if c != SOURCE_ROW)}"
                )
        elif kind == "expect_column_values_to_be_of_type":
            if kwargs["column"] in table.column_names:
                found = str(table.schema.field(kwargs["column"]).type)
                if found != kwargs["type_"]:
                    return f"column {kwargs['column']!r} is {found}, expected {kwargs['type_']}"
        elif kind == "expect_table_row_count_to_be_between":
            low = _resolve(kwargs.get("min_value"), params)
            high = _resolve(kwargs.get("max_value"), params)
            n = table.num_rows
            if (low is not None and n < low) or (high is not None and n > high):
                reference = params.get("reference_rows")
                return (
                    f"{n} rows, expected at least {low} "
                    + (f"({expectation.meta.get('ratio')} of the previous load's {reference} "
                       "rows); a partial extract? Ask the owner to re-deliver the whole file"
                       if reference else "")
                )  # fmt: skip
        elif kind == "expect_table_columns_to_match_set":
            missing = set(kwargs["column_set"]) - set(table.column_names)
            if missing:
                return f"columns missing: {', '.join(sorted(missing))}"
        elif kind == "expect_table_column_count_to_equal":
            pass  # the conformed batch always has the contract's columns plus lineage
        else:
            raise ValueError(f"suite {self.name}: batch-level {kind} is not supported by the gate")
        return None

    def _failures(
        self,
        table: pa.Table,
        first: dict[int, _Expectation],
        every: dict[int, list[_Expectation]],
        where: str,
    ) -> list[RowFailure]:
        indices = sorted(first)
        chosen = table.take(pa.array(indices, pa.int64())).to_pylist()
        failures = []
        for index, row in zip(indices, chosen, strict=True):
            problems = "; ".join(self._describe(e, row) for e in every[index])
            failures.append(
                RowFailure(
                    index,
                    first[index].reported_column,
                    first[index].type,
                    f"{where} row {row.get(SOURCE_ROW)}: {problems}; correct the record in the "
                    "source system and re-deliver it (or tune the suite "
                    f"expectations/{self.name}.json if the expectation is wrong)",
                )
            )
        return failures

    def _describe(self, expectation: _Expectation, row: dict) -> str:
        kwargs = expectation.kwargs
        if "column_list" in kwargs:
            shown = ", ".join(f"{c}={row.get(c)!r}" for c in kwargs["column_list"])
            return f"{expectation.type}: ({shown}) is repeated in this file"
        column = expectation.column or ""
        if column in self.derived:
            source = self.derived[column]
            value = f"{row.get(source['amount'])} {row.get(source['currency'])}"
            return (
                f"{expectation.type}: {source['amount']} = {value} is above the ceiling of "
                f"{kwargs.get('max_value')} EUR (approximately) for one {self.entity.name} row"
            )
        value = row.get(column)
        shown = value.isoformat() if isinstance(value, date) else _show(value)
        what = {
            "expect_column_values_to_not_be_null": "is empty",
            "expect_column_values_to_be_unique": "is repeated in this file",
            "expect_column_values_to_be_in_set": "is not in the "
            + str(expectation.meta.get("value_set_name") or _short(kwargs.get("value_set", ()))),
            "expect_column_values_to_not_be_in_set": "is in the forbidden set "
            + _short(kwargs.get("value_set", ())),
            "expect_column_values_to_match_regex": f"does not match {kwargs.get('regex')!r}",
            "expect_column_values_to_not_match_regex": f"matches {kwargs.get('regex')!r}",
            "expect_column_values_to_be_between": _range_text(kwargs, self.parameters()),
            "expect_column_value_lengths_to_be_between": _range_text(kwargs, {}, "length "),
        }.get(expectation.type, "fails the expectation")
        return f"{expectation.type}: {column} = {shown} {what}"


# --------------------------------------------------------------------------- helpers


def _resolve(value: Any, params: dict[str, Any]) -> Any:
    if isinstance(value, dict) and "$PARAMETER" in value:
        return params.get(value["$PARAMETER"])
    return value


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) or value is None else str(value)


def _short(values: Sequence[Any]) -> str:
    values = list(values)
    shown = ", ".join(str(v) for v in values[:8])
    return "{" + shown + (f", ... ({len(values)} values)" if len(values) > 8 else "") + "}"


def _range_text(kwargs: dict, params: dict, prefix: str = "") -> str:
    low, high = _resolve(kwargs.get("min_value"), params), _resolve(kwargs.get("max_value"), params)
    if isinstance(high, datetime) and high.time() == time.max:
        high = f"{high.date().isoformat()} (end of the day after the load date)"
    elif isinstance(high, date):
        high = f"{high.isoformat()} (the day after the load date)"
    parts = []
    if low is not None:
        parts.append(f"{'>' if kwargs.get('strict_min') else '>='} {low}")
    if high is not None:
        parts.append(f"{'<' if kwargs.get('strict_max') else '<='} {high}")
    return f"is out of range: {prefix}must be " + " and ".join(parts)


def _columns(expectation: _Expectation, derived: dict[str, dict[str, str]]) -> list[str]:
    names = list(expectation.kwargs.get("column_list") or [])
    if expectation.column:
        names.append(expectation.column)
    out = []
    for name in names:
        out += list(derived[name].values()) if name in derived else [name]
    return out


# --------------------------------------------------------------------------- DuckDB engine


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: Any, arrow: pa.DataType) -> str:
    if pa.types.is_timestamp(arrow):
        text = value.isoformat() if isinstance(value, date) else str(value)
        return f"TIMESTAMPTZ {_sql_str(text)}"
    if pa.types.is_date(arrow):
        text = value.isoformat() if isinstance(value, date) else str(value)
        return f"DATE {_sql_str(text[:10])}"
    if isinstance(value, str):
        return _sql_str(value)
    return repr(float(value)) if isinstance(value, float) else str(int(value))


_SETS = ("expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set")
_UNIQUE = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")


def _value_sql(e: _Expectation) -> str:
    value = _q(e.kwargs["column"])
    return f"upper(trim({value}))" if e.meta.get("normalize") == "upper_trim" else value


def _condition(
    e: _Expectation, schema: pa.Schema, params: dict[str, Any], distinct: dict[str, list]
) -> str | None:
    """SQL that is true on a row the expectation rejects (None: evaluated elsewhere).

    Value sets are decided on the column's distinct values (a hash aggregate, computed once for
    all of them): only the few values outside the set are looked for row by row.
    """
    kwargs = e.kwargs
    if e.type in _UNIQUE:
        return None
    column = kwargs["column"]
    arrow = schema.field(column).type
    value = _value_sql(e)
    present = f"{value} IS NOT NULL"
    if e.type == "expect_column_values_to_not_be_null":
        condition = f"{value} IS NULL"
    elif e.type == "expect_column_values_to_be_null":
        condition = present
    elif e.type in ("expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"):
        allowed = set(kwargs["value_set"])
        wanted = "_not_" not in e.type
        bad = [v for v in distinct[value] if v is not None and (v in allowed) != wanted]
        if not bad:
            return "false"
        condition = f"{value} IN ({', '.join(_literal(v, arrow) for v in bad)})"
    elif e.type in (
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
    ):
        matched = f"regexp_matches({value}, {_sql_str(kwargs['regex'])})"
        condition = f"{present} AND {'NOT ' if '_not_' not in e.type else ''}{matched}"
    elif e.type in (
        "expect_column_values_to_be_between",
        "expect_column_value_lengths_to_be_between",
    ):
        if e.type == "expect_column_value_lengths_to_be_between":
            value, arrow = f"length({value})", pa.int64()
        low, high = (
            _resolve(kwargs.get("min_value"), params),
            _resolve(kwargs.get("max_value"), params),
        )
        bounds = []
        if low is not None:
            bounds.append(
                f"{value} {'<=' if kwargs.get('strict_min') else '<'} {_literal(low, arrow)}"
            )
        if high is not None:
            bounds.append(
                f"{value} {'>=' if kwargs.get('strict_max') else '>'} {_literal(high, arrow)}"
            )
        if not bounds:
            return "false"
        condition = f"{present} AND ({' OR '.join(bounds)})"
    else:
        raise ValueError(f"the gate's push-down does not support {e.type}; use engine='gx'")
    row_condition = kwargs.get("row_condition")
    if row_condition:
        condition = f"({_row_condition_sql(row_condition, schema)}) AND {condition}"
    return f"coalesce({condition}, false)"  # fmt: skip


def _row_condition_sql(condition: dict, schema: pa.Schema) -> str:
    """GX 1.x structured row conditions: comparison (==, !=, <, IN, NOT_IN, ...) and nullity."""
    if "conditions" in condition:
        joiner = " OR " if condition.get("type") == "or" else " AND "
        return joiner.join(f"({_row_condition_sql(c, schema)})" for c in condition["conditions"])
    column = condition["column"]["name"]
    arrow = schema.field(column).type
    if condition.get("type") == "nullity":
        return f"{_q(column)} IS {'' if condition.get('is_null', True) else 'NOT '}NULL"
    operator, parameter = condition["operator"], condition.get("parameter")
    if operator in ("IN", "NOT_IN"):
        listed = ", ".join(_literal(v, arrow) for v in parameter)
        return f"{_q(column)} {'NOT ' if operator == 'NOT_IN' else ''}IN ({listed})"
    sql = {"EQUAL": "=", "NOT_EQUAL": "<>", "LESS_THAN": "<", "GREATER_THAN": ">",
           "LESS_THAN_OR_EQUAL": "<=", "GREATER_THAN_OR_EQUAL": ">="}[operator]  # fmt: skip
    return f"{_q(column)} {sql} {_literal(parameter, arrow)}"


def _amount_ranges(con: Any, specs: list[dict[str, str]]) -> dict[tuple[str, str], dict]:
    """Per (amount, currency) column pair: the min and max amount of each currency in the file."""
    out: dict[tuple[str, str], dict] = {}
    for currency in dict.fromkeys(spec["currency"] for spec in specs):
        amounts = list(dict.fromkeys(s["amount"] for s in specs if s["currency"] == currency))
        stats = ", ".join(
            f"min(CAST({_q(a)} AS DOUBLE)), max(CAST({_q(a)} AS DOUBLE))" for a in amounts
        )
        rows = con.sql(
            f"SELECT {_q(currency)}, {stats} FROM gate_src WHERE {_q(currency)} IS NOT NULL "
            "GROUP BY ALL"
        ).fetchall()
        for k, amount in enumerate(amounts):
            out[(amount, currency)] = {r[0]: (r[1 + 2 * k], r[2 + 2 * k]) for r in rows}
    return out


def _derived_condition(
    e: _Expectation, spec: dict[str, str], ranges: dict, params: dict[str, Any]
) -> str:
    """Amount ceilings in EUR: only currencies whose range in the file breaks a bound are
    looked at row by row (usually none), converted with their approximate rate."""
    low = _resolve(e.kwargs.get("min_value"), params)
    high = _resolve(e.kwargs.get("max_value"), params)
    strict_min, strict_max = e.kwargs.get("strict_min"), e.kwargs.get("strict_max")

    def breaks(value: float | None) -> bool:
        if value is None:
            return False
        below = low is not None and (value <= low if strict_min else value < low)
        above = high is not None and (value >= high if strict_max else value > high)
        return below or above

    suspects = {}
    for code, (smallest, largest) in ranges[(spec["amount"], spec["currency"])].items():
        rate = APPROX_UNITS_PER_EUR.get(code)
        if rate and (
            breaks(None if smallest is None else smallest / rate)
            or breaks(None if largest is None else largest / rate)
        ):
            suspects[code] = rate
    if not suspects:
        return "false"
    cases = " ".join(f"WHEN {_sql_str(c)} THEN {r!r}" for c, r in suspects.items())
    value = f"(CAST({_q(spec['amount'])} AS DOUBLE) / (CASE {_q(spec['currency'])} {cases} END))"
    bounds = []
    if low is not None:
        bounds.append(f"{value} {'<=' if strict_min else '<'} {float(low)!r}")
    if high is not None:
        bounds.append(f"{value} {'>=' if strict_max else '>'} {float(high)!r}")
    listed = ", ".join(_sql_str(c) for c in suspects)
    return f"coalesce({_q(spec['currency'])} IN ({listed}) AND ({' OR '.join(bounds)}), false)"


def _evaluate_duckdb(
    table: pa.Table,
    expectations: list[_Expectation],
    params: dict[str, Any],
    derived: dict[str, dict[str, str]],
) -> list[np.ndarray]:
    """Unexpected row positions per expectation, all value checks in one pass over the batch.

    Set and ceiling checks are first decided on aggregates (distinct values, per-currency
    ranges); the row pass only looks for the values those found, so a clean file costs a few
    hash aggregates and one filtered scan.
    """
    con = duckdb_cursor()
    try:
        ordinal = pa.array(np.arange(table.num_rows, dtype=np.int64))
        con.register("gate_src", table.append_column(_ORD, ordinal))
        con.execute("CREATE OR REPLACE TEMP VIEW gate_batch AS SELECT * FROM gate_src")
        distinct = _distinct_values(con, [_value_sql(e) for e in expectations if e.type in _SETS])
        specs = [derived[e.column] for e in expectations if e.column in derived]
        ranges = _amount_ranges(con, specs)
        schema = table.schema
        conditions = [
            (
                i,
                _derived_condition(e, derived[e.column], ranges, params)
                if e.column in derived
                else _condition(e, schema, params, distinct),
            )
            for i, e in enumerate(expectations)
        ]
        flagged = [(i, c) for i, c in conditions if c is not None and c != "false"]
        out = [np.empty(0, dtype=np.int64) for _ in expectations]
        if flagged:
            flags = ", ".join(f"{c} AS f_{i}" for i, c in flagged)
            any_flag = " OR ".join(f"f_{i}" for i, _ in flagged)
            bad = con.sql(
                f"SELECT {_ORD}, {', '.join(f'f_{i}' for i, _ in flagged)} FROM "
                f"(SELECT {_ORD}, {flags} FROM gate_batch) WHERE {any_flag}"
            ).to_arrow_table()
            ords = bad[_ORD].to_numpy()
            for i, _ in flagged:
                mask = bad[f"f_{i}"].to_numpy(zero_copy_only=False).astype(bool)
                out[i] = np.sort(ords[mask])
        for i, e in enumerate(expectations):
            if conditions[i][1] is None:
                out[i] = _duplicates(con, e)
        return out
    finally:
        con.close()


def _distinct_values(con: Any, expressions: list[str]) -> dict[str, list]:
    """Distinct non-null values of each expression, in one pass over the batch."""
    unique = list(dict.fromkeys(expressions))
    if not unique:
        return {}
    lists = ", ".join(f"list(DISTINCT {x}) FILTER (WHERE {x} IS NOT NULL)" for x in unique)
    (row,) = con.sql(f"SELECT {lists} FROM gate_src").fetchall()
    return {x: list(values or []) for x, values in zip(unique, row, strict=True)}


def _duplicates(con: Any, expectation: _Expectation) -> np.ndarray:
    """Every copy of a repeated key (GX flags them all); nulls are not keys.

    Keys are grouped by a 64-bit hash first (cheap); only rows whose hash repeats are compared
    on the key values themselves, so a hash collision never flags a row.
    """
    keys = expectation.kwargs.get("column_list") or [expectation.kwargs["column"]]
    quoted = [_q(k) for k in keys]
    present = " AND ".join(f"{k} IS NOT NULL" for k in quoted)
    hashed = f"hash({', '.join(quoted)})"
    candidates = (
        f"SELECT {_ORD}, {', '.join(quoted)} FROM gate_batch WHERE {present} AND {hashed} IN "
        f"(SELECT h FROM (SELECT {hashed} AS h FROM gate_batch WHERE {present}) "
        "GROUP BY h HAVING count(*) > 1)"
    )
    joined = " AND ".join(f"b.{k} = d.{k}" for k in quoted)
    found = con.sql(
        f"WITH c AS ({candidates}) SELECT b.{_ORD} FROM c b JOIN (SELECT {', '.join(quoted)} "
        f"FROM c GROUP BY ALL HAVING count(*) > 1) d ON {joined}"
    ).to_arrow_table()
    return np.sort(found[_ORD].to_numpy())


# --------------------------------------------------------------------------- GX engine

_GX: dict[str, Any] = {}


def _gx_batch_definition() -> Any:
    """One ephemeral GX context per process (no stores on disk, no data docs, no network)."""
    if "batch" not in _GX:
        import great_expectations as gx

        context = gx.get_context(mode="ephemeral")
        source = context.data_sources.add_pandas("cdw_gate")
        asset = source.add_dataframe_asset("conformed_file")
        _GX.update(
            gx=gx,
            context=context,
            batch=asset.add_batch_definition_whole_dataframe("whole_file"),
            count=0,
        )
    return _GX["batch"]


def _evaluate_gx(
    table: pa.Table,
    expectations: list[_Expectation],
    params: dict[str, Any],
    derived: dict[str, dict[str, str]],
) -> list[np.ndarray]:
    """The same expectations through Great Expectations (pandas, result_format=COMPLETE)."""
    import pandas as pd

    definition = _gx_batch_definition()
    gx = _GX["gx"]
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    casts = []
    for f in table.schema:
        if pa.types.is_decimal(f.type):
            casts.append(pa.field(f.name, pa.float64()))
        elif pa.types.is_date(f.type):
            casts.append(pa.field(f.name, pa.timestamp("us")))
        else:
            casts.append(f)
    frame = table.cast(pa.schema(casts)).to_pandas()
    for e in expectations:
        if e.meta.get("normalize") == "upper_trim" and e.column in frame:
            frame[e.column] = frame[e.column].str.strip().str.upper()
    for name, spec in derived.items():
        rates = frame[spec["currency"]].map(APPROX_UNITS_PER_EUR).astype("float64")
        frame[name] = frame[spec["amount"]].astype("float64") / rates
    gx_params = {}
    for key, value in params.items():
        if isinstance(value, (datetime, date)):
            gx_params[key] = pd.Timestamp(value)
        else:
            gx_params[key] = value
    _GX["count"] += 1
    suite = gx.ExpectationSuite(name=f"cdw_gate_{_GX['count']}")
    suite = _GX["context"].suites.add(suite)
    try:
        for e in expectations:
            kwargs = dict(e.kwargs)
            column = kwargs.get("column")
            if column in frame and str(frame[column].dtype).startswith("datetime64"):
                tz = "UTC" if "UTC" in str(frame[column].dtype) else None
                for bound in ("min_value", "max_value"):
                    value = kwargs.get(bound)
                    if isinstance(value, str):
                        kwargs[bound] = pd.Timestamp(value, tz=tz)
                    elif isinstance(value, dict) and tz is None:
                        resolved = gx_params.get(value.get("$PARAMETER", ""))
                        if isinstance(resolved, pd.Timestamp) and resolved.tzinfo is not None:
                            kwargs[bound] = resolved.tz_convert(None)
            meta = {**e.meta, "cdw_position": e.position}
            config = ExpectationConfiguration(type=e.type, kwargs=kwargs, meta=meta)
            suite.add_expectation(config.to_domain_obj())
        batch = definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(
            suite,
            expectation_parameters=gx_params,
            result_format={"result_format": "COMPLETE", "include_unexpected_rows": False},
        )
    finally:
        _GX["context"].suites.delete(suite.name)
    found: dict[int, np.ndarray] = {}  # GX does not keep the suite's order in its results
    for r in result.results:
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(
                f"GX could not evaluate {r.expectation_config.type}: "
                f"{r.exception_info.get('exception_message')}"
            )
        indices = (r.result or {}).get("unexpected_index_list") or []
        position = r.expectation_config.meta["cdw_position"]
        found[position] = np.sort(np.asarray([int(i) for i in indices], dtype=np.int64))
    return [found[e.position] for e in expectations]
