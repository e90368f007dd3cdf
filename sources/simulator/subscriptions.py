"""Subscriptions: who subscribes to which plan, plan changes, cancels (with reasons) and the
monthly charges they pay. A customer's churn cancels the subscription with the churn's cause."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from simulator.frames import Records, few_objects, numbered, repeat_index, repeated, seconds_in_day
from simulator.people import People
from simulator.reference import PLAN_CURRENCIES
from simulator.timeline import DAY, Timeline


@dataclass
class Subscriptions:
    subscriptions: Records
    events: Records
    charges: Records


def draw_subscriptions(
    people: People, rng: np.random.Generator, timeline: Timeline, plans: pa.Table
) -> Subscriptions:
    customer = np.flatnonzero(people["has_subscriptions"])
    second = customer[rng.random(len(customer)) < 0.1]  # a few hold two: coffee and care
    customer = np.sort(np.concatenate([customer, second]))
    n = len(customer)
    start = np.minimum(people["acquired_day"][customer] + rng.integers(0, 60, n), timeline.end_day)
    line = np.where(
        np.r_[False, customer[1:] == customer[:-1]],
        "service",
        np.where(rng.random(n) < 0.75, "coffee", "service"),
    ).astype(object)
    tier = rng.choice(np.array([1, 2, 3]), n, p=[0.5, 0.35, 0.15])
    currency = people["currency"][customer]
    currency = np.where(np.isin(currency, PLAN_CURRENCIES), currency, "EUR").astype(object)
    stop, reason = _cancels(people, customer, start, rng, timeline)
    change_day = start + (rng.random(n) * np.maximum(stop - start, 1)).astype(np.int64)
    changes = (rng.random(n) < 0.2) & (change_day > start + 31) & (change_day < stop)
    new_tier = np.clip(tier + np.where(rng.random(n) < 0.6, 1, -1), 1, 3)
    changes &= new_tier != tier
    subs: Records = {
        "subscription_id": numbered("SN-", np.arange(1, n + 1) + 5_000_000, 7),
        "_customer": customer,
        "start": start,
        "stop": stop,
        "cancel_reason": reason,
        "line": line,
        "tier": tier,
        "new_tier": new_tier,
        "change_day": np.where(changes, change_day, -1),
        "currency": currency,
    }
    prices = _plan_prices(plans)
    return Subscriptions(subs, _events(subs, rng, timeline), _charges(subs, prices, timeline))


def _cancels(
    people: People,
    customer: np.ndarray,
    start: np.ndarray,
    rng: np.random.Generator,
    timeline: Timeline,
) -> tuple[np.ndarray, np.ndarray]:
    """Stop day (exclusive; end+1 while active) and cancel reason."""
    end = timeline.end_day + 1
    churn = people["churn_day"][customer]
    churned = (churn >= 0) & (churn > start)
    n = len(customer)
    other = ~churned & (rng.random(n) < 0.12)
    other_day = start + 30 + (rng.random(n) * np.maximum(end - start - 30, 1)).astype(np.int64)
    other &= other_day < end
    stop = np.where(churned, churn, np.where(other, other_day, end))
    reason = np.where(
        churned,
        people["churn_cause"][customer],
        np.where(
            other,
            rng.choice(np.array(["no_longer_needed", "other", "product_issues"], dtype=object), n),
            None,
        ),
    ).astype(object)
    return stop, reason


def _plan_prices(plans: pa.Table) -> dict[str, int]:
    return {
        pid: round(price * 100)
        for pid, price in zip(
            plans.column("plan_id").to_pylist(),
            plans.column("monthly_price").to_pylist(),
            strict=True,
        )
    }


def plan_ids(line: np.ndarray, tier: np.ndarray, currency: np.ndarray) -> np.ndarray:
    prefix = np.where(line == "coffee", "PL-COF-", "PL-SER-")
    return few_objects(
        np.char.add(np.char.add(np.char.add(prefix, tier.astype(str)), "-"), currency.astype(str))
    )


def _events(subs: Records, rng: np.random.Generator, timeline: Timeline) -> Records:
    n = len(subs["_customer"])
    end = timeline.end_day + 1
    before = plan_ids(subs["line"], subs["tier"], subs["currency"])
    after = plan_ids(subs["line"], subs["new_tier"], subs["currency"])
    changed = subs["change_day"] >= 0
    cancelled = subs["stop"] < end
    kind_change = np.where(subs["new_tier"] > subs["tier"], "upgrade", "downgrade")
    idx = np.concatenate([np.arange(n), np.flatnonzero(changed), np.flatnonzero(cancelled)])
    kind = np.concatenate(
        [repeated(n, "start"), kind_change[changed], repeated(int(cancelled.sum()), "cancel")]
    )
    day = np.concatenate([subs["start"], subs["change_day"][changed], subs["stop"][cancelled]])
    plan = np.concatenate([before, after[changed], np.where(changed, after, before)[cancelled]])
    reason = np.concatenate(
        [repeated(n + int(changed.sum()), None), subs["cancel_reason"][cancelled]]
    )
    order = np.lexsort((idx, day))
    idx, kind, day, plan, reason = (a[order] for a in (idx, kind, day, plan, reason))
    return {
        "event_id": numbered("SE-", np.arange(1, len(idx) + 1) + 7_000_000, 7),
        "subscription_id": subs["subscription_id"][idx],
        "_customer": subs["_customer"][idx],
        "plan_id": plan,
        "event_type": kind,
        "occurred_at": day * DAY + seconds_in_day(rng, len(day), 0, 24),
        "cancel_reason": reason,
        "_day": day,
    }


def _charges(subs: Records, prices: dict[str, int], timeline: Timeline) -> Records:
    """A charge every month on the start's day of month while active (the start day counts)."""
    start_month = subs["start"].astype("datetime64[D]").astype("datetime64[M]")
    dom = (subs["start"].astype("datetime64[D]") - start_month).astype(np.int64)
    stop = np.minimum(subs["stop"], timeline.end_day + 1)
    months = (stop.astype("datetime64[D]").astype("datetime64[M]") - start_month).astype(
        np.int64
    ) + 1
    owner, k = repeat_index(np.maximum(months, 0))
    month = start_month[owner] + k
    month_len = ((month + 1).astype("datetime64[D]") - month.astype("datetime64[D]")).astype(
        np.int64
    )
    day = month.astype("datetime64[D]").astype(np.int64) + np.minimum(dom[owner], month_len - 1)
    keep = (day < stop[owner]) & (day >= subs["start"][owner])
    owner, day = owner[keep], day[keep]
    changed = (subs["change_day"][owner] >= 0) & (day >= subs["change_day"][owner])
    tier = np.where(changed, subs["new_tier"][owner], subs["tier"][owner])
    plan = plan_ids(subs["line"][owner], tier, subs["currency"][owner])
    amount = np.array([prices[p] for p in plan.tolist()], dtype=np.int64)
    order = np.lexsort((owner, day))
    owner, day, plan, amount = owner[order], day[order], plan[order], amount[order]
    return {
        "charge_id": numbered("CH-", np.arange(1, len(owner) + 1) + 10_000_000, 8),
        "subscription_id": subs["subscription_id"][owner],
        "_customer": subs["_customer"][owner],
        "plan_id": plan,
        "charge_date": day,
        "amount": amount,
        "currency": subs["currency"][owner],
        "_day": day,
    }
