"""Sales: webshop orders, POS baskets and ERP invoices (direct and for webshop orders), refunds.

One vectorised draw makes every sale of every customer (count from the spend weight and the
days the customer was active, days inside the active windows, products with cross-sell growing
over tenure); the sales are then split by channel and given each channel's lifecycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from simulator.frames import Records, numbered, repeat_index, repeated, seconds_in_day
from simulator.people import People
from simulator.reference import PRODUCT_LINES
from simulator.timeline import DAY, Timeline

CHANNELS = ("webshop", "pos", "erp")
INVOICED_SHARE = 0.7  # of webshop orders that reach the customer, ERP also invoices


@dataclass(frozen=True)
class Catalogue:
    sku: np.ndarray
    line: np.ndarray  # index into PRODUCT_LINES
    list_price: np.ndarray  # EUR

    @classmethod
    def from_table(cls, table: pa.Table) -> Catalogue:
        lines = np.array([PRODUCT_LINES.index(x) for x in table.column("product_line").to_pylist()])
        return cls(
            np.array(table.column("sku").to_pylist(), dtype=object),
            lines,
            np.array(table.column("list_price").to_pylist()),
        )


@dataclass(frozen=True)
class Prices:
    """FX: units per euro per currency and day (index = day - history start)."""

    rates: dict[str, np.ndarray]
    start_day: int

    def per_eur(self, currency: np.ndarray, day: np.ndarray) -> np.ndarray:
        out = np.ones(len(day))
        for code in np.unique(currency):
            mask = currency == code
            out[mask] = self.rates[str(code)][day[mask] - self.start_day]
        return out


@dataclass
class Sales:
    """Every sale (one row per transaction) and its lines."""

    sale: Records
    line: Records


def draw_sales(
    people: People,
    rng: np.random.Generator,
    timeline: Timeline,
    catalogue: Catalogue,
    prices: Prices,
) -> Sales:
    customer, day = _sale_days(people, rng, timeline)
    channel = _channels(people, customer, rng)
    n = len(customer)
    sale: Records = {
        "_customer": customer,
        "day": day,
        "channel": channel,
        "currency": people["currency"][customer],
        "second": day * DAY + seconds_in_day(rng, n, 0, 24),
        "discount": 1.0 - rng.choice(np.array([0.0, 0.0, 0.05, 0.1]), n),
    }
    line = _lines(people, sale, rng, catalogue, prices)
    return Sales(sale, line)


def _active_windows(people: People, timeline: Timeline) -> tuple[np.ndarray, ...]:
    end = timeline.end_day + 1
    s1 = people["acquired_day"]
    e1 = np.where(people["churn_day"] >= 0, people["churn_day"], end)
    back = people["won_back_day"] >= 0
    s2 = np.where(back, people["won_back_day"], 0)
    e2 = np.where(back, end, 0)
    return s1, np.maximum(e1, s1 + 1), s2, e2


def _sale_days(
    people: People, rng: np.random.Generator, timeline: Timeline
) -> tuple[np.ndarray, np.ndarray]:
    s1, e1, s2, e2 = _active_windows(people, timeline)
    active = (e1 - s1) + (e2 - s2)
    buys = (
        people["has_webshop"]
        | people["has_pos"]
        | people["is_business"]
        | (people["has_erp"] & ~people["has_webshop"])
    )
    rate = 2.6 * (active / 365.0) * people["spend_weight"] ** 0.6
    counts = np.where(buys, rng.poisson(rate), 0)
    # every buying customer buys at least once, on (or right after) the day they were won
    counts = np.where(buys & (counts == 0), 1, counts)
    customer, position = repeat_index(counts)
    offset = np.floor(rng.random(len(customer)) * active[customer]).astype(np.int64)
    offset[position == 0] = np.minimum(
        rng.integers(0, 7, int((position == 0).sum())), active[customer][position == 0] - 1
    )
    len1 = (e1 - s1)[customer]
    day = np.where(offset < len1, s1[customer] + offset, s2[customer] + offset - len1)
    return customer, np.minimum(day, timeline.end_day)


def _channels(people: People, customer: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    business = people["is_business"][customer]
    direct_person = people["has_erp"] & ~people["has_webshop"] & ~people["is_business"]
    weights = np.stack(
        [
            people["has_webshop"][customer] * 1.0,
            people["has_pos"][customer] * 1.3,
            business * 3.0 + direct_person[customer] * 1.0,
        ],
        axis=1,
    )
    cumulative = np.cumsum(weights, axis=1)
    draw = rng.random(len(customer)) * cumulative[:, -1]
    return np.array(CHANNELS, dtype=object)[(draw[:, None] >= cumulative).sum(axis=1)]


def _lines(
    people: People, sale: Records, rng: np.random.Generator, catalogue: Catalogue, prices: Prices
) -> Records:
    customer = sale["_customer"]
    business = people["is_business"][customer]
    counts = np.minimum(1 + rng.poisson(np.where(business, 2.0, 0.9)), 8)
    owner, position = repeat_index(counts)
    n = len(owner)
    cust = customer[owner]
    years = (sale["day"][owner] - people["acquired_day"][cust]) / 365.0
    # Cross-sell: the longer a customer stays, the likelier a line outside their first love.
    other = rng.random(n) < np.minimum(0.75, 0.12 + 0.45 * years)
    product_line = np.where(
        other, rng.integers(0, len(PRODUCT_LINES), n), people["primary_line"][cust]
    )
    sku_index = _pick_sku(product_line, catalogue, rng)
    scale = people["spend_weight"][cust] ** 0.4
    quantity = 1 + rng.poisson(np.where(business[owner], 3.0, 0.25) * scale)
    per_eur = prices.per_eur(sale["currency"][owner], sale["day"][owner])
    unit_cents = np.round(
        catalogue.list_price[sku_index] * per_eur * sale["discount"][owner] * 100
    ).astype(np.int64)
    return {
        "_sale": owner,
        "line_no": position + 1,
        "sku": catalogue.sku[sku_index],
        "quantity": quantity.astype(np.int64),
        "unit_price": np.maximum(unit_cents, 1),
    }


def _pick_sku(
    product_line: np.ndarray, catalogue: Catalogue, rng: np.random.Generator
) -> np.ndarray:
    out = np.zeros(len(product_line), dtype=np.int64)
    for line in range(len(PRODUCT_LINES)):
        mask = product_line == line
        out[mask] = rng.choice(np.flatnonzero(catalogue.line == line), int(mask.sum()))
    return out


def line_totals(line: Records, n_sales: int) -> np.ndarray:
    return np.bincount(
        line["_sale"], weights=line["quantity"] * line["unit_price"], minlength=n_sales
    ).astype(np.int64)


@dataclass
class WebshopOrders:
    orders: Records  # one row per order
    versions: Records  # one row per status change (the order's delivered versions)
    lines: Records


ORDER_OUTCOMES = ("delivered", "returned", "cancelled", "failed_delivery")


def webshop_orders(sales: Sales, rng: np.random.Generator, timeline: Timeline) -> WebshopOrders:
    pick = np.flatnonzero(sales.sale["channel"] == "webshop")
    pick = pick[np.lexsort((sales.sale["second"][pick],))]
    n = len(pick)
    outcome = rng.choice(np.array(ORDER_OUTCOMES, dtype=object), n, p=[0.88, 0.06, 0.04, 0.02])
    placed = sales.sale["second"][pick]
    orders: Records = {
        "order_id": numbered("WO-", np.arange(1, n + 1) + 10_000_000, 8),
        "_sale": pick,
        "_customer": sales.sale["_customer"][pick],
        "ordered_at": placed,
        "currency": sales.sale["currency"][pick],
        "total_amount": line_totals(sales.line, len(sales.sale["day"]))[pick],
        "_outcome": outcome,
    }
    versions = _order_versions(orders, rng, timeline)
    final = _final_status(versions, n)
    orders["status"] = final
    invoiced = np.isin(outcome, ["delivered", "returned"]) & (rng.random(n) < INVOICED_SHARE)
    invoice_day = placed // DAY + rng.integers(0, 4, n)
    orders["_invoice_day"] = np.where(invoiced & (invoice_day <= timeline.end_day), invoice_day, -1)
    return_version = versions["status"] == "returned"
    returned_day = np.full(n, -1, dtype=np.int64)
    returned_day[versions["_order"][return_version]] = versions["_day"][return_version]
    orders["_returned_day"] = returned_day
    line_of_sale = np.full(len(sales.sale["day"]), -1, dtype=np.int64)
    line_of_sale[pick] = np.arange(n)
    keep = line_of_sale[sales.line["_sale"]] >= 0
    lines = {k: v[keep] for k, v in sales.line.items()}
    lines["_order"] = line_of_sale[lines["_sale"]]
    return WebshopOrders(orders, versions, lines)


def _order_versions(orders: Records, rng: np.random.Generator, timeline: Timeline) -> Records:
    """placed -> shipped -> delivered (-> returned), or cancelled, or shipped -> failed."""
    n = len(orders["order_id"])
    placed = orders["ordered_at"]
    outcome = orders["_outcome"]
    hours = 3600
    shipped = placed + rng.integers(12, 36, n) * hours
    delivered = shipped + rng.integers(30, 90, n) * hours
    steps = [
        (np.ones(n, dtype=bool), "placed", placed + 60),
        (outcome == "cancelled", "cancelled", placed + rng.integers(1, 20, n) * hours),
        (outcome != "cancelled", "shipped", shipped),
        (np.isin(outcome, ["delivered", "returned"]), "delivered", delivered),
        (outcome == "failed_delivery", "failed_delivery", delivered + 6 * hours),
        (outcome == "returned", "returned", delivered + rng.integers(5, 20, n) * DAY),
    ]
    parts_order, parts_status, parts_time = [], [], []
    for mask, status, when in steps:
        idx = np.flatnonzero(mask & (when < (timeline.end_day + 1) * DAY))
        parts_order.append(idx)
        parts_status.append(repeated(len(idx), status))
        parts_time.append(when[idx])
    order = np.concatenate(parts_order)
    time = np.concatenate(parts_time)
    sort = np.lexsort((time, order))
    return {
        "_order": order[sort],
        "status": np.concatenate(parts_status)[sort],
        "updated_at": time[sort],
        "_day": time[sort] // DAY,
    }


def _final_status(versions: Records, n: int) -> np.ndarray:
    final = repeated(n, "placed")
    final[versions["_order"]] = versions["status"]  # sorted by time: the last write wins
    return final


@dataclass
class Invoices:
    invoices: Records
    versions: Records
    lines: Records
    credit_notes: Records


def erp_invoices(
    sales: Sales, shop: WebshopOrders, rng: np.random.Generator, timeline: Timeline
) -> Invoices:
    """Direct ERP sales plus the webshop orders ERP invoices (same lines, 0-3 days later)."""
    direct = np.flatnonzero(sales.sale["channel"] == "erp")
    billed = np.flatnonzero(shop.orders["_invoice_day"] >= 0)
    sale_idx = np.concatenate([direct, shop.orders["_sale"][billed]])
    day = np.concatenate([sales.sale["day"][direct], shop.orders["_invoice_day"][billed]])
    web_ref = np.concatenate([repeated(len(direct), None), shop.orders["order_id"][billed]])
    order = np.lexsort((sale_idx, day))
    sale_idx, day, web_ref = sale_idx[order], day[order], web_ref[order]
    n = len(sale_idx)
    totals = line_totals(sales.line, len(sales.sale["day"]))
    invoices: Records = {
        "invoice_no": numbered("INV-", np.arange(1, n + 1) + 20_000_000, 8),
        "_sale": sale_idx,
        "_customer": sales.sale["_customer"][sale_idx],
        "invoice_date": day,
        "currency": sales.sale["currency"][sale_idx],
        "total_amount": totals[sale_idx],
        "webshop_order_id": web_ref,
    }
    invoices["_cancel"] = (web_ref == None) & (rng.random(n) < 0.02)  # noqa: E711
    versions = _invoice_versions(invoices, rng, timeline)
    final = repeated(n, "issued")
    final[versions["_invoice"]] = versions["status"]
    invoices["status"] = final
    lines = _invoice_lines(sales, invoices)
    credits = _credit_notes(invoices, lines, shop, rng, timeline)
    return Invoices(invoices, versions, lines, credits)


def _office_time(day: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return day * DAY + seconds_in_day(rng, len(day), 7, 17)


def _invoice_versions(invoices: Records, rng: np.random.Generator, timeline: Timeline) -> Records:
    n = len(invoices["invoice_no"])
    day = invoices["invoice_date"]
    cancel = invoices["_cancel"]
    pays = ~cancel & (rng.random(n) < 0.93)
    steps = [
        (np.ones(n, dtype=bool), "issued", day),
        (cancel, "cancelled", day + rng.integers(1, 10, n)),
        (pays, "paid", day + rng.integers(3, 40, n)),
        (~cancel & ~pays, "overdue", day + 31),
    ]
    parts = [(np.flatnonzero(m & (d <= timeline.end_day)), s, d) for m, s, d in steps]
    idx = np.concatenate([p[0] for p in parts])
    status = np.concatenate([repeated(len(p[0]), p[1]) for p in parts])
    vday = np.concatenate([p[2][p[0]] for p in parts])
    sort = np.lexsort((vday, idx))
    vday = vday[sort]
    return {
        "_invoice": idx[sort],
        "status": status[sort],
        "_day": vday,
        "updated_at": _office_time(vday, rng),
    }


def _invoice_lines(sales: Sales, invoices: Records) -> Records:
    invoice_of_sale = np.full(len(sales.sale["day"]), -1, dtype=np.int64)
    invoice_of_sale[invoices["_sale"]] = np.arange(len(invoices["_sale"]))
    keep = invoice_of_sale[sales.line["_sale"]] >= 0
    lines = {k: v[keep] for k, v in sales.line.items()}
    inv = invoice_of_sale[lines["_sale"]]
    order = np.lexsort((lines["line_no"], inv))
    lines = {k: v[order] for k, v in lines.items()}
    inv = inv[order]
    lines["_invoice"] = inv
    lines["invoice_no"] = invoices["invoice_no"][inv]
    lines["line_amount"] = lines["quantity"] * lines["unit_price"]
    lines["currency"] = invoices["currency"][inv]
    lines["_customer"] = invoices["_customer"][inv]
    lines["_day"] = invoices["invoice_date"][inv]
    return lines


def _credit_notes(
    invoices: Records,
    lines: Records,
    shop: WebshopOrders,
    rng: np.random.Generator,
    timeline: Timeline,
) -> Records:
    n = len(invoices["invoice_no"])
    # Returned webshop orders that ERP had invoiced are refunded in full.
    order_of_id = {oid: i for i, oid in enumerate(shop.orders["order_id"].tolist())}
    web = np.flatnonzero(invoices["webshop_order_id"] != None)  # noqa: E711
    order_idx = np.array(
        [order_of_id[x] for x in invoices["webshop_order_id"][web].tolist()], dtype=np.int64
    )
    returned_day = shop.orders["_returned_day"][order_idx] if len(web) else np.zeros(0, np.int64)
    refund = returned_day >= 0
    full_idx = web[refund]
    full_day = np.maximum(returned_day[refund] + 1, invoices["invoice_date"][full_idx])
    # A few direct invoices get a partial credit for one line.
    first_line = np.full(n, -1, dtype=np.int64)
    first_line[lines["_invoice"][::-1]] = np.arange(len(lines["_invoice"]))[::-1]
    partial = (
        (invoices["webshop_order_id"] == None)  # noqa: E711 (elementwise on an array)
        & (invoices["status"] != "cancelled")
        & (rng.random(n) < 0.04)
        & (first_line >= 0)
    )
    part_idx = np.flatnonzero(partial)
    part_line = first_line[part_idx]
    part_amount = np.maximum(
        np.round(lines["line_amount"][part_line] * rng.uniform(0.1, 1.0, len(part_idx))), 1
    ).astype(np.int64)
    part_day = invoices["invoice_date"][part_idx] + rng.integers(3, 40, len(part_idx))
    inv = np.concatenate([full_idx, part_idx])
    day = np.concatenate([full_day, part_day])
    amount = np.concatenate([invoices["total_amount"][full_idx], part_amount])
    sku = np.concatenate([repeated(len(full_idx), None), lines["sku"][part_line]])
    reason = np.concatenate(
        [
            repeated(len(full_idx), "return"),
            rng.choice(
                np.array(["damaged", "goodwill", "price_correction"], dtype=object), len(part_idx)
            ),
        ]
    )
    keep = day <= timeline.end_day
    order = np.lexsort((inv[keep], day[keep]))
    inv, day, amount, sku, reason = (a[keep][order] for a in (inv, day, amount, sku, reason))
    return {
        "credit_note_no": numbered("CN-", np.arange(1, len(inv) + 1) + 3_000_000, 7),
        "invoice_no": invoices["invoice_no"][inv],
        "_customer": invoices["_customer"][inv],
        "credit_date": day,
        "currency": invoices["currency"][inv],
        "amount": amount,
        "sku": sku,
        "reason": reason,
        "_day": day,
    }


@dataclass
class Baskets:
    lines: Records  # one row per basket line, basket columns repeated


def pos_baskets(
    sales: Sales,
    people: People,
    rng: np.random.Generator,
    timeline: Timeline,
    stores: pa.Table,
    catalogue: Catalogue,
    prices: Prices,
) -> Baskets:
    """Loyalty baskets from the sales, anonymous baskets on top, returns as negative lines."""
    store_ids = np.array(stores.column("store_id").to_pylist(), dtype=object)
    store_country = np.array(stores.column("country").to_pylist(), dtype=object)
    store_currency = np.array(stores.column("currency").to_pylist(), dtype=object)
    store_zone = np.array(stores.column("timezone").to_pylist(), dtype=object)
    pick = np.flatnonzero(sales.sale["channel"] == "pos")
    store = people["home_store"][sales.sale["_customer"][pick]]
    n_anon = int(len(pick) * 0.6) + 5
    anon_store = rng.integers(0, len(store_ids), n_anon)
    anon_day = rng.integers(timeline.start_day, timeline.end_day + 1, n_anon)
    anon_sale = _anonymous_sales(anon_store, anon_day, store_currency, catalogue, prices, rng)
    store_all = np.concatenate([store, anon_store])
    day = np.concatenate([sales.sale["day"][pick], anon_day])
    customer = np.concatenate([sales.sale["_customer"][pick], np.full(n_anon, -1)])
    local = day * DAY + seconds_in_day(rng, len(day), 8, 21)
    order = np.lexsort((local, day))
    n = len(order)
    baskets: Records = {
        "basket_id": numbered("B-", np.arange(1, n + 1) + 100_000_000, 9),
        "store_id": store_ids[store_all[order]],
        "_customer": customer[order],
        "_local": local[order],
        "store_timezone": store_zone[store_all[order]],
        "currency": store_currency[store_all[order]],
    }
    del store_country
    # lines: loyalty baskets keep their sale's lines, anonymous ones their own
    sale_pos = np.full(len(sales.sale["day"]), -1, dtype=np.int64)
    sale_pos[pick] = np.arange(len(pick))
    keep = sale_pos[sales.line["_sale"]] >= 0
    own = {k: v[keep] for k, v in sales.line.items()}
    own["_basket_raw"] = sale_pos[own["_sale"]]
    anon_sale["_basket_raw"] = anon_sale["_basket_raw"] + len(pick)
    raw_lines = {
        k: np.concatenate([own[k], anon_sale[k]])
        for k in ("_basket_raw", "line_no", "sku", "quantity", "unit_price")
    }
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    raw_lines["_basket"] = rank[raw_lines["_basket_raw"]]
    raw_lines = _with_returns(raw_lines, n, rng)
    sort = np.lexsort((raw_lines["line_no"], raw_lines["_basket"]))
    lines = {k: v[sort] for k, v in raw_lines.items()}
    b = lines["_basket"]
    for column in ("basket_id", "store_id", "_customer", "store_timezone", "currency", "_local"):
        lines[column] = baskets[column][b]
    # store currency may differ from the customer's: re-price own lines in the till currency
    return Baskets(lines)


def _anonymous_sales(
    store: np.ndarray,
    day: np.ndarray,
    store_currency: np.ndarray,
    catalogue: Catalogue,
    prices: Prices,
    rng: np.random.Generator,
) -> Records:
    counts = np.minimum(1 + rng.poisson(0.8, len(store)), 6)
    owner, position = repeat_index(counts)
    sku_index = rng.integers(0, len(catalogue.sku), len(owner))
    per_eur = prices.per_eur(store_currency[store[owner]], day[owner])
    unit = np.maximum(np.round(catalogue.list_price[sku_index] * per_eur * 100), 1)
    return {
        "_basket_raw": owner,
        "line_no": position + 1,
        "sku": catalogue.sku[sku_index],
        "quantity": np.ones(len(owner), dtype=np.int64),
        "unit_price": unit.astype(np.int64),
    }


def _with_returns(lines: Records, n_baskets: int, rng: np.random.Generator) -> Records:
    """About 3% of baskets also take back an item: a line with quantity -1."""
    first = np.flatnonzero(lines["line_no"] == 1)
    chosen = first[rng.random(len(first)) < 0.03]
    max_line = np.zeros(n_baskets, dtype=np.int64)
    np.maximum.at(max_line, lines["_basket"], lines["line_no"])
    extra = {k: v[chosen] for k, v in lines.items()}
    extra["line_no"] = max_line[extra["_basket"]] + 1
    extra["quantity"] = -np.ones(len(chosen), dtype=np.int64)
    return {k: np.concatenate([lines[k], extra[k]]) for k in lines}
