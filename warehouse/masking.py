"""Masking on output (G1): each item's grade in force says how (none, partial, generalise, hash with
salt, drop); for a partial mask the item's sensitivity type says which characters stay visible.
Everything is a DuckDB SQL expression, so masking happens inside the engine before any row leaves."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from grading.scheme import sensitivity_types

# sensitivity type -> (characters kept at the start, characters kept at the end)
PARTIAL_KEEP = {
    "citizen_id": (6, 4), "bank_card": (6, 4), "mobile": (3, 4), "plate": (2, 1), "uscc": (8, 2), "name": (1, 0),
}


def _q(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@lru_cache(maxsize=1)
def salt() -> str:
    """A per-installation secret, kept with the keys, so hashed values cannot be reversed by a dictionary."""
    path = Path(settings.GONGSHU_KEY_DIR) / "masking-salt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(hashlib.sha256(__import__("os").urandom(32)).hexdigest())
        path.chmod(0o600)
    return path.read_text().strip()


def method_for(grade_masking: str, sensitivity: str) -> str:
    if grade_masking == "partial":
        found = sensitivity_types().get(sensitivity)
        return found.mask if found and found.mask != "none" else "partial"
    return grade_masking or "none"


def expression(column: str, *, method: str, sensitivity: str = "", data_type: str = "string") -> str | None:
    """The SQL that shows ``column`` masked; None when the column must not be output at all."""
    c = _q(column)
    if method == "none":
        return c
    if method == "drop":
        return None
    if method == "hash":
        return f"sha256({_lit(salt())} || CAST({c} AS VARCHAR))"
    if method == "generalise":
        if data_type in ("date", "datetime"):
            return f"strftime(CAST({c} AS DATE), '%Y')"
        if sensitivity == "email":
            return f"regexp_replace(CAST({c} AS VARCHAR), '^[^@]*', '***')"
        # an address keeps its district or county (or else its city) and nothing finer
        text = f"CAST({c} AS VARCHAR)"
        return (f"coalesce(nullif(regexp_extract({text}, '^(.*?(区|县|旗))', 1), ''), "
                f"nullif(regexp_extract({text}, '^(.*?市)', 1), ''), CASE WHEN {c} IS NULL THEN NULL ELSE '***' END)")
    head, tail = PARTIAL_KEEP.get(sensitivity, (1, 1))
    text = f"CAST({c} AS VARCHAR)"
    if sensitivity == "email":
        return f"regexp_replace({text}, '^(.)[^@]*', '\\1***')"
    return (
        f"CASE WHEN {c} IS NULL THEN NULL WHEN length({text}) <= {head + tail} THEN repeat('*', length({text})) "
        f"ELSE left({text}, {head}) || repeat('*', length({text}) - {head + tail}) || "
        f"{'right(' + text + ', ' + str(tail) + ')' if tail else chr(39) + chr(39)} END"
    )
