"""`cdw`: the operator's command line, a thin layer over the functions the assets call."""

from __future__ import annotations

import os
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from orchestration.settings import Settings

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


def _ensure_dagster_home(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_INSTANCE_CONFIG)


@app.command()
def simulate(
    customers: Annotated[int, typer.Option(min=10, help="True customers to simulate.")] = 2000,
    days: Annotated[int, typer.Option(min=0, help="Daily deliveries after the initial one.")] = 7,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same world.")] = 42,
    history_months: Annotated[int, typer.Option(min=1, help="Months of history.")] = 24,
    defect_rate: Annotated[
        float, typer.Option(min=0.0, max=0.5, help="Share of records given an injected defect.")
    ] = 0.002,
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


@app.command()
def load(
    date_: Annotated[str | None, typer.Option("--date", help="Load one date, YYYY-MM-DD.")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First date of a backfill.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last date of a backfill.")] = None,
) -> None:
    """Load deliveries (default: every landed date) and build the warehouse."""
    settings = Settings.from_env()
    dates = _dates_to_load(settings, date_, from_, to)
    _run_load(settings, dates)


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
        f"  warehouse:   {settings.warehouse_path}"
    )


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


def _run_load(settings: Settings, dates: list[date]) -> None:
    import dagster as dg

    from orchestration.loads import run_load

    with dg.DagsterInstance.get() as instance, console.status("loading…") as status:
        report = run_load(
            dates,
            instance=instance,
            on_date=lambda d, n, total: status.update(f"loading {d} ({n}/{total})…"),
        )
    _print_accounting(settings)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    if not report.succeeded:
        for failure in report.failures:
            console.print(f"[red]✗[/] {failure}")
        _fail(f"load of {len(report.load_dates)} date(s) failed: {report.failures[0]}")
    console.print(
        f"[green]loaded[/] {len(report.load_dates)} load date(s): "
        f"{report.load_dates[0]} … {report.load_dates[-1]}"
    )
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
