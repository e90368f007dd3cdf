"""The phases the harness times, each run as `python -m benchmarks.phases <phase> ...` in a
fresh child process (see measure.py). Each writes what it counted as JSON to `--result`.

- simulate: `simulator.simulate` into the data directory.
- ingest: `orchestration.ingest.ingest_all` for the given load dates (the gate runs inside
  ingest; its time is measured when an `orchestration.gate` module exists, see `_time_gate`:
  the time inside its public functions and its validators' `__call__`).
- publish: `orchestration.publish.publish` (marts to serving.duckdb and Parquet exports).
- report: `orchestration.report.build_report` (the executive report, from the serving file and
  the ledger), as the Dagster asset rebuilds it after every publish.
- bare: the bare-DuckDB baseline over the raw Parquet (bare_duckdb.py).

dbt runs as its own child (the `dbt` executable), so it has no entry here.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import inspect
import json
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

GATE_MODULES = ("orchestration.gate",)


def simulate(args: argparse.Namespace) -> dict[str, Any]:
    from simulator import simulate as simulate_world

    summary = simulate_world(args.data_dir, args.customers, args.days, args.seed)
    return {
        "rows": sum(summary.source_records.values()),
        "files": summary.files_written,
        "load_dates": [d.isoformat() for d in summary.load_dates],
        "revenue_lines": summary.revenue_lines,
        "defects_injected": summary.defects_injected,
    }


def ingest(args: argparse.Namespace) -> dict[str, Any]:
    gate = _time_gate()
    from orchestration.ingest import ingest_all
    from orchestration.settings import Settings

    dates = [date.fromisoformat(d) for d in args.dates]
    results = ingest_all(Settings(data_dir=args.data_dir), load_dates=dates)
    return {
        "rows": sum(r.rows_read for r in results),
        "rows_loaded": sum(r.rows_loaded for r in results),
        "rows_quarantined": sum(r.rows_quarantined for r in results),
        "partitions": len(results),
        "gate_s": gate.seconds if gate.calls else None,  # None: no gate ran
        "gate_calls": gate.calls,
        "gate_modules": gate.modules,
    }


def publish(args: argparse.Namespace) -> dict[str, Any]:
    from orchestration.publish import publish as publish_marts
    from orchestration.settings import Settings

    result = publish_marts(Settings(data_dir=args.data_dir))
    return {"rows": sum(result.row_counts.values()), "tables": result.row_counts}


def report(args: argparse.Namespace) -> dict[str, Any]:
    from orchestration.report import build_report
    from orchestration.settings import Settings

    path = build_report(Settings(data_dir=args.data_dir))
    return {"path": str(path), "bytes": path.stat().st_size}


def bare(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.bare_duckdb import run_bare

    return run_bare(args.data_dir / "raw", args.data_dir / "bare.duckdb")


class _GateTimer:
    """Wall time spent inside the gate's public functions (outermost calls only)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self.modules: list[str] = []
        self._depth = 0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._depth:
                return function(*args, **kwargs)
            self._depth += 1
            self.calls += 1
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self._depth -= 1

        return timed


def _time_gate() -> _GateTimer:
    """Wrap the gate module's public functions, and `__call__` of its public classes (a
    validator object), before ingest imports them by name. Nested calls count once."""
    timer = _GateTimer()
    for name in GATE_MODULES:
        try:
            module = importlib.import_module(name)
        except Exception:  # absent, or half-written: ingest will say so, not the timer
            continue
        timer.modules.append(name)
        for attribute, value in list(vars(module).items()):
            if attribute.startswith("_") or getattr(value, "__module__", None) != name:
                continue
            if inspect.isfunction(value):
                setattr(module, attribute, timer.wrap(value))
            elif inspect.isclass(value) and "__call__" in vars(value):
                value.__call__ = timer.wrap(vars(value)["__call__"])
    return timer


PHASES = {
    "simulate": simulate,
    "ingest": ingest,
    "publish": publish,
    "report": report,
    "bare": bare,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.phases")
    parser.add_argument("phase", choices=sorted(PHASES))
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    parser.add_argument("--customers", type=int)
    parser.add_argument("--days", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--dates", nargs="*", default=[])
    args = parser.parse_args(argv)
    output = PHASES[args.phase](args)
    args.result.parent.mkdir(parents=True, exist_ok=True)
    args.result.write_text(json.dumps(output, indent=2))


if __name__ == "__main__":
    main()
