"""Extraction watermarks of live sources: the highest change cursor loaded into raw/, per entity.

Kept in the load ledger's SQLite file (table `watermarks`, beside `landed_files` and `loads`) so
that a watermark and the ledger rows of the partition it follows from live in one place. A
watermark is advanced only after the raw partition holding the rows was written
(orchestration/extract.py), so a crash before that re-extracts the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestration.ledger import connect, now_utc

_SCHEMA = """
CREATE TABLE IF NOT EXISTS watermarks (
    system TEXT NOT NULL,
    entity TEXT NOT NULL,
    cursor_value TEXT NOT NULL,
    load_date TEXT NOT NULL,
    rows_extracted INTEGER NOT NULL,
    advanced_at TEXT NOT NULL,
    PRIMARY KEY (system, entity)
);
"""


@dataclass(frozen=True)
class Watermark:
    system: str
    entity: str
    cursor_value: str  # ISO 8601 for timestamp cursors, decimal text for integer ones
    load_date: str
    rows_extracted: int
    advanced_at: str


class Watermarks:
    def __init__(self, ledger_path: Path) -> None:
        self.path = ledger_path
        ledger_path.parent.mkdir(parents=True, exist_ok=True)
        with connect(self.path) as con:
            con.executescript(_SCHEMA)

    def get(self, system: str, entity: str) -> Watermark | None:
        with connect(self.path) as con:
            row = con.execute(
                "SELECT * FROM watermarks WHERE system = ? AND entity = ?", (system, entity)
            ).fetchone()
        return Watermark(**dict(row)) if row else None

    def advance(
        self, system: str, entity: str, cursor_value: str, load_date: str, rows: int
    ) -> None:
        """Set the watermark; never moves it back (a re-run of an older partition)."""
        current = self.get(system, entity)
        if current is not None and not _later(cursor_value, current.cursor_value):
            return
        with connect(self.path) as con:
            con.execute(
                "INSERT INTO watermarks VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (system, entity) DO UPDATE SET cursor_value = excluded.cursor_value, "
                "load_date = excluded.load_date, rows_extracted = excluded.rows_extracted, "
                "advanced_at = excluded.advanced_at",
                (system, entity, cursor_value, load_date, rows, now_utc().isoformat()),
            )

    def all(self) -> list[Watermark]:
        with connect(self.path) as con:
            rows = con.execute("SELECT * FROM watermarks ORDER BY system, entity").fetchall()
        return [Watermark(**dict(r)) for r in rows]


def _later(candidate: str, current: str) -> bool:
    from datetime import datetime

    try:
        return int(candidate) > int(current)
    except ValueError:
        return datetime.fromisoformat(candidate) > datetime.fromisoformat(current)
