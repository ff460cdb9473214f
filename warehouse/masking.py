"""Masking on output (G1): each item's grade in force says how (none, partial, generalise, hash with
salt, drop); for a partial mask the item's sensitivity type says which characters stay visible.

Each mask is written twice, side by side: as a DuckDB SQL expression (masking happens inside the engine
before any row leaves it) and as a Python function for the rows a key lookup has already found, which
need no engine round trip. ``tests/test_masking.py`` proves the two agree on random and real values."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from grading.scheme import sensitivity_types

_COUNTY = re.compile(r"^(.*?(区|县|旗))")
_CITY = re.compile(r"^(.*?市)")


def _keep(sensitivity: str) -> tuple[int, int]:
    """Characters a partial mask keeps at the start and the end: the rulebook's, per sensitivity type."""
    found = sensitivity_types().get(sensitivity)
    return found.keep if found else (1, 1)


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
        path.write_text(hashlib.sha256(os.urandom(32)).hexdigest())
        path.chmod(0o600)
    return path.read_text().strip()


def method_for(grade_masking: str, sensitivity: str) -> str:
    if grade_masking == "partial":
        found = sensitivity_types().get(sensitivity)
        return found.mask if found and found.mask != "none" else "partial"
    return grade_masking or "none"


def as_text(value) -> str:
    """What DuckDB's CAST(value AS VARCHAR) gives for the values a snapshot holds."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


@dataclass(frozen=True)
class Mask:
    method: str  # none | drop | hash | generalise | partial
    sensitivity: str = ""
    data_type: str = "string"

    @property
    def drops(self) -> bool:
        return self.method == "drop"

    def sql(self, column: str) -> str:
        """The SQL that shows ``column`` masked (not for a dropped column)."""
        c, text = _q(column), f"CAST({_q(column)} AS VARCHAR)"
        if self.method == "none":
            return c
        if self.method == "hash":
            return f"sha256({_lit(salt())} || {text})"
        if self.method == "generalise":
            if self.data_type in ("date", "datetime"):
                return f"strftime(CAST({c} AS DATE), '%Y')"
            if self.sensitivity == "email":
                return f"regexp_replace({text}, '^[^@]*', '***')"
            # an address keeps its district or county (or else its city) and nothing finer
            return (f"coalesce(nullif(regexp_extract({text}, '{_COUNTY.pattern}', 1), ''), "
                    f"nullif(regexp_extract({text}, '{_CITY.pattern}', 1), ''), CASE WHEN {c} IS NULL THEN NULL ELSE '***' END)")
        if self.sensitivity == "email":
            return f"regexp_replace({text}, '^(.)[^@]*', '\\1***')"
        head, tail = _keep(self.sensitivity)
        return (
            f"CASE WHEN {c} IS NULL THEN NULL WHEN length({text}) <= {head + tail} THEN repeat('*', length({text})) "
            f"ELSE left({text}, {head}) || repeat('*', length({text}) - {head + tail}) || "
            f"{'right(' + text + ', ' + str(tail) + ')' if tail else chr(39) + chr(39)} END"
        )

    def apply(self, value):
        """The same mask on one value in Python."""
        if value is None or self.method == "none":
            return value
        text = as_text(value)
        if self.method == "hash":
            return hashlib.sha256((salt() + text).encode()).hexdigest()
        if self.method == "generalise":
            if self.data_type in ("date", "datetime"):
                return text[:4] if isinstance(value, str) else f"{value.year:04d}"
            if self.sensitivity == "email":
                return re.sub(r"^[^@]*", "***", text, count=1)
            found = _COUNTY.match(text) or _CITY.match(text)
            return found.group(1) if found else "***"
        if self.sensitivity == "email":
            return re.sub(r"^(.)[^@]*", r"\1***", text, count=1)
        head, tail = _keep(self.sensitivity)
        if len(text) <= head + tail:
            return "*" * len(text)
        return text[:head] + "*" * (len(text) - head - tail) + (text[len(text) - tail:] if tail else "")


NONE = Mask("none")


def mask_for(grade_masking: str | None, sensitivity: str, data_type: str) -> Mask:
    if grade_masking is None:
        return NONE
    return Mask(method_for(grade_masking, sensitivity), sensitivity, data_type)
