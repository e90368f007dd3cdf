"""`simulate()`: build a world of customers, let them live through the history, and deliver what
each operational system would deliver, with the ground truth beside it.

Layout (docs/zones.md): data_dir/landing/<system>/<YYYY-MM-DD>/<file> and data_dir/truth/*.parquet.
The first load date (end_date - days) holds each system's initial extract (all history of the
previous `history_months` months); every later day up to end_date holds that day's delta.
Deterministic: the seed fixes every random stream (one numpy Generator per part of the world),
so the same arguments give byte-identical files.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulator import defects as dfx
from simulator import reference, sales, systems, truth, writers
from simulator.batches import Batch, split_batches
from simulator.delivery import assign_load_days
from simulator.frames import Records
from simulator.lines import Lines
from simulator.marketing import draw_marketing
from simulator.people import build_people
from simulator.specs import spec
from simulator.subscriptions import draw_subscriptions
from simulator.support import draw_tickets, ticket_versions
from simulator.timeline import Timeline

STREAMS = (
    "reference",
    "people",
    "ids",
    "sales",
    "channels",
    "subscriptions",
    "support",
    "marketing",
    "systems",
    "delivery",
    "defects",
)
WRITERS = 2  # threads rendering and writing the landing files


@dataclass(frozen=True)
class SimulationSummary:
    customers: int
    source_records: dict[str, int]  # rows delivered per system
    files_written: int
    revenue_lines: int
    total_revenue_eur: Decimal
    defects_injected: int
    load_dates: tuple[date, ...]


def simulate(
    data_dir: Path,
    customers: int,
    days: int,
    seed: int,
    *,
    history_months: int = 24,
    defect_rate: float = 0.002,
    end_date: date = date(2026, 11, 27),
    progress: Callable[[str], None] | None = None,
) -> SimulationSummary:
    if customers < 1 or days < 0 or history_months < 1 or not 0 <= defect_rate < 1:
        raise ValueError(
            f"simulate needs customers >= 1, days >= 0, history_months >= 1 and 0 <= defect_rate "
            f"< 1 (got customers={customers}, days={days}, history_months={history_months}, "
            f"defect_rate={defect_rate})"
        )
    say = progress or (lambda _message: None)
    timeline = Timeline.build(end_date, days, history_months)
    rng = dict(
        zip(
            STREAMS,
            (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(STREAMS))),
            strict=True,
        )
    )
    say(f"people: {customers} customers, history from {timeline.history_start}")
    people = build_people(customers, rng["people"], timeline)
    fx_table, prices, products_table = _reference(rng["reference"], timeline)
    say("activity: sales, subscriptions, support, marketing")
    entities, final_status = _entities(people, rng, timeline, prices, products_table)
    entities.update(_reference_entities(fx_table, products_table, timeline))
    say("delivery: load dates, files, defects")
    delivered: dict[tuple[str, str], Records] = {}
    for key in list(entities):  # each entity is let go as soon as its delivery is known
        records = entities.pop(key)
        delivered[key] = (
            records
            if key == ("webshop", "order_lines")
            else assign_load_days(
                records,
                timeline,
                rng["delivery"],
                late_share=0.0 if key[0] == "reference" else 0.02,
            )
        )
    del records
    batches = [
        b
        for system in sorted({s for s, _ in delivered})
        for b in split_batches(
            system, {e: r for (s, e), r in delivered.items() if s == system}, timeline
        )
    ]
    plan = dfx.plan_defects(
        batches, defect_rate, timeline.first_load_day, timeline.end_day, delivered, rng["defects"]
    )
    landing, truth_dir = Path(data_dir) / "landing", Path(data_dir) / "truth"
    for folder in (landing, truth_dir):
        if folder.exists():
            shutil.rmtree(folder)
    per_system: dict[str, int] = {}
    for batch in batches:
        per_system[batch.system] = per_system.get(batch.system, 0) + sum(
            batch.rows(e) for e in batch.entities if e != "order_lines"
        )
    lost = {k: np.concatenate(v) for k, v in plan.lost.items()}

    def truth_tables() -> dict[str, pa.Table]:
        return {
            "customers": truth.customers_table(people),
            "source_records": truth.source_records_table(delivered, people, lost),
            "revenue": truth.revenue_table(
                delivered, final_status, people, lost, fx_table, timeline
            ),
            "defects": truth.defects_table(plan.log),
        }

    # the truth only reads what is delivered: it is worked out while the files are written
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        tables = pool.submit(truth_tables)
        files = _write_batches(batches, plan, landing, timeline, pool)
        truth_files = tables.result()
    say(f"truth: {files} files written")
    truth.write_truth(truth_dir, truth_files)
    revenue = truth_files["revenue"]
    total = pc.sum(revenue.column("amount_reporting")).as_py() or Decimal("0.00")
    return SimulationSummary(
        customers=customers,
        source_records=dict(sorted(per_system.items())),
        files_written=files,
        revenue_lines=revenue.num_rows,
        total_revenue_eur=Decimal(total),
        defects_injected=len(plan.log),
        load_dates=tuple(timeline.load_dates),
    )


def _reference(
    rng: np.random.Generator, timeline: Timeline
) -> tuple[pa.Table, sales.Prices, pa.Table]:
    days = timeline.all_days
    rates = reference.fx_rates(rng, np.arange(timeline.start_day, timeline.end_day + 4))
    fx = pa.table(
        {
            "rate_date": pa.array(np.repeat(days, len(rates)).astype("datetime64[D]"), pa.date32()),
            "currency": pa.array(
                np.tile(np.array(list(rates), dtype=object), len(days)), pa.string()
            ),
            "units_per_eur": pa.array(
                np.stack([rates[c][: len(days)] for c in rates], axis=1).ravel()
            ),
        }
    )
    return fx, sales.Prices(rates, timeline.start_day), reference.products(rng)


def _entities(
    people: dict[str, np.ndarray],
    rng: dict[str, np.random.Generator],
    timeline: Timeline,
    prices: sales.Prices,
    products_table: pa.Table,
) -> tuple[dict[tuple[str, str], Records], np.ndarray]:
    catalogue = sales.Catalogue.from_table(products_table)
    stores = reference.stores()
    ids = systems.assign_ids(people, rng["ids"], timeline)
    drawn = sales.draw_sales(people, rng["sales"], timeline, catalogue, prices)
    shop = sales.webshop_orders(drawn, rng["channels"], timeline)
    invoices = sales.erp_invoices(drawn, shop, rng["channels"], timeline)
    baskets = sales.pos_baskets(drawn, people, rng["channels"], timeline, stores, catalogue, prices)
    subs = draw_subscriptions(people, rng["subscriptions"], timeline, reference.plans())
    tickets = ticket_versions(draw_tickets(people, rng["support"], timeline), timeline)
    marketing = draw_marketing(people, rng["marketing"], timeline)
    r = rng["systems"]
    entities = systems.crm_entities(people, ids, marketing, r, timeline)
    erp_customers = systems.erp_customers(people, ids, r, timeline)
    entities.update(systems.erp_entities(invoices, erp_customers, ids, r))
    entities[("webshop", "users")] = systems.webshop_users(people, ids, r, timeline)
    orders, lines = systems.webshop_orders(shop, people, ids)
    entities[("webshop", "orders")] = orders
    entities[("webshop", "order_lines")] = lines
    entities.update(systems.pos_entities(baskets, people, ids, stores, r, timeline))
    entities.update(systems.subscription_entities(subs, people, ids, r))
    entities[("support", "tickets")] = systems.support_tickets(tickets, people, r)
    entities.update(systems.marketing_entities(marketing, people, r))
    return entities, invoices.invoices["status"]


def _static(table: pa.Table, key: str, money: tuple[str, ...], day: int) -> Records:
    records: Records = {}
    for name in table.column_names:
        values = np.array(table.column(name).to_pylist(), dtype=object)
        if name in money:
            values = np.round(values.astype(float) * 100).astype(np.int64)
        elif pa.types.is_integer(table.schema.field(name).type):
            values = values.astype(np.int64)
        records[name] = values
    n = table.num_rows
    records.update(
        {
            "_day": np.full(n, day, dtype=np.int64),
            "_key": records[key],
            "_seq": np.zeros(n, dtype=np.int64),
            "_customer": np.full(n, -1),
        }
    )
    return records


def _reference_entities(
    fx: pa.Table, products_table: pa.Table, timeline: Timeline
) -> dict[tuple[str, str], Records]:
    day = timeline.first_load_day
    rate_day = fx.column("rate_date").to_numpy().astype("datetime64[D]").astype(np.int64)
    currency = np.array(fx.column("currency").to_pylist(), dtype=object)
    fx_records: Records = {
        "rate_date": rate_day,
        "currency": currency,
        "units_per_eur": fx.column("units_per_eur").to_numpy(),
        "_day": rate_day,
        "_seq": np.zeros(len(rate_day), dtype=np.int64),
        "_customer": np.full(len(rate_day), -1),
        "_key": np.char.add(np.char.add(rate_day.astype(str), "|"), currency.astype(str)).astype(
            object
        ),
    }
    return {
        ("reference", "fx_rates"): fx_records,
        ("reference", "products"): _static(products_table, "sku", ("unit_cost", "list_price"), day),
        ("pos", "stores"): _static(reference.stores(), "store_id", (), day),
        ("subscriptions", "plans"): _static(reference.plans(), "plan_id", ("monthly_price",), day),
    }


def _write_batches(
    batches: list[Batch],
    plan: dfx.DefectPlan,
    landing: Path,
    timeline: Timeline,
    pool: ThreadPoolExecutor | None = None,
) -> int:
    """Every file is rendered and written on its own, so threads share the work (Arrow, DuckDB,
    SQLite, zstd and file writes release the GIL); the largest files go first."""
    copies = dict(plan.copies)

    def write(index: int) -> int:
        batch = batches[index]
        content = _render(batch, plan.rows.get(index, []), plan.files.get(index), timeline)
        habit = copies.get(index)
        if habit == "corrected_file":
            wrong = _render(_with_wrong_prices(batch), [], None, timeline)
            _write(landing / batch.path, wrong)
            _write(landing / batch.system / dfx._next_folder(batch) / batch.name, content)
            batch.records = {}
            return 2
        _write(landing / batch.path, content)
        if habit == "redelivered_file":
            _write(landing / batch.system / dfx._next_folder(batch) / batch.name, content)
        batch.records = {}  # written: let its rows go
        return 2 if habit == "redelivered_file" else 1

    order = sorted(
        range(len(batches)),
        key=lambda i: -sum(batches[i].rows(e) for e in batches[i].entities if e != "order_lines"),
    )
    if pool is None or WRITERS <= 1:
        return sum(map(write, order))
    return sum(pool.map(write, order))


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def _with_wrong_prices(batch: Batch) -> Batch:
    """The first delivery of a corrected file: every fifth line priced ten times too high."""
    records = {k: v.copy() for k, v in batch.records[batch.entities[0]].items()}
    column = "unit_price" if "unit_price" in records else "amount"
    records[column][::5] = records[column][::5] * 10
    return Batch(
        batch.system,
        batch.entities,
        batch.load_day,
        batch.name,
        {**batch.records, batch.entities[0]: records},
    )


def _render(
    batch: Batch, row_defects: list[dfx.RowDefect], file_defect: str | None, timeline: Timeline
) -> bytes:
    entity = batch.main
    if entity.format == "csv":
        lines = Lines.from_bytes(writers.csv_bytes(entity, batch.records[entity.name], timeline))
        lines = dfx.apply_to_csv(
            lines, batch, row_defects, entity.delimiter, entity.decimal_separator == ","
        )
        return _finish_text(lines, file_defect, entity.delimiter)
    if entity.format == "jsonl":
        nested = None
        if batch.entities == ("orders", "order_lines"):
            nested = (spec("webshop", "order_lines"), batch.records["order_lines"])
        lines = writers.jsonl_lines(entity, batch.records[entity.name], timeline, nested)
        lines = dfx.apply_to_jsonl(lines, batch, row_defects)
        return _finish_text(lines, file_defect, ",")
    records = dfx.apply_to_records(batch, row_defects)
    path = Path("/dev/null")
    del path
    if entity.format == "parquet":
        return _parquet_bytes(writers.parquet_table(entity, records[entity.name], timeline))
    return _sqlite_bytes(batch, records, timeline)


def _finish_text(text: Lines, file_defect: str | None, delimiter: str) -> bytes:
    if file_defect is None:
        return text.to_bytes()
    lines = text.to_list()
    if file_defect == "renamed_column":
        header = lines[0].split(delimiter)
        lines[0] = delimiter.join('"EMail"' if h.lower() == '"email"' else h for h in header)
    elif file_defect == "extra_column":
        lines = [lines[0] + delimiter + '"Note"'] + [
            line + delimiter + ('"checked"' if i % 3 == 0 else "")
            for i, line in enumerate(lines[1:])
        ]
    if file_defect == "truncated_file":
        last = lines[-1]
        cut = last.find(delimiter, len(last) // 3) if delimiter in last else len(last) // 2
        lines[-1] = last[: max(cut, 1)]
        return "\n".join(lines).encode("utf-8")
    text = "\n".join(lines) + ("\n" if lines else "")
    if file_defect == "wrong_encoding":
        return text.encode("cp1252")
    return text.encode("utf-8")


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    writers.write_parquet_to(sink, table)
    return sink.getvalue().to_pybytes()


def _sqlite_bytes(batch: Batch, records: dict[str, Records], timeline: Timeline) -> bytes:
    import tempfile

    tables = [
        (spec(batch.system, e), writers.sqlite_rows(spec(batch.system, e), records[e], timeline))
        for e in batch.entities
    ]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / batch.name
        writers.write_sqlite(path, tables)
        return path.read_bytes()
