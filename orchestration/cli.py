"""`cdw`: the operator's command line, a thin layer over the functions the assets call."""

from __future__ import annotations

import os
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orchestration.locks import writer_lock
from orchestration.settings import Settings

if TYPE_CHECKING:
    from orchestration.status import Status

app = typer.Typer(
    name="cdw",
    help="customer-warehouse: land, check and merge every operational system into one customer "
    "view with revenue-per-customer and retention marts.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


@app.callback()
def _environment(
    data_dir: Annotated[
        Path | None, typer.Option(help="Where the zones live (default $CDW_DATA_DIR or ./data).")
    ] = None,
) -> None:
    # Dagster resources and dbt read these variables; give them the documented defaults.
    if data_dir is not None:
        os.environ["CDW_DATA_DIR"] = str(data_dir.resolve())
    settings = Settings.from_env()
    os.environ.setdefault("CDW_DATA_DIR", str(settings.data_dir))
    os.environ.setdefault("CDW_REPORTING_CURRENCY", settings.reporting_currency)
    os.environ.setdefault("DAGSTER_HOME", str(settings.data_dir / "dagster_home"))
    _ensure_dagster_home(Path(os.environ["DAGSTER_HOME"]))


# DuckDB allows one writer per file: the `warehouse` pool (the dbt asset's) takes one op at a
# time, so runs the daemon launches queue for the warehouse instead of failing on its lock.
DAGSTER_INSTANCE_CONFIG = """\
# Written by `cdw` on first use; edit freely, it is never overwritten.
concurrency:
  pools:
    default_limit: 1
  runs:
    max_concurrent_runs: 4
telemetry:
  enabled: false
"""


# Dagster's SQLite files in $DAGSTER_HOME, the event log's connections kept open between statements
# instead of opened for each one (orchestration/dagster_storage.py, docs/live-sources.md).
DAGSTER_SQLITE_STORAGE = """\
storage:
  custom:
    module: orchestration.dagster_storage
    class: DagsterPooledSqliteStorage
    config:
      base_dir:
        env: DAGSTER_HOME
"""

# Optional: runs, events and schedules in PostgreSQL instead of SQLite files (docs/live-sources.md).
DAGSTER_PG_STORAGE = """\
storage:
  postgres:
    postgres_url:
      env: DAGSTER_PG_URL
"""


def _ensure_dagster_home(home: Path) -> None:
    """Write `home/dagster.yaml` and create its SQLite storage, once, if there is no dagster.yaml.

    Two processes started together on a new home both created Dagster's SQLite schema ("table
    run_tags already exists"), and one could read the other's half-written dagster.yaml. So the
    first takes the home's lock, creates the storage, and only then renames the finished
    dagster.yaml into place: a dagster.yaml present means a ready home, checked without the lock
    (one stat); a process that waited for the lock finds it there and leaves. An existing
    dagster.yaml is never touched. PostgreSQL storage is left to Dagster, which retries a
    concurrent creation, so a command needs no database server until it opens the instance."""
    config = home / "dagster.yaml"
    if config.exists():
        return
    home.mkdir(parents=True, exist_ok=True)
    postgres = bool(os.environ.get("DAGSTER_PG_URL"))
    # Imported before the lock (about a second), so that it is held while creating only.
    from orchestration.publish import write_text_atomically

    if not postgres:
        from orchestration.dagster_storage import DagsterPooledSqliteStorage
    with writer_lock(home / "dagster.yaml.lock", timeout_s=300, poll_s=0.02):
        if config.exists():  # made by the process we waited for
            return
        if not postgres:
            DagsterPooledSqliteStorage.from_local(str(home)).dispose()
        storage = DAGSTER_PG_STORAGE if postgres else DAGSTER_SQLITE_STORAGE
        write_text_atomically(config, DAGSTER_INSTANCE_CONFIG + storage)


@app.command()
def simulate(
    customers: Annotated[int, typer.Option(min=10, help="True customers to simulate.")] = 2000,
    days: Annotated[int, typer.Option(min=0, help="Daily deliveries after the initial one.")] = 7,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same world.")] = 42,
    history_months: Annotated[int, typer.Option(min=1, help="Months of history.")] = 24,
    defect_rate: Annotated[
        float, typer.Option(min=0.0, max=0.5, help="Share of records given an injected defect.")
    ] = 0.002,
    serve_db: Annotated[
        bool,
        typer.Option(
            "--serve-db",
            help="Also serve the CRM in PostgreSQL and the ERP in MariaDB (CDW_CRM_PG_URL, "
            "CDW_ERP_MYSQL_URL; local servers by default), day by day: docs/live-sources.md.",
        ),
    ] = False,
) -> None:
    """Simulate the operational systems: deliveries into landing/, ground truth into truth/."""
    from simulator import simulate as run_simulation

    settings = Settings.from_env()
    with console.status("simulating the operational systems…"):
        summary = run_simulation(
            settings.data_dir,
            customers=customers,
            days=days,
            seed=seed,
            history_months=history_months,
            defect_rate=defect_rate,
            progress=lambda message: console.log(message),
        )
    console.print(f"[green]simulated[/] {summary}")
    console.print(f"landing: {settings.landing_dir}\ntruth:   {settings.truth_dir}")
    if serve_db:
        from simulator.serve_db import serve

        serve(settings.landing_dir, seed=seed, progress=lambda message: console.log(message))
        console.print("[green]served[/] CRM in PostgreSQL, ERP in MariaDB (sources/live/)")


@app.command()
def load(
    date_: Annotated[str | None, typer.Option("--date", help="Load one date, YYYY-MM-DD.")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First date of a backfill.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last date of a backfill.")] = None,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh",
            help="Resolve identities from scratch (parameters estimated again, every record "
            "matched) instead of matching the new records into the last resolution.",
        ),
    ] = False,
) -> None:
    """Load deliveries (default: every landed date) and build the warehouse."""
    settings = Settings.from_env()
    dates = _dates_to_load(settings, date_, from_, to)
    _run_load(settings, dates, full_refresh=full_refresh)


@app.command()
def publish() -> None:
    """Publish the last audited warehouse build again (a lost serving file or exports)."""
    from orchestration.publish import RepublishRefused, republish
    from orchestration.publish_assets import audited_check_names

    settings = Settings.from_env()
    try:
        republish(settings, audited_check_names())
    except RepublishRefused as refused:
        _fail(f"not published: {refused}")
    _print_serving(settings, failed=False)
    _rebuild_report(settings)


def _rebuild_report(settings: Settings) -> None:
    """After a publish outside Dagster, the report follows it as the asset does after a load."""
    from orchestration.report import NoRevenue, build_report

    try:
        console.print(f"  report:      {build_report(settings)}")
    except NoRevenue as exc:
        console.print(f"  report:      not built ({exc})")


@app.command()
def demo(
    customers: Annotated[int, typer.Option(min=10)] = 2000,
    days: Annotated[int, typer.Option(min=0)] = 7,
    seed: Annotated[int, typer.Option()] = 42,
) -> None:
    """Simulate a small world and load it end to end; print where the results are."""
    simulate(customers=customers, days=days, seed=seed)
    settings = Settings.from_env()
    _run_load(settings, _dates_to_load(settings, None, None, None))
    console.print(
        f"\n[bold]Results[/]\n  raw zone:    {settings.raw_dir}\n"
        f"  quarantine:  {settings.quarantine_dir}\n  ledger:      {settings.ledger_path}\n"
        f"  warehouse:   {settings.warehouse_path}\n  serving:     {settings.serving_path}"
        f" (read-only for BI)\n  exports:     {settings.exports_dir}"
    )
    _print_report_path(settings)


def _print_report_path(settings: Settings) -> None:
    """The executive report the load's publish built (the newest in data/reports/)."""
    reports = sorted(settings.reports_dir.glob("revenue-per-customer-*.html"))
    if reports:
        console.print(f"  report:      {reports[-1]}")
    else:
        console.print("  report:      not built (nothing published); run `cdw report`")


@app.command()
def ui(port: Annotated[int, typer.Option(help="Port of the Dagster UI.")] = 3000) -> None:
    """Start the Dagster UI and daemon on localhost: assets, checks, jobs, schedule, sensor."""
    import subprocess

    venv_bin = str(Path(sys.executable).parent)
    # dagster-dbt's dev-mode parsing looks for `dbt` on PATH.
    env = {**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [
        str(Path(venv_bin) / "dagster"),
        "dev",
        "-m",
        "orchestration.definitions",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    sys.exit(subprocess.call(command, env=env))


@app.command()
def status() -> None:
    """Last load, freshness per source, rows per zone, quarantine by rule, rows per mart."""
    from orchestration.status import collect_status

    settings = Settings.from_env()
    report = collect_status(settings)
    if not report.loaded_anything:
        _fail(f"nothing loaded yet in {settings.data_dir}; run `cdw load` (or `cdw demo`)")
    _print_status(report)
    _print_alerts(settings)


def _print_alerts(settings: Settings, limit: int = 5) -> None:
    """The latest run-failure alerts (the run_failure_alert sensor writes data/alerts.jsonl)."""
    from orchestration.alerts import alerts_path, read_alerts

    alerts = read_alerts(settings, limit=limit)
    if not alerts:
        console.print("alerts: none (failed runs are recorded in data/alerts.jsonl)")
        return
    table = Table(title=f"Latest run-failure alerts ({alerts_path(settings)})")
    for column in ("failed at", "job", "run", "failed steps", "error"):
        table.add_column(column)
    for alert in reversed(alerts):
        table.add_row(
            alert.failed_at,
            alert.job,
            alert.run_id[:8],
            escape(", ".join(alert.failed_steps)),
            escape(_first_error_line(alert.error)),
        )
    console.print(table)


def _first_error_line(message: str) -> str:
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[0][:160] if lines else ""


@app.command()
def report(
    open_path: Annotated[
        bool,
        typer.Option(
            "--open-path",
            help="Print only the report's path, e.g. for `xdg-open $(cdw report --open-path)`.",
        ),
    ] = False,
) -> None:
    """Rebuild the executive revenue-per-customer report from the current serving file.

    Reads only the published serving database (read-only) and the ledger, writes
    data/reports/revenue-per-customer-<load date>.html (one self-contained file, no network)
    and prints its path. A load rebuilds it after every publish; this command is for a rebuild
    by hand, e.g. after a change of the report's layout.
    """
    from orchestration.report import NoServingData, build_report

    settings = Settings.from_env()
    try:
        path = build_report(settings)
    except NoServingData as exc:
        _fail(str(exc))
    if open_path:
        print(path)
        return
    console.print(f"[green]report[/] {path}")


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def bench(
    ctx: typer.Context,
    scale: Annotated[
        list[str] | None,
        typer.Option(
            help="S, M, L or XL (benchmarks/README.md); repeat for several. Default: S and M."
        ),
    ] = None,
) -> None:
    """Run the benchmarks (python -m benchmarks.run): a simulated world per scale, timed.

    Results (wall time per step, rows per second, peak memory, ratios to the previous run) go to
    benchmarks/results/. Other options pass through, e.g. `cdw bench --scale S --phases load`;
    `python -m benchmarks.run --help` lists them. Takes minutes (S) to an hour (XL).
    """
    import subprocess

    command = [sys.executable, "-m", "benchmarks.run"]
    for one in scale or ["S", "M"]:
        command += ["--scale", one]
    from orchestration.settings import PROJECT_DIR

    code = subprocess.call([*command, *ctx.args], cwd=PROJECT_DIR)
    if code:
        _fail(f"benchmarks exited with status {code}; see the output above")


identity_app = typer.Typer(
    help="Measure identity resolution against a simulated world's truth; explain a customer.",
    no_args_is_help=True,
)
app.add_typer(identity_app, name="identity")


@identity_app.command("eval")
def identity_eval(
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
) -> None:
    """Pairwise and cluster metrics (B-cubed, splits, merges) of the published customer_ids
    against truth/source_records.parquet (docs/identity.md)."""
    from orchestration import identity_eval as evaluation

    try:
        metrics = evaluation.evaluate_published(Settings.from_env())
    except evaluation.EvaluationUnavailable as missing:
        # one line whatever the terminal's width: a path must not wrap
        console.print(f"[red]error:[/] {escape(str(missing))}", soft_wrap=True)
        raise typer.Exit(1) from None
    if as_json:
        print(evaluation.format_json(metrics))
        return
    print("identity resolution: published customer_id against the simulator's truth")
    print(evaluation.format_table(metrics))


@identity_app.command("explain")
def identity_explain(
    customer_id: Annotated[str, typer.Argument(help="A customer_id (CUS-…) of the serving marts.")],
) -> None:
    """Why a customer's source records were joined: each link with its rule and, for scored
    links, every comparison's agreement level and match weight; the id's history."""
    from orchestration import identity_explain as explaining

    try:
        explanation = explaining.explain(Settings.from_env(), customer_id)
    except explaining.ExplanationUnavailable as missing:
        console.print(f"[red]error:[/] {escape(str(missing))}", soft_wrap=True)
        raise typer.Exit(1) from None
    print(explaining.format_text(explanation))


quarantine_app = typer.Typer(
    help="Inspect quarantined rows and re-ingest a partition after a fix.", no_args_is_help=True
)
app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("list")
def quarantine_list(
    system: Annotated[str | None, typer.Option(help="Only this system.")] = None,
    entity: Annotated[str | None, typer.Option(help="Only this entity.")] = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule (e.g. not_null).")] = None,
) -> None:
    """Quarantined rows per system/entity/load date/rule, with an example reason."""
    from orchestration.quarantine import list_groups

    groups = list_groups(Settings.from_env(), system=system, entity=entity, rule=rule)
    if not groups:
        console.print(
            "no quarantined rows" + (" match the filters" if system or entity or rule else "")
        )
        return
    table = Table(title=f"Quarantined rows ({sum(g.rows for g in groups):,})")
    for column in ("system", "entity", "load date", "rule", "rows", "example reason"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for g in groups:
        table.add_row(
            g.system,
            g.entity,
            g.load_date.isoformat(),
            escape(g.rule),
            f"{g.rows:,}",
            escape(g.example_reason),
        )
    console.print(table)


@quarantine_app.command("show")
def quarantine_show(
    system: Annotated[str, typer.Argument(help="System, e.g. erp.")],
    entity: Annotated[str, typer.Argument(help="Entity, e.g. invoice_lines.")],
    load_date: Annotated[
        str | None, typer.Option("--load-date", help="Only this load date, YYYY-MM-DD.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Rows to show.")] = 20,
) -> None:
    """The quarantined rows: file, row, column, rule, reason and the record as delivered."""
    from orchestration.quarantine import QuarantineError, find_entity, show_rows

    try:
        find_entity(system, entity)
    except QuarantineError as exc:
        _fail(str(exc))
    day = _parse_date(load_date) if load_date else None
    rows, total = show_rows(Settings.from_env(), system, entity, day, limit)
    where = f"{system}/{entity}" + (f" on {day}" if day else "")
    if not rows:
        console.print(f"no quarantined rows for {where}")
        return
    console.print(f"[bold]Quarantined rows of {where}[/]: showing {len(rows)} of {total:,}")
    for r in rows:
        row = "whole file" if r.source_row is None else f"row {r.source_row}"
        column = f"  column {r.column_name}" if r.column_name else ""
        console.print(
            f"\n[bold]{escape(r.source_file)}[/] {row}{escape(column)}  "
            f"rule [magenta]{escape(r.rule)}[/]  (load date {r.load_date})"
        )
        console.print(f"  reason: {escape(r.reason)}", soft_wrap=True)
        console.print(f"  record: {escape(r.raw_record or '')}", soft_wrap=True)


@quarantine_app.command("release")
def quarantine_release(
    system: Annotated[str, typer.Argument(help="System, e.g. erp.")],
    entity: Annotated[str, typer.Argument(help="Entity, e.g. invoice_lines.")],
    load_date: Annotated[str, typer.Option("--load-date", help="Load date, YYYY-MM-DD.")],
) -> None:
    """Re-ingest one partition after a fix (contract, suite in expectations/, or a corrected
    file in landing); the raw and quarantine partitions are replaced together."""
    from orchestration.quarantine import QuarantineError, release

    day = _parse_date(load_date)
    settings = Settings.from_env()
    try:
        with console.status(f"re-ingesting {system}/{entity} {day}…"):
            done = release(settings, system, entity, day)
    except QuarantineError as exc:
        _fail(str(exc))
    table = Table(title=f"Released {system}/{entity} load date {day}")
    for column in ("", "rows loaded", "rows quarantined"):
        table.add_column(column, justify="left" if not column else "right")
    table.add_row("before", f"{done.before.rows_loaded:,}", f"{done.before.rows_quarantined:,}")
    table.add_row("after", f"{done.after.rows_loaded:,}", f"{done.after.rows_quarantined:,}")
    console.print(table)
    moved = done.before.rows_quarantined - done.after.rows_quarantined
    if moved == 0 and done.before == done.after:
        console.print("nothing changed: the same rows are quarantined (was the fix saved?)")
    else:
        console.print(f"{moved:+,} rows out of quarantine")
    if done.rebuilt_partitions:
        rebuilt = ", ".join(d.isoformat() for d in done.rebuilt_partitions)
        console.print(f"also rebuilt for corrected files: {rebuilt}")
    console.print(
        f"[yellow]the warehouse still holds the old rows:[/] rebuild it with "
        f"`cdw load --date {day}` (or run the build_warehouse job)"
    )


def _print_freshness_checks(report: Status) -> None:
    """The freshness checks as the last load judged them (as of the end of its load date)."""
    stale = [f for f in report.at_last_load if f.state != "ok"]
    as_of = f"as of the end of {report.last_load.load_date}"
    if not stale:
        console.print(f"freshness checks at the last load ({as_of}): every source fresh")
        return
    console.print(f"freshness checks at the last load ({as_of}):")
    for f in stale:
        colour, label = (
            ("red", "error (blocks publish)") if f.state == "error" else ("yellow", "warn")
        )
        latest = f.latest_load_date or "never"
        console.print(
            f"  [{colour}]{label}[/] {f.system}/{f.entity}: latest delivery {latest}, "
            f"{f.age_hours:.0f} h old "
            f"(warn/error after {f.warn_after_hours}/{f.error_after_hours} h)"
        )


def _print_status(report: Status) -> None:
    last = report.last_load
    colour = "green" if last.status == "success" else "red"
    console.print(
        f"[bold]Last load[/] {last.load_date}  [{colour}]{last.status}[/]  "
        f"{last.partitions} partitions, started {last.started_at}, finished {last.finished_at}"
    )
    for failed in last.failed_partitions:
        console.print(f"  [red]✗[/] {failed} failed on its latest run")

    fresh = Table(title="Freshness per source (age of the latest delivery)")
    for column in ("system", "entity", "latest load", "loaded at", "age h", "warn/error h", ""):
        fresh.add_column(column, justify="right" if column in ("age h", "warn/error h") else "left")
    colours = {"ok": "green", "warn": "yellow", "error": "red"}
    for f in report.freshness:
        fresh.add_row(
            f.system,
            f.entity,
            f.latest_load_date.isoformat() if f.latest_load_date else "never",
            f.latest_loaded_at.strftime("%Y-%m-%d %H:%M") if f.latest_loaded_at else "",
            f"{f.age_hours:.1f}" if f.age_hours is not None else "",
            f"{f.warn_after_hours}/{f.error_after_hours}",
            f"[{colours[f.state]}]{f.state}[/]",
        )
    console.print(fresh)
    _print_freshness_checks(report)

    zones = Table(title="Rows per zone (landing = raw + quarantine)")
    for column in (
        "system",
        "entity",
        "files",
        "landing rows",
        "raw rows",
        "quarantined",
        "rejected files",
        "dup files",
    ):
        zones.add_column(column, justify="left" if column in ("system", "entity") else "right")
    for z in report.zones:
        mark = "" if z.closes else " [red]✗[/]"
        zones.add_row(
            z.system,
            z.entity,
            str(z.files),
            f"{z.rows_read:,}",
            f"{z.rows_loaded:,}",
            f"{z.rows_quarantined:,}{mark}",
            str(z.files_rejected),
            str(z.files_duplicate),
        )
    zones.add_row(
        "total",
        "",
        str(sum(z.files for z in report.zones)),
        f"{sum(z.rows_read for z in report.zones):,}",
        f"{sum(z.rows_loaded for z in report.zones):,}",
        f"{sum(z.rows_quarantined for z in report.zones):,}",
        str(sum(z.files_rejected for z in report.zones)),
        str(sum(z.files_duplicate for z in report.zones)),
        style="bold",
    )
    console.print(zones)

    if report.quarantine_by_rule:
        rules = Table(title="Quarantined rows by rule")
        rules.add_column("rule")
        rules.add_column("rows", justify="right")
        for rule, count in report.quarantine_by_rule:
            rules.add_row(escape(rule), f"{count:,}")
        console.print(rules)
    else:
        console.print("quarantine: empty")

    if report.marts.available:
        marts = Table(title="Rows per mart (warehouse)")
        marts.add_column("mart")
        marts.add_column("rows", justify="right")
        for name, count in report.marts.rows:
            marts.add_row(name, f"{count:,}")
        console.print(marts)
    else:
        console.print(f"marts: {report.marts.note}")


def _dates_to_load(
    settings: Settings, one: str | None, first: str | None, last: str | None
) -> list[date]:
    from orchestration.ingest import landed_load_dates

    landed = landed_load_dates(settings)
    if one and (first or last):
        _fail("give either --date or --from/--to, not both")
    if one:
        wanted = [_parse_date(one)]
    elif first or last:
        start = _parse_date(first) if first else min(landed, default=date.today())
        end = _parse_date(last) if last else max(landed, default=start)
        if end < start:
            _fail(f"--to {end} is before --from {start}")
        wanted = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    else:
        wanted = landed
    missing = sorted(set(wanted) - set(landed))
    if one and missing:
        _fail(f"nothing landed for {one} in {settings.landing_dir}")
    if not wanted or set(wanted) <= set(missing):
        _fail(f"no deliveries to load in {settings.landing_dir}; run `cdw simulate` first")
    return [d for d in wanted if d in set(landed)]


def _run_load(settings: Settings, dates: list[date], *, full_refresh: bool = False) -> None:
    import dagster as dg

    from orchestration.loads import run_load

    with dg.DagsterInstance.get() as instance, console.status("loading…") as status:
        report = run_load(
            dates,
            instance=instance,
            on_date=lambda d, n, total: status.update(f"loading {d} ({n}/{total})…"),
            full_refresh=full_refresh,
        )
    _print_accounting(settings)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    if not report.succeeded:
        for failure in report.failures:
            console.print(f"[red]✗[/] {failure}")
        _print_serving(settings, failed=True)
        _fail(f"load of {len(report.load_dates)} date(s) failed: {report.failures[0]}")
    console.print(
        f"[green]loaded[/] {len(report.load_dates)} load date(s): "
        f"{report.load_dates[0]} … {report.load_dates[-1]}"
    )
    _print_serving(settings, failed=False)
    _print_headline(settings)


def _print_accounting(settings: Settings) -> None:
    from orchestration.summaries import accounting

    table = Table(title="Row accounting (landed = loaded + quarantined)")
    for column in ("system", "entity", "files", "landed", "loaded", "quarantined", "dup files"):
        table.add_column(column, justify="left" if column in ("system", "entity") else "right")
    for row in accounting(settings):
        mark = "" if row.closes else " [red]✗[/]"
        table.add_row(
            row.system,
            row.entity,
            str(row.files),
            f"{row.rows_read:,}",
            f"{row.rows_loaded:,}",
            f"{row.rows_quarantined:,}{mark}",
            str(row.files_duplicate),
        )
    console.print(table)


def _print_serving(settings: Settings, *, failed: bool) -> None:
    from orchestration.publish import last_published

    state = last_published(settings)
    if state is None:
        console.print("nothing published yet")
        return
    what = (
        f"{state.published_at:%Y-%m-%d %H:%M:%S} UTC "
        f"(load dates {state.first_load_date} … {state.last_load_date})"
    )
    if failed:
        console.print(f"[yellow]serving unchanged:[/] still serving the publish of {what}")
        return
    console.print(
        f"[green]published[/] {len(state.row_counts)} marts to {settings.serving_path} at {what}"
    )
    for mart, rows in state.row_counts.items():
        console.print(f"  {mart:<28} {rows:>10,} rows")


def _print_headline(settings: Settings) -> None:
    from orchestration.summaries import headline

    figures = headline(settings)
    if figures is None:
        return
    nrr = (
        f"{figures.net_revenue_retention:.1%}"
        if figures.net_revenue_retention is not None
        else "n/a (less than 15 months of history)"
    )
    console.print(
        f"\n[bold]Customers with revenue[/] {figures.customers:,}   "
        f"[bold]Revenue[/] {figures.revenue:,.2f} {figures.currency}   "
        f"[bold]Revenue per customer[/] {figures.revenue_per_customer:,.2f} {figures.currency}   "
        f"[bold]Net revenue retention (quarter, YoY)[/] {nrr}"
    )


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{text!r} is not a date; use YYYY-MM-DD")


def _fail(message: str) -> NoReturn:
    console.print(f"[red]error:[/] {message}")
    sys.exit(1)


if __name__ == "__main__":
    app()
