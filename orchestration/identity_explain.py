"""`cdw identity explain <customer_id>`: why the source records of one customer were joined.

Reads the published serving file (read-only): the customer's records (bridge_customer_source),
the links between them with each comparison's agreement level and match weight
(customer_match_evidence), and the id's changes (customer_id_history). See docs/identity.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from orchestration.settings import Settings

COMPARISONS = (
    "name",
    "email",
    "phone",
    "birth_date",
    "postcode",
    "city",
    "company_name",
    "tax_id",
)


class ExplanationUnavailable(RuntimeError):
    """No published warehouse, or no such customer."""


@dataclass(frozen=True)
class Record:
    record_key: str
    matched_on: str


@dataclass(frozen=True)
class Evidence:
    """One comparison of a scored link: its agreement level and weight in bits."""

    comparison: str
    level: int
    weight: float


@dataclass(frozen=True)
class Link:
    record_key: str
    linked_record_key: str
    match_rule: str
    match_probability: float | None
    match_weight: float | None
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class Change:
    change: str
    related_customer_id: str | None
    record_count: int
    changed_at: datetime


@dataclass(frozen=True)
class Explanation:
    customer_id: str
    records: tuple[Record, ...]
    links: tuple[Link, ...]
    history: tuple[Change, ...]


def explain(settings: Settings, customer_id: str) -> Explanation:
    if not settings.serving_path.exists():
        raise ExplanationUnavailable(
            f"no published warehouse at {settings.serving_path}: run `cdw load` (it publishes)"
        )
    with duckdb.connect(str(settings.serving_path), read_only=True) as con:
        records = tuple(
            Record(*row)
            for row in con.execute(
                "select record_key, matched_on from bridge_customer_source "
                "where customer_id = ? order by record_key",
                [customer_id],
            ).fetchall()
        )
        if not records:
            raise ExplanationUnavailable(f"no customer {customer_id} in {settings.serving_path}")
        return Explanation(
            customer_id, records, _links(con, customer_id), _history(con, customer_id)
        )


def _links(con: duckdb.DuckDBPyConnection, customer_id: str) -> tuple[Link, ...]:
    columns = ", ".join(f"{c}_level, {c}_weight" for c in COMPARISONS)
    rows = con.execute(
        f"""select record_key, linked_record_key, match_rule, match_probability, match_weight,
            {columns}
        from customer_match_evidence where customer_id = ?
        order by match_probability desc nulls last, record_key, linked_record_key""",
        [customer_id],
    ).fetchall()
    return tuple(
        Link(
            *row[:5],
            evidence=tuple(
                Evidence(name, level, weight)
                for name, level, weight in zip(COMPARISONS, row[5::2], row[6::2], strict=True)
                if level is not None
            ),
        )
        for row in rows
    )


def _history(con: duckdb.DuckDBPyConnection, customer_id: str) -> tuple[Change, ...]:
    return tuple(
        Change(*row)
        for row in con.execute(
            """select change, related_customer_id, record_count, changed_at
            from customer_id_history
            where customer_id = ? or related_customer_id = ?
            order by changed_at, change""",
            [customer_id, customer_id],
        ).fetchall()
    )


def format_text(explanation: Explanation) -> str:
    """Plain text for a terminal or a ticket: records, links with their evidence, id history."""
    lines = [f"customer {explanation.customer_id}: {len(explanation.records)} source records"]
    lines += [f"  {r.record_key:<44} linked by {r.matched_on}" for r in explanation.records]
    lines.append("")
    lines.append(f"links ({len(explanation.links)}):")
    for link in explanation.links:
        score = (
            f"p={link.match_probability:.4f}, {link.match_weight:+.1f} bits"
            if link.match_probability is not None
            else "not scored"
        )
        lines.append(f"  {link.record_key} — {link.linked_record_key}: {link.match_rule} ({score})")
        if link.evidence:
            lines.append(
                "    "
                + ", ".join(f"{e.comparison} L{e.level} {e.weight:+.1f}" for e in link.evidence)
            )
    lines.append("")
    lines.append("id history:")
    for change in explanation.history:
        related = f" {change.related_customer_id}" if change.related_customer_id else ""
        lines.append(
            f"  {change.changed_at:%Y-%m-%d %H:%M:%S}  {change.change}{related}"
            f"  ({change.record_count} records)"
        )
    return "\n".join(lines)
