"""The one call path every data API goes through for a party outside the owning agency: the entitlement
in force, its holder, the declared purpose, items and rows within it, the daily quota, then the warehouse
query path restricted to it; the use metered per day in the audit append's transaction, the audit event
the caller's receipt. A refused call is audited (and counted by its kind) and changes nothing else."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from audit.services import record_refusal
from core import ratelimit, workdays
from foundation import permissions, rawdb
from foundation.actor import Actor
from foundation.errors import GongshuError, NotFound, PermissionDenied, TooManyRequests, ValidationFailed
from warehouse import query

from .models import Entitlement, Method, Refusal


@dataclass(frozen=True)
class Kind:
    """What a kind of entitlement (its origins) adds to the one path: the permission a call needs, the
    audit action of a call, which items leave the platform as a file or a sync, who may ask for its
    revocation, and the rulebook prefix of its misuse thresholds with what it does on a finding
    (``access.misuse``: sharing opens a rectification, S7)."""

    origins: tuple[str, ...]
    model: type[Entitlement]  # the owning app's proxy (sharing.Grant): its events name it
    permission: str
    action: str
    export_items: Callable[[Entitlement], list[str]] = lambda entitlement: list(entitlement.items)
    # who may ask the bureau to revoke one before its end (access.cases), the audit action of the revocation,
    # and the holder's page of one (``{ref}``)
    may_revoke: Callable[[Actor, Entitlement], bool] = lambda actor, entitlement: False
    revoke_action: str = ""
    link: str = ""
    # misuse (access.misuse): the rulebook prefix of its thresholds, the entitlements to look at, and what a
    # finding starts (fn(entitlement, finding))
    misuse: str = ""
    watched: Callable[[], object] | None = None
    on_misuse: Callable[[Entitlement, object], None] | None = None


def kinds() -> list[Kind]:
    """Every registered kind, once."""
    return list(dict.fromkeys(_KINDS.values()))


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    for origin in kind.origins:
        _KINDS[origin] = kind
    return kind


def kind_of(entitlement: Entitlement) -> Kind:
    return _KINDS[entitlement.origin]


def as_kind(entitlement: Entitlement) -> Entitlement:
    """The same row as its kind's own model (a proxy: sharing.Grant), so that its events name that model."""
    entitlement.__class__ = kind_of(entitlement).model
    return entitlement


OPERATIONS = {"lookup": (Method.API,), "query": (Method.API,), "file": (Method.FILE,), "sync": (Method.DB_SYNC,)}


def call(actor: Actor, ref: str, *, purpose: str | None, filters: dict | None = None, sql: str | None = None,
         fields: list[str] | None = None, limit: int = 100, operation: str = "lookup") -> query.Result:
    """One use of entitlement ``ref``. ``operation``: lookup or query (API), file or sync (the whole granted
    view, as a file or for a database sync). Without a declared purpose nothing is read or counted."""
    purpose = declared_purpose(purpose)
    entitlement = entitlement_of(ref)
    kind = kind_of(entitlement)
    export = operation in ("file", "sync")
    try:
        scope = _scope(actor, entitlement, kind, fields=fields, purpose=purpose, operation=operation)
        _within_quota(entitlement)
        return query.run(actor, entitlement.resource, scope=scope, filters=None if export else filters, sql=None if export else sql,
                         limit=settings.GONGSHU_EXPORT_MAX_ROWS if export else limit, channel="api", export=export,
                         meter=_meter(entitlement))
    except GongshuError as exc:
        event = record_refusal(actor, kind.action, exc, entitlement, detail={"grant": entitlement.ref})
        _count_refusal(actor, entitlement, exc, event)
        raise


def _count_refusal(actor: Actor, entitlement: Entitlement, error: GongshuError, event) -> None:
    """After a refusal (audited, nothing else written): count it on the entitlement, for the misuse rules (S7)."""
    Refusal.objects.create(entitlement=entitlement, organisation=actor.organisation, code=error.code or "refused",
                           message=error.message[:300], audit_seq=event.seq)


def declared_purpose(value: str | None) -> str:
    """Every call declares its purpose (S7, SYS Art. 31: over-purpose use is misuse); a call without one is
    refused before anything is read or counted. The API checks it first too, before its other parameters."""
    if not (value or "").strip():
        raise ValidationFailed("请说明调用目的（授权的应用场景）", field="purpose", code="purpose_required")
    return value.strip()


# --- the entitlement in force -------------------------------------------------------------------

_cache: dict[str, tuple[tuple, Entitlement]] = {}
_STATE_SQL = ("SELECT e.status, e.valid_from, e.valid_until, e.updated_at, r.updated_at FROM access_entitlement e "
              "JOIN catalog_resource r ON r.id = e.resource_id WHERE e.ref = %s")


def entitlement_of(ref: str) -> Entitlement:
    """The entitlement with its resource: one indexed read on every call; the objects are reused while
    neither the entitlement (status, period) nor its entry changed."""
    with rawdb.cursor() as cursor:
        cursor.execute(rawdb.sql(_STATE_SQL), [ref])
        state = cursor.fetchone()
    if state is None:
        raise NotFound("授权不存在", field="grant", code="no_grant")
    cached = _cache.get(ref)
    if cached is not None and cached[0] == state:
        return cached[1]
    entitlement = as_kind(Entitlement.objects.select_related("resource").get(ref=ref))
    if len(_cache) > 10_000:
        _cache.clear()
    _cache[ref] = (state, entitlement)
    return entitlement


def _holds(actor: Actor, entitlement: Entitlement) -> bool:
    if entitlement.holder_id is not None:
        return actor.organisation is not None and actor.organisation.pk == entitlement.holder_id
    return actor.user is not None and actor.user.pk == entitlement.holder_person_id


def _scope(actor: Actor, entitlement: Entitlement, kind: Kind, *, fields, purpose, operation) -> query.Scope:
    if not _holds(actor, entitlement):
        raise PermissionDenied("该授权不属于本部门", field="grant", code="not_holder")
    permissions.require(actor, kind.permission, organisation=actor.organisation)
    if entitlement.status != Entitlement.Status.ACTIVE:
        raise PermissionDenied(f"授权{entitlement.get_status_display()}：{entitlement.status_reason}".rstrip("："),
                               field="grant", code=f"grant_{entitlement.status}")
    today = workdays.today()
    if today > entitlement.valid_until:
        raise PermissionDenied(f"授权已于 {entitlement.valid_until} 到期", field="grant", code="grant_expired")
    if today < entitlement.valid_from:
        raise PermissionDenied(f"授权自 {entitlement.valid_from} 起生效", field="grant", code="grant_not_yet")
    if entitlement.method not in OPERATIONS[operation]:
        raise PermissionDenied(f"授权的共享方式为“{Method(entitlement.method).label}”", field="method", code="wrong_method")
    outside = [f for f in (fields or []) if f not in entitlement.items]
    if outside:
        raise PermissionDenied(f"超出授权的数据项：{'、'.join(outside)}", field="fields", code="over_scope")
    if purpose != entitlement.purpose:
        raise PermissionDenied("调用目的与授权的应用场景不符", field="purpose", code="over_purpose")
    if operation in ("file", "sync"):  # G1: the whole view leaves the platform — the kind's export rule decides
        fields = [f for f in kind.export_items(entitlement) if not fields or f in fields]
        if not fields:
            raise PermissionDenied("授权的数据项按分级均不得以文件或库表方式导出", field="grant", code="export_prohibited")
    return query.Scope("grant", entitlement.purpose, columns=frozenset(fields or entitlement.items),
                       row_filter={k: tuple(v) for k, v in entitlement.row_filter.items()}, grant_ref=entitlement.ref)


# --- quota and meter ---------------------------------------------------------------------------


def _until_tomorrow() -> int:
    now = timezone.localtime()
    return int((now.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1) - now).total_seconds())


def _within_quota(entitlement: Entitlement) -> None:
    """The day's quota (calls through the rate limiter; rows and bytes from the day's meter): a used-up
    quota is refused with ``quota_exceeded`` and when to try again."""
    message = f"授权 {entitlement.ref} 今日的调用配额已用完"
    if entitlement.quota_calls:
        ratelimit.hit(f"quota:{entitlement.ref}", limit=entitlement.quota_calls, window_seconds=86_400,
                      code="quota_exceeded", message=message)
    if entitlement.quota_rows or entitlement.quota_bytes:
        used = used_today(entitlement)
        if (entitlement.quota_rows and used["rows"] >= entitlement.quota_rows) or \
                (entitlement.quota_bytes and used["bytes"] >= entitlement.quota_bytes):
            raise TooManyRequests(message, retry_after=_until_tomorrow(), code="quota_exceeded", field="grant")


def used_today(entitlement: Entitlement) -> dict[str, int]:
    meter = entitlement.meters.filter(day=timezone.localdate()).first()
    return {"calls": meter.calls if meter else 0, "rows": meter.rows if meter else 0, "bytes": meter.bytes if meter else 0}


_METER_SQL = ('INSERT INTO access_meter (entitlement_id, "day", calls, "rows", "bytes") VALUES (%s, %s, 1, %s, %s) '
              'ON CONFLICT (entitlement_id, "day") DO UPDATE SET calls = access_meter.calls + 1, '
              '"rows" = access_meter."rows" + excluded."rows", "bytes" = access_meter."bytes" + excluded."bytes"')


def _meter(entitlement: Entitlement) -> Callable:
    def count(cursor, columns, rows) -> None:
        size = len(json.dumps(rows, default=str, ensure_ascii=False).encode()) if rows else 0
        day = rawdb.connection().ops.adapt_datefield_value(timezone.localdate())
        cursor.execute(rawdb.sql(_METER_SQL), [entitlement.pk, day, len(rows), size])

    return count
