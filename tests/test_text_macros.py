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
    stripped = duckdb.connect().execute("select strip_accents(?)", [accented]).fetchall()[0][0]
    assert stripped == plain
    # every letter that decomposes to one base letter in these blocks is in the table
    for code_point in [*range(0xC0, 0x250), *range(0x370, 0x530), *range(0x1E00, 0x2000)]:
        letter = unicodedata.normalize("NFD", chr(code_point))
        base = "".join(c for c in letter if not unicodedata.combining(c))
        if len(base) == 1 and base != chr(code_point):
            assert chr(code_point) in accented, f"U+{code_point:04X} missing"
