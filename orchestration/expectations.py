"""Great Expectations suites per source entity: `expectations/<system>.<entity>.json`.

`suite_from_contract` derives a starting suite (GX 1.x ExpectationSuite JSON) from an entity's
contract; `python -m orchestration.expectations` writes the suites that are missing and never
overwrites one that exists (suites are tuned by hand after generation). `load_suite` reads the
suite the gate runs, falling back to the contract-derived one when no file exists yet.

Conventions the gate (`orchestration/gate.py`) understands, all plain GX 1.x JSON:
- `{"$PARAMETER": "latest_date"}` / `latest_timestamp` / `min_row_count`: filled per batch
  (load date + 1 day; the row-count floor from the previous load and `gate.min_row_ratio`);
- `meta.normalize: "upper_trim"`: the column is compared upper-cased and trimmed (countries);
- `meta.level: "batch"`: a failure rejects the whole file (schema, types, row count);
- a column `<amount>__in_eur` named in the suite's `meta.derived_columns`: the amount divided by
  an approximate rate of its currency (ISO 4217 units per EUR, `APPROX_UNITS_PER_EUR`), so that one
  ceiling holds for EUR and IDR alike. Quarantine rows name the amount column.

This module imports no Great Expectations (its import costs seconds): suites are JSON documents.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from orchestration.contracts import Column, Entity, SystemContract, load_contracts

SUITES_DIR = Path(__file__).resolve().parent.parent / "expectations"
GX_VERSION = "1.24.1"

# Active ISO 4217 currency codes (2026). Not included on purpose: XXX (no currency), XTS (testing),
# precious metals (XAU, XAG, XPD, XPT), bond-market and fund units (XBA-XBD, XDR, XSU, XUA) and
# withdrawn codes (HRK, SLL, ZWL, ANG, CUC, VEF, ...).
ISO_4217: tuple[str, ...] = tuple(
    """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN
    BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR
    FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
    KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU
    MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON
    RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP
    TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER
    ZAR ZMW ZWG
    """.split()  # noqa: SIM905
)

# ISO 3166-1 alpha-2 country codes (officially assigned).
ISO_3166_ALPHA2: tuple[str, ...] = tuple(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
    BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
    EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
    GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
    KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
    MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
    QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
    TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
    ZW
    """.split()  # noqa: SIM905
)

# Rough units of each currency per euro (order of magnitude is what matters): turns one ceiling
# in EUR into a ceiling per currency. A currency not listed gets no ceiling (its sign is checked).
APPROX_UNITS_PER_EUR: dict[str, float] = {
    "EUR": 1, "USD": 1.1, "GBP": 0.86, "CHF": 0.95, "SEK": 11.4, "NOK": 11.7, "DKK": 7.46,
    "PLN": 4.3, "CZK": 25, "HUF": 400, "RON": 5, "BGN": 1.96, "ISK": 150, "TRY": 38,
    "RSD": 117, "UAH": 45, "AED": 4, "SAR": 4.1, "QAR": 4, "ILS": 4, "EGP": 53, "CNY": 7.8,
    "HKD": 8.5, "TWD": 35, "JPY": 165, "KRW": 1500, "SGD": 1.45, "MYR": 5, "THB": 38,
    "IDR": 17500, "PHP": 63, "VND": 28000, "INR": 93, "PKR": 305, "AUD": 1.65, "NZD": 1.8,
    "CAD": 1.5, "MXN": 21, "BRL": 6.2, "ARS": 1300, "CLP": 1050, "COP": 4500, "PEN": 4.1,
    "ZAR": 20, "NGN": 1700, "KES": 140, "MAD": 10.7, "KZT": 560,
}  # fmt: skip
DERIVED_SUFFIX = "__in_eur"

# Hand-tuning defaults for a generated suite (edit the JSON, not these, for one entity).
UNIT_PRICE_CEILING_EUR = 2_000  # one unit; the catalogue tops out under 1 000 EUR
AMOUNT_CEILING_EUR = 100_000  # any other amount tagged `amount`
QUANTITY_LIMIT = 1_000
EARLIEST = "1900-01-01"
EMAIL_REGEX = r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$"
PHONE_REGEX = r"^[0-9+()./\s-]*$"
_UNIT_PRICES = ("unit_price", "unit_cost", "list_price", "monthly_price")


def suite_path(system: str, entity: str, directory: Path | None = None) -> Path:
    return (directory or SUITES_DIR) / f"{system}.{entity}.json"


def suite_from_contract(contract: SystemContract, entity: Entity) -> dict:
    """A starting suite for one entity, as a GX 1.x ExpectationSuite JSON document."""
    expectations: list[dict] = []
    derived: dict[str, dict[str, str]] = {}

    def add(kind: str, meta: dict | None = None, **kwargs: object) -> None:
        expectations.append({"type": kind, "kwargs": kwargs, "meta": meta or {}})

    batch = {"level": "batch"}
    for column in entity.columns:
        add("expect_column_to_exist", batch, column=column.name)
    for column in entity.columns:
        add("expect_column_values_to_be_of_type", batch, column=column.name, type_=_type(column))
    for column in entity.columns:
        if not column.nullable or column.name in entity.primary_key:
            add("expect_column_values_to_not_be_null", column=column.name)
    if len(entity.primary_key) == 1:
        add("expect_column_values_to_be_unique", column=entity.primary_key[0])
    else:
        add("expect_compound_columns_to_be_unique", column_list=list(entity.primary_key))
    for column in entity.columns:
        if column.accepted_values is not None:
            add("expect_column_values_to_be_in_set", column=column.name,
                value_set=list(column.accepted_values))  # fmt: skip
        if "currency" in column.tags:
            add("expect_column_values_to_be_in_set", {"value_set_name": "ISO 4217 (active)"},
                column=column.name, value_set=list(ISO_4217))  # fmt: skip
        if "country" in column.tags:
            add("expect_column_values_to_be_in_set",
                {"normalize": "upper_trim", "value_set_name": "ISO 3166-1 alpha-2"},
                column=column.name, value_set=list(ISO_3166_ALPHA2))  # fmt: skip
        if "email" in column.tags:
            add("expect_column_values_to_match_regex", column=column.name, regex=EMAIL_REGEX)
        if "phone" in column.tags:
            add("expect_column_values_to_match_regex", column=column.name, regex=PHONE_REGEX)
        if "amount" in column.tags:
            add("expect_column_values_to_be_between", column=column.name, min_value=0)
            currency = _currency_of(entity, column)
            if currency is not None:
                name = column.name + DERIVED_SUFFIX
                derived[name] = {"amount": column.name, "currency": currency}
                ceiling = (
                    UNIT_PRICE_CEILING_EUR if column.name in _UNIT_PRICES else AMOUNT_CEILING_EUR
                )
                add("expect_column_values_to_be_between",
                    {"reports_column": column.name, "unit": "EUR (approximate)"},
                    column=name, max_value=ceiling)  # fmt: skip
        if column.name == "quantity" and column.type == "integer":
            add("expect_column_values_to_be_between", column=column.name,
                min_value=-QUANTITY_LIMIT, max_value=QUANTITY_LIMIT)  # fmt: skip
        if column.type in ("date", "timestamp"):
            latest = "latest_date" if column.type == "date" else "latest_timestamp"
            add("expect_column_values_to_be_between", column=column.name,
                min_value=EARLIEST, max_value={"$PARAMETER": latest})  # fmt: skip
    if entity.gate.min_row_ratio is not None:
        add("expect_table_row_count_to_be_between", {**batch, "ratio": entity.gate.min_row_ratio},
            min_value={"$PARAMETER": "min_row_count"})  # fmt: skip
    return {
        "name": f"{contract.system}.{entity.name}",
        "expectations": expectations,
        "meta": {
            "great_expectations_version": GX_VERSION,
            "generated_from": f"sources/{contract.system}.yml",
            "derived_columns": derived,
        },
        "notes": f"Gate for {contract.system}.{entity.name}; generated from the contract, "
        "then tuned by hand (see orchestration/expectations.py for the conventions).",
    }


def _type(column: Column) -> str:
    from orchestration.conform import arrow_type

    return str(arrow_type(column))


def _currency_of(entity: Entity, column: Column) -> str | None:
    names = {c.name for c in entity.tagged("currency")}
    for candidate in (f"{column.name}_currency", "currency"):
        if candidate in names:
            return candidate
    return next(iter(names)) if len(names) == 1 else None


def load_suite(contract: SystemContract, entity: Entity, directory: Path | None = None) -> dict:
    """The entity's suite: its JSON file, or the contract-derived suite when none exists."""
    path = suite_path(contract.system, entity.name, directory)
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return suite_from_contract(contract, entity)


def write_missing_suites(
    contracts: Sequence[SystemContract] | None = None, directory: Path | None = None
) -> list[Path]:
    """Write a generated suite for every entity without one; never touch an existing suite."""
    written = []
    for contract in contracts if contracts is not None else load_contracts():
        for entity in contract.entities:
            path = suite_path(contract.system, entity.name, directory)
            if path.exists():
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            document = suite_from_contract(contract, entity)
            path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
            written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None, help="suites folder (expectations/)")
    args = parser.parse_args(argv)
    written = write_missing_suites(directory=args.dir)
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} suite(s) written; existing suites were left as they are")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
