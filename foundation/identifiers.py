"""Identifier checks (P1, SYS Art. 16): USCC (GB 32100) and citizen ID (GB 11643).

python-stdnum does the arithmetic; this module turns its exceptions into reasons a data officer
can act on, and makes valid identifiers for the demo city.
"""

from __future__ import annotations

import datetime as dt
import random
import re

from stdnum import exceptions as stdnum_exc
from stdnum.cn import ric, uscc

_REASONS = {
    stdnum_exc.InvalidLength: "wrong length",
    stdnum_exc.InvalidFormat: "wrong format",
    stdnum_exc.InvalidChecksum: "check character does not match",
    stdnum_exc.InvalidComponent: "invalid component",
}

_REASONS_ZH = {
    "wrong length": "长度不正确",
    "wrong format": "格式不正确",
    "check character does not match": "校验位不正确",
    "invalid component": "组成部分无效",
    "invalid date of birth": "出生日期无效",
    "date of birth in the future": "出生日期晚于今天",
}


# What the identifiers look like, right or wrong: 17 digits and a check character; 18 characters of the
# USCC alphabet (GB 32100-2015, no I O S V Z). A column of such values holds the identifier, and its check
# digits are then a quality rule, not a reason to doubt that it does.
SHAPES = {
    "citizen_id": re.compile(r"^\d{17}[\dXx]$"),
    "uscc": re.compile(r"^[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{2}\d{6}[0-9A-HJ-NPQRTUWXYa-hj-npqrtuwxy]{10}$"),
}


def _reason(exc: Exception) -> str:
    for cls, text in _REASONS.items():
        if isinstance(exc, cls):
            return text
    return "invalid"


def uscc_problem(value: str) -> str | None:
    """None when ``value`` is a valid Unified Social Credit Code, else the reason (English)."""
    try:
        uscc.validate(value)
    except stdnum_exc.ValidationError as exc:
        return _reason(exc)
    return None


def citizen_id_problem(value: str, *, today: dt.date | None = None) -> str | None:
    """None when ``value`` is a valid 18-digit citizen ID (check digit incl. ``X``, real birth date)."""
    compact = ric.compact(value or "")
    if len(compact) != 18:
        return "wrong length"
    if not (compact[:17].isdigit() and (compact[17].isdigit() or compact[17] == "X")):
        return "wrong format"
    try:
        birth = dt.date(int(compact[6:10]), int(compact[10:12]), int(compact[12:14]))
    except ValueError:
        return "invalid date of birth"
    if birth > (today or dt.date.today()):
        return "date of birth in the future"
    if ric.calc_check_digit(compact) != compact[17]:
        return "check character does not match"
    return None


def zh(reason: str) -> str:
    return _REASONS_ZH.get(reason, reason)


def normalise_uscc(value: str) -> str:
    return uscc.compact(value or "")


def normalise_citizen_id(value: str) -> str:
    return ric.compact(value or "")


# --- making valid identifiers (demo city, tests) -------------------------------------------

_ORG_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_code_check(body: str) -> str:
    # GB 11714: the organisation code embedded in a USCC carries its own check character.
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in body]
    check = 11 - sum(v * w for v, w in zip(values, _ORG_CODE_WEIGHTS)) % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def make_uscc(division: str, serial: int, *, authority: str = "11") -> str:
    """A valid USCC: registration authority + kind, 6-digit division, organisation code, check."""
    body = f"{serial:08d}"[-8:]
    org_code = body + _org_code_check(body)
    partial = f"{authority}{division}{org_code}"
    return partial + uscc.calc_check_digit(partial)


def make_citizen_id(division: str, birth: dt.date, serial: int) -> str:
    partial = f"{division}{birth:%Y%m%d}{serial % 1000:03d}"
    return partial + ric.calc_check_digit(partial + "0")  # stdnum takes the number with a check slot


def random_citizen_id(rng: random.Random, division: str, *, min_year: int = 1940, max_year: int = 2020) -> str:
    start = dt.date(min_year, 1, 1).toordinal()
    end = dt.date(max_year, 12, 31).toordinal()
    return make_citizen_id(division, dt.date.fromordinal(rng.randint(start, end)), rng.randint(1, 999))
