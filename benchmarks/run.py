"""`python -m benchmarks.run --scale S|M|L|XL [--phases ...]`: measure the pipeline on a world.

The run, in order (each step a fresh child process, see measure.py):

1. simulate   a world of the scenario's size, seed and days (benchmarks/scenarios.py);
2. ingest     the first `days` load dates: the "full" load's ingest (gate inside);
3. dbt        `dbt build` over that raw zone: the full load's warehouse build; the identity
              models' time is read from dbt's run_results.json (`int_identity__*`);
   publish    `orchestration.publish.publish` (serving.duckdb and exports);
   report     `orchestration.report.build_report`, the executive report from what was published;
              then identity scored (below);
4. bare       the bare-DuckDB baseline over the same raw Parquet (bare_duckdb.py), then the
              dbt models doing the same work built alone (`dbt_same_work`, a full refresh), and
              the identity models after the source records built alone (`dbt_identity_alone`,
              a full resolution): the time set beside Splink's, which starts from the same
              source records;
5. increment  the last load date alone (ingest, `dbt build`, publish, report): one more day's
              delivery.

Opt-in, after the dbt step and before the increment (`--phases ... dbt_spark`; not in `make bench`):
   dbt_spark  the same raw zone built with dbt on Spark (local pyspark session, target `spark`),
              seeds and models only, beside DuckDB building the same selection (docs/scale-out.md).

The simulator cannot extend a world by a day (its random streams depend on the whole timeline),
so a world of `days` days, whose `days + 1` load dates are the initial extract and `days`
daily deltas, is loaded as: the first `days` load dates = the full load, the last = the increment.

After the dbt step, identity resolution is scored against the truth, ours and Splink's on the
same source records (benchmarks/identity.py; Splink only when the `bench` extra is installed).
Results: benchmarks/results/<scale>-<UTC timestamp>.json and a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from datetime import UTC, date, datetime
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.measure import ChildRun, directory_bytes, run_child
from benchmarks.scenarios import SCENARIOS, Scenario, scenario
from orchestration.settings import LOAD_BUILD

PROJECT_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
DBT = str(Path(sys.executable).with_name("dbt"))
STEPS = ("simulate", "ingest", "dbt", "bare", "increment")
OPT_IN_STEPS = ("dbt_spark",)  # asked for by name; the default run stays what `make bench` runs
# Spark's build: seeds and models, not the data tests (they check the SQL, which is the same on
# both engines, and tests/test_spark_parity.py does not run them either); DuckDB builds the same
# selection beside it, so that the ratio compares like with like.
MODELS_ONLY = ("--resource-type", "seed", "--resource-type", "model")
# A local Spark session's driver heap (the JVM runs every task); the profile's default of 2g is
# for the test worlds. Overridden by the caller's own CDW_SPARK_DRIVER_MEMORY.
SPARK_DRIVER_MEMORY = "6g"
# The models doing what bare_duckdb.py does, and nothing else (no tests: bare checks nothing).
SAME_WORK = ("--resource-type", "model", "--select", *report.BARE_EQUIVALENT_MODELS)
# Splink's work built alone: the identity models from the source records (Splink's input, which
# both read) to customer ids, a full resolution with nothing else in the build beside it.
IDENTITY_ALONE = (
    "--resource-type",
    "model",
    "--select",
    "intermediate.identity",
    "--exclude",
    "int_identity__source_records",
)
# the identity models' share of a dbt build: the full resolution, then the day matched into it
IDENTITY_PHASES = {build: phase for phase, build in report.IDENTITY_BUILDS.items()}
SPLINK_MISSING = "splink not installed: identity baseline skipped (`make bench` installs it)"


class PhaseFailed(RuntimeError):
    pass


class Bench:
    """One scenario's run: a work directory, the child environment, the phases measured."""

    def __init__(
        self, world: Scenario, work_dir: Path, steps: set[str], dbt_exclude: tuple[str, ...] = ()
    ) -> None:
        self.world = world
        self.dbt_exclude = dbt_exclude
        self.work_dir = work_dir
        self.data_dir = work_dir / "data"
        self.steps = steps
        self.phases: dict[str, dict[str, Any]] = {}
        self.sizes: dict[str, dict[str, int]] = {}
        self.env = {
            **os.environ,
            "CDW_DATA_DIR": str(self.data_dir),
            "CDW_REPORTING_CURRENCY": "EUR",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
        }

    # ------------------------------------------------------------------ the run

    def run(self, say) -> None:
        if "simulate" in self.steps:
            if self.data_dir.exists():
                shutil.rmtree(self.data_dir)
            self.data_dir.mkdir(parents=True)
            self._python(
                "simulate",
                "simulate",
                "--customers",
                str(self.world.customers),
                "--days",
                str(self.world.days),
                "--seed",
                str(self.world.seed),
                say=say,
            )
        dates = self._load_dates()
        full, increment = dates[:-1], dates[-1:]
        if "ingest" in self.steps:
            self._reset_loaded()
            self._python("ingest", "ingest", "--dates", *full, say=say)
        if "dbt" in self.steps:
            self._dbt("dbt_build", say, full_refresh=True)
            self._publish("publish", say)
            self._report("report", say)
            self._identity(say)
        if "dbt_spark" in self.steps:  # before the increment changes the raw zone
            self._dbt("dbt_models_duckdb", say, selection=MODELS_ONLY, full_refresh=True)
            self._dbt(
                "dbt_models_spark", say, selection=MODELS_ONLY, full_refresh=True, engine="spark"
            )
        self._combine("full_load", ("ingest", "dbt_build", "publish", "report"))
        self.sizes["after_full_load"] = self._sizes()
        if "bare" in self.steps:
            self._python("bare_duckdb", "bare", say=say)
            self.sizes["after_full_load"]["bare_duckdb_bytes"] = directory_bytes(
                self.data_dir / "bare.duckdb"
            )
            # the same work as bare's, built alone: nothing else in the build beside it
            self._dbt("dbt_same_work", say, selection=SAME_WORK, full_refresh=True)
            # Splink's work, built alone (after the sizes: it rewrites the identity tables)
            self._dbt(report.IDENTITY_ALONE, say, selection=IDENTITY_ALONE, full_refresh=True)
        if "increment" in self.steps:
            self._python("ingest_increment", "ingest", "--dates", *increment, say=say)
            self._dbt("dbt_build_increment", say)
            self._publish("publish_increment", say)
            self._report("report_increment", say)
            self._combine(
                "incremental_load",
                (
                    "ingest_increment",
                    "dbt_build_increment",
                    "publish_increment",
                    "report_increment",
                ),
            )
            self.sizes["after_increment"] = self._sizes()
        self.phases.setdefault("splink", _skipped("runs after the dbt step, which did not run"))
        self.phases["full_load_dates"] = {"dates": full, "increment": increment}

    # ------------------------------------------------------------------ phases

    def _publish(self, name: str, say) -> None:
        """Write-audit-publish's publish step (the audit is Dagster's asset checks: not here)."""
        phase = self._python(name, "publish", say=say, check=False)
        if phase["returncode"] != 0:
            phase["detail"]["note"] = "publish failed (marts missing after a failed build?)"

    def _report(self, name: str, say) -> None:
        """The executive report, built from what was just published (after every publish)."""
        phase = self._python(name, "report", say=say, check=False)
        if phase["returncode"] != 0:
            phase["detail"]["note"] = f"failed: see {self._log_file(name)}"

    def _identity(self, say) -> None:
        """Our clusters against the truth, then Splink on the same source records (identity.py).

        Neither stops the run: a failure is recorded with its exit status."""
        for name, run in (("identity_eval", "ours"), ("splink", "splink")):
            if run == "splink" and find_spec("splink") is None:
                say(f"[{self.world.scale}] splink: {SPLINK_MISSING}")
                self.phases["splink"] = _skipped(SPLINK_MISSING)
                return
            command = [sys.executable, "-m", "benchmarks.identity", run]
            command += ["--data-dir", str(self.data_dir), "--result", str(self._result_file(name))]
            phase = self._measure(name, command, say, check=False)
            if phase["returncode"] != 0:
                phase["detail"]["note"] = f"failed: see {self._log_file(name)}"

    def _python(self, name: str, phase: str, *args: str, say, check: bool = True):
        command = [
            sys.executable,
            "-m",
            "benchmarks.phases",
            phase,
            "--data-dir",
            str(self.data_dir),
            "--result",
            str(self._result_file(name)),
            *args,
        ]
        return self._measure(name, command, say, check=check)

    def _dbt_target(self, engine: str) -> Path:
        """dbt's target dir per engine: a partial parse is only reused for the same profile."""
        return self.work_dir / ("dbt_target" if engine == "duckdb" else f"dbt_target_{engine}")

    def _dbt_command(self, verb: tuple[str, ...], engine: str) -> list[str]:
        logs = "dbt_logs" if engine == "duckdb" else f"dbt_logs_{engine}"
        return [
            DBT,
            *verb,
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
            "--target",
            engine,
            "--target-path",
            str(self._dbt_target(engine)),
            "--log-path",
            str(self.work_dir / logs),
        ]

    def _engine_env(self, engine: str) -> dict[str, str]:
        if engine == "duckdb":
            return self.env
        spark_dir = self.data_dir / "spark"  # the profile's metastore and warehouse are here
        return {
            **self.env,
            "CDW_TARGET": engine,
            "CDW_SPARK_DRIVER_MEMORY": self.env.get("CDW_SPARK_DRIVER_MEMORY", SPARK_DRIVER_MEMORY),
            # shuffle and spill files, by default under /tmp
            "SPARK_LOCAL_DIRS": str(spark_dir / "local"),
        }

    def _dbt(
        self,
        name: str,
        say,
        *,
        selection: tuple[str, ...] = (),
        full_refresh: bool = False,
        engine: str = "duckdb",
    ) -> None:
        target, env = self._dbt_target(engine), self._engine_env(engine)
        if not (target / "partial_parse.msgpack").exists():
            # A deployed pipeline builds from a parsed project (Dagster's manifest): parse
            # first, untimed, so that every timed build starts from a partial parse.
            parse = "dbt_parse" if engine == "duckdb" else f"dbt_parse_{engine}"
            self._measure(parse, self._dbt_command(("parse",), engine), say, env=env)
            self.phases[parse]["detail"]["note"] = "untimed in the load: once per project"
        # the load's build (orchestration/settings.py), so a measured load is a pipeline load
        command = self._dbt_command(LOAD_BUILD, engine) + list(selection)
        if full_refresh:  # a full resolution, also when re-run on a kept warehouse
            command.append("--full-refresh")
        if self.dbt_exclude:
            command += ["--exclude", *self.dbt_exclude]
        (target / "run_results.json").unlink(missing_ok=True)
        phase = self._measure(name, command, say, check=False, env=env)
        run_results = target / "run_results.json"
        if run_results.exists():
            shutil.copy(run_results, self.work_dir / f"{name}.run_results.json")
        phase["rows"] = self._raw_rows()
        phase["rows_per_s"] = phase["rows"] / phase["wall_s"]
        phase["detail"] = dbt_timings(run_results)
        phase["detail"]["excluded"] = list(self.dbt_exclude)
        phase["detail"]["selection"] = " ".join(selection) or "all"
        if phase["returncode"] != 0:
            phase["detail"]["note"] = "dbt build reported errors or failed tests; see the log"
        if name in IDENTITY_PHASES:
            identity = phase["detail"]["identity_s"]
            self.phases[IDENTITY_PHASES[name]] = {
                "wall_s": identity,
                "rows": phase["rows"],
                "rows_per_s": phase["rows"] / identity if identity else None,
                "peak_rss_bytes": phase["peak_rss_bytes"],
                "returncode": phase["returncode"],
                "detail": {
                    "note": f"inside {name}: sum of the int_identity__* models' execution "
                    "times (dbt runs 2 threads; RSS is dbt_build's)",
                    "models": phase["detail"]["identity_models"],
                },
            }

    def _measure(
        self,
        name: str,
        command: list[str],
        say,
        *,
        check: bool = True,
        env: dict[str, str] | None = None,
    ):
        say(f"[{self.world.scale}] {name} ...")
        run: ChildRun = run_child(
            command,
            env=env or self.env,
            cwd=PROJECT_DIR,
            result_file=self._result_file(name),
            log_file=self._log_file(name),
        )
        if check and run.returncode != 0:
            raise PhaseFailed(f"{name} failed (exit {run.returncode}):\n{run.log_tail}")
        rows = run.output.get("rows")
        phase = {
            "wall_s": round(run.wall_s, 3),
            "rows": rows,
            "rows_per_s": rows / run.wall_s if rows else None,
            "peak_rss_bytes": run.peak_rss_bytes,
            "maxrss_bytes": run.maxrss_bytes,
            "tree_rss_bytes": run.tree_rss_bytes,
            "returncode": run.returncode,
            "detail": {k: v for k, v in run.output.items() if k != "rows"},
        }
        self.phases[name] = phase
        say(
            f"[{self.world.scale}] {name}: {run.wall_s:.1f} s, "
            f"{run.peak_rss_bytes / 2**20:.0f} MiB peak"
        )
        return phase

    def _combine(self, name: str, parts: tuple[str, ...]) -> None:
        """A load: ingest and dbt build (required), and the phases after them that ran."""
        if not all(p in self.phases for p in parts[:2]):
            return
        ran = [p for p in parts if p in self.phases and "wall_s" in self.phases[p]]
        measured = [self.phases[p] for p in ran]
        wall = sum(phase["wall_s"] for phase in measured)
        rows = measured[0]["rows"]
        self.phases[name] = {
            "wall_s": round(wall, 3),
            "rows": rows,
            "rows_per_s": rows / wall if rows else None,
            "peak_rss_bytes": max(phase["peak_rss_bytes"] for phase in measured),
            "returncode": next((ph["returncode"] for ph in measured if ph["returncode"]), 0),
            "detail": {"parts": ran, "gate_s": measured[0]["detail"].get("gate_s")},
        }

    # ------------------------------------------------------------------ helpers

    def _log_file(self, name: str) -> Path:
        return self.work_dir / "logs" / f"{name}.log"

    def _result_file(self, name: str) -> Path:
        return self.work_dir / "phase_results" / f"{name}.json"

    def _load_dates(self) -> list[str]:
        landing = self.data_dir / "landing"
        dates = (
            sorted(
                {
                    child.name
                    for system in landing.iterdir()
                    if system.is_dir()
                    for child in system.iterdir()
                    if child.is_dir() and _is_date(child.name)
                }
            )
            if landing.is_dir()
            else []
        )
        if len(dates) < 2:
            raise PhaseFailed(f"{landing} has {len(dates)} load dates; run the simulate phase")
        return dates

    def _reset_loaded(self) -> None:
        """A full load starts from an empty raw zone, ledger and warehouse."""
        for name in (
            "serving.duckdb",
            "raw",
            "quarantine",
            "ledger.sqlite",
            "warehouse.duckdb",
            "warehouse.duckdb.wal",
            "warehouse.duckdb.tmp",
            "bare.duckdb",
        ):
            path = self.data_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)

    def _raw_rows(self) -> int:
        import pyarrow.parquet as pq

        return sum(
            pq.ParquetFile(p).metadata.num_rows for p in (self.data_dir / "raw").rglob("*.parquet")
        )

    def _sizes(self) -> dict[str, int]:
        data = self.data_dir
        return {
            "landing_bytes": directory_bytes(data / "landing"),
            "raw_parquet_bytes": directory_bytes(data / "raw", "*.parquet"),
            "quarantine_bytes": directory_bytes(data / "quarantine"),
            "serving_bytes": directory_bytes(data / "serving.duckdb"),
            "exports_bytes": directory_bytes(data / "exports", "*.parquet"),
            "warehouse_bytes": directory_bytes(data / "warehouse.duckdb")
            + directory_bytes(data / "warehouse.duckdb.wal"),
        }


def dbt_timings(run_results: Path) -> dict[str, Any]:
    """Per-model times from dbt's run_results.json: identity models, the slowest, statuses."""
    if not run_results.exists():
        return {
            "identity_s": 0.0,
            "identity_models": {},
            "slowest": {},
            "statuses": {},
            "failed": ["dbt wrote no run_results.json"],
            "skipped_models": [],
        }
    results = json.loads(run_results.read_text())["results"]
    times = {r["unique_id"]: float(r.get("execution_time") or 0.0) for r in results}
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    skipped_models = sorted(
        r["unique_id"].split(".")[-1]
        for r in results
        if r["status"] == "skipped" and r["unique_id"].startswith("model.")
    )
    failed = sorted(
        r["unique_id"].split(".")[-1] for r in results if r["status"] in ("fail", "error")
    )
    models = {
        uid.split(".")[-1]: round(t, 3) for uid, t in times.items() if uid.startswith("model.")
    }
    identity = {name: t for name, t in models.items() if name.startswith("int_identity__")}
    slowest = dict(sorted(times.items(), key=lambda item: -item[1])[:8])
    by_kind: dict[str, float] = {}
    for uid, seconds in times.items():
        kind = uid.split(".")[0]
        by_kind[kind] = round(by_kind.get(kind, 0.0) + seconds, 3)
    return {
        "identity_s": round(sum(identity.values()), 3),
        "node_seconds_by_kind": by_kind,  # summed over 2 threads: compare with wall / 2
        "elapsed_s": round(float(json.loads(run_results.read_text()).get("elapsed_time", 0)), 3),
        "identity_models": identity,
        "models": models,
        "slowest": {uid: round(t, 3) for uid, t in slowest.items()},
        "statuses": statuses,
        "nodes": len(results),
        "failed": failed,
        "skipped_models": skipped_models,  # not built: the build is incomplete
    }


def _skipped(reason: str) -> dict[str, Any]:
    return {"skipped": reason}


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _lines("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        (
            int(line.split()[1]) * 1024
            for line in _lines("/proc/meminfo")
            if line.startswith("MemTotal:")
        ),
        None,
    )
    return {
        "host": platform.node(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_bytes": memory,
        "python": platform.python_version(),
        "versions": {
            p: _version(p)
            for p in (
                "duckdb",
                "dbt-core",
                "dbt-duckdb",
                "dbt-spark",
                "pyspark",
                "dagster",
                "pyarrow",
                "great-expectations",
            )
        },
    }


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def run_scale(
    world: Scenario,
    *,
    work_dir: Path,
    results_dir: Path,
    steps: set[str],
    dbt_exclude: tuple[str, ...] = (),
    say=print,
) -> Path:
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    bench = Bench(world, work_dir, steps, dbt_exclude)
    clock = time.perf_counter()
    bench.run(say)
    result = {
        "scale": world.scale,
        "scenario": {"customers": world.customers, "days": world.days, "seed": world.seed},
        "started_at": started.isoformat(timespec="seconds"),
        "harness_wall_s": round(time.perf_counter() - clock, 3),
        "steps": sorted(steps),
        "dbt_exclude": list(dbt_exclude),
        "machine": {**machine(), "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
        "phases": bench.phases,
        "sizes": bench.sizes,
    }
    result["ratios"] = report.ratios(result)
    result["targets"] = report.targets(result)
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{world.scale}-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    previous = report.previous_result(results_dir, world.scale, exclude=path)
    path.write_text(json.dumps(result, indent=2, default=str))
    report.print_result(result, previous)
    return path


def show(path: Path) -> int:
    result = json.loads(path.read_text())
    result["ratios"] = report.ratios(result)
    result["targets"] = report.targets(result)
    previous = report.previous_result(path.parent, result["scale"], exclude=path, before=path)
    report.print_result(result, previous)
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--scale",
        action="append",
        default=None,
        help="S, M, L or XL; repeat or comma-separate for several (default S,M)",
    )
    parser.add_argument(
        "--customers",
        type=int,
        help="a custom world of this many customers instead of a named scale",
    )
    parser.add_argument(
        "--phases",
        nargs="+",
        choices=STEPS + OPT_IN_STEPS,
        default=list(STEPS),
        help=f"steps to run (default all but {', '.join(OPT_IN_STEPS)}); later steps reuse the "
        "work dir",
    )
    parser.add_argument(
        "--work-dir", type=Path, help="where worlds are built (default data/bench/<scale>)"
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--dbt-exclude",
        nargs="+",
        default=[],
        help="dbt nodes to leave out of the timed builds (e.g. a test that fails at scale and "
        "would skip every model after it); recorded in the result",
    )
    parser.add_argument(
        "--show", type=Path, help="print a stored result beside its previous one; run nothing"
    )
    parser.add_argument(
        "--extraction",
        action="store_true",
        help="instead of a world: extraction from PostgreSQL beside COPY TO STDOUT "
        "(benchmarks/extraction.py; --customers, default 100000)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.show:
        return show(args.show)
    if args.extraction:
        from benchmarks import extraction

        data_root = Path(os.environ.get("CDW_DATA_DIR", PROJECT_DIR / "data")) / "bench"
        work_dir = (args.work_dir or data_root) / "extraction"
        path = extraction.run(args.customers or 100_000, work_dir.resolve(), args.results_dir)
        print(f"results: {path}")
        return 0
    scales = [
        s.strip().upper()
        for value in (args.scale or ["S,M"])
        for s in value.replace(" ", ",").split(",")
        if s.strip()
    ]
    unknown = [s for s in scales if s not in SCENARIOS]
    if unknown:
        print(f"unknown scale {', '.join(unknown)}: choose from {', '.join(SCENARIOS)}")
        return 2
    worlds = [scenario("", args.customers)] if args.customers else [scenario(s) for s in scales]
    data_root = Path(os.environ.get("CDW_DATA_DIR", PROJECT_DIR / "data")) / "bench"
    for world in worlds:
        work_dir = (args.work_dir / world.scale) if args.work_dir else data_root / world.scale
        try:
            path = run_scale(
                world,
                work_dir=work_dir.resolve(),
                results_dir=args.results_dir,
                steps=set(args.phases),
                dbt_exclude=tuple(args.dbt_exclude),
            )
        except PhaseFailed as failure:
            print(f"benchmark {world.scale} stopped: {failure}")
            return 1
        print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
