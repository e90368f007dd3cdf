"""How each system mangles a true customer's identity: the noise identity resolution must undo.

Every function takes the rows of one system (index arrays into the people) and a Generator, and
returns the values that system stores. Most noise is vectorised (choosing among renderings with
masks); typos are per-row Python on the small share of rows that get one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from simulator import names as nm
from simulator.frames import arrow_text, few_objects, ljust, partition, replace
from simulator.people import People
from simulator.reference import COUNTRIES


@dataclass(frozen=True)
class NameStyle:
    """How a system's users type names."""

    nickname: float = 0.0
    variant: float = 0.0  # alternative transliteration
    native: float = 0.0  # native script for Arabic / Hebrew / Chinese names
    swap: float = 0.0  # first and last name in each other's field
    typo: float = 0.0
    upper: float = 0.0


def given_and_family(
    people: People,
    rows: np.ndarray,
    style: NameStyle,
    rng: np.random.Generator,
    as_of_day: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """First and last name as a system stores them; records made before a marriage keep the old
    family name."""
    n = len(rows)
    gidx = people["given_idx"][rows]
    given = people["given_name"][rows].copy()
    family = people["family_name"][rows].copy()
    nick = nm.GIVEN_NAMES.nickname[gidx]
    use = (nick != "") & (rng.random(n) < style.nickname)
    given[use] = nick[use]
    variant = nm.GIVEN_NAMES.variant[gidx]
    use = (variant != "") & (rng.random(n) < style.variant)
    given[use] = variant[use]
    fidx = people["family_idx"][rows]
    fvariant = np.where(fidx >= 0, nm.FAMILY_NAMES.variant[np.maximum(fidx, 0)], "")
    use = (fvariant != "") & (rng.random(n) < style.variant) & (people["culture"][rows] != "ms")
    family[use] = fvariant[use]
    married = people["marriage_day"][rows]
    before = (married >= 0) & (as_of_day < married)
    family[before] = people["old_family_name"][rows][before]
    native = np.isin(people["culture"][rows], list(nm.NON_LATIN)) & (rng.random(n) < style.native)
    given[native] = people["given_native"][rows][native]
    family[native] = people["family_native"][rows][native]
    swap = rng.random(n) < style.swap
    given[swap], family[swap] = family[swap], given[swap].copy()
    given = typos(given, style.typo, rng)
    family = typos(family, style.typo / 2, rng)
    upper = rng.random(n) < style.upper
    family[upper] = np.char.upper(family[upper].astype(str)).astype(object)
    family = np.where(family == "", None, family)
    return given, family


def full_name(
    people: People,
    rows: np.ndarray,
    style: NameStyle,
    rng: np.random.Generator,
    as_of_day: np.ndarray,
) -> np.ndarray:
    """One-field name: 'given family'; Chinese family-first ('Wang Wei', '王伟'); some systems
    store 'Family, Given'."""
    given, family = given_and_family(people, rows, style, rng, as_of_day)
    fam = np.where(family == None, "", family).astype(str)  # noqa: E711 (numpy elementwise)
    giv = given.astype(str)
    chinese = people["culture"][rows] == "zh"
    native_zh = chinese & (given == people["given_native"][rows])
    western = np.char.strip(np.char.add(np.char.add(giv, " "), fam))
    eastern = np.char.strip(np.char.add(np.char.add(fam, " "), giv))
    hanzi = np.char.add(fam, giv)
    comma = (rng.random(len(rows)) < 0.05) & (fam != "")
    inverted = np.char.add(np.char.add(fam, ", "), giv)
    out = np.where(
        native_zh,
        hanzi,
        np.where(
            chinese & (rng.random(len(rows)) < 0.7), eastern, np.where(comma, inverted, western)
        ),
    )
    return out.astype(object)


_KEYBOARD_NEIGHBOURS = {
    "a": "s",
    "e": "r",
    "i": "o",
    "n": "m",
    "r": "t",
    "s": "a",
    "t": "z",
    "o": "i",
    "l": "k",
    "m": "n",
    "h": "j",
    "u": "z",
    "c": "v",
    "d": "f",
}


def typo(text: str, r: float) -> str:
    """One realistic slip: a swapped, dropped, doubled or neighbouring character."""
    if len(text) < 4:
        return text
    pos = 1 + int(r * 1000) % (len(text) - 2)
    kind = int(r * 7919) % 4
    if kind == 0:
        return text[:pos] + text[pos + 1] + text[pos] + text[pos + 2 :]
    if kind == 1:
        return text[:pos] + text[pos + 1 :]
    if kind == 2:
        return text[:pos] + text[pos] + text[pos:]
    return text[:pos] + _KEYBOARD_NEIGHBOURS.get(text[pos], text[pos]) + text[pos + 1 :]


def typos(values: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    draws = rng.random(len(values))
    hit = np.flatnonzero(draws < share)
    out = values.copy()
    for i in hit:
        if isinstance(out[i], str):
            out[i] = typo(out[i], float(draws[i] / share))
    return out


def email_variants(
    emails: np.ndarray,
    rng: np.random.Generator,
    case: float,
    dots: float,
) -> np.ndarray:
    """Case changes, and gmail's ignored dots (john.smith@ = johnsmith@ = j.ohnsmith@)."""
    n = len(emails)
    draws = (rng.random(n), rng.random(n), rng.random(n))
    arrow = arrow_text(emails) if emails.dtype == object else None
    if (
        arrow is not None
        and arrow.null_count == 0
        and pc.all(pc.string_is_ascii(arrow)).as_py() is not False
    ):
        return _ascii_email_variants(arrow, draws, case, dots)
    return _email_variants(emails.astype(str), draws, case, dots)


def _ascii_email_variants(
    text: pa.Array, draws: tuple[np.ndarray, ...], case: float, dots: float
) -> np.ndarray:
    """email_variants on Arrow strings (ASCII only: the same as the numpy rendering below)."""
    split = pc.split_pattern(text, "@", max_splits=1)
    if pc.min(pc.list_value_length(split)).as_py() == 2:
        local, domain = pc.list_element(split, 0), pc.list_element(split, 1)
    else:  # some text without '@'
        parts = pc.extract_regex(text, r"(?s)(?P<local>[^@]*)(?P<at>@?)(?P<domain>.*)")
        local, domain = pc.struct_field(parts, "local"), pc.struct_field(parts, "domain")
    gmail = pc.equal(domain, "gmail.com").to_numpy(zero_copy_only=False)
    dotted = pc.find_substring(local, ".").to_numpy(zero_copy_only=False) > 0
    drop = gmail & (draws[0] < dots) & dotted
    local = pc.if_else(pa.array(drop), pc.replace_substring(local, ".", ""), local)
    long = pc.utf8_length(local).to_numpy(zero_copy_only=False) > 3
    add = gmail & ~drop & (draws[1] < dots / 2) & long
    split = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(local, 0, 2), pc.utf8_slice_codeunits(local, 2), "."
    )
    local = pc.if_else(pa.array(add), split, local)
    out = pc.binary_join_element_wise(local, domain, "@")
    capital = pc.binary_join_element_wise(pc.utf8_capitalize(local), domain, "@")
    draw = draws[2]
    out = pc.if_else(
        pa.array(draw < case / 2),
        pc.utf8_upper(out),
        pc.if_else(pa.array(draw < case), capital, out),
    )
    return out.to_numpy(zero_copy_only=False).astype(object)


def _email_variants(
    text: np.ndarray, draws: tuple[np.ndarray, ...], case: float, dots: float
) -> np.ndarray:
    local, _, domain = (partition(text, "@")[:, i] for i in range(3))
    gmail = domain == "gmail.com"
    drop = gmail & (draws[0] < dots) & (np.char.find(local, ".") > 0)
    local = np.where(drop, replace(local, ".", ""), local)
    add = gmail & ~drop & (draws[1] < dots / 2) & (np.char.str_len(local) > 3)
    local = np.where(
        add, np.char.add(np.char.add(ljust(local, 2).astype("U2"), "."), _tail(local, 2)), local
    )
    out = np.char.add(np.char.add(local, "@"), domain)
    draw = draws[2]
    out = np.where(
        draw < case / 2,
        np.char.upper(out),
        np.where(
            draw < case,
            np.char.add(np.char.capitalize(partition(out, "@")[:, 0]), np.char.add("@", domain)),
            out,
        ),
    )
    return out.astype(object)


def _tail(values: np.ndarray, start: int) -> np.ndarray:
    return np.array([v[start:] for v in values.tolist()], dtype=object).astype(str)


_COUNTRY = {c.code: c for c in COUNTRIES}


def phones(people: People, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """+49 30 1234567, 030-1234567, 0049301234567, +49301234567, (030) 1234567."""
    n = len(rows)
    countries = people["country"][rows]
    fast = _arrow_phones(countries, people["area_code"][rows], people["subscriber_no"][rows])
    if fast is not None:
        return _pick(fast, rng, n)
    dial = np.array([_COUNTRY[c].dial for c in countries.tolist()], dtype=object).astype(str)
    trunk = np.array([_COUNTRY[c].trunk for c in countries.tolist()], dtype=object).astype(str)
    area = people["area_code"][rows].astype(str)
    sub = people["subscriber_no"][rows].astype(str)
    national = np.char.add(trunk, area)
    formats = [
        np.char.add(
            np.char.add(np.char.add(np.char.add("+", dial), " "), np.char.add(area, " ")), sub
        ),
        np.char.add(np.char.add(national, "-"), sub),
        np.char.add(np.char.add(np.char.add("00", dial), area), sub),
        np.char.add(np.char.add(np.char.add("+", dial), area), sub),
        np.char.add(np.char.add(np.char.add("(", national), ") "), sub),
    ]
    pick = rng.integers(0, len(formats), n)
    return np.choose(pick, formats).astype(object)


def _arrow_phones(
    countries: np.ndarray,
    area: np.ndarray,
    sub: np.ndarray,
) -> list[pa.Array] | None:
    """The five renderings of `phones` in Arrow (None where a value is missing: numpy path)."""
    if not len(countries):
        return None
    encoded = pc.dictionary_encode(arrow_text(countries))
    if encoded.indices.null_count:
        return None
    codes = encoded.dictionary.to_pylist()
    dial = pa.array([str(_COUNTRY[c].dial) for c in codes], pa.string()).take(encoded.indices)
    trunk = pa.array([str(_COUNTRY[c].trunk) for c in codes], pa.string()).take(encoded.indices)
    if not all(isinstance(v, str) for v in (*area.tolist(), *sub.tolist())):
        return None
    area_text, sub_text = arrow_text(area), arrow_text(sub)

    def join(*parts: pa.Array | str) -> pa.Array:
        return pc.binary_join_element_wise(*parts, "")

    national = join(trunk, area_text)
    return [
        join("+", dial, " ", area_text, " ", sub_text),
        join(national, "-", sub_text),
        join("00", dial, area_text, sub_text),
        join("+", dial, area_text, sub_text),
        join("(", national, ") ", sub_text),
    ]


def _pick(formats: list[pa.Array], rng: np.random.Generator, n: int) -> np.ndarray:
    pick = rng.integers(0, len(formats), n)
    return pc.choose(pa.array(pick), *formats).to_numpy(zero_copy_only=False)


def streets(
    people: People,
    rows: np.ndarray,
    rng: np.random.Generator,
    abbreviate: float,
    as_of_day: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Street and postcode as known at `as_of_day` (before a move: the old address), with
    'Straße' -> 'Str.' style abbreviations in sloppy systems."""
    street = people["street"][rows].copy()
    postcode = people["postcode"][rows].copy()
    moved = people["move_day"][rows]
    before = (moved >= 0) & (as_of_day < moved)
    street[before] = people["old_street"][rows][before]
    postcode[before] = people["old_postcode"][rows][before]
    short = rng.random(len(rows)) < abbreviate
    countries = people["country"][rows]
    for country in COUNTRIES:
        mask = short & (countries == country.code)
        if not mask.any():
            continue
        values = street[mask].astype(str)
        for long, abbr in country.abbreviations:
            values = replace(values, long, abbr)
        street[mask] = values.astype(object)
    return street, postcode


def country_case(codes: np.ndarray, rng: np.random.Generator, mixed: float) -> np.ndarray:
    """CRM users type country codes in any case ('de', 'De')."""
    draw = rng.random(len(codes))
    text = codes.astype(str)
    return few_objects(
        np.where(
            draw < mixed / 2,
            np.char.lower(text),
            np.where(draw < mixed, np.char.capitalize(text), text),
        )
    )
