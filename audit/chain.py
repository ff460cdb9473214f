"""Hashing for the audit chain: SM3 (GB/T 32905) by default, SHA-256 selectable.

An event's hash covers every field below in this order, each written as ``<length>:<text>`` so no
field can borrow characters from its neighbour; the summary is stored as canonical JSON text, so
verifying needs no JSON parsing, and the time is always written as UTC with microseconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from cryptography.hazmat.primitives import hashes

ALGORITHMS = ("sm3", "sha256")

HASHED_FIELDS = (
    "seq", "at", "actor_id", "actor_name", "organisation_id", "organisation_name", "channel", "action",
    "object_type", "object_id", "summary", "outcome", "request_id", "algorithm", "prev_hash",
)
_AT = HASHED_FIELDS.index("at")


def _sm3_hashlib(data: bytes) -> str:
    return hashlib.new("sm3", data).hexdigest()


def _sm3_cryptography(data: bytes) -> str:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize().hex()


# OpenSSL through hashlib when this Python's OpenSSL has SM3, else the copy inside `cryptography`.
_sm3 = _sm3_hashlib if "sm3" in hashlib.algorithms_available else _sm3_cryptography


def digest(algorithm: str, data: bytes) -> str:
    if algorithm == "sm3":
        return _sm3(data)
    if algorithm == "sha256":
        return hashlib.sha256(data).hexdigest()
    raise ValueError(f"unknown audit hash algorithm {algorithm}")


def canonical(payload) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 text (dates and other objects as strings)."""
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def at_text(value) -> str:
    """UTC, microseconds always: the same text whatever the database gives back."""
    if isinstance(value, str):  # SQLite hands back its stored text
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}Z"


def row_hash(row: tuple) -> str:
    """The hash of an event given as a tuple in HASHED_FIELDS order."""
    parts = []
    for i, value in enumerate(row):
        text = at_text(value) if i == _AT else ("" if value is None else str(value))
        parts.append(f"{len(text)}:{text}")
    return digest(row[-2], "|".join(parts).encode("utf-8"))


def event_hash(values: dict) -> str:
    return row_hash(tuple(values[name] for name in HASHED_FIELDS))
