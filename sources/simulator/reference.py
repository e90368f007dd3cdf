"""Reference data of the simulated company: countries, currencies, FX, products, plans, stores.

Static tables are plain tuples so that they read like a spreadsheet; the random parts (FX walk)
take a numpy Generator so that a seed fixes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa


@dataclass(frozen=True)
class Country:
    code: str
    currency: str
    zone: str
    dial: str  # international dialling code without '+'
    trunk: str  # national trunk prefix ("0" in most of Europe, "" where there is none)
    # (city, postcode pattern: '#' a digit, '?' a letter; area code)
    cities: tuple[tuple[str, str, str], ...]
    streets: tuple[str, ...]
    abbreviations: tuple[tuple[str, str], ...]  # (long form, short form) used by sloppy systems


COUNTRIES: tuple[Country, ...] = (
    Country(
        "DE",
        "EUR",
        "Europe/Berlin",
        "49",
        "0",
        (
            ("Berlin", "10###", "30"),
            ("Hamburg", "20###", "40"),
            ("München", "80###", "89"),
            ("Köln", "50###", "221"),
            ("Frankfurt am Main", "60###", "69"),
        ),
        (
            "Hauptstraße",
            "Bahnhofstraße",
            "Gartenstraße",
            "Schulstraße",
            "Lindenstraße",
            "Berliner Straße",
            "Am Markt",
            "Goethestraße",
        ),
        (("straße", "str."), ("Straße", "Str.")),
    ),
    Country(
        "AT",
        "EUR",
        "Europe/Vienna",
        "43",
        "0",
        (("Wien", "1###", "1"), ("Graz", "80##", "316")),
        ("Mariahilfer Straße", "Hauptplatz", "Landstraße"),
        (("Straße", "Str."),),
    ),
    Country(
        "CH",
        "CHF",
        "Europe/Zurich",
        "41",
        "0",
        (("Zürich", "80##", "44"), ("Basel", "40##", "61")),
        ("Bahnhofstrasse", "Seestrasse", "Dorfstrasse"),
        (("strasse", "str."),),
    ),
    Country(
        "GB",
        "GBP",
        "Europe/London",
        "44",
        "0",
        # A full UK postcode is a street's side (about 15 addresses), not a district.
        (("London", "SW#? #??", "20"), ("Manchester", "M## #??", "161")),
        ("High Street", "Station Road", "Church Street", "Park Avenue", "Victoria Road"),
        (("Street", "St."), ("Road", "Rd."), ("Avenue", "Ave.")),
    ),
    Country(
        "US",
        "USD",
        "America/New_York",
        "1",
        "",
        (("New York", "100##", "212"), ("Boston", "021##", "617")),
        ("Main Street", "Broadway", "Park Avenue", "Elm Street"),
        (("Street", "St"), ("Avenue", "Ave")),
    ),
    Country(
        "SE",
        "SEK",
        "Europe/Stockholm",
        "46",
        "0",
        (("Stockholm", "11# ##", "8"), ("Göteborg", "41# ##", "31")),
        ("Storgatan", "Drottninggatan", "Kungsgatan"),
        (("gatan", "g."),),
    ),
    Country(
        "PL",
        "PLN",
        "Europe/Warsaw",
        "48",
        "0",
        (("Warszawa", "00-###", "22"), ("Kraków", "30-###", "12")),
        ("ulica Długa", "ulica Marszałkowska", "ulica Floriańska"),
        (("ulica", "ul."),),
    ),
    Country(
        "AE",
        "AED",
        "Asia/Dubai",
        "971",
        "0",
        (("Dubai", "00000", "4"), ("Abu Dhabi", "00000", "2")),
        ("Sheikh Zayed Road", "Al Wasl Road", "Jumeirah Street"),
        (("Road", "Rd."), ("Street", "St.")),
    ),
    Country(
        "IL",
        "ILS",
        "Asia/Jerusalem",
        "972",
        "0",
        (("Tel Aviv", "6######", "3"), ("Jerusalem", "9######", "2")),
        ("Rothschild Boulevard", "Dizengoff Street", "Jaffa Road"),
        (("Boulevard", "Blvd."), ("Street", "St.")),
    ),
    Country(
        "CN",
        "CNY",
        "Asia/Shanghai",
        "86",
        "0",
        (("Beijing", "100###", "10"), ("Shanghai", "200###", "21")),
        ("Nanjing Road", "Chang'an Avenue", "Huaihai Road"),
        (("Road", "Lu"),),
    ),
    Country(
        "MY",
        "MYR",
        "Asia/Kuala_Lumpur",
        "60",
        "0",
        (("Kuala Lumpur", "50###", "3"), ("Penang", "10###", "4")),
        ("Jalan Ampang", "Jalan Bukit Bintang", "Jalan Tun Razak"),
        (("Jalan", "Jln."),),
    ),
    Country(
        "ID",
        "IDR",
        "Asia/Jakarta",
        "62",
        "0",
        (("Jakarta", "10###", "21"), ("Surabaya", "60###", "31")),
        ("Jalan Sudirman", "Jalan Thamrin", "Jalan Gatot Subroto"),
        (("Jalan", "Jl."),),
    ),
)
COUNTRY_CODES: tuple[str, ...] = tuple(c.code for c in COUNTRIES)

# Units of each currency per euro at the start of the history; the daily walk starts here.
BASE_RATES: dict[str, float] = {
    "EUR": 1.0,
    "GBP": 0.86,
    "USD": 1.08,
    "SEK": 11.4,
    "PLN": 4.35,
    "CHF": 0.95,
    "AED": 3.97,
    "ILS": 4.02,
    "CNY": 7.8,
    "MYR": 5.02,
    "IDR": 17150.0,
}
CURRENCIES: tuple[str, ...] = tuple(BASE_RATES)

PRODUCT_LINES: tuple[str, ...] = (
    "coffee",
    "machines",
    "accessories",
    "service",
    "kitchen",
    "apparel",
)
# (product line, base list price EUR, item names)
_PRODUCTS: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    (
        "coffee",
        12.0,
        (
            "Espresso Beans 1kg",
            "Filter Blend 500g",
            "Decaf Roast",
            "Single Origin",
            "Cold Brew Pack",
            "Capsules 50",
        ),
    ),
    (
        "machines",
        480.0,
        ("Espresso Machine", "Grinder Pro", "Filter Brewer", "Office Machine", "Portable Maker"),
    ),
    ("accessories", 25.0, ("Milk Jug", "Tamper", "Cups Set", "Descaler", "Scale", "Knock Box")),
    (
        "service",
        90.0,
        ("Maintenance Visit", "Repair Flat Rate", "Barista Course", "Extended Warranty"),
    ),
    ("kitchen", 45.0, ("Kettle", "Cake Stand", "Storage Jar", "Water Filter", "Syrup Set")),
    ("apparel", 30.0, ("Apron", "T-Shirt", "Cap", "Hoodie")),
)


def products(rng: np.random.Generator) -> pa.Table:
    """The catalogue: every SKU with its product line, list price (EUR) and unit cost."""
    rows: dict[str, list] = {
        k: []
        for k in ("sku", "product_name", "product_line", "unit_cost", "cost_currency", "list_price")
    }
    for line_index, (line, base, names) in enumerate(_PRODUCTS):
        for item_index, name in enumerate(names):
            price = round(base * float(rng.uniform(0.6, 1.6)), 2)
            rows["sku"].append(f"SKU-{line_index + 1}{item_index + 1:03d}")
            rows["product_name"].append(name)
            rows["product_line"].append(line)
            rows["list_price"].append(price)
            rows["unit_cost"].append(round(price * float(rng.uniform(0.35, 0.7)), 2))
            rows["cost_currency"].append("EUR")
    return pa.table(rows)


def fx_rates(rng: np.random.Generator, days: np.ndarray) -> dict[str, np.ndarray]:
    """Units per euro for every currency and every day: a small daily random walk, 6 decimals."""
    rates: dict[str, np.ndarray] = {}
    for currency, base in BASE_RATES.items():
        if currency == "EUR":
            rates[currency] = np.ones(len(days))
            continue
        walk = np.cumsum(rng.normal(0.0, 0.004, len(days)))
        rates[currency] = np.round(base * np.exp(walk), 6)
    return rates


def plans() -> pa.Table:
    """Subscription plans: three tiers of two product lines, priced in five currencies."""
    per_eur = {"EUR": 1.0, "GBP": 0.86, "USD": 1.1, "CHF": 0.95, "SEK": 11.0}
    rows: dict[str, list] = {
        k: []
        for k in ("plan_id", "plan_name", "product_line", "tier_rank", "monthly_price", "currency")
    }
    for line, label, prices in (
        ("coffee", "Coffee Club", (19.0, 29.0, 49.0)),
        ("service", "Care Plan", (9.0, 19.0, 39.0)),
    ):
        for tier, (tier_name, price) in enumerate(
            zip(("Basic", "Plus", "Max"), prices, strict=True), start=1
        ):
            for currency, factor in per_eur.items():
                rows["plan_id"].append(f"PL-{line[:3].upper()}-{tier}-{currency}")
                rows["plan_name"].append(f"{label} {tier_name}")
                rows["product_line"].append(line)
                rows["tier_rank"].append(tier)
                rows["monthly_price"].append(round(price * factor, 0) - 0.01)
                rows["currency"].append(currency)
    return pa.table(rows)


PLAN_CURRENCIES: tuple[str, ...] = ("EUR", "GBP", "USD", "CHF", "SEK")


def stores() -> pa.Table:
    """Physical stores: one per city of the countries with retail presence."""
    rows: dict[str, list] = {
        k: [] for k in ("store_id", "store_name", "city", "country", "currency", "timezone")
    }
    number = 0
    for country in COUNTRIES:
        if country.code in ("US", "CN"):  # no shops there: online only
            continue
        for city, _, _ in country.cities:
            number += 1
            rows["store_id"].append(f"S-{number:03d}")
            rows["store_name"].append(f"Bean & Co {city}")
            rows["city"].append(city)
            rows["country"].append(country.code)
            rows["currency"].append(country.currency)
            rows["timezone"].append(country.zone)
    return pa.table(rows)
