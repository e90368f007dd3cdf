"""Run-failure alerts: one JSON line per failed run in `data/alerts.jsonl`.

The run-failure sensor (sensors.py) appends; `cdw status` reads the latest. A JSON-lines file
needs no server, survives a restart of the Dagster daemon, and an operator can `tail` it or feed
it to any alerting tool. Appends of one short line are atomic on a local filesystem, so two
sensor evaluations never interleave within a line.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from orchestration.settings import Settings

ALERTS_FILE = "alerts.jsonl"
MAX_MESSAGE = 2000  # a stack trace belongs in the run history, not in the alert


@dataclass(frozen=True)
class Alert:
    run_id: str
    job: str
    failed_steps: tuple[str, ...]
    error: str
    failed_at: str  # ISO 8601, UTC


def alerts_path(settings: Settings) -> Path:
    return settings.data_dir / ALERTS_FILE


def record_alert(settings: Settings, alert: Alert) -> Path:
    """Append the alert, unless this run was recorded already (a sensor may see it twice)."""
    path = alerts_path(settings)
    if any(known.run_id == alert.run_id for known in read_alerts(settings)):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({**asdict(alert), "error": alert.error[:MAX_MESSAGE]}, sort_keys=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(line + "\n")
    return path


def read_alerts(settings: Settings, limit: int | None = None) -> list[Alert]:
    """Alerts oldest first (the last `limit` of them); unreadable lines are skipped."""
    path = alerts_path(settings)
    if not path.exists():
        return []
    alerts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            raw = json.loads(line)
            alerts.append(
                Alert(
                    run_id=raw["run_id"],
                    job=raw["job"],
                    failed_steps=tuple(raw.get("failed_steps", ())),
                    error=raw.get("error", ""),
                    failed_at=raw["failed_at"],
                )
            )
        except (ValueError, KeyError, TypeError):
            continue  # a torn line from a crash must not hide the others
    return alerts[-limit:] if limit else alerts


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
