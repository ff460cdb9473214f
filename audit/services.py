"""Appending to, verifying and anchoring the audit chain (SEC1, SEC2).

``record`` is called by every service in the same transaction as its write; ``service`` wraps a
service function so that its writes are atomic and a refusal is itself audited after the rollback.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from foundation import rawdb, rulebook
from foundation.actor import Actor
from foundation.errors import GongshuError, NotFound, PermissionDenied

from . import actions, chain, checkpoints
from .checkpoints import CheckpointError
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
    """Append one event to the chain. Call inside the transaction of the write it records. ``action`` must be
    declared (``audit.actions``): an undeclared one raises ``UndeclaredAction`` before anything is written."""
    actions.require(action)
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
    event = record(
        actor,
        action,
        obj,
        detail={"error": error.as_dict(), **(detail or {})},
        outcome=Event.Outcome.REFUSED,
    )
    error.audited = True  # the API's handler does not audit it a second time
    return event


_service_depth: contextvars.ContextVar[int] = contextvars.ContextVar("gongshu_service_depth", default=0)
SERVICE_ACTIONS: set[str] = set()  # every @service's action, checked against the vocabulary (audit.checks)


def service(fn):
    """Run a service in one transaction; if it refuses, roll back its writes and audit the refusal.

    The audited action name is ``<app>.<function>``.
    """
    action = f"{fn.__module__.split('.')[0]}.{fn.__name__}"
    SERVICE_ACTIONS.add(action)  # not required here: the app's actions.py may be imported after its services

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
    checkpoint: dict | None = None  # the latest signed checkpoint the chain was compared with
    since_checkpoint: int = 0  # events after it: the window no checkpoint anchors yet

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


def _walk_from(seq: int, prev_hash: str, progress=None) -> tuple[int, str, int | None, str]:
    """Walk the events after ``seq`` (whose hash is ``prev_hash``) to the end of the table; from 0, every row
    (one with a number below 1 is out of order too)."""
    with connection.cursor() as cursor:
        # Raw rows: the values exactly as stored, without the ORM's per-field conversions.
        where = "WHERE seq > %s " if seq else ""
        cursor.execute(f"SELECT {_COLUMNS} FROM audit_event {where}ORDER BY seq", [seq] if seq else None)
        return _walk(cursor, prev_hash, seq + 1, progress)


def _head() -> tuple[int, str]:
    head = ChainHead.objects.filter(pk=1).first()
    return (head.seq, head.hash) if head else (0, GENESIS)


def _hash_at(seq: int) -> str | None:
    return GENESIS if seq == 0 else Event.objects.filter(seq=seq).values_list("hash", flat=True).first()


def checkpoint_interval() -> dt.timedelta:
    # SYS Art. 60: the platform signs the chain's head this often (audit.checkpoint_minutes, set by the city)
    return dt.timedelta(minutes=rulebook.value("audit.checkpoint_minutes"))


def verify(*, progress=None) -> Verification:
    """Recompute the whole chain; name the first event that was edited, deleted or moved; then compare it with
    the latest signed checkpoint outside the data directory, which must exist and be recent: without it a
    careful rewrite (every later hash recomputed, the tail cut and the head rewritten) cannot be told."""
    started = time.perf_counter()
    count, last_hash, bad, reason = _walk_from(0, GENESIS, progress)
    if bad is not None:
        return Verification(False, count, time.perf_counter() - started, bad, reason)
    head_seq, head_hash = _head()
    if head_seq != count or head_hash != last_hash:
        return Verification(False, count, time.perf_counter() - started, count + 1 if head_seq > count else head_seq,
                            f"the chain ends at #{count} but its head records #{head_seq}: events were removed")
    return _against_checkpoint(Verification(True, count, time.perf_counter() - started))


def _against_checkpoint(result: Verification) -> Verification:
    def failed(first_bad_seq, reason):
        return Verification(False, result.count, result.seconds, first_bad_seq, reason)

    try:
        good, bad = checkpoints.load()
        folder = checkpoints.directory()
    except GongshuError as exc:
        return failed(None, exc.message)
    if bad:
        return failed(None, f"checkpoint {bad[0].name} is not validly signed by this platform's key: refused")
    good = [c for c in good if c.head() is not None]
    if not good:
        return failed(None, f"no signed checkpoint in {folder}: a rewritten chain could not be told from this one "
                            "(the worker signs one every audit.checkpoint_minutes; `gongshu audit checkpoint`)")
    latest = good[-1]
    seq, head_hash = latest.head()
    if seq > result.count:
        return failed(result.count + 1, f"the signed checkpoint of {latest.at} records #{seq} but the chain ends at "
                                        f"#{result.count}: events were removed")
    if _hash_at(seq) != head_hash:
        return failed(seq, f"event #{seq} differs from the signed checkpoint of {latest.at}: the chain was rewritten")
    interval = checkpoint_interval()
    allowed = interval + dt.timedelta(minutes=settings.GONGSHU_CHECKPOINT_GRACE_MINUTES)
    if checkpoints.age(latest, timezone.now()) > allowed:
        return failed(None, f"the latest checkpoint ({latest.at}, #{seq}) is older than the {int(interval.total_seconds() // 60)} min "
                            f"interval plus {settings.GONGSHU_CHECKPOINT_GRACE_MINUTES} min grace: checkpoints stopped or were removed")
    result.checkpoint, result.since_checkpoint = latest.summary(), result.count - seq
    return result


@dataclass
class Proof:
    """That one event (a caller's receipt) is in the chain: its hash recomputes, and every event after it
    links on to the current head; ``anchored`` when the latest signed checkpoint lies at or after it.
    ``event`` (what happened, who, for whom) only for a reader entitled to it (``core.selectors.may_see_event``)."""

    seq: int
    hash: str
    prev_hash: str
    ok: bool
    reason: str
    head_seq: int
    head_hash: str
    anchored: bool = False
    checkpoint: dict | None = None
    event: dict | None = None


def prove(seq: int, expected_hash: str | None = None, *, disclose: Callable[[Event], bool] | None = None) -> Proof:
    """Inclusion of event ``seq`` for anyone; its content only if ``disclose(event)`` says the reader may see
    it (none without it). An event that is not in the chain is NotFound."""
    event = Event.objects.filter(seq=seq).first()
    if event is None:
        raise NotFound(f"审计事件 #{seq} 不在审计链中", field="seq")
    head_seq, head_hash = _head()
    content = None
    if disclose is not None and disclose(event):
        content = {"action": event.action, "action_label": actions.label(event.action), "at": event.at.isoformat(),
                   "organisation": event.organisation_name, "actor": event.actor_name,
                   "object": f"{event.object_type}:{event.object_id}", "outcome": event.outcome, "data": event.data}
    proof = Proof(seq, event.hash, event.prev_hash, False, "", head_seq, head_hash, event=content)
    if expected_hash and expected_hash != event.hash:
        proof.reason = f"event #{seq} has hash {event.hash}, not the receipt's"
        return proof
    count, last_hash, bad, reason = _walk_from(seq - 1, event.prev_hash)
    proof.ok = bad is None and seq + count - 1 == head_seq and last_hash == head_hash
    proof.reason = reason if bad is not None else ("" if proof.ok else f"the chain after #{seq} does not reach the head #{head_seq}")
    try:
        latest = checkpoints.latest()
    except GongshuError:
        latest = None
    if latest is not None:
        anchor_seq, anchor_hash = latest.head()
        proof.checkpoint = {k: v for k, v in latest.summary().items() if k != "path"}
        proof.anchored = proof.ok and anchor_seq >= seq and _hash_at(anchor_seq) == anchor_hash
    return proof


# --- checkpoints (signed heads kept and published outside the data directory) -----------------


@service
def checkpoint(actor: Actor, *, new_chain: bool = False) -> checkpoints.Checkpoint:
    """Sign the chain's head and publish it outside the data directory, then record that as the next event
    (so a checkpoint never covers its own event). Refuses to sign a chain that does not verify on from the
    latest checkpoint: a rewrite is never blessed by the next scheduled signature. ``new_chain`` (an operator
    starting over, e.g. the demo on a fresh database beside an earlier one's keys) signs a chain that shares
    nothing with the latest checkpoint; the document names the checkpoint it supersedes. Run it outside any
    transaction (the worker, the CLI and the demo loader do): it must sign committed events only."""
    if not actor.is_system:
        raise PermissionDenied("只有平台可以签发审计检查点", code="forbidden")
    head_seq, head_hash = _head()
    previous, supersedes, start = checkpoints.latest(), None, (0, GENESIS)
    if previous is not None:
        prev_seq, prev_hash = previous.head()
        if prev_seq <= head_seq and _hash_at(prev_seq) == prev_hash:
            start = (prev_seq, prev_hash)
        elif new_chain:
            supersedes = {k: v for k, v in previous.summary().items() if k != "path"}
        else:
            raise CheckpointError(f"审计链与 {previous.at} 的检查点（#{prev_seq}）不一致：审计记录已被改写或截断，拒绝签发检查点",
                                  code="chain_rewritten")
    count, last_hash, bad, reason = _walk_from(*start)
    if bad is not None or start[0] + count != head_seq or last_hash != head_hash:
        raise CheckpointError(f"审计链校验失败，拒绝签发检查点：{reason or '链尾与链头记录不符'}", code="chain_broken")
    written = checkpoints.write(checkpoints.sign([(checkpoints.AUDIT_CHAIN, head_seq, head_hash)], at=timezone.now(),
                                                 supersedes=supersedes))
    document = written.document
    record(actor, "audit.checkpoint", ("audit.checkpoint", head_seq),
           detail={"chains": document["chains"], "at": document["at"], "key_id": document["signer"]["key_id"],
                   "signature": document["signature"], "file": written.path.name,
                   **({"supersedes": supersedes} if supersedes else {})})
    return written


def checkpoint_if_due(actor: Actor) -> checkpoints.Checkpoint | None:
    """The worker's job: a new checkpoint once the latest is audit.checkpoint_minutes old (or there is none)."""
    latest = checkpoints.latest()
    if latest is not None and checkpoints.age(latest, timezone.now()) < checkpoint_interval():
        return None
    return checkpoint(actor)


def events_for(obj) -> models.QuerySet:
    object_type, object_id = _object_ref(obj)
    return Event.objects.filter(object_type=object_type, object_id=object_id).order_by("seq")
