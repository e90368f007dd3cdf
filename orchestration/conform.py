"""Text -> typed Arrow per the contract, with one quarantine row per record that fails a rule.

All the work is one DuckDB query over the whole file (vectorised `try_cast`s and flags); Python
only touches the few rows a validator rejects. Rules, checked in this order per column (the first
failure names the quarantine row's column and rule; the reason lists every failure of the record):

- `not_null`        a required (or primary-key) column is empty;
- `type`            the text is not a value of the column's type;
- `timezone`        a naive timestamp whose per-row zone column holds an unknown zone;
- `accepted_values` a value outside the contract's list;
- `duplicate_key`   the primary key was already seen in an earlier row of the same file
                    (the first occurrence is loaded, later ones are quarantined).

Reader rules (`malformed_record`, `encoding`), `missing_column` and `unreadable_file` are decided
before this module; validators plugged into `ingest_partition` add their own rule names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from orchestration.contracts import Column, Entity
from orchestration.readers import SOURCE_ROW, ReadReject, _sql_str, duckdb_cursor

QUARANTINE_CORE = pa.schema(
    [
        pa.field(SOURCE_ROW, pa.int64()),
        pa.field("column_name", pa.string()),
        pa.field("rule", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("raw_record", pa.string()),
    ]
)

_OFFSET = r"[T ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$"
_NUMBER = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
_THOUSANDS_COMMA = r"[+-]?[0-9]{1,3}(\.[0-9]{3})+(,[0-9]+)?"
_PLAIN_COMMA = r"[+-]?([0-9]+,?[0-9]*|,[0-9]+)"
_ORD = "_ord"
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")


# --------------------------------------------------------------------------- public types


@dataclass(frozen=True)
class RowFailure:
    """A row a validator rejects: `index` is its position in the conformed table."""

    index: int
    column: str | None
    rule: str
    reason: str


class BatchRejected(Exception):
    """Raised by a validator to reject the whole batch (every row goes to quarantine)."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.rule = rule
        self.reason = reason


# The gate's hook: called with one file's conformed rows (typed contract columns plus
# `_source_row`); returns the failing rows by position, or raises BatchRejected.
RowValidator = Callable[[pa.Table], Iterable[RowFailure]]


@dataclass(frozen=True)
class Conformed:
    good: pa.Table  # typed contract columns + _source_row
    quarantine: pa.Table  # QUARANTINE_CORE
    rejected: str | None = None  # why a validator rejected the whole batch (BatchRejected)


def arrow_type(column: Column) -> pa.DataType:
    return {
        "string": pa.string(),
        "integer": pa.int64(),
        "double": pa.float64(),
        "decimal": pa.decimal128(18, column.scale),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "boolean": pa.bool_(),
    }[column.type]


def typed_schema(entity: Entity) -> pa.Schema:
    """Contract columns with their Arrow types, then `_source_row`."""
    fields = [pa.field(c.name, arrow_type(c), nullable=c.nullable) for c in entity.columns]
    return pa.schema([*fields, pa.field(SOURCE_ROW, pa.int64(), nullable=False)])


# --------------------------------------------------------------------------- conforming


def conform(rows: pa.Table, entity: Entity, *, system_timezone: str, source_file: str) -> Conformed:
    """Type every column of `rows` (text + _source_row); bad records become quarantine rows."""
    checks = _checks(entity, system_timezone)
    con = _connect()
    try:
        # `_ord` keeps the delivered order (unnested items share one _source_row).
        ordinal = pa.array(np.arange(rows.num_rows, dtype=np.int64))
        con.register("src", rows.append_column(_ORD, ordinal))
        con.execute(
            f"CREATE TEMP TABLE conformed AS {_flagged_sql(entity, system_timezone, checks)}"
        )
        _mark_duplicates(con, entity)
        typed = ", ".join(_q(c.name) for c in entity.columns)
        # No ORDER BY on the big result: a filtered scan keeps insertion order (checked below).
        good = con.sql(
            f"SELECT {typed}, {SOURCE_ROW}, {_ORD} FROM conformed WHERE q_rule IS NULL"
        ).to_arrow_table()
        bad = con.sql(_bad_rows_sql(entity, checks, source_file)).to_arrow_table()
    finally:
        con.close()
    return Conformed(_in_order(good).cast(typed_schema(entity)), _core(bad))


def _in_order(table: pa.Table) -> pa.Table:
    ordinal = table[_ORD].to_numpy()
    if len(ordinal) > 1 and not bool(np.all(ordinal[1:] > ordinal[:-1])):
        table = table.sort_by(_ORD)
    return table.drop_columns([_ORD])


def reject_file(
    rows: pa.Table, entity: Entity, *, column: str | None, rule: str, reason: str
) -> pa.Table:
    """Every row of a file goes to quarantine for one file-level reason (e.g. missing_column)."""
    con = _connect()
    try:
        con.register("src", rows)
        record = _raw_record_sql(entity, lambda c: _q(c.name))
        table = con.sql(
            f"SELECT {SOURCE_ROW}, {_lit(column)}, {_lit(rule)}, "
            f"{_lit(reason)} || ' (record ' || {SOURCE_ROW} || ')', {record} "
            f"FROM src ORDER BY {SOURCE_ROW}"
        ).to_arrow_table()
    finally:
        con.close()
    return _core(table)


def rejects_table(rejects: Sequence[ReadReject], source_file: str) -> pa.Table:
    """The reader's rejects (malformed lines, bad encoding) as quarantine rows."""
    return pa.table(
        [
            pa.array([r.source_row for r in rejects], pa.int64()),
            pa.array([r.column_name for r in rejects], pa.string()),
            pa.array([r.rule for r in rejects], pa.string()),
            pa.array([f"{source_file} {r.reason}" for r in rejects], pa.string()),
            pa.array([r.raw_record for r in rejects], pa.string()),
        ],
        schema=QUARANTINE_CORE,
    )


def apply_validators(
    conformed: Conformed, validators: Sequence[RowValidator], *, source_file: str
) -> Conformed:
    """Run the gate's validators on the good rows; move the rows they reject to quarantine.

    A validator raising BatchRejected sends every good row of the batch to quarantine with its
    rule and reason (the batch is the file being loaded).
    """
    good = conformed.good
    failures: dict[int, RowFailure] = {}
    try:
        for validator in validators:
            for failure in validator(good):
                failures.setdefault(int(failure.index), failure)
    except BatchRejected as rejected:
        reason = f"{source_file}: batch rejected by the gate: {rejected.reason}"
        moved = quarantine_good_rows(good, [None] * good.num_rows, rejected.rule, reason)
        return Conformed(good.slice(0, 0), _concat(conformed.quarantine, moved), reason)
    if not failures:
        return conformed
    indices = sorted(failures)
    chosen = good.take(pa.array(indices, pa.int64()))
    moved = _core(
        pa.table(
            [
                chosen[SOURCE_ROW],
                pa.array([failures[i].column for i in indices], pa.string()),
                pa.array([failures[i].rule for i in indices], pa.string()),
                pa.array([failures[i].reason for i in indices], pa.string()),
                _json_records(chosen),
            ],
            names=QUARANTINE_CORE.names,
        )
    )
    keep = np.ones(good.num_rows, dtype=bool)
    keep[indices] = False
    return Conformed(good.filter(pa.array(keep)), _concat(conformed.quarantine, moved))


def quarantine_good_rows(
    good: pa.Table, columns: Sequence[str | None], rule: str, reason: str
) -> pa.Table:
    return _core(
        pa.table(
            [
                good[SOURCE_ROW],
                pa.array(columns, pa.string()),
                pa.array([rule] * good.num_rows, pa.string()),
                pa.array([reason] * good.num_rows, pa.string()),
                _json_records(good),
            ],
            names=QUARANTINE_CORE.names,
        )
    )


# --------------------------------------------------------------------------- SQL building


def _connect() -> duckdb.DuckDBPyConnection:
    return duckdb_cursor()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str | None) -> str:
    return "NULL::VARCHAR" if value is None else _sql_str(value)


def _core(table: pa.Table) -> pa.Table:
    return table.rename_columns(QUARANTINE_CORE.names).cast(QUARANTINE_CORE)


def _concat(first: pa.Table, second: pa.Table) -> pa.Table:
    return pa.concat_tables([first, second]).sort_by(SOURCE_ROW)


def _json_records(table: pa.Table) -> pa.Array:
    con = _connect()
    try:
        con.register("t", table.drop_columns([SOURCE_ROW]))
        return (
            con.sql("SELECT to_json(t)::VARCHAR AS j FROM t").to_arrow_table()["j"].combine_chunks()
        )
    finally:
        con.close()


def _raw_record_sql(entity: Entity, ref: Callable[[Column], str]) -> str:
    """The record as delivered: a JSON object keyed by the names used in the file."""
    pairs = ", ".join(f"{_sql_str(c.source_name)}, {ref(c)}" for c in entity.columns)
    return f"json_object({pairs})::VARCHAR"


@dataclass(frozen=True)
class _Check:
    condition: str
    column: str
    rule: str
    message: str  # SQL expression; prefixed with file and row when used


def _checks(entity: Entity, system_timezone: str) -> list[_Check]:
    return [c for column in entity.columns for c in _column_sql(column, entity, system_timezone)[1]]


def _flagged_sql(entity: Entity, system_timezone: str, checks: list[_Check]) -> str:
    """Typed columns, one boolean per check, and the first failing check's rule and column."""
    typed = [
        f"{_column_sql(c, entity, system_timezone)[0]} AS {_q(c.name)}" for c in entity.columns
    ]
    flags = [f"({c.condition}) AS f_{i}" for i, c in enumerate(checks)]
    column_case = " ".join(f"WHEN f_{i} THEN {_lit(c.column)}" for i, c in enumerate(checks))
    rule_case = " ".join(f"WHEN f_{i} THEN {_lit(c.rule)}" for i, c in enumerate(checks))
    raws = ", ".join(f"{_q(c.name)} AS {_q(_raw(c.name))}" for c in entity.columns)
    first_rule = f"CASE {rule_case} END" if checks else "NULL::VARCHAR"
    first_column = f"CASE {column_case} END" if checks else "NULL::VARCHAR"
    # The text columns stay in `src` (Arrow, zero-copy); only bad rows look them up again.
    dropped = ", ".join(_q(_raw(c.name)) for c in entity.columns)
    return (
        f"SELECT * EXCLUDE ({dropped}), {first_rule} AS q_rule, {first_column} AS q_column, "
        f"NULL::VARCHAR AS q_note FROM (SELECT *, {', '.join([*typed, *flags])} "
        f"FROM (SELECT {SOURCE_ROW}, {_ORD}, {raws} FROM src))"
    )


def _bad_rows_sql(entity: Entity, checks: list[_Check], source_file: str) -> str:
    """Quarantine rows; reasons are only built here, for the few failing records."""
    prefix = f"{_sql_str(source_file)} || ' row ' || {SOURCE_ROW} || ': '"
    messages = ", ".join(f"CASE WHEN f_{i} THEN {c.message} END" for i, c in enumerate(checks))
    listed = f"concat_ws('; ', {messages})" if checks else "''"
    record = _raw_record_sql(entity, lambda c: _q(_raw(c.name)))
    raws = ", ".join(f"{_q(c.name)} AS {_q(_raw(c.name))}" for c in entity.columns)
    return (
        f"SELECT {SOURCE_ROW}, q_column, q_rule, "
        f"{prefix} || CASE WHEN q_note IS NOT NULL THEN q_note ELSE {listed} END, {record} "
        f"FROM (SELECT * FROM conformed WHERE q_rule IS NOT NULL) "
        f"JOIN (SELECT {_ORD}, {raws} FROM src) USING ({_ORD}) ORDER BY {_ORD}"
    )


def _raw(name: str) -> str:
    # Text columns are renamed so that typed columns can take the contract names.
    return f"raw__{name}"


def _mark_duplicates(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """Later rows repeating the primary key of an earlier good row become `duplicate_key`.

    A hash aggregate finds repeated keys (usually none); only their rows are updated, in place,
    so the table keeps its order and no sort or window over the whole file is needed.
    """
    keys = [_q(k) for k in entity.primary_key]
    joined = " AND ".join(f"c.{k} = d.{k}" for k in keys)
    shown = " || ', ' || ".join(
        f"{_sql_str(k + '=')} || coalesce({_q(k)}::VARCHAR, 'null')" for k in entity.primary_key
    )
    key_column = _lit(entity.primary_key[0]) if len(entity.primary_key) == 1 else "NULL::VARCHAR"
    repeats = (
        f"SELECT c.{_ORD} AS dup_ord, d.first_row FROM conformed c JOIN ("
        f"SELECT {', '.join(keys)}, min({_ORD}) AS first_ord, "
        f"arg_min({SOURCE_ROW}, {_ORD}) AS first_row FROM conformed WHERE q_rule IS NULL "
        f"GROUP BY ALL HAVING count(*) > 1) d ON {joined} "
        f"WHERE c.q_rule IS NULL AND c.{_ORD} > d.first_ord"
    )
    con.execute(
        f"UPDATE conformed SET q_rule = 'duplicate_key', q_column = {key_column}, "
        f"q_note = 'duplicate primary key (' || {shown} || '), first seen in row ' || "
        f"dups.first_row || ' of the same file; the first occurrence was loaded - remove the "
        f"repeat or give it its own key and re-deliver' "
        f"FROM ({repeats}) AS dups WHERE conformed.{_ORD} = dups.dup_ord"
    )


def _column_sql(column: Column, entity: Entity, system_timezone: str) -> tuple[str, list[_Check]]:
    """(typed expression, checks) for one column; `v` is its text, `t` the trimmed text."""
    v = _q(_raw(column.name))
    t = f"trim({v})"
    blank = f"({v} IS NULL OR {t} = '')"
    required = not column.nullable or column.name in entity.primary_key
    label = f"column {column.name!r}" + (
        f" (source {column.source_name!r})" if column.source_name != column.name else ""
    )
    shown = f"'''' || left({v}, 80) || ''''"
    checks: list[_Check] = []
    if required:
        checks.append(
            _Check(
                blank,
                column.name,
                "not_null",
                _sql_str(
                    f"{label} is empty but required; fill it in the source system "
                    "and re-deliver the file"
                ),
            )
        )
    expression, what, zone_check = _typed_sql(column, entity, system_timezone, t)
    if column.type == "string":
        expression = f"nfc_normalize({v})"
    else:
        failed = f"(NOT {blank} AND ({expression}) IS NULL)"
        if zone_check:
            failed = f"({failed} AND NOT ({zone_check}))"
        checks.append(
            _Check(
                failed,
                column.name,
                "type",
                f"{_sql_str(label + ': ')} || {shown} || "
                + _sql_str(f" is not {what}; correct the value in the source system"),
            )
        )
    if zone_check:
        zone_column = _q(_raw(column.timezone_column or ""))
        checks.append(
            _Check(
                f"(NOT {blank} AND {zone_check})",
                column.name,
                "timezone",
                f"{_sql_str(label + ': unknown time zone ')} || "
                f"coalesce(chr(39) || {zone_column} || chr(39), 'null') || "
                + _sql_str(
                    f" in column {column.timezone_column!r}; "
                    "it must be an IANA zone such as Europe/Berlin"
                ),
            )
        )
    if column.accepted_values is not None:
        values = ", ".join(_sql_str(a) for a in column.accepted_values)
        compared = f"nfc_normalize({v})" if column.type == "string" else v
        checks.append(
            _Check(
                f"(NOT {blank} AND {compared} NOT IN ({values}))",
                column.name,
                "accepted_values",
                f"{_sql_str(label + ': ')} || {shown} || "
                + _sql_str(
                    f" is not one of the accepted values ({', '.join(column.accepted_values)}); "
                    "correct it in the source system or extend the contract"
                ),
            )
        )
    return expression, checks


def _typed_sql(
    column: Column, entity: Entity, system_timezone: str, t: str
) -> tuple[str, str, str | None]:
    """(expression, what a good value looks like, condition of a bad per-row zone or None)."""
    comma = entity.format == "csv" and entity.csv.decimal_separator == ","
    if column.type == "string":
        return t, "text", None
    if column.type == "integer":
        return (
            f"CASE WHEN regexp_full_match({t}, '[+-]?[0-9]+') THEN try_cast({t} AS BIGINT) END",
            "a whole number",
            None,
        )
    if column.type in ("double", "decimal"):
        number = _number_text(t, comma)
        if column.type == "double":
            cast = f"try_cast({number} AS DOUBLE)"
            return f"CASE WHEN isfinite({cast}) THEN {cast} END", "a number", None
        what = "a decimal number" + (" (with a decimal comma)" if comma else "")
        return f"try_cast({number} AS DECIMAL(18, {column.scale}))", what, None
    if column.type == "boolean":
        lowered = f"lower({t})"
        return (
            f"CASE WHEN {lowered} IN {_tuple(_TRUE)} THEN true "
            f"WHEN {lowered} IN {_tuple(_FALSE)} THEN false END",
            "a boolean (true/false, yes/no, 1/0)",
            None,
        )
    if column.type == "date":
        if column.format:
            return (
                f"try_strptime({t}, {_sql_str(column.format)})::DATE",
                f"a date in the format {column.format}",
                None,
            )
        return (
            f"CASE WHEN regexp_full_match({t}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
            f"THEN try_cast({t} AS DATE) END",
            "a date (YYYY-MM-DD)",
            None,
        )
    return _timestamp_sql(column, system_timezone, t)


def _number_text(t: str, comma: bool) -> str:
    if not comma:
        return f"CASE WHEN regexp_full_match({t}, '{_NUMBER}') THEN {t} END"
    # Decimal comma (ERP): '1.234,56' and '1234,56' are numbers; '12.50' is not (ambiguous).
    return (
        f"CASE WHEN regexp_full_match({t}, '{_THOUSANDS_COMMA}') "
        f"THEN replace(replace({t}, '.', ''), ',', '.') "
        f"WHEN regexp_full_match({t}, '{_PLAIN_COMMA}') THEN replace({t}, ',', '.') END"
    )


def _tuple(values: Sequence[str]) -> str:
    return "(" + ", ".join(_sql_str(v) for v in values) + ")"


def _timestamp_sql(column: Column, system_timezone: str, t: str) -> tuple[str, str, str | None]:
    """Offsets are honoured; naive times are read in the column's, row's or system's zone."""
    if column.format:
        parsed = f"try_strptime({t}, {_sql_str(column.format)})"
        what = f"a timestamp in the format {column.format}"
        if "%z" in column.format or "%Z" in column.format:
            return parsed, what, None
        naive, aware = parsed, None
    else:
        what = "a timestamp (ISO 8601, e.g. 2026-11-20 14:03:00 or 2026-11-20T14:03:00+01:00)"
        naive = f"try_cast({t} AS TIMESTAMP)"
        aware = f"try_cast({t} AS TIMESTAMPTZ)"
    if column.timezone_column:
        zone = _q(_raw(column.timezone_column))
        known = f"trim({zone}) IN (SELECT name FROM pg_timezone_names())"
        local = f"CASE WHEN {known} THEN timezone(trim({zone}), {naive}) END"
        bad_zone = f"({naive} IS NOT NULL AND NOT coalesce({known}, false))"
    else:
        local = f"timezone({_sql_str(column.timezone or system_timezone)}, {naive})"
        bad_zone = None
    if aware is None:
        return local, what, bad_zone
    has_offset = f"regexp_matches({t}, '{_OFFSET}')"
    if bad_zone:
        bad_zone = f"(NOT {has_offset} AND {bad_zone})"
    return f"CASE WHEN {has_offset} THEN {aware} ELSE {local} END", what, bad_zone
