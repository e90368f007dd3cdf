"""Engine-specific text macros (dbt_project/macros/text.sql) that must agree across engines."""

from __future__ import annotations

import re
import unicodedata

import duckdb
from test_dbt_build import PROJECT_DIR

TEXT_MACROS = PROJECT_DIR / "dbt_project" / "macros" / "text.sql"


def spark_accent_table() -> tuple[str, str]:
    source = TEXT_MACROS.read_text(encoding="utf-8")
    accented = re.search(r"set accented = '([^']*)'", source).group(1)
    plain = re.search(r"set plain = '([^']*)'", source).group(1)
    return accented, plain


def test_spark_accent_table_maps_each_letter_as_duckdb_strip_accents_does() -> None:
    accented, plain = spark_accent_table()
    assert len(accented) == len(plain) == len(set(accented))
    connection = duckdb.connect()
    stripped = connection.execute("select strip_accents(?)", [accented]).fetchall()[0][0]
    assert stripped == plain
    # every other character DuckDB changes it removes, and it is a combining mark, which the
    # Spark macro removes (\p{M}); a character it maps to another one is in the table
    characters = [chr(c) for c in range(0x20, 0x10000) if not 0xD800 <= c <= 0xDFFF]
    connection.execute("create table characters (c varchar)")
    connection.executemany("insert into characters values (?)", [[c] for c in characters])
    changed = connection.sql(
        "select c, strip_accents(c) from characters where strip_accents(c) <> c"
    ).fetchall()
    for character, result in changed:
        name = f"U+{ord(character):04X}"
        if len(result) == 1:
            assert character in accented, f"{name} missing"
        elif unicodedata.category(character) != "Cn":  # unassigned in Python's Unicode
            assert result == "" and unicodedata.category(character).startswith("M"), name
