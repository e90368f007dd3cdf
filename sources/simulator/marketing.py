"""Marketing: fortnightly campaigns and their events (send, open, click, unsubscribe) per email.

Recipients are customers already acquired who have not unsubscribed; an unsubscribe also
becomes an email opt-out in CRM (see crm records)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.frames import Records, numbered, repeated
from simulator.people import People
from simulator.reference import PRODUCT_LINES
from simulator.timeline import DAY, Timeline

SENDS_PER_CUSTOMER = 2.0  # over the whole history, on average


@dataclass
class Marketing:
    campaigns: Records
    events: Records
    unsubscribed_day: np.ndarray  # per person, -1 when never


def draw_marketing(people: People, rng: np.random.Generator, timeline: Timeline) -> Marketing:
    starts = np.arange(timeline.start_day + 3, timeline.end_day - 2, 14)
    m = len(starts)
    line = rng.integers(-1, len(PRODUCT_LINES), m)
    campaigns: Records = {
        "campaign_id": numbered("CMP-", np.arange(1, m + 1), 4),
        "campaign_name": np.array(
            [
                f"{('Newsletter' if li < 0 else PRODUCT_LINES[li].title())} "
                f"{np.datetime64(int(s), 'D')}"
                for li, s in zip(line.tolist(), starts.tolist(), strict=True)
            ],
            dtype=object,
        ),
        "channel": rng.choice(
            np.array(["email", "email", "email", "social", "display"], dtype=object), m
        ),
        "product_line": np.array(
            [None if li < 0 else PRODUCT_LINES[li] for li in line.tolist()], dtype=object
        ),
        "start_date": starts,
        "end_date": starts + 7,
        "cost": rng.integers(50_000, 2_500_000, m),
        "currency": repeated(m, "EUR"),
        "_day": starts,
    }
    n = len(people["index"])
    share = min(1.0, SENDS_PER_CUSTOMER / max(m, 1) * 2.0)
    unsubscribed = np.full(n, -1, dtype=np.int64)
    parts: list[Records] = []
    for c in range(m):
        if campaigns["channel"][c] != "email":
            continue
        parts.append(_campaign_events(c, int(starts[c]), people, unsubscribed, share, rng))
    events = _number_events(parts, timeline)
    return Marketing(campaigns, events, unsubscribed)


def _campaign_events(
    c: int,
    start: int,
    people: People,
    unsubscribed: np.ndarray,
    share: float,
    rng: np.random.Generator,
) -> Records:
    eligible = (people["acquired_day"] <= start) & (unsubscribed < 0)
    recipients = np.flatnonzero(eligible & (rng.random(len(eligible)) < share))
    k = len(recipients)
    sent = start * DAY + rng.integers(6 * 3600, 10 * 3600, k)
    opened = rng.random(k) < 0.28
    clicked = opened & (rng.random(k) < 0.25)
    unsub = rng.random(k) < 0.012
    open_at = sent + rng.integers(60, 3 * DAY, k)
    click_at = open_at + rng.integers(5, 600, k)
    unsub_at = open_at + rng.integers(5, 900, k)
    unsubscribed[recipients[unsub]] = unsub_at[unsub] // DAY
    who = np.concatenate([recipients, recipients[opened], recipients[clicked], recipients[unsub]])
    kind = np.concatenate(
        [
            repeated(k, "send"),
            repeated(int(opened.sum()), "open"),
            repeated(int(clicked.sum()), "click"),
            repeated(int(unsub.sum()), "unsubscribe"),
        ]
    )
    when = np.concatenate([sent, open_at[opened], click_at[clicked], unsub_at[unsub]])
    return {
        "_customer": who,
        "event_type": kind,
        "occurred_at": when,
        "_campaign": np.full(len(who), c, dtype=np.int64),
    }


def _number_events(parts: list[Records], timeline: Timeline) -> Records:
    if not parts:
        return {
            "event_id": np.zeros(0, dtype=object),
            "_customer": np.zeros(0, np.int64),
            "event_type": np.zeros(0, dtype=object),
            "occurred_at": np.zeros(0, np.int64),
            "_campaign": np.zeros(0, np.int64),
            "_day": np.zeros(0, np.int64),
        }
    events = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    keep = events["occurred_at"] < (timeline.end_day + 1) * DAY
    events = {k: v[keep] for k, v in events.items()}
    order = np.lexsort((events["_customer"], events["occurred_at"]))
    events = {k: v[order] for k, v in events.items()}
    events["event_id"] = numbered("EV-", np.arange(1, len(order) + 1) + 100_000_000, 9)
    events["_day"] = events["occurred_at"] // DAY
    return events
