"""Extraction from a live PostgreSQL: the pipeline's extractor beside `COPY ... TO STDOUT`.

    .venv/bin/python -m benchmarks.extraction --customers 100000
    .venv/bin/python -m benchmarks.run --extraction --customers 100000   # the same, via the harness

Builds (once per size, in schema `cdw_bench_extraction` of CDW_BENCH_PG_URL, default the local
server) an `accounts` table of N customers shaped like `sources/live/crm_live.yml` and an
`invoices` table of 10 invoices per customer. Then, each in a fresh child process
(`benchmarks/measure.py`: wall time and peak RSS of the process tree):

- extract: `orchestration.extract.extract_entity`, a full extraction (no watermark): ADBC
  record batches inside a REPEATABLE READ transaction, into zstd Parquet chunk files in landing/;
- copy: `COPY (SELECT the same columns FROM the table) TO STDOUT (FORMAT binary)` through
  psycopg2 into a sink that only counts bytes: the fastest way PostgreSQL hands rows out, with
  no conversion and no file written. The baseline.

Rows/s are taken over the work inside the child (interpreter start and imports excluded, the
same for both); the child's whole wall time is recorded too. Results: benchmarks/results/
extraction-<timestamp>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from benchmarks.measure import run_child

PROJECT_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
SCHEMA = "cdw_bench_extraction"
INVOICES_PER_CUSTOMER = 10
TABLES = ("accounts", "invoices")
TARGET_SHARE = 0.5  # the target: at least half of COPY's rows/s


def pg_url() -> str:
    return os.environ.get("CDW_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _schema_url() -> str:
    separator = "&" if "?" in pg_url() else "?"
    return f"{pg_url()}{separator}options=-csearch_path%3D{SCHEMA}"


# --------------------------------------------------------------------------- data


def build_tables(customers: int) -> dict[str, int]:
    """(Re)create the tables when their size differs; return rows per table."""
    import psycopg2

    con = psycopg2.connect(pg_url())
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        cur.execute(f"SET search_path TO {SCHEMA}")
        cur.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = %s",
            (SCHEMA,),
        )
        found = set(cur.fetchall())
        wanted = {(t, c.source_name) for t, (_, e) in entities().items() for c in e.columns}
        if found and wanted <= found:  # the tables exist, in the contracts' current shape
            cur.execute("SELECT count(*) FROM accounts")
            if cur.fetchone()[0] == customers:
                return _counts(cur)
        cur.execute("DROP TABLE IF EXISTS accounts, invoices")
        cur.execute(_ACCOUNTS_SQL.replace("%(n)s", str(int(customers))))
        cur.execute(_INVOICES_SQL.replace("%(n)s", str(int(customers * INVOICES_PER_CUSTOMER))))
        cur.execute("ANALYZE accounts; ANALYZE invoices")
        counts = _counts(cur)
    con.close()
    return counts


def _counts(cur) -> dict[str, int]:
    counts = {}
    for table in ("accounts", "invoices"):
        cur.execute(f"SELECT count(*) FROM {table}")
        counts[table] = cur.fetchone()[0]
    return counts


_ACCOUNTS_SQL = """
CREATE TABLE accounts AS
SELECT
    'ACC-' || lpad(g::text, 7, '0') AS account_id,
    CASE WHEN g % 5 = 0 THEN 'business' ELSE 'person' END AS account_type,
    CASE WHEN g % 5 = 0 THEN 'Firma ' || g || ' GmbH' END AS account_name,
    CASE WHEN g % 5 = 0 THEN 'DE' || lpad((g::bigint * 7919 % 1000000000)::text, 9, '0') END
        AS tax_id,
    CASE WHEN g % 5 = 0 THEN (ARRAY['retail', 'hospitality', 'it', 'health'])[g % 4 + 1] END
        AS industry,
    (ARRAY['de', 'AT', 'Fr', 'nl', 'DE'])[g % 5 + 1] AS country,
    CASE WHEN g % 5 = 0 THEN round((g % 90000 + 1000)::numeric + 0.25, 2) END::numeric(18, 2)
        AS spend_potential,
    CASE WHEN g % 5 = 0 THEN 'EUR' END AS spend_potential_currency,
    timestamptz '2024-01-01 00:00:00+00' + (g % 700) * interval '1 day' AS created_at,
    timestamptz '2025-06-01 00:00:00+00' + (g % 500000) * interval '1 minute' AS updated_at,
    NULL::timestamptz AS deleted_at
FROM generate_series(1, %(n)s) AS g;
ALTER TABLE accounts ADD PRIMARY KEY (account_id);
"""

_INVOICES_SQL = """
CREATE TABLE invoices AS
SELECT
    'INV-' || lpad(g::text, 8, '0') AS invoice_no,
    'ACC-' || lpad((g / 10 + 1)::text, 7, '0') AS customer_no,
    date '2024-01-01' + (g % 700) AS invoice_date,
    (ARRAY['EUR', 'EUR', 'GBP', 'CHF'])[g % 4 + 1] AS currency,
    round(((g::bigint * 37) % 100000)::numeric / 100 + 1, 2)::numeric(18, 2) AS total_amount,
    CASE WHEN g % 3 = 0 THEN 'WO-' || lpad(g::text, 9, '0') END AS webshop_order_id,
    (ARRAY['issued', 'paid', 'paid', 'overdue', 'cancelled'])[g % 5 + 1] AS status,
    timestamptz '2025-06-01 00:00:00+00' + (g % 5000000) * interval '1 second' AS updated_at
FROM generate_series(1, %(n)s) AS g;
ALTER TABLE invoices ADD PRIMARY KEY (invoice_no);
"""


def entities() -> dict:
    """The contract entities extracted: CRM accounts as declared, ERP invoices as if on PG."""
    from orchestration.contracts import LIVE_CONTRACTS_DIR, load_contract

    crm = load_contract(LIVE_CONTRACTS_DIR / "crm_live.yml")
    erp = load_contract(LIVE_CONTRACTS_DIR / "erp_live.yml")
    invoices = erp.entity("invoices").model_copy(update={"format": "postgres"})
    return {"accounts": (crm, crm.entity("accounts")), "invoices": (crm, invoices)}


# --------------------------------------------------------------------------- children


def child_extract(table: str, data_dir: Path, connections: int | None) -> dict:
    import adbc_driver_postgresql.dbapi  # noqa: F401 - imported before the clock, like psycopg2

    from orchestration import extract
    from orchestration.extract import extract_entity
    from orchestration.settings import Settings

    extract.PG_CONNECTIONS = connections

    contract, entity = entities()[table]
    started = time.perf_counter()
    result = extract_entity(
        Settings(data_dir=data_dir), contract, entity, date(2026, 11, 28), url=_schema_url()
    )
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in result.files)
    return {
        "rows": result.rows,
        "work_s": seconds,
        "files": len(result.files),
        "bytes": size,
        "connections": extract.pg_connections(),
    }


def child_copy(table: str) -> dict:
    import psycopg2

    _, entity = entities()[table]
    columns = ", ".join(c.source_name for c in entity.columns)
    sink = _CountingSink()
    con = psycopg2.connect(pg_url())
    started = time.perf_counter()
    with con.cursor() as cur:
        cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        sql = f"COPY (SELECT {columns} FROM {SCHEMA}.{table}) TO STDOUT (FORMAT binary)"
        cur.copy_expert(sql, sink, size=1 << 20)
        cur.execute(f"SELECT count(*) FROM {SCHEMA}.{table}")
        rows = cur.fetchone()[0]
    seconds = time.perf_counter() - started
    con.close()
    return {"rows": rows, "work_s": seconds, "bytes": sink.bytes}


class _CountingSink:
    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data: bytes) -> int:
        self.bytes += len(data)
        return len(data)


# --------------------------------------------------------------------------- run


def run(
    customers: int,
    work_dir: Path,
    results_dir: Path,
    tables: Sequence[str] = TABLES,
    connections: int | None = None,
) -> Path:
    counts = build_tables(customers)
    work_dir.mkdir(parents=True, exist_ok=True)
    measured: dict[str, dict] = {}
    for table in tables:
        for phase in ("copy", "extract"):
            data_dir = Path(tempfile.mkdtemp(prefix=f"{table}-{phase}-", dir=work_dir))
            result_file = data_dir / "result.json"
            child = run_child(
                [sys.executable, "-m", "benchmarks.extraction", "--child", phase, "--table", table,
                 "--data-dir", str(data_dir), "--result-file", str(result_file),
                 *(["--connections", str(connections)] if connections else [])],
                env={**os.environ}, cwd=PROJECT_DIR, result_file=result_file,
                log_file=data_dir / "log.txt",
            )  # fmt: skip
            if child.returncode != 0:
                raise RuntimeError(f"{table} {phase} failed:\n{child.log_tail}")
            out = child.output
            shutil.rmtree(data_dir)  # the extract files: up to hundreds of MB
            measured[f"{table}.{phase}"] = {
                **out,
                "rows_per_s": out["rows"] / out["work_s"],
                "wall_s": child.wall_s,
                "peak_rss_bytes": child.peak_rss_bytes,
            }
    document = {
        "customers": customers,
        "tables": counts,
        "measured_at": datetime.now(UTC).isoformat(),
        "cpu_count": os.cpu_count(),
        "phases": measured,
        "share_of_copy": {
            t: measured[f"{t}.extract"]["rows_per_s"] / measured[f"{t}.copy"]["rows_per_s"]
            for t in tables
        },
        "target_share": TARGET_SHARE,
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = results_dir / f"extraction-{customers}-{stamp}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(render(document))
    return path


def render(document: dict) -> str:
    lines = [
        f"extraction from PostgreSQL, {document['customers']} customers: "
        + ", ".join(f"{t} {n:,} rows" for t, n in document["tables"].items()),
        f"{'table.phase':<20}{'rows':>11}{'work s':>9}{'rows/s':>12}{'wall s':>9}{'peak RSS':>11}",
    ]
    for name, phase in document["phases"].items():
        lines.append(
            f"{name:<20}{phase['rows']:>11,}{phase['work_s']:>9.2f}{phase['rows_per_s']:>12,.0f}"
            f"{phase['wall_s']:>9.2f}{phase['peak_rss_bytes'] / 2**20:>8.0f} MB"
        )
    for table, share in document["share_of_copy"].items():
        verdict = "meets" if share >= document["target_share"] else "below"
        connections = document["phases"][f"{table}.extract"]["connections"]
        lines.append(
            f"{table}: extraction = {share:.0%} of COPY's rows/s ({verdict} the "
            f"{document['target_share']:.0%} target), {connections} connection(s)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--tables", nargs="+", choices=TABLES, default=list(TABLES))
    parser.add_argument(
        "--connections",
        type=int,
        default=None,
        help="PostgreSQL connections per extraction (default: the extractor's choice)",
    )
    parser.add_argument("--child", choices=("extract", "copy"), help=argparse.SUPPRESS)
    parser.add_argument("--table", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        out = (
            child_extract(args.table, args.data_dir, args.connections)
            if args.child == "extract"
            else child_copy(args.table)
        )
        args.result_file.write_text(json.dumps(out))
        return 0
    data_root = Path(os.environ.get("CDW_DATA_DIR", PROJECT_DIR / "data")) / "bench"
    work_dir = args.work_dir or data_root / "extraction"
    path = run(args.customers, work_dir.resolve(), args.results_dir, args.tables, args.connections)
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
