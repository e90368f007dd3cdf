"""Ratios, targets and the printed table of a benchmark result (a dict, as written to JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

GIB = 2**30
L_CUSTOMERS = 1_000_000

# name, description, the figure it judges (a key of ratios() or a lambda), limit, unit, scope
TARGETS = (
    ("full_load_time", "L full load (ingest to report)", "full_load_s", 600, "s", "L"),
    ("peak_rss", "peak RSS of any phase of the load", "load_peak_rss_gib", 6, "GiB", "all"),
    ("incremental_share", "incremental day / full load", "incremental_share", 0.10, "", "all"),
    (
        "identity_incremental_share",
        "identity: a day matched in / full resolution",
        "identity_incremental_share",
        0.10,
        "",
        "all",
    ),
    ("pipeline_vs_bare", "dbt build / bare DuckDB", "pipeline_over_bare", 1.5, "x", "all"),
    ("gate_share", "gate / full load time", "gate_share", 0.25, "", "all"),
    ("simulator_1m", "simulator, 1M customers", "simulate_s", 120, "s", "L"),
    ("dbt_build_1m", "dbt build, 1M customers", "dbt_build_s", 300, "s", "L"),
)


def _wall(result: dict[str, Any], phase: str) -> float | None:
    return (result["phases"].get(phase) or {}).get("wall_s")


IDENTITY_BUILDS = {"identity": "dbt_build", "identity_increment": "dbt_build_increment"}
IDENTITY_ALONE = "dbt_identity_alone"
# The opt-in Spark step (run.py --phases dbt_spark): DuckDB and Spark each building the seeds and
# models of the same raw zone. Not part of the load, so never judged against its targets.
ENGINE_BUILDS = ("dbt_models_duckdb", "dbt_models_spark")


def _share(result: dict[str, Any], part: str, whole: str) -> float | None:
    part_s, whole_s = _wall(result, part), _wall(result, whole)
    return part_s / whole_s if part_s and whole_s else None


# The dbt models doing what bare_duckdb.py does (latest versions through the staging views they
# read, revenue lines, FX conversion, revenue per customer, cohorts): the like-for-like overhead,
# where dbt build / bare also counts identity resolution, tests and the analytics marts.
BARE_EQUIVALENT_MODELS = (
    "int_revenue__lines",
    "int_revenue__lines_converted",
    "int_revenue__customer_lines",
    "int_revenue__customer_totals",
    "int_revenue__customer_months",
    "int_revenue__customer_cohorts",
    "fct_revenue",
    "mart_revenue_per_customer",
    "mart_customer_retention",
)


def _bare_equivalent_s(result: dict[str, Any]) -> float | None:
    models = ((result["phases"].get("dbt_build") or {}).get("detail") or {}).get("models") or {}
    times = [models[name] for name in BARE_EQUIVALENT_MODELS if name in models]
    return sum(times) if len(times) == len(BARE_EQUIVALENT_MODELS) else None


def ratios(result: dict[str, Any]) -> dict[str, Any]:
    phases = result["phases"]
    full, increment = _wall(result, "full_load"), _wall(result, "incremental_load")
    dbt, bare = _wall(result, "dbt_build"), _wall(result, "bare_duckdb")
    gate = ((phases.get("ingest") or {}).get("detail") or {}).get("gate_s")
    same_work = _bare_equivalent_s(result)
    load_rss = [
        phases[p]["peak_rss_bytes"]
        for p in ("ingest", "dbt_build", "publish", "report")
        if p in phases and "peak_rss_bytes" in phases[p]
    ]
    return {
        "full_load_s": full,
        "simulate_s": _wall(result, "simulate"),
        "dbt_build_s": dbt,
        "load_peak_rss_gib": max(load_rss) / GIB if load_rss else None,
        "incremental_share": increment / full if full and increment else None,
        "pipeline_over_bare": dbt / bare if dbt and bare else None,
        "full_load_over_bare": full / bare if full and bare else None,
        "same_work_over_bare": same_work / bare if same_work and bare else None,
        "same_work_alone_over_bare": _share(result, "dbt_same_work", "bare_duckdb"),
        "identity_share_of_dbt": _share(result, "identity", "dbt_build"),
        "gate_share": gate / full if gate is not None and full else None,
        "identity_incremental_share": _share(result, "identity_increment", "identity"),
        "spark_over_duckdb_models": _share(result, "dbt_models_spark", "dbt_models_duckdb"),
        "spark_over_dbt_build": _share(result, "dbt_models_spark", "dbt_build"),
        **identity_figures(result),
    }


# Identity resolution (benchmarks/identity.py): our clusters beside Splink's on the same records.
IDENTITY_F1_TARGET = 0.98
IDENTITY_ROWS = (  # label, metric key, digits (None: a count)
    ("pairwise precision", "pairwise_precision", 4),
    ("pairwise recall", "pairwise_recall", 4),
    ("pairwise F1", "pairwise_f1", 4),
    ("B-cubed F1", "bcubed_f1", 4),
    ("splits", "splits", None),
    ("merges", "merges", None),
    ("exact clusters", "exact_clusters", None),
    ("customers found", "predicted_clusters", None),
    ("largest cluster (records)", "largest_cluster", None),
)


def _metrics(result: dict[str, Any], phase: str) -> dict[str, Any]:
    return ((result["phases"].get(phase) or {}).get("detail") or {}).get("metrics") or {}


def _splink_seconds(result: dict[str, Any]) -> float | None:
    """Splink's linkage: reading the records to clusters, training included (not the
    interpreter's start, imports or the scoring against the truth)."""
    timings = ((result["phases"].get("splink") or {}).get("detail") or {}).get("timings") or {}
    return timings.get("linkage_s")


def ours_identity_seconds(result: dict[str, Any]) -> tuple[float | None, str]:
    """Our seconds set beside Splink's, and what they are. The identity models after the source
    records built alone (run.py's dbt_identity_alone): their node times, without dbt's start-up,
    as Splink's leave out its imports. Inside the full build two threads share the cores with
    other models, which about doubles each model's time; a result from before the phase has
    only that figure."""
    alone = result["phases"].get(IDENTITY_ALONE) or {}
    seconds = (alone.get("detail") or {}).get("identity_s")
    if alone.get("returncode") == 0 and seconds:
        return seconds, "identity models from the source records, built alone"
    return _wall(result, "identity"), "int_identity__* models inside dbt_build"


def identity_figures(result: dict[str, Any]) -> dict[str, Any]:
    ours, splink = _metrics(result, "identity_eval"), _metrics(result, "splink")
    (ours_s, _), splink_s = ours_identity_seconds(result), _splink_seconds(result)
    return {
        "identity_pairwise_f1": ours.get("pairwise_f1"),
        "splink_pairwise_f1": splink.get("pairwise_f1"),
        "identity_over_splink_s": ours_s / splink_s if ours_s and splink_s else None,
    }


DBT_FIGURES = {
    "full_load_s",
    "dbt_build_s",
    "incremental_share",
    "identity_incremental_share",
    "pipeline_over_bare",
    "gate_share",
    "load_peak_rss_gib",
}


def incomplete_builds(result: dict[str, Any]) -> list[str]:
    """dbt phases that skipped models (after a failed test): their times are lower bounds."""
    return [
        name
        for name, phase in result["phases"].items()
        if name.startswith("dbt_build") and (phase.get("detail") or {}).get("skipped_models")
    ]


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    figures = result.get("ratios") or ratios(result)
    is_l = result["scenario"]["customers"] == L_CUSTOMERS
    incomplete = incomplete_builds(result)
    rows = []
    for name, description, key, limit, unit, scope in TARGETS:
        value = figures.get(key)
        if scope == "L" and not is_l:
            verdict = "n/a (L only)"
        elif value is None:
            verdict = "not measured"
        else:
            verdict = "pass" if value <= limit else "miss"
            if incomplete and key in DBT_FIGURES:
                verdict += " (dbt build incomplete)"
        rows.append(
            {
                "target": name,
                "description": description,
                "value": value,
                "limit": limit,
                "unit": unit,
                "verdict": verdict,
            }
        )
    return rows


def previous_result(
    results_dir: Path, scale: str, *, exclude: Path, before: Path | None = None
) -> dict[str, Any] | None:
    """The latest earlier result of `scale` (named before `before`, when given), else its
    committed baseline, else None."""
    earlier = sorted(
        p
        for p in results_dir.glob(f"{scale}-*.json")
        if p != exclude and (before is None or p.name < before.name)
    )
    for path in (earlier[-1] if earlier else None, results_dir / f"baseline-{scale}.json"):
        if path is not None and path.exists():
            previous = json.loads(path.read_text())
            previous["_path"] = path.name
            return previous
    return None


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _mib(value: int | None, digits: int = 0) -> str:
    return "—" if not value else f"{value / 2**20:,.{digits}f}"


def _rate(value: float | None) -> str:
    return "—" if not value else f"{value:,.0f}"


def _ratio(new: float | None, old: float | None) -> str:
    if not new or not old:
        return "—"
    ratio = new / old
    colour = "green" if ratio <= 0.95 else "red" if ratio >= 1.05 else "white"
    return f"[{colour}]{ratio:.2f}x[/{colour}]"


def print_result(
    result: dict[str, Any], previous: dict[str, Any] | None, console: Console | None = None
) -> None:
    console = console or Console(width=None if Console().is_terminal else 140)
    world = result["scenario"]
    machine = result["machine"]
    title = (
        f"bench {result['scale']}: {world['customers']:,} customers, {world['days']} days, "
        f"seed {world['seed']} — {machine['cpus']} CPUs, "
        f"{(machine['memory_bytes'] or 0) / GIB:.0f} GiB, load avg before "
        f"{machine['loadavg_before'][0]:.1f}"
    )
    prev_name = previous["_path"] if previous else "no previous result"
    table = Table(title=title, caption=f"previous: {prev_name}")
    for column, justify in (
        ("phase", "left"),
        ("wall s", "right"),
        ("rows/s", "right"),
        ("peak RSS MiB", "right"),
        ("prev wall s", "right"),
        ("new/prev", "right"),
        ("prev RSS MiB", "right"),
        ("note", "left"),
    ):
        table.add_column(column, justify=justify)
    old_phases = (previous or {}).get("phases", {})
    skipped = []
    for name, phase in result["phases"].items():
        if name == "full_load_dates":
            continue
        old = old_phases.get(name) or {}
        if "skipped" in phase:
            table.add_row(name, "—", "—", "—", "—", "—", "—", "skipped (below)")
            skipped.append(f"{name}: skipped, {phase['skipped']}")
            continue
        table.add_row(
            name,
            _seconds(phase["wall_s"]),
            _rate(phase.get("rows_per_s")),
            _mib(phase.get("peak_rss_bytes")),
            _seconds(old.get("wall_s")),
            _ratio(phase["wall_s"], old.get("wall_s")),
            _mib(old.get("peak_rss_bytes")),
            _note(name, phase),
        )
    console.print(table)
    dates = result["phases"].get("full_load_dates") or {}
    if dates:
        console.print(
            f"full load = load dates {dates['dates'][0]}..{dates['dates'][-1]} "
            f"({len(dates['dates'])}); increment = {', '.join(dates['increment'])}"
        )
    for line in skipped:
        console.print(line)
    if _metrics(result, "identity_eval"):
        console.print(_identity_table(result))
    console.print(_sizes_table(result, previous))
    console.print(_targets_table(result))


def _note(name: str, phase: dict[str, Any]) -> str:
    detail = phase.get("detail") or {}
    notes = []
    if phase.get("returncode"):
        notes.append(f"[red]exit {phase['returncode']}[/red]")
    if name == "ingest":
        gate = detail.get("gate_s")
        if gate is not None:
            notes.append(f"gate {gate:.1f} s")
        else:
            notes.append("gate not called" if detail.get("gate_modules") else "no gate module")
        notes.append(f"{detail.get('rows_quarantined', 0):,} quarantined")
    if name.startswith("dbt_build") or name in ENGINE_BUILDS:
        notes.append(", ".join(f"{k} {v}" for k, v in sorted(detail.get("statuses", {}).items())))
        if detail.get("skipped_models"):
            notes.append(f"[red]INCOMPLETE: {len(detail['skipped_models'])} models skipped[/red]")
        if detail.get("excluded"):
            notes.append(f"excluded {' '.join(detail['excluded'])}")
    if name in ENGINE_BUILDS:
        notes.append(f"only {detail.get('selection')}")
    if name in IDENTITY_BUILDS:
        notes.append(f"int_identity__* inside {IDENTITY_BUILDS[name]}")
    if name in ("identity_eval", "splink"):
        if detail.get("metrics"):
            notes.append(f"pairwise F1 {detail['metrics']['pairwise_f1']:.4f} (table below)")
        notes.append(detail.get("note", ""))
    if name in ("full_load", "incremental_load"):
        notes.append(" + ".join(detail.get("parts", [])))
    return "; ".join(n for n in notes if n)


def _identity_table(result: dict[str, Any]) -> Table:
    ours, splink = _metrics(result, "identity_eval"), _metrics(result, "splink")
    phases = result["phases"]
    ours_s, ours_what = ours_identity_seconds(result)
    table = Table(
        title="identity resolution vs the truth: ours beside Splink",
        caption=f"ours: {ours_what} (RSS: the whole dbt build); "
        "Splink: train + predict + cluster (RSS: its own process)",
    )
    for column in ("figure", "ours", "Splink", "ours/Splink"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    for label, key, digits in IDENTITY_ROWS:
        table.add_row(
            label,
            _figure(ours.get(key), digits),
            _figure(splink.get(key), digits),
            _plain_ratio(ours.get(key), splink.get(key)),
        )
    splink_s = _splink_seconds(result)
    table.add_row("seconds", _seconds(ours_s), _seconds(splink_s), _plain_ratio(ours_s, splink_s))
    timings = ((phases.get("splink") or {}).get("detail") or {}).get("timings") or {}
    if timings:
        table.add_row("  of which training", "", _seconds(timings.get("training_s")), "")
    in_build = _wall(result, "identity")
    if in_build != ours_s:
        table.add_row("  (info) ours inside the dbt build", _seconds(in_build), "", "")
    ours_rss = (phases.get("dbt_build") or {}).get("peak_rss_bytes")
    splink_rss = (phases.get("splink") or {}).get("peak_rss_bytes")
    table.add_row(
        "peak RSS MiB", _mib(ours_rss), _mib(splink_rss), _plain_ratio(ours_rss, splink_rss)
    )
    for description, verdict in identity_verdicts(result):
        colour = {"pass": "green", "miss": "red"}.get(verdict, "dim")
        table.add_row(f"benchmark: {description}", "", "", f"[{colour}]{verdict}[/{colour}]")
    return table


def identity_verdicts(result: dict[str, Any]) -> list[tuple[str, str]]:
    """Issue #5's benchmark (not a test): F1 >= 0.98, no worse than Splink, at least as fast."""
    ours, splink = _metrics(result, "identity_eval"), _metrics(result, "splink")
    f1, splink_f1 = ours.get("pairwise_f1"), splink.get("pairwise_f1")
    (ours_s, _), splink_s = ours_identity_seconds(result), _splink_seconds(result)

    def verdict(ok: bool | None) -> str:
        return "not measured" if ok is None else "pass" if ok else "miss"

    return [
        (
            f"pairwise F1 ≥ {IDENTITY_F1_TARGET}",
            verdict(None if f1 is None else f1 >= IDENTITY_F1_TARGET),
        ),
        (
            "pairwise F1 ≥ Splink's",
            verdict(None if f1 is None or splink_f1 is None else f1 >= splink_f1),
        ),
        (
            "seconds ≤ Splink's",
            verdict(None if not ours_s or not splink_s else ours_s <= splink_s),
        ),
    ]


def _figure(value: float | None, digits: int | None) -> str:
    if value is None:
        return "—"
    return f"{value:,}" if digits is None else f"{value:.{digits}f}"


def _plain_ratio(new: float | None, old: float | None) -> str:
    return "—" if not new or not old else f"{new / old:.2f}x"


def _sizes_table(result: dict[str, Any], previous: dict[str, Any] | None) -> Table:
    table = Table(title="sizes (MiB)")
    table.add_column("when")
    keys = (
        "landing_bytes",
        "serving_bytes",
        "exports_bytes",
        "raw_parquet_bytes",
        "quarantine_bytes",
        "warehouse_bytes",
        "bare_duckdb_bytes",
    )
    for key in keys:
        table.add_column(key.removesuffix("_bytes"), justify="right")
    for label, sizes in result["sizes"].items():
        table.add_row(label, *(_mib(sizes.get(k), 1) for k in keys))
    for label, sizes in ((previous or {}).get("sizes") or {}).items():
        table.add_row(f"previous {label}", *(_mib(sizes.get(k), 1) for k in keys))
    return table


def _targets_table(result: dict[str, Any]) -> Table:
    table = Table(title="targets (2 cores, 24 GB)")
    for column in ("target", "figure", "limit", "verdict"):
        table.add_column(column)
    for row in result["targets"]:
        value, unit = row["value"], row["unit"]
        shown = (
            "—"
            if value is None
            else (f"{value:.1%}" if unit == "" else f"{value:,.2f} {unit}".strip())
        )
        limit = f"{row['limit']:.0%}" if unit == "" else f"{row['limit']} {unit}".strip()
        colour = {"pass": "green", "miss": "red"}.get(row["verdict"].split(" ")[0], "dim")
        table.add_row(
            row["description"], shown, f"≤ {limit}", f"[{colour}]{row['verdict']}[/{colour}]"
        )
    figures = result["ratios"]
    if figures.get("full_load_over_bare"):
        table.add_row(
            "(info) full load / bare DuckDB", f"{figures['full_load_over_bare']:.2f} x", "", ""
        )
    for key, label in (
        ("same_work_over_bare", "the same work's dbt models in the build / bare DuckDB"),
        ("same_work_alone_over_bare", "the same work's dbt models built alone / bare DuckDB"),
    ):
        if figures.get(key):
            table.add_row(f"(info) {label}", f"{figures[key]:.2f} x", "", "")
    for key, label in (
        ("spark_over_duckdb_models", "Spark / DuckDB dbt build, seeds and models (same selection)"),
        ("spark_over_dbt_build", "Spark seeds and models / DuckDB's whole dbt build (tests too)"),
    ):
        if figures.get(key):
            table.add_row(f"(info) {label}", f"{figures[key]:.2f} x", "", "")
    if figures.get("identity_share_of_dbt"):
        table.add_row(
            "(info) identity models / dbt build", f"{figures['identity_share_of_dbt']:.1%}", "", ""
        )
    return table
