"""The true customers of the simulated company: who they are, where they live, how they behave.

A world's people are a dict of equally long numpy arrays (one entry per true customer), built
vectorised. Behaviour drawn here drives every system later on: acquisition day, spend weight
(lognormal, which gives the Pareto shape of revenue), channels used, complaints, churn with its
cause, win-back, marriage (family name change) and moves.
"""

from __future__ import annotations

import numpy as np

from simulator import names as nm
from simulator.frames import ljust, partition, replace, rpartition, zfill
from simulator.reference import COUNTRIES, COUNTRY_CODES, stores
from simulator.timeline import Timeline

People = dict[str, np.ndarray]

BUSINESS_SHARE = 0.10
CHURN_CAUSES: tuple[str, ...] = ("too_expensive", "switched_competitor", "no_longer_needed")


def build_people(n: int, rng: np.random.Generator, timeline: Timeline) -> People:
    people: People = {"index": np.arange(n)}
    people["true_customer_id"] = _ids("TC-", np.arange(1, n + 1), 7)
    people["is_business"] = rng.random(n) < BUSINESS_SHARE
    people["culture"] = rng.choice(
        np.array(nm.CULTURES, dtype=object), n, p=np.array(nm.CULTURE_WEIGHTS)
    )
    people["country"] = _countries(people["culture"], rng)
    _draw_names(people, rng)
    _draw_contact_details(people, rng)
    _draw_company(people, rng)
    _draw_lifecycle(people, rng, timeline)
    _draw_channels(people, rng)
    _households_and_namesakes(people, rng)
    _life_events(people, rng, timeline)
    _money_and_store(people, rng)
    return people


def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    return np.char.add(prefix, zfill(numbers.astype(str), width)).astype(object)


def _countries(culture: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.empty(len(culture), dtype=object)
    for name, options in nm.CULTURE_COUNTRIES.items():
        mask = culture == name
        codes = np.array([c for c, _ in options], dtype=object)
        weights = np.array([w for _, w in options])
        out[mask] = rng.choice(codes, int(mask.sum()), p=weights / weights.sum())
    return out


def _draw_names(people: People, rng: np.random.Generator) -> None:
    n = len(people["index"])
    gender = np.where(rng.random(n) < 0.5, "f", "m").astype(object)
    given = np.zeros(n, dtype=np.int64)
    family = np.full(n, -1, dtype=np.int64)
    for culture in nm.CULTURES:
        for sex in ("f", "m"):
            mask = (people["culture"] == culture) & (gender == sex)
            given[mask] = rng.choice(nm.GIVEN_NAMES.indices(culture, sex), int(mask.sum()))
        mask = people["culture"] == culture
        pool = nm.FAMILY_NAMES.indices(culture)
        if len(pool):
            family[mask] = rng.choice(pool, int(mask.sum()))
    people["gender"], people["given_idx"], people["family_idx"] = gender, given, family
    people["given_name"] = nm.GIVEN_NAMES.latin[given]
    people["given_native"] = nm.GIVEN_NAMES.native[given]
    family_latin = np.where(family >= 0, nm.FAMILY_NAMES.latin[np.maximum(family, 0)], "")
    family_native = np.where(family >= 0, nm.FAMILY_NAMES.native[np.maximum(family, 0)], "")
    _malay_patronymics(people, rng, family_latin, family_native)
    people["family_name"], people["family_native"] = family_latin, family_native


def _malay_patronymics(
    people: People, rng: np.random.Generator, family_latin: np.ndarray, family_native: np.ndarray
) -> None:
    """Malays are 'Siti binti Ismail' (father's name, no family name); many Indonesians have a
    single name, so family is empty there."""
    malay = people["culture"] == "ms"
    fathers = nm.GIVEN_NAMES.latin[rng.choice(nm.GIVEN_NAMES.indices("ms", "m"), len(malay))]
    link = np.where(people["gender"] == "f", "binti ", "bin ")
    patronymic = np.char.add(link.astype(str), fathers.astype(str)).astype(object)
    single = malay & (people["country"] == "ID") & (rng.random(len(malay)) < 0.5)
    family_latin[malay] = patronymic[malay]
    family_native[malay] = patronymic[malay]
    family_latin[single] = ""
    family_native[single] = ""


def _digits(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    values = rng.integers(0, 10**width, n)
    return zfill(values.astype(str), width).astype(object)


def _draw_contact_details(people: People, rng: np.random.Generator) -> None:
    n = len(people["index"])
    country_index = np.array([COUNTRY_CODES.index(c) for c in COUNTRY_CODES])
    code_to_index = dict(zip(COUNTRY_CODES, country_index, strict=True))
    ci = np.vectorize(code_to_index.__getitem__, otypes=[np.int64])(people["country"])
    people["country_idx"] = ci
    city_idx = rng.integers(0, 1000, n)
    street_idx = rng.integers(0, 1000, n)
    city, postcode, area, street = (np.empty(n, dtype=object) for _ in range(4))
    for i, country in enumerate(COUNTRIES):
        mask = ci == i
        k = int(mask.sum())
        if not k:
            continue
        cities = country.cities
        pick = city_idx[mask] % len(cities)
        city[mask] = np.array([c[0] for c in cities], dtype=object)[pick]
        area[mask] = np.array([c[2] for c in cities], dtype=object)[pick]
        postcode[mask] = _postcodes(np.array([c[1] for c in cities], dtype=object)[pick], rng)
        names = np.array(country.streets, dtype=object)
        street[mask] = names[street_idx[mask] % len(names)]
    house = rng.integers(1, 180, n).astype(str).astype(object)
    people["city"], people["postcode"], people["area_code"] = city, postcode, area
    people["street"] = np.char.add(np.char.add(street.astype(str), " "), house.astype(str)).astype(
        object
    )
    people["subscriber_no"] = np.char.add(
        rng.integers(2, 10, n).astype(str), _digits(rng, n, 6).astype(str)
    ).astype(object)
    born = rng.integers(-7300, 12400, n)  # 1950 .. 2003
    people["date_of_birth"] = born
    people["email"] = _emails(people, rng)


# Placeholders of a postcode pattern and the characters drawn for them.
POSTCODE_PLACEHOLDERS = {"#": "0123456789", "?": "ABDEFGHJLNPQRSTUWXYZ"}  # UK inward letters


def _postcodes(patterns: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = patterns.astype(str)
    for placeholder, alphabet in POSTCODE_PLACEHOLDERS.items():
        characters = np.array(list(alphabet))
        for _ in range(int(max((len(p) for p in out), default=0))):
            has = np.char.find(out, placeholder) >= 0
            if not has.any():
                break
            drawn = characters[rng.integers(0, len(characters), len(out))]
            out = np.where(has, replace(out, placeholder, "@", count=1), out)
            parts = partition(out, "@")
            out = np.where(has, np.char.add(np.char.add(parts[:, 0], drawn), parts[:, 2]), out)
    return out.astype(object)


def _emails(people: People, rng: np.random.Generator) -> np.ndarray:
    n = len(people["index"])
    given = nm.GIVEN_NAMES.ascii[people["given_idx"]].astype(str)
    family = _ascii_lower(people["family_name"])
    style = rng.integers(0, 4, n)
    initial = ljust(given, 1).astype("U1")
    local = np.select(
        [style == 0, style == 1, style == 2],
        [
            np.char.add(np.char.add(given, "."), family),
            np.char.add(given, family),
            np.char.add(np.char.add(initial, "."), family),
        ],
        np.char.add(np.char.add(given, "_"), family),
    )
    local = np.where(family == "", given, local)
    digits = rng.integers(1, 99, n).astype(str)
    local = np.where(rng.random(n) < 0.3, np.char.add(local, digits), local)
    domain = np.empty(n, dtype=object)
    for code, options in nm.EMAIL_DOMAINS.items():
        mask = people["country"] == code
        domain[mask] = rng.choice(np.array(options, dtype=object), int(mask.sum()))
    email = np.char.add(np.char.add(local, "@"), domain.astype(str))
    return _deduplicate(email, people["index"]).astype(object)


def _ascii_lower(values: np.ndarray) -> np.ndarray:
    """to_ascii, lower case, no spaces; computed once per distinct name, not once per person."""
    uniques, inverse = np.unique(values.astype(str), return_inverse=True)
    folded = np.array(
        [nm.to_ascii(u).lower().replace(" ", "") for u in uniques.tolist()], dtype=str
    )
    return folded[inverse] if len(uniques) else np.zeros(0, dtype=str)


def _deduplicate(email: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Two people never get the same address by accident (shared ones are made on purpose).

    Gmail ignores dots in the local part, so john.smith@gmail.com and johnsmith@gmail.com are one
    mailbox and cannot belong to two people: addresses are compared without them."""
    parts = partition(email, "@")
    gmail = np.isin(parts[:, 2], ("gmail.com", "googlemail.com"))
    mailbox = np.where(gmail, np.char.add(replace(parts[:, 0], ".", ""), "@gmail"), email)
    _, first, inverse = np.unique(mailbox, return_index=True, return_inverse=True)
    clash = first[inverse] != np.arange(len(email))
    parts = partition(email[clash], "@")
    suffix = np.char.add(".", index[clash].astype(str))
    email = email.copy()
    email[clash] = np.char.add(np.char.add(np.char.add(parts[:, 0], suffix), "@"), parts[:, 2])
    return email


def _draw_company(people: People, rng: np.random.Generator) -> None:
    n = len(people["index"])
    business = people["is_business"]
    word = rng.choice(np.array(nm.COMPANY_WORDS, dtype=object), n)
    form = np.empty(n, dtype=object)
    for code, forms in nm.COMPANY_FORMS.items():
        mask = people["country"] == code
        form[mask] = rng.choice(np.array(forms, dtype=object), int(mask.sum()))
    stem = np.where(people["family_name"] == "", people["given_name"], people["family_name"])
    stem = np.where(people["culture"] == "ms", people["given_name"], stem)
    name = np.char.add(np.char.add(stem.astype(str), " "), word.astype(str))
    name = np.where(
        form == "PT",
        np.char.add("PT ", name),
        np.char.add(np.char.add(name, " "), form.astype(str)),
    )
    people["company_name"] = np.where(business, name, None).astype(object)
    tax = np.char.add(people["country"].astype(str), _digits(rng, n, 9).astype(str))
    people["tax_id"] = np.where(business, tax, None).astype(object)
    people["industry"] = np.where(
        business, rng.choice(np.array(nm.INDUSTRIES, dtype=object), n), None
    ).astype(object)
    domain = _company_domains(np.char.add(_ascii_lower(stem), "-coffee.com"), business, people)
    info = np.char.add(np.where(rng.random(n) < 0.5, "info@", "office@"), domain)
    people["email"] = np.where(business, info, people["email"]).astype(object)


def _company_domains(domain: np.ndarray, business: np.ndarray, people: People) -> np.ndarray:
    """A domain belongs to one company: a second company of the same stem gets a numbered one
    (mueller-coffee-1234.com), so two companies' mailboxes never coincide by accident."""
    rows = np.flatnonzero(business)
    _, first, inverse = np.unique(domain[rows], return_index=True, return_inverse=True)
    clash = rows[first[inverse] != np.arange(len(rows))]
    numbered = np.char.add(
        np.char.add(replace(domain[clash], ".com", "-"), people["index"][clash].astype(str)), ".com"
    )
    domain = domain.astype(object)
    domain[clash] = numbered
    return domain


def _draw_lifecycle(people: People, rng: np.random.Generator, timeline: Timeline) -> None:
    n = len(people["index"])
    span = timeline.end_day - timeline.start_day
    # growth: more customers were won recently (u ** 0.8 leans towards the end)
    acquired = timeline.start_day + np.floor(rng.random(n) ** 0.8 * span).astype(np.int64)
    people["acquired_day"] = acquired
    # Spend weight: lognormal, so about a fifth of customers make most of the money.
    weight = rng.lognormal(0.0, 1.25, n) * np.where(people["is_business"], 4.0, 1.0)
    people["spend_weight"] = weight
    premium = weight > np.quantile(weight, 0.9) if n else weight > 0
    people["segment"] = np.where(
        people["is_business"], "b2b", np.where(premium, "premium", "consumer")
    ).astype(object)
    end = timeline.end_day
    tenure = end - acquired
    complains = (rng.random(n) < 0.14) & (tenure > 40)
    complaint_day = acquired + (rng.random(n) * np.maximum(tenure - 10, 1)).astype(np.int64)
    people["complaint_day"] = np.where(complains, complaint_day, -1)
    after_complaint = complains & (rng.random(n) < 0.6)
    churn_after = complaint_day + rng.integers(5, 45, n)
    silent = ~complains & (rng.random(n) < 0.12) & (tenure > 90)
    churn_silent = acquired + 60 + (rng.random(n) * np.maximum(tenure - 60, 1)).astype(np.int64)
    churn = np.where(after_complaint, churn_after, np.where(silent, churn_silent, -1))
    churn = np.where(churn >= end, -1, churn)
    people["churn_day"] = churn
    cause = rng.choice(np.array(CHURN_CAUSES, dtype=object), n)
    cause = np.where(after_complaint, "poor_service", cause)
    people["churn_cause"] = np.where(churn < 0, None, cause).astype(object)
    back = (churn >= 0) & (rng.random(n) < 0.2)
    won_back = churn + rng.integers(60, 240, n)
    people["won_back_day"] = np.where(back & (won_back < end), won_back, -1)


def _draw_channels(people: People, rng: np.random.Generator) -> None:
    n = len(people["index"])
    business = people["is_business"]
    retail = np.isin(people["country"], np.array(stores().column("country").to_pylist()))
    people["has_webshop"] = np.where(business, rng.random(n) < 0.2, rng.random(n) < 0.6)
    people["has_pos"] = ~business & retail & (rng.random(n) < 0.45)
    people["has_crm"] = business | (rng.random(n) < 0.3)
    people["has_subscriptions"] = ~business & (rng.random(n) < 0.18)
    nothing = ~(
        people["has_webshop"] | people["has_pos"] | people["has_crm"] | people["has_subscriptions"]
    )
    people["has_webshop"] = people["has_webshop"] | nothing
    # ERP bills every business and every webshop customer (it invoices most shop orders)
    people["has_erp"] = business | people["has_webshop"] | (rng.random(n) < 0.03)
    weights = np.array([0.4, 0.1, 0.2, 0.05, 0.15, 0.1])
    people["primary_line"] = rng.choice(len(weights), n, p=weights)


def _money_and_store(people: People, rng: np.random.Generator) -> None:
    currency = {c.code: c.currency for c in COUNTRIES}
    people["currency"] = np.array([currency[c] for c in people["country"].tolist()], dtype=object)
    people["home_store"] = _home_stores(people["country"], rng)


def _home_stores(country: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Index of a store in the customer's country (-1 where the company has no shop)."""
    store_country = np.array(stores().column("country").to_pylist(), dtype=object)
    out = np.full(len(country), -1, dtype=np.int64)
    for code in np.unique(store_country):
        mask = country == code
        out[mask] = rng.choice(np.flatnonzero(store_country == code), int(mask.sum()))
    return out


def _households_and_namesakes(people: People, rng: np.random.Generator) -> None:
    """Traps for identity resolution: two people sharing one email (a household), and
    different people with the same name (some in the same city)."""
    n = len(people["index"])
    persons = np.flatnonzero(~people["is_business"])
    people["household_of"] = np.full(n, -1, dtype=np.int64)
    people["namesake_of"] = np.full(n, -1, dtype=np.int64)
    if len(persons) < 4:
        return
    share = rng.random(len(persons)) < 0.03
    first = persons[:-1][share[:-1]]
    partner = first + 1
    ok = ~people["is_business"][partner] & (people["culture"][partner] == people["culture"][first])
    first, partner = first[ok], partner[ok]
    partner = partner[~np.isin(partner, first)]
    first = partner - 1
    for column in (
        "email",
        "street",
        "postcode",
        "city",
        "country",
        "country_idx",
        "area_code",
        "subscriber_no",
        "family_name",
        "family_native",
        "family_idx",
    ):
        people[column][partner] = people[column][first]
    people["household_of"][partner] = first
    namesakes = persons[rng.random(len(persons)) < 0.02]
    namesakes = namesakes[~np.isin(namesakes, np.concatenate([first, partner]))]
    source = rng.choice(persons, len(namesakes))
    same_culture = people["culture"][source] == people["culture"][namesakes]
    namesakes, source = namesakes[same_culture], source[same_culture]
    source_ok = source != namesakes
    namesakes, source = namesakes[source_ok], source[source_ok]
    for column in (
        "given_idx",
        "family_idx",
        "given_name",
        "given_native",
        "family_name",
        "family_native",
        "gender",
    ):
        people[column][namesakes] = people[column][source]
    same_city = (rng.random(len(namesakes)) < 0.4) & (
        people["country"][source] == people["country"][namesakes]
    )
    for column in ("city", "area_code"):
        people[column][namesakes[same_city]] = people[column][source[same_city]]
    people["namesake_of"][namesakes] = source


def _life_events(people: People, rng: np.random.Generator, timeline: Timeline) -> None:
    """Marriages change a family name, moves change the address; older records keep the old."""
    n = len(people["index"])
    acquired = people["acquired_day"]
    tenure = timeline.end_day - acquired
    married = (
        ~people["is_business"]
        & (people["gender"] == "f")
        & (rng.random(n) < 0.06)
        & (tenure > 30)
        & (people["family_name"] != "")
        & (people["culture"] != "ms")
    )
    people["marriage_day"] = np.where(
        married, acquired + (rng.random(n) * tenure).astype(np.int64), -1
    )
    old_family = people["family_name"].copy()
    for culture in nm.CULTURES:
        pool = nm.FAMILY_NAMES.indices(culture)
        mask = married & (people["culture"] == culture)
        if len(pool) and mask.any():
            old_family[mask] = nm.FAMILY_NAMES.latin[rng.choice(pool, int(mask.sum()))]
    people["old_family_name"] = np.where(married, old_family, None).astype(object)
    moved = (rng.random(n) < 0.08) & (tenure > 30)
    people["move_day"] = np.where(moved, acquired + (rng.random(n) * tenure).astype(np.int64), -1)
    house = rng.integers(1, 180, n).astype(str)
    street_name = rpartition(people["street"].astype(str), " ")[:, 0]
    old_street = np.char.add(np.char.add(street_name, " "), house)
    people["old_street"] = np.where(moved, old_street, None).astype(object)
    people["old_postcode"] = np.where(moved, _digits(rng, n, 5), None).astype(object)
