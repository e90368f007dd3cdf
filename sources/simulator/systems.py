"""Every source entity's records, system by system, with the noise each system adds.

Each builder returns Records keyed by contract column names (values in business units: money in
cents, dates as day numbers, timestamps as UTC seconds), plus bookkeeping columns: `_day` (day
the version appeared), `_seq` (order of versions), `_key` (primary key text) and `_customer`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulator import names as nm
from simulator import noise
from simulator.delivery import first_rows
from simulator.frames import (
    NULL_DAY,
    Records,
    arrow_text,
    few_objects,
    first_of_each,
    joined,
    numbered,
    partition,
    repeat_index,
    repeated,
    seconds_in_day,
    sort_order,
    zfill,
)
from simulator.marketing import Marketing
from simulator.people import People
from simulator.reference import COUNTRIES
from simulator.sales import Baskets, Invoices, WebshopOrders
from simulator.subscriptions import Subscriptions
from simulator.timeline import DAY, Timeline

ZONE = {c.code: c.zone for c in COUNTRIES}
Entities = dict[tuple[str, str], Records]


@dataclass(frozen=True)
class SourceIds:
    """Each true customer's id in each system (None where absent)."""

    crm_account: np.ndarray
    erp_customer: np.ndarray
    webshop_user: np.ndarray
    loyalty_card: np.ndarray
    subscriber: np.ndarray
    joined: dict[str, np.ndarray]  # system -> day the customer first appeared there


def assign_ids(people: People, rng: np.random.Generator, timeline: Timeline) -> SourceIds:
    joined: dict[str, np.ndarray] = {}
    ids: dict[str, np.ndarray] = {}
    for system, flag, prefix, width, base in (
        ("crm", "has_crm", "ACC-", 7, 1_000_000),
        ("erp", "has_erp", "C-", 7, 2_000_000),
        ("webshop", "has_webshop", "U-", 7, 3_000_000),
        ("pos", "has_pos", "", 11, 0),
        ("subscriptions", "has_subscriptions", "SUB-", 7, 4_000_000),
    ):
        day = np.minimum(
            people["acquired_day"] + rng.integers(0, 8, len(people["index"])), timeline.end_day
        )
        joined[system] = day
        members = np.flatnonzero(people[flag])
        order = members[np.lexsort((members, day[members]))]  # ids grow with creation time
        out = repeated(len(day), None)
        numbers = np.arange(1, len(order) + 1) + base
        out[order] = numbered(prefix, numbers, width) if prefix else _card_numbers(numbers)
        ids[system] = out
    return SourceIds(
        ids["crm"], ids["erp"], ids["webshop"], ids["pos"], ids["subscriptions"], joined
    )


def _card_numbers(numbers: np.ndarray) -> np.ndarray:
    if not len(numbers):
        return np.zeros(0, dtype=object)
    return np.char.add("40", zfill(numbers.astype(str), 11)).astype(object)


def _stamp(day: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return day * DAY + seconds_in_day(rng, len(day), 6, 20)


def _versions(
    rows: np.ndarray, created: np.ndarray, change_days: list[np.ndarray], timeline: Timeline
) -> tuple[np.ndarray, np.ndarray]:
    """Version rows: one at creation plus one per later change (move, marriage) up to the end."""
    parts_row, parts_day = [np.arange(len(rows))], [created]
    for change in change_days:
        ok = (change > created) & (change <= timeline.end_day)
        parts_row.append(np.flatnonzero(ok))
        parts_day.append(change[ok])
    row = np.concatenate(parts_row)
    day = np.concatenate(parts_day)
    order = np.lexsort((day, row))
    return row[order], day[order]


def _finish(records: Records, key: np.ndarray, seq: np.ndarray) -> Records:
    records["_key"] = key
    records["_seq"] = seq
    return records


def crm_entities(
    people: People,
    ids: SourceIds,
    marketing: Marketing,
    rng: np.random.Generator,
    timeline: Timeline,
) -> Entities:
    members = np.flatnonzero(people["has_crm"])
    members = members[sort_order(ids.crm_account[members])]
    created = ids.joined["crm"][members]
    business = people["is_business"][members]
    n = len(members)
    tax = people["tax_id"][members].copy()
    spaced = business & (rng.random(n) < 0.2)
    tax[spaced] = np.array(
        [f"{t[:2]} {t[2:5]} {t[5:8]} {t[8:]}" for t in tax[spaced].tolist()], dtype=object
    )
    potential = np.where(
        business, (people["spend_weight"][members] * 5_000_00).astype(np.int64), NULL_DAY
    )
    accounts: Records = {
        "account_id": ids.crm_account[members],
        "account_type": few_objects(np.where(business, "business", "person")),
        "account_name": people["company_name"][members],
        "tax_id": tax,
        "industry": people["industry"][members],
        "country": noise.country_case(people["country"][members], rng, 0.3),
        "spend_potential": potential,
        "spend_potential_currency": np.where(business, people["currency"][members], None).astype(
            object
        ),
        "created_at": _stamp(created, rng),
        "_customer": members,
        "_day": created,
    }
    accounts["updated_at"] = accounts["created_at"].copy()
    accounts = _finish(accounts, accounts["account_id"], accounts["updated_at"])
    contacts = _crm_contacts(people, members, created, ids, rng, timeline)
    prefs = _crm_preferences(contacts, marketing, rng, timeline)
    return {
        ("crm", "accounts"): accounts,
        ("crm", "contacts"): contacts,
        ("crm", "contact_preferences"): prefs,
    }


def _crm_contacts(
    people: People,
    members: np.ndarray,
    created: np.ndarray,
    ids: SourceIds,
    rng: np.random.Generator,
    timeline: Timeline,
) -> Records:
    business = people["is_business"][members]
    counts = np.where(business, rng.integers(2, 5, len(members)), 1)
    owner, position = repeat_index(counts)
    person = members[owner]
    n = len(owner)
    made = np.minimum(
        created[owner] + np.where(position > 0, rng.integers(0, 200, n), 0), timeline.end_day
    )
    row, vday = _versions(
        person, made, [people["move_day"][person], people["marriage_day"][person]], timeline
    )
    style = noise.NameStyle(nickname=0.1, variant=0.1, swap=0.02, typo=0.02)
    first, last = noise.given_and_family(people, person[row], style, rng, vday)
    colleague = position[row] > 0  # other people at a business account: not the main contact
    first, last = _colleagues(people, person[row], colleague, first, last, rng)
    street, postcode = noise.streets(people, person[row], rng, 0.3, vday)
    email = noise.email_variants(people["email"][person[row]], rng, case=0.05, dots=0.1)
    domain = partition(people["email"][person[row]].astype(str), "@")[:, 2]
    colleague_mail = np.char.add(
        np.char.add(
            np.char.lower(np.array([nm.to_ascii(x) for x in first[colleague].tolist()], dtype=str)),
            "@",
        ),
        domain[colleague],
    )
    email[colleague] = colleague_mail.astype(object)
    dob = np.where(
        (rng.random(len(row)) < 0.5) & ~colleague & ~people["is_business"][person[row]],
        people["date_of_birth"][person[row]],
        NULL_DAY,
    )
    contact_no = numbered("CON-", np.arange(1, n + 1) + 1_000_000, 7)
    made_at = _stamp(made, rng)
    records: Records = {
        "contact_id": contact_no[row],
        "account_id": ids.crm_account[person[row]],
        "first_name": first,
        "last_name": last,
        "email": email,
        "phone": noise.phones(people, person[row], rng),
        "date_of_birth": dob,
        "street": street,
        "postcode": postcode,
        "city": people["city"][person[row]],
        "country": noise.country_case(people["country"][person[row]], rng, 0.3),
        "created_at": made_at[row],
        "updated_at": np.maximum(_stamp(vday, rng), made_at[row]),
        "_customer": person[row],
        "_day": vday,
    }
    # phone present for most, not all
    records["phone"] = np.where(rng.random(len(row)) < 0.8, records["phone"], None)
    return _finish(records, records["contact_id"], records["updated_at"])


def _colleagues(
    people: People,
    person: np.ndarray,
    colleague: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    if not colleague.any():
        return first, last
    k = int(colleague.sum())
    seed = person[colleague] * 7919 + 13
    cultures = people["culture"][person[colleague]]
    given = np.empty(k, dtype=object)
    family = np.empty(k, dtype=object)
    for culture in np.unique(cultures):
        mask = cultures == culture
        gpool = nm.GIVEN_NAMES.indices(str(culture))
        fpool = nm.FAMILY_NAMES.indices(str(culture))
        given[mask] = nm.GIVEN_NAMES.latin[gpool[seed[mask] % len(gpool)]]
        family[mask] = (
            nm.FAMILY_NAMES.latin[fpool[(seed[mask] // 7) % len(fpool)]]
            if len(fpool)
            else "bin Ahmad"
        )
    first, last = first.copy(), last.copy()
    first[colleague], last[colleague] = given, family
    del rng
    return first, last


def _crm_preferences(
    contacts: Records, marketing: Marketing, rng: np.random.Generator, timeline: Timeline
) -> Records:
    first = first_of_each(contacts["contact_id"])[1]
    cid = contacts["contact_id"][first]
    customer = contacts["_customer"][first]
    created = contacts["created_at"][first]
    parts: list[Records] = []
    for channel, share in (("email", 1.0), ("post", 0.7), ("sms", 0.3), ("phone", 0.2)):
        has = rng.random(len(cid)) < share
        idx = np.flatnonzero(has)
        parts.append(
            {
                "contact_id": cid[idx],
                "channel": repeated(len(idx), channel),
                "is_opted_in": rng.random(len(idx)) < 0.8,
                "updated_at": created[idx],
            }
        )
    # unsubscribing from a campaign becomes an email opt-out a few days later
    unsub = marketing.unsubscribed_day[customer]
    opt_day = unsub + rng.integers(0, 3, len(cid))
    later = (unsub >= 0) & (opt_day * DAY > created) & (opt_day <= timeline.end_day)
    idx = np.flatnonzero(later)
    parts.append(
        {
            "contact_id": cid[idx],
            "channel": repeated(len(idx), "email"),
            "is_opted_in": np.zeros(len(idx), dtype=bool),
            "updated_at": _stamp(opt_day[idx], rng),
        }
    )
    prefs = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = sort_order(prefs["contact_id"], prefs["channel"], prefs["updated_at"])
    prefs = {k: v[order] for k, v in prefs.items()}
    prefs["_day"] = prefs["updated_at"] // DAY
    key = joined(prefs["contact_id"], prefs["channel"], "|")
    return _finish(prefs, key, prefs["updated_at"])


def erp_customers(
    people: People, ids: SourceIds, rng: np.random.Generator, timeline: Timeline
) -> Records:
    members = np.flatnonzero(people["has_erp"])
    members = members[sort_order(ids.erp_customer[members])]
    created = ids.joined["erp"][members]
    # ERP updates an address only when billing bounces: a third of movers
    move = np.where(rng.random(len(members)) < 0.35, people["move_day"][members], -1)
    row, vday = _versions(members, created, [move], timeline)
    person = members[row]
    business = people["is_business"][person]
    style = noise.NameStyle(nickname=0.02, variant=0.15, typo=0.03, upper=0.05)
    name = noise.full_name(people, person, style, rng, vday)
    company = _company_noise(people["company_name"][person], rng)
    street, postcode = noise.streets(people, person, rng, 0.5, vday)
    made_at = _stamp(created, rng)[row]
    records: Records = {
        "customer_no": ids.erp_customer[person],
        "customer_name": np.where(business, company, name).astype(object),
        "is_company": business,
        "tax_id": people["tax_id"][person],
        "email": noise.email_variants(people["email"][person], rng, case=0.2, dots=0.1),
        "phone": noise.phones(people, person, rng),
        "street": street,
        "postcode": postcode,
        "city": people["city"][person],
        "country": people["country"][person],
        "currency": people["currency"][person],
        "created_at": made_at,
        "updated_at": np.maximum(_stamp(vday, rng), made_at),
        "_customer": person,
        "_day": vday,
    }
    return _finish(records, records["customer_no"], records["updated_at"])


def _company_noise(company: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = company.copy()
    draw = rng.random(len(out))
    for i in np.flatnonzero(draw < 0.25).tolist():
        value = out[i]
        if not isinstance(value, str):
            continue
        out[i] = value.upper() if draw[i] < 0.1 else value.rsplit(" ", 1)[0]
    return out


def webshop_users(
    people: People, ids: SourceIds, rng: np.random.Generator, timeline: Timeline
) -> Records:
    members = np.flatnonzero(people["has_webshop"])
    members = members[sort_order(ids.webshop_user[members])]
    created = ids.joined["webshop"][members]
    row, vday = _versions(members, created, [people["move_day"][members]], timeline)
    person = members[row]
    style = noise.NameStyle(nickname=0.15, variant=0.05, swap=0.01, typo=0.02)
    first, last = noise.given_and_family(people, person, style, rng, vday)
    street, postcode = noise.streets(people, person, rng, 0.2, vday)
    sign_up = noise.email_variants(people["email"][members], rng, case=0.15, dots=0.3)
    made_at = (created * DAY + seconds_in_day(rng, len(created), 0, 24))[row]
    records: Records = {
        "user_id": ids.webshop_user[person],
        "email": sign_up[row],
        "first_name": first,
        "last_name": last,
        "phone": np.where(rng.random(len(row)) < 0.7, noise.phones(people, person, rng), None),
        "street": street,
        "postcode": postcode,
        "city": people["city"][person],
        "country": people["country"][person],
        "created_at": made_at,
        "updated_at": np.maximum(vday * DAY + seconds_in_day(rng, len(row), 0, 24), made_at),
        "_customer": person,
        "_day": vday,
        "_zone": _zones(people["country"][person]),
    }
    return _finish(records, records["user_id"], records["updated_at"])


def _zones(countries: np.ndarray) -> np.ndarray:
    if not len(countries):
        return np.zeros(0, dtype=object)
    encoded = pc.dictionary_encode(arrow_text(countries))
    zones = np.array([ZONE[c] for c in encoded.dictionary.to_pylist()], dtype=object)
    return zones[encoded.indices.to_numpy(zero_copy_only=False)]


def webshop_orders(shop: WebshopOrders, people: People, ids: SourceIds) -> tuple[Records, Records]:
    """Order versions (one per status change) and the order lines, keyed by order."""
    v = shop.versions
    o = v["_order"]
    customer = shop.orders["_customer"][o]
    orders: Records = {
        "order_id": shop.orders["order_id"][o],
        "user_id": ids.webshop_user[customer],
        "ordered_at": shop.orders["ordered_at"][o],
        "currency": shop.orders["currency"][o],
        "total_amount": shop.orders["total_amount"][o],
        "status": v["status"],
        "updated_at": v["updated_at"],
        "_customer": customer,
        "_day": v["_day"],
        "_order": o,
        "_zone": _zones(people["country"][customer]),
    }
    lines: Records = {
        "_order": shop.lines["_order"],
        "line_no": shop.lines["line_no"],
        "sku": shop.lines["sku"],
        "quantity": shop.lines["quantity"],
        "unit_price": shop.lines["unit_price"],
    }
    return _finish(orders, orders["order_id"], orders["updated_at"]), lines


def erp_entities(
    invoices: Invoices, customers: Records, ids: SourceIds, rng: np.random.Generator
) -> Entities:
    inv, ver = invoices.invoices, invoices.versions
    i = ver["_invoice"]
    headers: Records = {
        "invoice_no": inv["invoice_no"][i],
        "customer_no": ids.erp_customer[inv["_customer"][i]],
        "invoice_date": inv["invoice_date"][i],
        "currency": inv["currency"][i],
        "total_amount": inv["total_amount"][i],
        "webshop_order_id": inv["webshop_order_id"][i],
        "status": ver["status"],
        "updated_at": ver["updated_at"],
        "_customer": inv["_customer"][i],
        "_day": ver["_day"],
    }
    lines = dict(invoices.lines)
    lines["_key"] = joined(lines["invoice_no"], lines["line_no"], "|")
    lines["_seq"] = np.zeros(len(lines["_key"]), dtype=np.int64)
    credits = dict(invoices.credit_notes)
    credits["customer_no"] = ids.erp_customer[credits["_customer"]]
    del rng
    return {
        ("erp", "customers"): customers,
        ("erp", "invoices"): _finish(headers, headers["invoice_no"], headers["updated_at"]),
        ("erp", "invoice_lines"): lines,
        ("erp", "credit_notes"): _finish(
            credits, credits["credit_note_no"], np.zeros(len(credits["amount"]), dtype=np.int64)
        ),
    }


def pos_entities(
    baskets: Baskets,
    people: People,
    ids: SourceIds,
    stores: pa.Table,
    rng: np.random.Generator,
    timeline: Timeline,
) -> Entities:
    members = np.flatnonzero(people["has_pos"])
    members = members[sort_order(ids.loyalty_card[members])]
    issued = ids.joined["pos"][members]
    n = len(members)
    style = noise.NameStyle(nickname=0.05, variant=0.1, native=0.6, typo=0.03, upper=0.1)
    store_ids = np.array(stores.column("store_id").to_pylist(), dtype=object)
    cards: Records = {
        "card_no": ids.loyalty_card[members],
        "holder_name": noise.full_name(people, members, style, rng, issued),
        "email": np.where(
            rng.random(n) < 0.5, noise.email_variants(people["email"][members], rng, 0.1, 0.2), None
        ),
        "phone": np.where(rng.random(n) < 0.5, noise.phones(people, members, rng), None),
        "postcode": noise.streets(people, members, rng, 0.0, issued)[1],
        "date_of_birth": np.where(rng.random(n) < 0.4, people["date_of_birth"][members], NULL_DAY),
        "store_id": store_ids[people["home_store"][members]],
        "issued_date": issued,
        "updated_at": _stamp(issued, rng),
        "_customer": members,
        "_day": issued,
    }
    lines = dict(baskets.lines)
    customer = lines["_customer"]
    lines["card_no"] = np.where(customer >= 0, ids.loyalty_card[np.maximum(customer, 0)], None)
    lines["purchased_at"] = lines["_local"]  # local store time, rendered as it is
    lines["_day"] = lines["_local"] // DAY
    lines["_key"] = joined(lines["basket_id"], lines["line_no"], "|")
    lines["_seq"] = np.zeros(len(customer), dtype=np.int64)
    del timeline
    return {
        ("pos", "loyalty_cards"): _finish(cards, cards["card_no"], cards["updated_at"]),
        ("pos", "basket_lines"): lines,
    }


def subscription_entities(
    subs: Subscriptions, people: People, ids: SourceIds, rng: np.random.Generator
) -> Entities:
    members = np.flatnonzero(people["has_subscriptions"])
    members = members[sort_order(ids.subscriber[members])]
    created = ids.joined["subscriptions"][members]
    style = noise.NameStyle(nickname=0.1, variant=0.1, typo=0.02)
    made = created * DAY + seconds_in_day(rng, len(members), 0, 24)
    subscribers: Records = {
        "subscriber_id": ids.subscriber[members],
        "full_name": noise.full_name(people, members, style, rng, created),
        "email": noise.email_variants(people["email"][members], rng, 0.1, 0.2),
        "country": people["country"][members],
        "created_at": made,
        "updated_at": made,
        "_customer": members,
        "_day": created,
    }
    events = dict(subs.events)
    events["subscriber_id"] = ids.subscriber[events["_customer"]]
    charges = dict(subs.charges)
    charges["subscriber_id"] = ids.subscriber[charges["_customer"]]
    zero = np.zeros
    return {
        ("subscriptions", "subscribers"): _finish(
            subscribers, subscribers["subscriber_id"], subscribers["updated_at"]
        ),
        ("subscriptions", "subscription_events"): _finish(
            events, events["event_id"], zero(len(events["event_id"]), dtype=np.int64)
        ),
        ("subscriptions", "charges"): _finish(
            charges, charges["charge_id"], zero(len(charges["charge_id"]), dtype=np.int64)
        ),
    }


def support_tickets(versions: Records, people: People, rng: np.random.Generator) -> Records:
    customer = versions["_customer"]
    n = len(customer)
    # the same ticket keeps the requester details it was opened with
    opener = first_rows(versions["ticket_id"])
    style = noise.NameStyle(nickname=0.2, variant=0.1, native=0.3, typo=0.03)
    name = noise.full_name(people, customer, style, rng, versions["opened_at"] // DAY)[opener]
    email = noise.email_variants(people["email"][customer], rng, 0.15, 0.2)[opener]
    phone = np.where(rng.random(n) < 0.2, noise.phones(people, customer, rng), None)[opener]
    records: Records = {
        "ticket_id": versions["ticket_id"],
        "requester_email": email,
        "requester_name": name,
        "requester_phone": phone,
        "category": versions["category"],
        "priority": versions["priority"],
        "status": versions["status"],
        "opened_at": versions["opened_at"],
        "resolved_at": np.where(versions["resolved_at"] >= 0, versions["resolved_at"], NULL_DAY),
        "satisfaction_score": np.where(
            versions["satisfaction_score"] >= 0, versions["satisfaction_score"], NULL_DAY
        ),
        "resolution": versions["resolution"],
        "order_ref": repeated(n, None),
        "updated_at": versions["updated_at"],
        "_customer": customer,
        "_day": versions["_day"],
        "_zone": _zones(people["country"][customer]),
    }
    return _finish(records, records["ticket_id"], records["updated_at"])


def marketing_entities(marketing: Marketing, people: People, rng: np.random.Generator) -> Entities:
    events = dict(marketing.events)
    events["campaign_id"] = marketing.campaigns["campaign_id"][events["_campaign"]]
    events["email"] = noise.email_variants(people["email"][events["_customer"]], rng, 0.0, 0.0)
    events["email"] = np.char.lower(events["email"].astype(str)).astype(object)
    zero = np.zeros
    campaigns = dict(marketing.campaigns)
    campaigns["_customer"] = np.full(len(campaigns["campaign_id"]), -1)
    return {
        ("marketing", "campaigns"): _finish(
            campaigns, campaigns["campaign_id"], zero(len(campaigns["campaign_id"]), dtype=np.int64)
        ),
        ("marketing", "campaign_events"): _finish(
            events, events["event_id"], zero(len(events["event_id"]), dtype=np.int64)
        ),
    }
