"""Appending to, verifying and anchoring the audit chain (SEC1, SEC2).

``record`` is called by every service in the same transaction as its write; ``service`` wraps a
service function so that its writes are atomic and a refusal is itself audited after the rollback.
"""

from __future__ import annotations

import base64
import contextvars
import datetime as dt
import functools
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from core import rawdb
from core.actor import Actor, system_actor
from core.errors import GongshuError

from . import chain
from .models import GENESIS, ChainHead, Event


def _object_ref(obj) -> tuple[str, str]:
    if obj is None:
        return "", ""
    if isinstance(obj, tuple):
        return str(obj[0]), str(obj[1])
    if isinstance(obj, models.Model):
        return obj._meta.label_lower, str(obj.pk)
    return type(obj).__name__, str(obj)


_HEAD_SQL = ("SELECT seq, hash FROM audit_chainhead WHERE id = 1",
             "SELECT seq, hash FROM audit_chainhead WHERE id = 1 FOR UPDATE")
_HEAD_UPDATE_SQL = "UPDATE audit_chainhead SET seq = %s, hash = %s WHERE id = 1"
_INSERT_FIELDS = chain.HASHED_FIELDS + ("hash",)
_INSERT_AT = _INSERT_FIELDS.index("at")
_EVENT_FIELDS = tuple(f.attname for f in Event._meta.concrete_fields)
_INSERT_SQL = (
    f"INSERT INTO audit_event ({', '.join(_INSERT_FIELDS)}) "
    f"VALUES ({', '.join(['%s'] * len(_INSERT_FIELDS))})"
)


def record(
    actor: Actor,
    action: str,
    obj=None,
    *,
    before: dict | None = None,
    after: dict | None = None,
    detail: dict | None = None,
    outcome: str = Event.Outcome.OK,
) -> Event:
    """Append one event to the chain. Call inside the transaction of the write it records."""
    summary = {}
    if before is not None:
        summary["before"] = before
    if after is not None:
        summary["after"] = after
    if detail:
        summary.update(detail)
    object_type, object_id = _object_ref(obj)
    now = timezone.now()
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # milliseconds survive every export format
    values = {
        "at": now,
        "actor_id": actor.user.pk if actor.user else None,
        "actor_name": actor.label,
        "organisation_id": actor.organisation.pk if actor.organisation else None,
        "organisation_name": actor.organisation.name if actor.organisation else "",
        "channel": actor.channel,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "summary": chain.canonical(summary),
        "outcome": str(outcome),
        "request_id": actor.rid(),
        "algorithm": settings.GONGSHU_AUDIT_ALGORITHM,
    }
    # The hot path of every write: plain SQL, four statements, no savepoint inside the caller's
    # transaction. One writer at a time extends the chain: the head row is locked on PostgreSQL;
    # SQLite's IMMEDIATE transactions already hold the database's write lock.
    db = rawdb.connection()
    with rawdb.transaction(db) as cursor:
        cursor.execute(_HEAD_SQL[db.vendor == "postgresql"])
        head_seq, head_hash = cursor.fetchone()
        values["seq"], values["prev_hash"] = head_seq + 1, head_hash
        values["hash"] = chain.event_hash(values)
        params = [values[name] for name in _INSERT_FIELDS]
        params[_INSERT_AT] = db.ops.adapt_datetimefield_value(now)
        cursor.execute(rawdb.sql(_INSERT_SQL), params)
        cursor.execute(rawdb.sql(_HEAD_UPDATE_SQL), [values["seq"], values["hash"]])
    return Event.from_db(db.alias, _EVENT_FIELDS, [values[name] for name in _EVENT_FIELDS])  # positional: cheaper


def record_refusal(actor: Actor, action: str, error: GongshuError, obj=None, detail: dict | None = None) -> Event:
    return record(
        actor,
        action,
        obj,
        detail={"error": error.as_dict(), **(detail or {})},
        outcome=Event.Outcome.REFUSED,
    )


_service_depth: contextvars.ContextVar[int] = contextvars.ContextVar("gongshu_service_depth", default=0)


def service(fn):
    """Run a service in one transaction; if it refuses, roll back its writes and audit the refusal.

    The audited action name is ``<app>.<function>``.
    """
    action = f"{fn.__module__.split('.')[0]}.{fn.__name__}"

    @functools.wraps(fn)
    def wrapper(actor: Actor, *args, **kwargs):
        outermost = _service_depth.get() == 0
        token = _service_depth.set(_service_depth.get() + 1)
        try:
            with transaction.atomic():
                return fn(actor, *args, **kwargs)
        except GongshuError as exc:
            if outermost:  # a service called by another is audited once, by the outer one
                target = next((a for a in list(args) + list(kwargs.values()) if isinstance(a, models.Model)), None)
                record_refusal(actor, action, exc, target)
            raise
        finally:
            _service_depth.reset(token)

    wrapper.action = action
    return wrapper


# --- verification --------------------------------------------------------------------------


@dataclass
class Verification:
    ok: bool
    count: int
    seconds: float
    first_bad_seq: int | None = None
    reason: str = ""
    checkpoints: int = 0

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else float("inf")


_COLUMNS = ", ".join(("hash",) + chain.HASHED_FIELDS)


def _walk(cursor, expected_prev: str, expected_seq: int, progress=None) -> tuple[int, str, int | None, str]:
    """Check the stored events from ``expected_seq`` on: (count, last hash, first bad seq, reason)."""
    count = 0
    while rows := cursor.fetchmany(5000):
        for row in rows:
            stored_hash, fields = row[0], row[1:]
            seq, prev_hash = fields[0], fields[-1]
            if seq != expected_seq:
                return count, expected_prev, min(seq, expected_seq), f"event #{expected_seq} is missing or out of order"
            if prev_hash != expected_prev:
                return count, expected_prev, seq, f"event #{seq} does not link to event #{seq - 1}"
            if chain.row_hash(fields) != stored_hash:
                return count, expected_prev, seq, f"event #{seq} was altered"
            expected_prev, expected_seq = stored_hash, seq + 1
            count += 1
        if progress:
            progress(count)
    return count, expected_prev, None, ""


def _head() -> tuple[int, str]:
    head = ChainHead.objects.filter(pk=1).first()
    return (head.seq, head.hash) if head else (0, GENESIS)


def verify(*, progress=None) -> Verification:
    """Recompute the whole chain; name the first event that was edited, deleted or moved."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        # Raw rows: the values exactly as stored, without the ORM's per-field conversions.
        cursor.execute(f"SELECT {_COLUMNS} FROM audit_event ORDER BY seq")
        count, last_hash, bad, reason = _walk(cursor, GENESIS, 1, progress)
    if bad is not None:
        return Verification(False, count, time.perf_counter() - started, bad, reason)
    head_seq, head_hash = _head()
    if head_seq != count or head_hash != last_hash:
        return Verification(False, count, time.perf_counter() - started, count + 1 if head_seq > count else head_seq,
                            f"the chain ends at #{count} but its head records #{head_seq}: events were removed")
    result = Verification(True, count, time.perf_counter() - started)
    return _verify_checkpoints(result)


@dataclass
class Proof:
    """That one event (a caller's receipt) is in the chain: its hash recomputes, and every event after it
    links on to the current head; a signed checkpoint at or after it anchors it outside the database."""

    seq: int
    hash: str
    ok: bool
    reason: str
    head_seq: int
    head_hash: str
    checkpoint: dict | None = None
    event: dict | None = None


def prove(seq: int, expected_hash: str | None = None) -> Proof:
    event = Event.objects.filter(seq=seq).first()
    head_seq, head_hash = _head()
    if event is None:
        return Proof(seq, expected_hash or "", False, f"event #{seq} is not in the chain", head_seq, head_hash)
    summary = {"action": event.action, "at": event.at.isoformat(), "organisation": event.organisation_name,
               "actor": event.actor_name, "object": f"{event.object_type}:{event.object_id}", "outcome": event.outcome}
    if expected_hash and expected_hash != event.hash:
        return Proof(seq, event.hash, False, f"event #{seq} has hash {event.hash}, not the receipt's", head_seq, head_hash,
                     event=summary)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_COLUMNS} FROM audit_event WHERE seq >= %s ORDER BY seq", [seq])
        count, last_hash, bad, reason = _walk(cursor, event.prev_hash, seq)
    ok = bad is None and seq + count - 1 == head_seq and last_hash == head_hash
    if bad is None and not ok:
        reason = f"the chain after #{seq} does not reach the head #{head_seq}"
    anchor = None
    for document in _checkpoints():
        if document["seq"] >= seq:
            anchor = {k: document[k] for k in ("seq", "head_hash", "at", "path")}
            break
    return Proof(seq, event.hash, ok, reason, head_seq, head_hash, anchor, summary)


# --- checkpoints (signed anchors outside the database) ---------------------------------------


def _key_path() -> Path:
    return Path(settings.GONGSHU_KEY_DIR) / "audit-checkpoint-ed25519.pem"


def _signing_key() -> Ed25519PrivateKey:
    path = _key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def _checkpoint_dir() -> Path:
    return Path(settings.GONGSHU_CHECKPOINT_DIR)


def checkpoint(actor: Actor | None = None) -> dict:
    """Sign the current head (seq, hash, time) and write it as a file outside the database."""
    actor = actor or system_actor("cli")
    head = ChainHead.objects.filter(pk=1).first()
    payload = {
        "seq": head.seq if head else 0,
        "head_hash": head.hash if head else GENESIS,
        "at": timezone.now().astimezone(dt.timezone.utc).isoformat(),
        "algorithm": settings.GONGSHU_AUDIT_ALGORITHM,
    }
    signature = _signing_key().sign(chain.canonical(payload).encode())
    document = {**payload, "signature": base64.b64encode(signature).decode()}
    directory = _checkpoint_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"checkpoint-{payload['seq']:012d}-{int(time.time() * 1000)}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, ensure_ascii=False, indent=2))
    os.replace(tmp, path)
    record(actor, "audit.checkpoint", ("audit.checkpoint", payload["seq"]), detail={"head_hash": payload["head_hash"]})
    return {**document, "path": str(path)}


def _load_checkpoints() -> list[tuple[Path, dict, bool]]:
    """Every checkpoint file: (path, payload, signature good), oldest first."""
    directory = _checkpoint_dir()
    files = sorted(directory.glob("checkpoint-*.json")) if directory.exists() else []
    if not files:
        return []
    public_key = _signing_key().public_key()
    loaded = []
    for path in files:
        document = json.loads(path.read_text())
        payload = {k: document[k] for k in ("seq", "head_hash", "at", "algorithm")}
        try:
            public_key.verify(base64.b64decode(document["signature"]), chain.canonical(payload).encode())
            good = True
        except Exception:
            good = False
        loaded.append((path, payload, good))
    return loaded


def _checkpoints() -> list[dict]:
    """Checkpoints that are signed and match the chain, by sequence number."""
    loaded = [(path, payload) for path, payload, good in _load_checkpoints() if good and payload["seq"] > 0]
    hashes = dict(Event.objects.filter(seq__in=[p["seq"] for _, p in loaded]).values_list("seq", "hash"))
    return sorted(({**p, "path": str(path)} for path, p in loaded if hashes.get(p["seq"]) == p["head_hash"]),
                  key=lambda p: p["seq"])


def _verify_checkpoints(result: Verification) -> Verification:
    wanted = []
    for path, payload, good in _load_checkpoints():
        if not good:
            return Verification(False, result.count, result.seconds, None, f"checkpoint {path.name} has a bad signature")
        wanted.append((path.name, payload))
    if not wanted:
        return result
    seqs = [p["seq"] for _, p in wanted if p["seq"] > 0]
    hashes_by_seq = dict(Event.objects.filter(seq__in=seqs).values_list("seq", "hash"))
    for name, payload in wanted:
        if payload["seq"] == 0:
            continue
        if payload["seq"] > result.count:
            return Verification(False, result.count, result.seconds, result.count + 1,
                                f"checkpoint {name} records #{payload['seq']} but the chain ends at #{result.count}")
        if hashes_by_seq.get(payload["seq"]) != payload["head_hash"]:
            return Verification(False, result.count, result.seconds, payload["seq"],
                                f"event #{payload['seq']} differs from checkpoint {name}: the chain was rewritten")
    result.checkpoints = len(wanted)
    return result


def events_for(obj) -> models.QuerySet:
    object_type, object_id = _object_ref(obj)
    return Event.objects.filter(object_type=object_type, object_id=object_id).order_by("seq")


def may_see_event(actor: Actor, seq: int) -> bool:
    """An event's details are for the organisation that acted, and for those who oversee the audit trail."""
    from core import permissions

    if actor.is_system or permissions.can(actor, "audit.view", organisation=actor.organisation):
        return True
    return Event.objects.filter(seq=seq, organisation_id=actor.organisation.pk if actor.organisation else None).exists()
