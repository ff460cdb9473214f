"""Hashing for the audit chain: SM3 (GB/T 32905) by default, SHA-256 selectable."""

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


def canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def event_payload(values: dict) -> dict:
    payload = {name: values[name] for name in HASHED_FIELDS}
    payload["at"] = values["at"].astimezone(dt.timezone.utc).isoformat()
    return payload


def event_hash(values: dict) -> str:
    return digest(values["algorithm"], canonical(event_payload(values)))
