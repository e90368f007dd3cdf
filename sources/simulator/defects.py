"""Injected defects: what real deliveries get wrong, each one logged in truth/defects.parquet.

Record-level classes (at `defect_rate` of the delivered records, at least one each when the rate
is positive): malformed_record, missing_required, wrong_type, unknown_currency,
impossible_amount, impossible_date, duplicate_key. File-level classes (once each per world, in
delta files): wrong_encoding, truncated_file, renamed_column, extra_column, and the delivery
habits redelivered_file and corrected_file.

What counts in the ground truth:
- a record with a record-level defect is not in truth (it must be quarantined), except for
  duplicate_key, where an identical copy of a valid record is appended at the end of the file:
  the first occurrence is valid and counts once, the copy (the logged row) is the defect;
- wrong_encoding and renamed_column make every record of their file unloadable: none is in
  truth (a key that also has a version in another file stays known);
- truncated_file: only the cut last record is lost; extra_column: recoverable, all records count;
- redelivered_file counts once; corrected_file: truth holds the corrected version.
Defects only hit records whose key has a single delivered version, and never ERP invoice
headers, so what the warehouse must keep is unambiguous.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from simulator.batches import Batch
from simulator.delivery import versions_per_key
from simulator.frames import NULL_DAY, Records, pick
from simulator.lines import Lines

ROW_CLASSES: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "malformed_record": (
        ("erp", "invoice_lines", None),
        ("subscriptions", "charges", None),
        ("webshop", "users", None),
        ("support", "tickets", None),
        ("marketing", "campaign_events", None),
        ("erp", "customers", None),
    ),
    "missing_required": (
        ("erp", "invoice_lines", "sku"),
        ("pos", "basket_lines", "sku"),
        ("subscriptions", "charges", "plan_id"),
        ("webshop", "users", "email"),
        ("subscriptions", "subscribers", "email"),
        ("crm", "contacts", "account_id"),
        ("support", "tickets", "category"),
    ),
    "wrong_type": (
        ("erp", "invoice_lines", "quantity"),
        ("subscriptions", "charges", "amount"),
        ("support", "tickets", "satisfaction_score"),
        ("erp", "credit_notes", "amount"),
    ),
    "unknown_currency": (
        ("erp", "invoice_lines", "currency"),
        ("pos", "basket_lines", "currency"),
        ("subscriptions", "charges", "currency"),
        ("webshop", "orders", "currency"),
    ),
    "impossible_amount": (
        ("erp", "invoice_lines", "unit_price"),
        ("pos", "basket_lines", "unit_price"),
        ("subscriptions", "charges", "amount"),
        ("erp", "credit_notes", "amount"),
    ),
    "impossible_date": (
        ("subscriptions", "charges", "charge_date"),
        ("erp", "credit_notes", "credit_date"),
        ("marketing", "campaign_events", "occurred_at"),
    ),
    "duplicate_key": (
        ("erp", "invoice_lines", None),
        ("pos", "basket_lines", None),
        ("subscriptions", "charges", None),
        ("marketing", "campaign_events", None),
    ),
}
TEXT_FORMATS = ("csv", "jsonl")


@dataclass
class RowDefect:
    entity: str
    row: int  # 0-based position in the batch's records
    defect_class: str
    column: str | None
    variant: int  # picks among a class's renderings


@dataclass
class DefectPlan:
    rows: dict[int, list[RowDefect]] = field(default_factory=dict)
    files: dict[int, str] = field(default_factory=dict)  # batch -> file-level class
    copies: list[tuple[int, str]] = field(default_factory=list)  # (batch, habit)
    log: list[dict[str, object]] = field(default_factory=list)
    lost: dict[tuple[str, str], list[np.ndarray]] = field(default_factory=dict)  # keys not loaded

    def lose(self, system: str, entity: str, keys: np.ndarray) -> None:
        self.lost.setdefault((system, entity), []).append(np.asarray(keys, dtype=object))


def plan_defects(
    batches: list[Batch],
    rate: float,
    first_load_day: int,
    end_day: int,
    entities: dict[tuple[str, str], Records],
    rng: np.random.Generator,
) -> DefectPlan:
    plan = DefectPlan()
    if rate <= 0:
        return plan
    reserved = _plan_file_defects(batches, plan, first_load_day, end_day, entities)
    total = sum(b.rows(e) for b in batches for e in b.entities if e != "order_lines")
    per_class = max(1, round(rate * total / len(ROW_CLASSES)))
    taken: set[tuple[int, int]] = set()
    single = {
        key: versions_per_key(records) == 1
        for key, records in entities.items()
        if "_key" in records
    }
    for defect_class, targets in ROW_CLASSES.items():
        candidates = _candidates(batches, targets, reserved, single, defect_class)
        if not candidates:
            continue
        pool = np.concatenate([c[1] for c in candidates])
        owner = np.repeat(np.arange(len(candidates)), [len(c[1]) for c in candidates])
        order = rng.permutation(len(pool))
        chosen = 0
        for i in _lazily(order):
            if chosen >= per_class:
                break
            target, batch_index = candidates[owner[i]][0], candidates[owner[i]][2]
            row = int(pool[i])
            if (batch_index, row) in taken:
                continue
            taken.add((batch_index, row))
            chosen += 1
            plan.rows.setdefault(batch_index, []).append(
                RowDefect(target[1], row, defect_class, target[2], int(rng.integers(0, 4)))
            )
    _log_row_defects(batches, plan)
    return plan


def _lazily(values: np.ndarray, chunk: int = 4096) -> Iterator[int]:
    """values.tolist(), a chunk at a time: callers stop long before the end."""
    for start in range(0, len(values), chunk):
        yield from values[start : start + chunk].tolist()


def _candidates(
    batches: list[Batch],
    targets: tuple[tuple[str, str, str | None], ...],
    reserved: set[int],
    single: dict[tuple[str, str], np.ndarray],
    defect_class: str,
) -> list[tuple[tuple[str, str, str | None], np.ndarray, int]]:
    out = []
    for target in targets:
        system, entity, _ = target
        for index, batch in enumerate(batches):
            if index in reserved or batch.system != system or entity not in batch.entities:
                continue
            if defect_class in ("malformed_record", "wrong_type") and (
                batch.main.format not in TEXT_FORMATS
            ):
                continue
            records = batch.records[entity]
            if not records or not len(records["_key"]):
                continue
            # `_row` is the record's position in its delivered entity
            rows = np.flatnonzero(single[(system, entity)][records["_row"]])
            if len(rows):
                out.append((target, rows, index))
    return out


def _plan_file_defects(
    batches: list[Batch],
    plan: DefectPlan,
    first_load_day: int,
    end_day: int,
    entities: dict[tuple[str, str], Records],
) -> set[int]:
    reserved: set[int] = set()

    def pick(
        system: str, entity: str, min_rows: int, need_next: bool = False, smallest: bool = False
    ) -> int | None:
        options = [
            i
            for i, b in enumerate(batches)
            if b.system == system
            and b.entities[0] == entity
            and i not in reserved
            and b.load_day > first_load_day
            and b.rows() >= min_rows
            and (not need_next or b.load_day < end_day)
        ]
        if not options:
            return None
        chosen = min(options, key=lambda i: batches[i].rows()) if smallest else options[0]
        reserved.add(chosen)
        return chosen

    for system, entity in (("erp", "customers"), ("subscriptions", "subscribers")):
        encoding = _prepare_encoding_batch(
            batches, reserved, first_load_day, end_day, system, entity
        )
        if encoding is not None:
            plan.files[encoding] = "wrong_encoding"
            break
    for cls, options in (
        (
            "renamed_column",
            (
                ("erp", "customers", 1, False, True),
                ("subscriptions", "subscribers", 1, False, True),
                ("marketing", "campaign_events", 1, False, True),
            ),
        ),
        (
            "extra_column",
            (
                ("subscriptions", "subscribers", 1, False, False),
                ("erp", "customers", 1, False, False),
                ("marketing", "campaign_events", 1, False, False),
                ("erp", "invoices", 1, False, False),
            ),
        ),
        (
            "truncated_file",
            (
                ("subscriptions", "charges", 2, False, False),
                ("marketing", "campaign_events", 2, False, False),
            ),
        ),
    ):
        for system, entity, min_rows, need_next, smallest in options:
            chosen = pick(system, entity, min_rows, need_next, smallest)
            if chosen is not None:
                plan.files[chosen] = cls
                break
    for habit, options in (
        ("redelivered_file", (("erp", "invoice_lines"), ("marketing", "campaign_events"))),
        ("corrected_file", (("pos", "basket_lines"), ("subscriptions", "charges"))),
    ):
        for system, entity in options:
            chosen = pick(system, entity, 1, need_next=True)
            if chosen is not None:
                plan.copies.append((chosen, habit))
                break
    _log_file_defects(batches, plan, entities)
    return reserved


def _prepare_encoding_batch(
    batches: list[Batch],
    reserved: set[int],
    first_load_day: int,
    end_day: int,
    system: str,
    entity: str,
) -> int | None:
    """Find a customer delta (ERP customers first) with names only cp1252 can hold; rows that
    would decode as UTF-8 anyway (pure ASCII) are held back to the next day, so the whole file
    is unreadable."""
    erp = {
        b.load_day: i
        for i, b in enumerate(batches)
        if b.system == system and b.entities[0] == entity
    }
    for day in sorted(erp):
        if day <= first_load_day or day >= end_day or erp[day] in reserved:
            continue
        batch, following = batches[erp[day]], batches[erp[day + 1]]
        records = batch.records[entity]
        text = _row_texts(records)
        special = np.array([_cp1252_only(t) for t in text], dtype=bool)
        if not special.any():
            continue
        moved = np.flatnonzero(~special)
        next_records = following.records[entity]
        known = next_records["_key"].astype(str)
        fresh = moved[~np.isin(records["_key"][moved].astype(str), known)]
        for name in records:
            next_records[name] = np.concatenate([records[name][fresh], next_records[name]])
            records[name] = records[name][special]
        reserved.update({erp[day], erp[day + 1]})
        return erp[day]
    return None


def _row_texts(records: Records) -> list[str]:
    parts = [records[c] for c in ("customer_name", "full_name", "street", "city") if c in records]
    return [" ".join(str(v) for v in row if v is not None) for row in zip(*parts, strict=True)]


def _cp1252_only(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _entry(
    batch: Batch,
    entity: str,
    row: int | None,
    column: str | None,
    defect_class: str,
    description: str,
) -> dict[str, object]:
    return {
        "system": batch.system,
        "entity": entity,
        "file": batch.path,
        "source_row": None if row is None else row,
        "column_name": column,
        "defect_class": defect_class,
        "description": description,
    }


def _log_file_defects(
    batches: list[Batch], plan: DefectPlan, entities: dict[tuple[str, str], Records]
) -> None:
    for index, cls in sorted(plan.files.items()):
        batch = batches[index]
        entity = batch.entities[0]
        records = batch.records[entity]
        if cls in ("wrong_encoding", "renamed_column"):
            plan.lose(batch.system, entity, _only_here(records, entities[(batch.system, entity)]))
        if cls == "truncated_file":
            plan.lose(batch.system, entity, pick(records, "_key", slice(-1, None)))
        text = {
            "wrong_encoding": "file written in cp1252 although the contract says utf-8; every "
            "record holds characters that are invalid UTF-8 here",
            "renamed_column": "the email column is delivered under the name EMail",
            "extra_column": "an undeclared column Note was added at the end (recoverable)",
            "truncated_file": "file cut in the middle of its last record (no final newline)",
        }[cls]
        row = batch.rows() if cls == "truncated_file" else None
        column = "email" if cls == "renamed_column" else None
        plan.log.append(_entry(batch, entity, row, column, cls, text))
    for index, habit in plan.copies:
        batch = batches[index]
        later = f"{batch.system}/{_next_folder(batch)}/{batch.name}"
        if habit == "redelivered_file":
            plan.log.append(
                {
                    **_entry(
                        batch,
                        batch.entities[0],
                        None,
                        None,
                        habit,
                        f"identical copy of {batch.path} delivered again",
                    ),
                    "file": later,
                }
            )
        else:
            column = "unit_price" if "unit_price" in batch.records[batch.entities[0]] else "amount"
            plan.log.append(
                _entry(
                    batch,
                    batch.entities[0],
                    None,
                    column,
                    habit,
                    f"{column} ten times too high in every fifth record; "
                    f"replaced by the corrected file {later}",
                )
            )


def _next_folder(batch: Batch) -> str:
    return str(np.datetime64(batch.load_day + 1, "D"))


def _only_here(records: Records, whole: Records) -> np.ndarray:
    """Keys of this file that were delivered nowhere else."""
    single = set(whole["_key"][versions_per_key(whole) == 1].tolist())
    return np.array([k for k in records["_key"].tolist() if k in single], dtype=object)


def _log_row_defects(batches: list[Batch], plan: DefectPlan) -> None:
    for index, defects in sorted(plan.rows.items()):
        batch = batches[index]
        appended = 0
        for d in sorted(defects, key=lambda x: (x.entity, x.row)):
            records = batch.records[d.entity]
            if d.defect_class == "duplicate_key":
                appended += 1
                row = batch.rows(d.entity) + appended
                text = f"identical copy of record {d.row + 1} appended (same primary key)"
            else:
                row = d.row + 1
                plan.lose(batch.system, d.entity, pick(records, "_key", slice(d.row, d.row + 1)))
                text = _describe(d)
            plan.log.append(_entry(batch, d.entity, row, d.column, d.defect_class, text))


def _describe(d: RowDefect) -> str:
    return {
        "malformed_record": "record has the wrong number of fields / is not valid JSON",
        "missing_required": f"required column {d.column} is empty",
        "wrong_type": f"text where {d.column} must be a number or date",
        "unknown_currency": f"{d.column} is not an ISO 4217 code",
        "impossible_amount": f"{d.column} is negative or absurdly large",
        "impossible_date": f"{d.column} is not a possible date (year 2099 or 30 February)",
    }[d.defect_class]


# --- applying -----------------------------------------------------------------------------

_BAD_CURRENCY = ("XXX", "EUX", "EURO", "€")
_BAD_TEXT = ("n/a", "zwei", "12,3O", "five")


def apply_to_records(batch: Batch, defects: list[RowDefect]) -> dict[str, Records]:
    """Binary formats (Parquet, SQLite): change the typed values before they are written."""
    if not defects:
        return batch.records
    out = {name: dict(records) for name, records in batch.records.items()}
    copied: set[tuple[str, str]] = set()  # columns copied before their first change
    for d in defects:
        records = out[d.entity]
        if d.defect_class == "duplicate_key" or not d.column or d.column not in records:
            continue
        if (d.entity, d.column) not in copied:
            records[d.column] = records[d.column].copy()
            copied.add((d.entity, d.column))
        column = records[d.column]
        if d.defect_class == "missing_required":
            column[d.row] = None if column.dtype == object else NULL_DAY
        elif d.defect_class == "unknown_currency":
            column[d.row] = _BAD_CURRENCY[d.variant % len(_BAD_CURRENCY)]
        elif d.defect_class == "impossible_amount":
            column[d.row] = -abs(int(column[d.row])) - 1 if d.variant % 2 else 99_999_999_999
        elif d.defect_class == "impossible_date":
            column[d.row] = column[d.row] + 73 * 365 * (86_400 if column[d.row] > 10**7 else 1)
    copies: dict[str, list[int]] = {}  # appended at the end of their entity, in row order
    for d in sorted(defects, key=lambda x: (x.entity, x.row)):
        if d.defect_class == "duplicate_key":
            copies.setdefault(d.entity, []).append(d.row)
    for entity, rows in copies.items():
        records = out[entity]
        for name in records:
            records[name] = np.concatenate([records[name], records[name][rows]])
    return out


def apply_to_csv(
    lines: Lines, batch: Batch, defects: list[RowDefect], delimiter: str, decimal_comma: bool
) -> Lines:
    """lines[0] is the header; record r (1-based) is lines[r]."""
    header = next(csv.reader([lines[0]], delimiter=delimiter))
    names = [c.name for c in batch.main.columns]
    copies: list[str] = []
    for d in sorted(defects, key=lambda x: x.row):
        line = lines[d.row + 1]
        if d.defect_class == "duplicate_key":
            copies.append(line)
            continue
        fields = next(csv.reader([line], delimiter=delimiter))
        if d.defect_class == "malformed_record":
            fields = fields[:-1] if d.variant % 2 else [*fields, "x"]
        else:
            position = names.index(d.column) if d.column in names else 0
            fields[position] = _bad_text(d, fields[position], decimal_comma)
        lines[d.row + 1] = _csv_line(fields, delimiter)
    del header
    for line in copies:
        lines.append(line)
    return lines


def _csv_line(fields: list[str], delimiter: str) -> str:
    sink = io.StringIO()
    csv.writer(sink, delimiter=delimiter, lineterminator="").writerow(fields)
    return sink.getvalue()


def _bad_text(d: RowDefect, value: str, decimal_comma: bool) -> str:
    if d.defect_class == "missing_required":
        return ""
    if d.defect_class == "wrong_type":
        return _BAD_TEXT[d.variant % len(_BAD_TEXT)]
    if d.defect_class == "unknown_currency":
        return _BAD_CURRENCY[d.variant % 3]
    if d.defect_class == "impossible_amount":
        if d.variant % 2:
            return "-" + value.lstrip("-") if value else "-1"
        return "99999999,99" if decimal_comma else "99999999.99"
    if d.defect_class == "impossible_date":
        if d.variant % 2 and len(value) >= 10:
            return "2099" + value[4:]
        return value[:4] + "-02-30" + value[10:] if len(value) >= 10 else "2026-02-30"
    return value


def apply_to_jsonl(lines: Lines, batch: Batch, defects: list[RowDefect]) -> Lines:
    """Record r (1-based) is lines[r - 1]."""
    sources = {c.name: c.source for c in batch.main.columns}
    copies: list[str] = []
    for d in sorted(defects, key=lambda x: x.row):
        line = lines[d.row]
        if d.defect_class == "duplicate_key":
            copies.append(line)
            continue
        if d.defect_class == "malformed_record":
            lines[d.row] = line[:-1] if d.variant % 2 else line.replace('":', '"', 1)
            continue
        record = json.loads(line)
        path = sources.get(d.column or "", d.column or "").split(".")
        holder = record
        for part in path[:-1]:
            holder = holder[part]
        value = holder.get(path[-1])
        if d.defect_class == "missing_required":
            holder[path[-1]] = None
        elif d.defect_class == "wrong_type":
            holder[path[-1]] = _BAD_TEXT[d.variant % len(_BAD_TEXT)]
        else:
            holder[path[-1]] = _bad_text(d, "" if value is None else str(value), False)
        lines[d.row] = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    for line in copies:
        lines.append(line)
    return lines
